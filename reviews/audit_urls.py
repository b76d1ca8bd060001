"""Auditor pages: /audit/."""

app_name = "audit"
urlpatterns: list = []
