"""The second-factor pages (enter a code, set up an authenticator app, see the recovery codes
once, start again) and the session clock the staff pages ask before warning."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from kyc import crypto
from kyc.access import sessions, two_factor
from kyc.access.forms import CodeForm
from kyc.users import StaffUser

#: Session key of the recovery codes just made, encrypted, until their page is opened.
_NEW_CODES = "access_new_recovery_codes"


def _next(request: HttpRequest) -> str:
    """Where to go once the code is accepted: the page first asked for, if it is ours."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe else settings.LOGIN_REDIRECT_URL


def _signed_in(request: HttpRequest) -> StaffUser | None:
    user = request.user
    return user if isinstance(user, StaffUser) and user.is_authenticated else None


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the app, or one recovery code."""
    user = _signed_in(request)
    if user is None:
        return redirect_to_login(request.get_full_path())
    if two_factor.is_verified(user):
        return HttpResponseRedirect(_next(request))
    if not two_factor.has_second_factor(user):
        return HttpResponseRedirect(reverse("access:enrol") + _next_query(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.verify(request, form.cleaned_data["code"])
        except two_factor.SecondFactorError as error:
            form.add_error("code", error.message)
        else:
            return HttpResponseRedirect(_next(request))
    return render(request, "access/verify.html", {"form": form, "next": _next(request)})


@never_cache
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code (or type the key), then type one code."""
    user = _signed_in(request)
    if user is None:
        return redirect_to_login(request.get_full_path())
    if two_factor.has_second_factor(user):
        # One second factor at a time: replacing it starts on the page that removes it.
        page = "access:second_factor" if two_factor.is_verified(user) else "access:verify"
        return HttpResponseRedirect(reverse(page))
    device = two_factor.pending_authenticator(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.confirm_authenticator(request, device, form.cleaned_data["code"])
        except two_factor.SecondFactorError as error:
            form.add_error("code", error.message)
        else:
            # Post/redirect/get: reloading the page that shows the codes must not make new ones.
            # Until that page is opened they wait in the session, encrypted.
            sealed = crypto.encrypt(json.dumps(codes).encode())
            request.session[_NEW_CODES] = base64.b64encode(sealed).decode("ascii")
            return HttpResponseRedirect(reverse("access:recovery_codes") + _next_query(request))
    context = {
        "form": form,
        "qr_svg": two_factor.qr_code_svg(device),
        "secret": two_factor.secret_text(device),
        "next": _next(request),
        "required": two_factor.second_factor_required(user),
    }
    return render(request, "access/enrol.html", context)


def _next_query(request: HttpRequest) -> str:
    return f"?{urlencode({'next': _next(request)})}"


@never_cache
@require_GET
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """The recovery codes just made: shown on this page once, never again."""
    if _signed_in(request) is None:
        return redirect_to_login(request.get_full_path())
    sealed = request.session.pop(_NEW_CODES, None)
    codes: list[str] = (
        json.loads(crypto.decrypt(base64.b64decode(sealed))) if sealed is not None else []
    )
    response = render(
        request, "access/recovery_codes.html", {"codes": codes, "next": _next(request)}
    )
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    """The user's own second factor: what is set up, and "remove it and set up a new one"."""
    user = _signed_in(request)
    if user is None:
        return redirect_to_login(request.get_full_path())
    if request.method == "POST":
        two_factor.remove_own_second_factor(user)
        messages.info(request, "Your authenticator app and recovery codes were removed.")
        return HttpResponseRedirect(reverse("access:enrol"))
    authenticator = two_factor.authenticator_of(user)
    context: dict[str, Any] = {
        "authenticator": authenticator,
        "codes_left": two_factor.recovery_codes_left(user),
        "required": two_factor.second_factor_required(user),
        "used": two_factor.second_factor_of(request),
    }
    return render(request, "access/second_factor.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def session(request: HttpRequest) -> JsonResponse:
    """How long this session has left. GET only asks (it is not activity); POST is the user's
    "stay signed in", which the middleware has already counted as activity."""
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False, "seconds_left": 0})
    left = sessions.seconds_left(request.session, time.time())
    return JsonResponse({"signed_in": True, "seconds_left": left})
