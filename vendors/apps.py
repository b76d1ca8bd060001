from django.apps import AppConfig


class VendorsConfig(AppConfig):
    name = "vendors"
    verbose_name = "Comparison backends"

    def ready(self) -> None:
        from vendors import checks  # noqa: F401  (registers the system checks)
