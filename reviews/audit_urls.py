"""Auditor pages: /audit/."""

from django.urls import path

from reviews.views import audit

app_name = "audit"
urlpatterns = [
    path("", audit.audit_trail, name="trail"),
    path("export.csv", audit.audit_csv, name="export"),
    path("verify/", audit.verify_now, name="verify"),
]
