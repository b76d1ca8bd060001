"""Reason codes as admins manage them: created and changed with an audit event.

A code's outcome and slug name it in decisions and in the audit trail, so they never change
after creation; retire a code by making it inactive (decisions keep pointing at it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from kyc.audit.chain import Actor
from kyc.services.editing import edit_locked
from reviews import events
from reviews.models import ReasonCode

EDITABLE_FIELDS = ("label", "position", "is_active")


def _values(reason_code: ReasonCode) -> dict[str, Any]:
    return {name: getattr(reason_code, name) for name in EDITABLE_FIELDS}


@transaction.atomic
def create_reason_code(reason_code: ReasonCode, actor: Actor) -> ReasonCode:
    """Save a new (unsaved) reason code."""
    reason_code.full_clean()
    reason_code.save()
    events.reason_code_created(reason_code, actor)
    return reason_code


@transaction.atomic
def update_reason_code(
    reason_code: ReasonCode, changes: Mapping[str, Any], actor: Actor
) -> ReasonCode:
    locked, before, after = edit_locked(
        ReasonCode,
        reason_code.pk,
        changes,
        editable=EDITABLE_FIELDS,
        snapshot=_values,
        not_editable="Not editable: {} (create a new code instead).",
    )
    if after != before:
        locked.save(update_fields=list(EDITABLE_FIELDS))
        events.reason_code_changed(locked, actor, before=before, after=after)
    for name in EDITABLE_FIELDS:
        setattr(reason_code, name, getattr(locked, name))
    return reason_code
