"""Staff sessions: an idle timeout, an absolute lifetime, and each user's sessions listed and
ended together ("sign out everywhere").

Two timestamps in the session say when it signed in and when it was last used; the middleware
ends a session that went quiet for KYC_SESSION_IDLE_MINUTES or is older than SESSION_COOKIE_AGE
seconds. A StaffSession row per signed-in browser makes a user's sessions findable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.http import HttpRequest

from kyc.access.models import StaffSession
from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.users import StaffUser

SIGNED_IN_AT = "access_signed_in_at"
LAST_ACTIVITY = "access_last_activity"
#: The idle clock is kept to the minute: a request within a minute of the last recorded one does
#: not write the session again (reading pages costs no write), so a session may end up to a
#: minute before KYC_SESSION_IDLE_MINUTES after its very last request.
ACTIVITY_RESOLUTION = 60
#: The page warns this long before the idle timeout (at most half of it).
WARNING_SECONDS = 120


def idle_seconds() -> int:
    return int(settings.KYC_SESSION_IDLE_MINUTES) * 60


def lifetime_seconds() -> int:
    return int(settings.SESSION_COOKIE_AGE)


def warning_seconds() -> int:
    return min(WARNING_SECONDS, idle_seconds() // 2)


def _store(session_key: str | None = None) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore(session_key)
    return store


# --- one session ---------------------------------------------------------------------------------


def track(request: HttpRequest, user: StaffUser) -> None:
    """Start the clocks of a session that has just signed in, and record it under its user."""
    now = time.time()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_ACTIVITY] = now
    if not request.session.session_key:
        request.session.save()
    key = request.session.session_key
    assert key is not None
    StaffSession.objects.update_or_create(
        session_key=key,
        defaults={
            "user": user,
            "signed_in_at": datetime.fromtimestamp(now, tz=UTC),
            "user_agent": request.headers.get("User-Agent", "")[:200],
        },
    )


def forget(session_key: str | None) -> None:
    if session_key:
        StaffSession.objects.filter(session_key=session_key).delete()


@dataclass(frozen=True)
class Expiry:
    """Why a session is over: "idle" or "lifetime"."""

    reason: str


def expiry(session: SessionBase | dict[str, Any], now: float) -> Expiry | None:
    """Whether the session went quiet too long or lived too long; None while it may go on."""
    last = session.get(LAST_ACTIVITY)
    signed_in = session.get(SIGNED_IN_AT)
    if last is not None and now - float(last) > idle_seconds():
        return Expiry("idle")
    if signed_in is not None and now - float(signed_in) > lifetime_seconds():
        return Expiry("lifetime")
    return None


def touch(session: SessionBase, now: float) -> None:
    """A request of the user's own: the idle clock starts again."""
    last = session.get(LAST_ACTIVITY)
    if last is None or now - float(last) >= ACTIVITY_RESOLUTION:
        session[LAST_ACTIVITY] = now


def seconds_left(session: SessionBase, now: float) -> int:
    """Until the session ends, whichever limit comes first (for the page's warning)."""
    last = float(session.get(LAST_ACTIVITY, now))
    signed_in = float(session.get(SIGNED_IN_AT, now))
    left = min(last + idle_seconds(), signed_in + lifetime_seconds()) - now
    return max(0, int(left))


# --- all of a user's sessions ------------------------------------------------------------------


@dataclass(frozen=True)
class OpenSession:
    session_key: str
    signed_in_at: datetime
    last_activity: datetime | None
    user_agent: str


def open_sessions(user: StaffUser) -> list[OpenSession]:
    """The user's sessions that can still be used, newest first; rows of sessions that ended on
    their own (expired, or signed out of another way) are removed on the way."""
    now = time.time()
    alive: list[OpenSession] = []
    for row in StaffSession.objects.filter(user=user):
        data = _store(row.session_key).load()
        if data.get(SESSION_KEY) != str(user.pk) or expiry(data, now) is not None:
            row.delete()
            continue
        last = data.get(LAST_ACTIVITY)
        alive.append(
            OpenSession(
                session_key=row.session_key,
                signed_in_at=row.signed_in_at,
                last_activity=datetime.fromtimestamp(float(last), tz=UTC) if last else None,
                user_agent=row.user_agent,
            )
        )
    return alive


@transaction.atomic
def sign_out_everywhere(user: StaffUser, actor: Actor) -> int:
    """End every session of the user at once (audited); returns how many were open."""
    rows = list(StaffSession.objects.select_for_update().filter(user=user))
    for row in rows:
        _store(row.session_key).delete()
    StaffSession.objects.filter(pk__in=[row.pk for row in rows]).delete()
    events.sessions_ended(user, actor, sessions=len(rows))
    return len(rows)


# --- receivers of django.contrib.auth's signals (connected in AccessConfig.ready) ----------------


def on_signed_in(sender: object, request: HttpRequest | None, user: StaffUser, **_: Any) -> None:
    if request is not None and hasattr(request, "session"):
        track(request, user)


def on_signed_out(sender: object, request: HttpRequest | None, **_: Any) -> None:
    if request is not None and hasattr(request, "session"):
        forget(request.session.session_key)
