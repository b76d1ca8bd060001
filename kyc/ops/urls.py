"""Operator endpoints: /healthz, /readyz, /metrics."""

from django.urls import path

from kyc.ops import health, metrics

app_name = "ops"
urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
