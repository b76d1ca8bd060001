"""Operator pages: /stats/, exports, /healthz, /readyz, /metrics."""

app_name = "ops"
urlpatterns: list = []
