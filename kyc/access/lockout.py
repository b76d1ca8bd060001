"""The sign-in lockout (django-axes counts the failures): its page, and unlocking.

Settings say the rules: `KYC_LOGIN_FAILURE_LIMIT` failed sign-ins for one name, or from one
address, lock that name or address until `KYC_LOGIN_COOLOFF_MINUTES` have passed since the last
counted failure. Attempts during a lockout are refused without checking the password and do not
extend it.
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.audit.events import USERNAME_MAX

#: Axes' own status for a refused sign-in: Too Many Requests.
LOCKED_STATUS = 429


def cool_off_minutes() -> int:
    cool_off = get_cool_off()
    return int(cool_off.total_seconds() // 60) if cool_off else 0


def username_tried(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The name a sign-in was tried with, as axes counts it (AXES_USERNAME_CALLABLE): cut to the
    longest username there can be, so a longer one is counted, not a database error."""
    if credentials:
        name = credentials.get("username")
    else:
        name = getattr(request, "POST", {}).get("username")
    return str(name)[:USERNAME_MAX] if name is not None else None


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """The page shown instead of the sign-in form while a name or an address is locked out
    (AXES_LOCKOUT_CALLABLE). It does not say which of the two is locked, nor whether the name
    exists."""
    context = {"cool_off_minutes": cool_off_minutes()}
    return render(request, "registration/locked_out.html", context, status=LOCKED_STATUS)


def is_locked(attempt: AccessAttempt) -> bool:
    """Whether this row of failures still locks its name and address by itself."""
    cool_off = get_cool_off()
    recent = cool_off is None or attempt.attempt_time >= timezone.now() - cool_off
    return recent and attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT


@transaction.atomic
def unlock(attempts: QuerySet[AccessAttempt], actor: Actor) -> int:
    """Forget the failed sign-ins in `attempts` (one event each); returns how many rows."""
    rows = list(attempts.select_for_update().order_by("pk"))
    names = {row.username for row in rows if row.username}
    user_ids = dict(User.objects.filter(username__in=names).values_list("username", "pk"))
    for row in rows:
        events.staff_unlocked(
            actor,
            username=row.username or "",
            user_id=user_ids.get(row.username or ""),
            address=row.ip_address or "",
            failures=row.failures_since_start,
        )
    AccessAttempt.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return len(rows)
