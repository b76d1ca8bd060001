"""Who an audit event written by a signal receiver is attributed to.

Changes to users, groups and permissions are audited by model signals (receivers.py), so they
are caught whichever way they are made: the admin, a management command, single sign-on. A
signal does not know the request, so this module keeps it for the duration of each request:
events name the signed-in user who made the change. Code that acts on its own account (single
sign-on provisioning a user) says so with `acting_as`; everything else (shell, migrations,
commands) is the system.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from kyc.audit.chain import Actor

_request: ContextVar[HttpRequest | None] = ContextVar("kyc_access_request", default=None)
_override: ContextVar[Actor | None] = ContextVar("kyc_access_actor", default=None)


def current_actor() -> Actor:
    override = _override.get()
    if override is not None:
        return override
    request = _request.get()
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor.user(user)
    return Actor.system()


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    token = _override.set(actor)
    try:
        yield
    finally:
        _override.reset(token)


class CurrentActorMiddleware:
    """Keeps the request at hand for `current_actor` (after AuthenticationMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
