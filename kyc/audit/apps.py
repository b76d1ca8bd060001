from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "kyc.audit"
    label = "audit"
    verbose_name = "Audit trail"
