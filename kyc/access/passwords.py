"""Signing in with a username and password."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from kyc.access.models import SsoIdentity
from kyc.users import StaffUser


class PasswordBackend(ModelBackend):
    """Django's own, except that with `KYC_OIDC_DISABLE_PASSWORDS` a user who signs in through
    single sign-on cannot use a local password: the provider alone decides who may enter
    (its second factor, its leavers process), and a password set here would bypass it."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> StaffUser | None:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if (
            user is not None
            and settings.KYC_OIDC_DISABLE_PASSWORDS
            and SsoIdentity.objects.filter(user=user).exists()
        ):
            return None
        return user
