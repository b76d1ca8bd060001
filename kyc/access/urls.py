"""Staff access pages under /accounts/ (signing in and out themselves are in kyc/urls.py)."""

from django.urls import path

from kyc.access import views

app_name = "access"
urlpatterns = [
    path("second-factor/", views.second_factor, name="second_factor"),
    path("second-factor/verify/", views.verify, name="verify"),
    path("second-factor/set-up/", views.enrol, name="enrol"),
    path("second-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("session/", views.session, name="session"),
]
