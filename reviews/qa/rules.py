"""QA sampling rules as admins manage them: created and changed with an audit event.

A rule's backend and outcome name it, so they never change after creation; to stop sampling,
set its rate and near-threshold points to 0 (a deleted rule would leave no trace of its rates,
which calibration's weights depend on).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from kyc.audit.chain import Actor
from kyc.services.editing import edit_locked
from reviews import events
from reviews.models import QaSamplingRule

EDITABLE_FIELDS = ("rate", "near_threshold_points")


def _values(rule: QaSamplingRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in EDITABLE_FIELDS}


@transaction.atomic
def create_sampling_rule(rule: QaSamplingRule, actor: Actor) -> QaSamplingRule:
    """Save a new (unsaved) rule."""
    rule.full_clean()
    rule.save()
    events.qa_rule_created(rule, actor)
    return rule


@transaction.atomic
def update_sampling_rule(
    rule: QaSamplingRule, changes: Mapping[str, Any], actor: Actor
) -> QaSamplingRule:
    locked, before, after = edit_locked(
        QaSamplingRule,
        rule.pk,
        changes,
        editable=EDITABLE_FIELDS,
        snapshot=_values,
        not_editable="Not editable: {} (create a rule for that backend and outcome instead).",
    )
    if after != before:
        locked.save(update_fields=list(EDITABLE_FIELDS))
        events.qa_rule_changed(locked, actor, before=before, after=after)
    for name in EDITABLE_FIELDS:
        setattr(rule, name, getattr(locked, name))
    return rule
