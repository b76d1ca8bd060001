"""The gate every staff request passes, the admin's included: sessions that went quiet or lived
too long end, and a session whose user needs a second factor opens nothing until it has one."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from kyc.access import sessions, two_factor

#: Paths with their own authentication (API keys, metrics credentials) or none at all.
OPEN_PREFIXES = ("/api/", "/static/", "/healthz", "/readyz", "/metrics")


class SessionTimeoutMiddleware:
    """Ends a session after KYC_SESSION_IDLE_MINUTES without a request, or SESSION_COOKIE_AGE
    seconds after sign-in, and sends its browser to the sign-in page saying why."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.path.startswith(OPEN_PREFIXES):
            now = time.time()
            status_check = request.method == "GET" and request.path == reverse("access:session")
            over = sessions.expiry(request.session, now)
            if over is not None:
                logout(request)
                if status_check:  # the page's own question: it answers "signed out"
                    return self.get_response(request)
                messages.info(request, _signed_out_because(over))
                return redirect_to_login(
                    request.get_full_path() if request.method == "GET" else "/"
                )
            if sessions.SIGNED_IN_AT not in request.session:
                sessions.track(request, user)  # a session from before the clocks were kept
            elif not status_check:  # the page asking how long is left is not the user's activity
                sessions.touch(request.session, now)
        return self.get_response(request)


def _signed_out_because(expiry: sessions.Expiry) -> str:
    if expiry.reason == "idle":
        minutes = sessions.idle_seconds() // 60
        return f"You were signed out after {minutes} minutes without activity. Sign in again."
    hours = sessions.lifetime_seconds() / 3600
    return f"Your session reached its {hours:g}-hour limit. Sign in again."


class SecondFactorMiddleware:
    """Until a device of theirs verifies the session, a user whose role requires a second factor
    (or who set one up) reaches only the pages that ask for it, or set one up."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not two_factor.is_verified(user)
            and not self._open(request.path)
            and two_factor.second_factor_asked(
                user, sso=request.session.get(two_factor.SSO_SESSION_KEY, False)
            )
        ):
            enrolled = two_factor.has_second_factor(user)
            page = reverse("access:verify" if enrolled else "access:enrol")
            query = urlencode({"next": request.get_full_path() if request.method == "GET" else "/"})
            return HttpResponseRedirect(f"{page}?{query}")
        return self.get_response(request)

    @staticmethod
    def _open(path: str) -> bool:
        pages = {
            reverse(name)
            for name in ("login", "logout", "access:verify", "access:enrol", "access:session")
        }
        return path in pages or path.startswith(OPEN_PREFIXES)
