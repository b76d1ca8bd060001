"""The project's URLs plus two that fail, for the 500 pages (tests/kyc/test_error_pages.py)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from kyc.urls import handler400, handler403, handler404, handler500, urlpatterns


def broken(request: HttpRequest, path: str = "") -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [
    path("api/v1/broken/", broken),
    path("broken/", broken),
    *urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
