"""Every staff page of the reviews app, mounted at the site root by kyc/urls.py."""

from django.urls import include, path

from reviews.views.home import home

urlpatterns = [
    path("", home, name="home"),
    path("review/", include("reviews.urls")),
    path("audit/", include("reviews.audit_urls")),
    path("", include("reviews.reporting.urls")),
]
