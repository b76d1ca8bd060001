"""`/`: each role starts on its own page."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from reviews.permissions import home_url_for


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login("/")
    url = home_url_for(request.user)
    if url is None:
        return render(request, "reviews/no_access.html", status=403)
    return HttpResponseRedirect(url)
