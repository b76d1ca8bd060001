"""Single sign-on with OpenID Connect: the authorization code flow with PKCE, by
mozilla-django-oidc, made strict where the library is lenient.

- The ID token must come from our issuer and be meant for our client (the library checks the
  signature, expiry and nonce, but neither `iss` nor `aud`); the userinfo answer must be about
  the same `sub` (OpenID Connect Core §5.3.2).
- The account is found by `iss` + `sub`, by email on the first sign-in only, and its roles come
  from the provider's groups claim (sso_accounts.py).
- A session of a user deactivated here ends at the next request, as password sessions do.
- Signing out ends the provider's session too when it has an end_session_endpoint
  (OpenID Connect RP-Initiated Logout 1.0).

Single sign-on is on when `KYC_OIDC_CLIENT_ID` is set (settings name the other variables).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.views import LogoutView
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from kyc.access import sso_accounts
from kyc.users import StaffUser

logger = logging.getLogger(__name__)

#: The dotted path Django stores in the session of a user signed in by single sign-on.
SSO_BACKEND = "kyc.access.oidc.StaffOidcBackend"
FAILED_MESSAGE = (
    "Single sign-on did not complete, so you are not signed in. Try again; if it keeps "
    "failing, ask an administrator."
)


def sso_enabled() -> bool:
    return bool(settings.OIDC_RP_CLIENT_ID)


class StaffOidcBackend(OIDCAuthenticationBackend):
    # Keyword-only: Django offers a backend only the credentials its signature accepts, so this
    # one answers the callback (which passes the nonce) and never a password form.
    def authenticate(
        self, request: HttpRequest | None, *, nonce: str | None, code_verifier: str | None
    ) -> StaffUser | None:
        if request is None or not sso_enabled():
            return None
        try:
            user: StaffUser | None = super().authenticate(
                request, nonce=nonce, code_verifier=code_verifier
            )
        except (SuspiciousOperation, requests.RequestException, jwt.InvalidTokenError) as error:
            # Logged for the operator; the person sees the failure message and the trail gets
            # a failed sign-in. The reason names no token or secret.
            logger.warning("Single sign-on refused: %s", type(error).__name__)
            return None
        return user

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        if payload.get("iss") != settings.KYC_OIDC_ISSUER:
            raise SuspiciousOperation("The ID token was issued by another provider.")
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        client_id = settings.OIDC_RP_CLIENT_ID
        if client_id not in audiences:
            raise SuspiciousOperation("The ID token is meant for another client.")
        if len(audiences) > 1 and payload.get("azp") != client_id:
            raise SuspiciousOperation("The ID token was requested by another client.")
        return payload

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> StaffUser | None:
        userinfo: dict[str, Any] = self.get_userinfo(access_token, id_token, payload)
        if str(userinfo.get("sub", "")) != str(payload.get("sub", "")):
            raise SuspiciousOperation("The userinfo answer is about another user.")
        claims = {**payload, **userinfo}
        return sso_accounts.sign_in(claims, issuer=settings.KYC_OIDC_ISSUER)

    def get_user(self, user_id: int) -> StaffUser | None:
        # The library's version skips the active check: a deactivated user would keep a session.
        user: StaffUser | None = ModelBackend.get_user(self, user_id)
        return user


class SsoStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider, with state, nonce and a PKCE challenge."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        response: HttpResponse = super().get(request)
        return response


class SsoCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: signs in, or back to the sign-in page with a
    message saying that it did not work."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            response: HttpResponse = super().get(request)
        except SuspiciousOperation:  # a state this session never sent: replayed or stale
            return self.login_failure()
        return response

    @property
    def failure_url(self) -> str:
        return str(resolve_url(settings.LOGIN_URL))

    def login_failure(self) -> HttpResponse:
        messages.error(self.request, FAILED_MESSAGE)
        response: HttpResponse = super().login_failure()
        return response


def provider_logout_url(request: HttpRequest) -> str:
    """The provider's end_session_endpoint for this session, or "" when there is nothing to end
    there (a password session, or a provider without one)."""
    endpoint = settings.KYC_OIDC_END_SESSION_ENDPOINT
    id_token = request.session.get("oidc_id_token")
    if not (sso_enabled() and endpoint and id_token):
        return ""
    back = request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL))
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": back,
            "client_id": settings.OIDC_RP_CLIENT_ID,
        }
    )
    return f"{endpoint}?{query}"


class StaffLogoutView(LogoutView):
    """Ends the session, then the provider's when the session came from single sign-on."""

    provider_url = ""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.provider_url = provider_logout_url(request)  # read before the session is flushed
        return super().post(request, *args, **kwargs)

    def get_success_url(self) -> str:
        return self.provider_url or super().get_success_url()
