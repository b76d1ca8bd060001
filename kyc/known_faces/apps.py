from django.apps import AppConfig


class KnownFacesConfig(AppConfig):
    name = "kyc.known_faces"
    label = "known_faces"
    verbose_name = "Known faces"
