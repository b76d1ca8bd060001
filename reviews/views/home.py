"""`/`: each role starts on its own page."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from kyc.access.denied import AccessDenied
from reviews.permissions import home_url_for


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login("/")
    url = home_url_for(request.user)
    if url is None:
        raise AccessDenied("No area of this application is open to you yet.")
    return HttpResponseRedirect(url)
