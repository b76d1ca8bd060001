"""Staff reporting: /stats/ (dashboard), the decisions export and evidence packs."""

from django.urls import path

from reviews.reporting import calibration, views

app_name = "reporting"
urlpatterns = [
    path("stats/", views.stats_dashboard, name="stats"),
    path("stats/decisions.csv", views.decisions_csv, name="decisions-csv"),
    path("stats/pairs/<uuid:public_id>/evidence.json", views.pair_evidence, name="evidence"),
]

# Calibration per backend (admins) and reviewer quality (seniors and admins).
urlpatterns += [
    path("stats/calibration/<str:backend>/", calibration.calibration, name="calibration"),
    path("stats/reviewers/", calibration.reviewer_quality_page, name="reviewer-quality"),
]
