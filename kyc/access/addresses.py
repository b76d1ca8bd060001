"""The address a request came from, as the lockout, the API's key guard and the audit see it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The connection's address, or, behind `KYC_PROXY_COUNT` trusted proxies, the address the
    outermost of them saw.

    Each proxy appends the address it was connected from to X-Forwarded-For, so the entry
    KYC_PROXY_COUNT places from the right was written by our own first proxy; anything to its
    left came from the client and could be forged. A header shorter than expected means the
    request did not pass through every proxy: its connection address is all we can trust.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = settings.KYC_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
