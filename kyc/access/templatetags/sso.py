"""`{% sso_enabled as sso %}`: whether the sign-in page offers single sign-on."""

from __future__ import annotations

from django import template

from kyc.access.oidc import sso_enabled as _sso_enabled

register = template.Library()


@register.simple_tag
def sso_enabled() -> bool:
    return _sso_enabled()
