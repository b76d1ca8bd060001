"""Operator pages: /stats/, exports, /healthz, /readyz, /metrics."""

from django.urls import path

from kyc.ops import health, metrics, views

app_name = "ops"
urlpatterns = [
    path("stats/", views.stats_dashboard, name="stats"),
    path("stats/decisions.csv", views.decisions_csv, name="decisions-csv"),
    path("stats/pairs/<uuid:public_id>/evidence.json", views.pair_evidence, name="evidence"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
