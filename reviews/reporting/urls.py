"""Staff reporting: /stats/ (dashboard), the decisions export and evidence packs."""

from django.urls import path

from reviews.reporting import views

app_name = "reporting"
urlpatterns = [
    path("stats/", views.stats_dashboard, name="stats"),
    path("stats/decisions.csv", views.decisions_csv, name="decisions-csv"),
    path("stats/pairs/<uuid:public_id>/evidence.json", views.pair_evidence, name="evidence"),
]
