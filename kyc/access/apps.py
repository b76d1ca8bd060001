from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "kyc.access"
    label = "access"
    verbose_name = "Staff access"

    def ready(self) -> None:
        from kyc.access import receivers

        receivers.connect()
