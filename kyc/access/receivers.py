"""The audit of staff access, fed by signals (DESIGN §8).

Sign-ins, sign-outs and failed sign-ins come from django.contrib.auth's signals and lockouts from
django-axes', so every way in (the sign-in page, the admin's, single sign-on) is recorded the
same way. Accounts, roles and permissions are audited by model signals, so a change made in
the admin, a shell or by single sign-on is recorded alike; `kyc.access.actors` says who made
it. The receivers run inside the transaction of the change they record.

A failed sign-in records only the name that was tried: the credentials Django passes along
never reach the trail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from axes.helpers import get_cool_off
from django.contrib.auth import signals as auth_signals
from django.contrib.auth.models import Group, Permission, User
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.http import HttpRequest

from kyc.access.actors import current_actor
from kyc.access.addresses import client_address
from kyc.access.oidc import SSO_BACKEND
from kyc.access.two_factor import SSO_SESSION_KEY, second_factor_asked
from kyc.audit import events
from kyc.audit.chain import Actor

#: The flags of an account whose flips are audited.
FLAGS = ("is_active", "is_staff", "is_superuser")


def connect() -> None:
    """Called once by AccessConfig.ready."""
    from axes.signals import handle_user_login_failed, user_locked_out

    auth_signals.user_logged_in.connect(on_signed_in, dispatch_uid="access.signed_in")
    auth_signals.user_logged_out.connect(on_signed_out, dispatch_uid="access.signed_out")
    # Ours before axes' (which the admin's autodiscovery connected already), so the trail has
    # the failed sign-in before the lockout that axes, counting it, may start.
    auth_signals.user_login_failed.disconnect(handle_user_login_failed)
    auth_signals.user_login_failed.connect(on_sign_in_failed, dispatch_uid="access.failed")
    auth_signals.user_login_failed.connect(handle_user_login_failed)
    user_locked_out.connect(on_locked_out, dispatch_uid="access.locked_out")
    pre_save.connect(remember_flags, sender=User, dispatch_uid="access.user_flags")
    post_save.connect(on_user_saved, sender=User, dispatch_uid="access.user_saved")
    post_delete.connect(on_user_deleted, sender=User, dispatch_uid="access.user_deleted")
    for through in RELATIONS:
        m2m_changed.connect(on_relation_changed, sender=through, dispatch_uid=f"access.{through}")


def _address(request: HttpRequest | None) -> str:
    return client_address(request) if request is not None else ""


def _user_id(username: str) -> int | None:
    return User.objects.filter(username=username).values_list("pk", flat=True).first()


# --- signing in and out --------------------------------------------------------------------------


def on_signed_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    sso = getattr(user, "backend", "") == SSO_BACKEND
    if sso and request is not None:
        request.session[SSO_SESSION_KEY] = True
    # The password (or the provider) is the first step; the second factor, when one is asked
    # here, follows as its own event (second_factor.passed) once the code is accepted.
    events.staff_signed_in(
        user,
        method="sso" if sso else "password",
        second_factor_required=second_factor_asked(user, sso=sso),
        address=_address(request),
    )


def on_signed_out(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:  # signing out without being signed in changes nothing
        events.staff_signed_out(user, address=_address(request))


def on_sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Single sign-on's callback authenticates with the nonce it sent; the form with a name.
    method = "sso" if "nonce" in credentials else "password"
    username = str(credentials.get("username") or "")
    events.staff_sign_in_failed(
        username=username,
        user_id=_user_id(username) if username else None,
        method=method,
        address=_address(request),
    )


def on_locked_out(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str, **kwargs: Any
) -> None:
    # axes also sends this for each attempt refused *during* a lockout; only the failure that
    # starts one has been counted (axes sets the count as it counts).
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        return
    cool_off = get_cool_off(request)
    events.staff_locked_out(
        username=username or "",
        user_id=_user_id(username) if username else None,
        address=ip_address or "",
        failures=failures,
        cool_off_minutes=int(cool_off.total_seconds() // 60) if cool_off else 0,
    )


# --- accounts ------------------------------------------------------------------------------------


def _flags(user: User) -> dict[str, bool]:
    return {flag: bool(getattr(user, flag)) for flag in FLAGS}


def remember_flags(sender: Any, instance: User, update_fields: Any = None, **kwargs: Any) -> None:
    """Read the flags as stored, before a save that may change them (not on every last_login)."""
    if instance.pk is None or kwargs.get("raw"):
        return
    if update_fields is not None and not set(update_fields) & set(FLAGS):
        return
    stored = User.objects.filter(pk=instance.pk).values(*FLAGS).first()
    instance._access_flags_before = stored  # type: ignore[attr-defined]


def on_user_saved(sender: Any, instance: User, created: bool, raw: bool, **kwargs: Any) -> None:
    if raw:  # loaddata restores rows; it does not change anyone's access
        return
    actor = current_actor()
    if created:
        events.user_created(instance, actor)
        return
    before = instance.__dict__.pop("_access_flags_before", None)
    if before is None:
        return
    after = _flags(instance)
    if before["is_active"] != after["is_active"]:
        if after["is_active"]:
            events.user_reactivated(instance, actor)
        else:
            events.user_deactivated(instance, actor)
    privileges = ("is_staff", "is_superuser")
    if any(before[flag] != after[flag] for flag in privileges):
        events.user_privileges_changed(
            instance,
            actor,
            before={flag: before[flag] for flag in privileges},
            after={flag: after[flag] for flag in privileges},
        )


def on_user_deleted(sender: Any, instance: User, **kwargs: Any) -> None:
    events.user_deleted(instance, current_actor())


# --- roles and permissions -----------------------------------------------------------------------


def _group_names(ids: Iterable[int]) -> list[str]:
    return sorted(Group.objects.filter(pk__in=ids).values_list("name", flat=True))


def _permission_names(ids: Iterable[int]) -> list[str]:
    return sorted(
        f"{app_label}.{codename}"
        for app_label, codename in Permission.objects.filter(pk__in=ids).values_list(
            "content_type__app_label", "codename"
        )
    )


Recorder = Callable[..., object]
Namer = Callable[[Iterable[int]], list[str]]

#: Each audited many-to-many table: its owner's and its target's column, how the targets are
#: named, and the event that records a change.
RELATIONS: dict[type[models.Model], tuple[str, str, Namer, Recorder]] = {
    User.groups.through: ("user", "group", _group_names, events.user_groups_changed),
    User.user_permissions.through: (
        "user",
        "permission",
        _permission_names,
        events.user_permissions_changed,
    ),
    Group.permissions.through: (
        "group",
        "permission",
        _permission_names,
        events.group_permissions_changed,
    ),
}


def on_relation_changed(
    sender: type[models.Model],
    instance: models.Model,
    action: str,
    reverse: bool,
    model: type[models.Model],
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    """One event per owner (user or group) whose links changed.

    The signal names what was asked, which for a removal may include rows that were never
    linked, and nothing at all for a clear: the rows really linked are read before they go.
    `reverse` is a change made from the other side (`group.user_set.add(user)`).
    """
    owner_column, target_column, name, record = RELATIONS[sender]
    here, there = (target_column, owner_column) if reverse else (owner_column, target_column)
    pending = instance.__dict__.setdefault("_access_removing", {})
    if action in ("pre_remove", "pre_clear"):
        linked = sender._default_manager.filter(**{f"{here}_id": instance.pk})
        if pk_set is not None:
            linked = linked.filter(**{f"{there}_id__in": pk_set})
        pending[sender] = set(linked.values_list(f"{there}_id", flat=True))
        return
    if action == "post_add":
        changed, added = set(pk_set or ()), True
    elif action in ("post_remove", "post_clear"):
        changed, added = pending.pop(sender, set()), False
    else:
        return
    if not changed:
        return
    actor: Actor = current_actor()
    if not reverse:
        names = name(changed)
        _record(record, instance, actor, names, added)
        return
    # From the other side: each owner gained or lost this one instance.
    instance_name = name([instance.pk])
    for owner in model._default_manager.filter(pk__in=changed).order_by("pk"):
        _record(record, owner, actor, instance_name, added)


def _record(
    record: Recorder, owner: models.Model, actor: Actor, names: list[str], added: bool
) -> None:
    record(owner, actor, added=names if added else [], removed=[] if added else names)
