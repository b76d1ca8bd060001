"""Changing how long images are kept: the retention policy and legal holds, both audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from kyc.models import Applicant, RetentionPolicy
from kyc.services.retention import get_policy
from reviews import events
from reviews.events import Actor

POLICY_FIELDS = ("image_retention_days", "keep_unfinished_days")


class ApplicantErased(Exception):
    """The applicant's images are already gone: a legal hold would keep nothing."""


def _policy_values(policy: RetentionPolicy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in POLICY_FIELDS}


@transaction.atomic
def update_retention_policy(changes: Mapping[str, Any], actor: Actor) -> RetentionPolicy:
    unknown = sorted(set(changes) - set(POLICY_FIELDS))
    if unknown:
        raise ValidationError(f"Not editable here: {', '.join(unknown)}.")
    get_policy()  # make sure the row exists before locking it
    policy = RetentionPolicy.objects.select_for_update(no_key=True).get(
        pk=RetentionPolicy.SINGLETON_ID
    )
    before = _policy_values(policy)
    for name, value in changes.items():
        setattr(policy, name, value)
    policy.full_clean()
    after = _policy_values(policy)
    if after != before:
        policy.save()
        events.retention_policy_changed(policy, actor, before=before, after=after)
    return policy


@transaction.atomic
def set_legal_hold(applicant: Applicant, hold: bool, actor: Actor) -> bool:
    """Place or lift a legal hold. True when it changed (and was audited)."""
    locked = Applicant.objects.select_for_update(no_key=True).get(pk=applicant.pk)
    if locked.legal_hold == hold:
        applicant.legal_hold = hold
        return False
    if hold and locked.erased_at is not None:
        raise ApplicantErased("This applicant was erased: there are no images left to hold.")
    locked.legal_hold = hold
    locked.save(update_fields=["legal_hold"])
    events.legal_hold_changed(locked, actor)
    applicant.legal_hold = hold
    return True
