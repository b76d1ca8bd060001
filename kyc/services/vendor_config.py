"""Changing a backend's configuration: validated, saved and audited in one transaction.

The admin is one caller; anything else that changes a `VendorConfig` goes through here too, so
every change leaves a `vendor_config.changed` audit event with the values before and after
(DESIGN §8, §11.4). Like the admin, this sits above `kyc`/`reviews` (it writes the audit event);
the adapters and verdicts below it still import neither.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.services.editing import edit_locked
from vendors.models import VendorConfig
from vendors.registry import missing_settings
from vendors.verdicts import RISK_TAG_REASONS

#: What an admin may change. `backend` names the row and never changes.
EDITABLE_FIELDS = (
    "enabled",
    "priority",
    "approve_at",
    "reject_below",
    "finauth_strictness",
    "review_risk_tags",
    "age_gap_years",
    "preflight",
    "multiple_faces",
    "image_problems_to_review",
    "timeout_seconds",
    "retry_budget",
    "rate_limit_per_minute",
)
#: The fields `vendors.verdicts.judge` reads for a completed answer: changing any of them
#: changes decisions, so the admin shows the impact preview before saving.
VERDICT_FIELDS = (
    "approve_at",
    "reject_below",
    "finauth_strictness",
    "review_risk_tags",
    "age_gap_years",
)

MIN_TIMEOUT, MAX_TIMEOUT = 2.0, 120.0
MAX_RETRY_BUDGET = 10
MAX_AGE_GAP = 80


def snapshot(config: VendorConfig) -> dict[str, Any]:
    """The editable values as plain JSON types (for audit events and comparisons)."""
    values: dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        value = getattr(config, name)
        values[name] = sorted(value) if name == "review_risk_tags" else value
    return values


def band_problem(approve_at: float, reject_below: float) -> str | None:
    if reject_below <= approve_at:
        return None
    return (
        f"Must not be above 'approve at' ({approve_at:g}): scores from {approve_at:g} to "
        f"{reject_below:g} would be both approved and rejected. Make them equal for no review "
        "band."
    )


def timeout_problem(timeout: float) -> str | None:
    soft_limit = getattr(settings, "CELERY_TASK_SOFT_TIME_LIMIT", 240)
    if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        return (
            f"Between {MIN_TIMEOUT:g} and {MAX_TIMEOUT:g} seconds: shorter times out healthy "
            "calls (FinAuth's sample answer took 1.4 s), longer holds a worker."
        )
    if timeout * 2 >= soft_limit:
        return (
            f"Must be under half the worker's time limit ({soft_limit} s): a call may be made "
            "twice (a token refresh) within one attempt."
        )
    return None


def check_rules(
    config: VendorConfig, *, was_enabled: bool, skip: Collection[str] = ()
) -> dict[str, list[str]]:
    """Rules beyond each field's own range, as {field: [message]}; empty when all hold.

    `skip` names fields that already failed their own validation: rules involving them are not
    checked (their value on `config` is still the old one and would mislead).
    """
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    def usable(*names: str) -> bool:
        return not any(name in skip for name in names)

    if usable("approve_at", "reject_below"):
        problem = band_problem(config.approve_at, config.reject_below)
        if problem:
            fail("reject_below", problem)
    if usable("enabled", "priority") and config.enabled:
        clash = (
            VendorConfig.objects.filter(enabled=True, priority=config.priority)
            .exclude(pk=config.pk)
            .first()
        )
        if clash is not None:
            fail(
                "priority",
                f"{clash} is enabled with priority {config.priority} too: give each enabled "
                "backend its own number so the failover order is clear.",
            )
    if usable("enabled") and config.enabled and not was_enabled:
        missing = missing_settings(config.backend)
        if missing:
            fail(
                "enabled",
                f"Cannot switch {config} on: {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set in the environment.",
            )
    if usable("timeout_seconds"):
        problem = timeout_problem(config.timeout_seconds)
        if problem:
            fail("timeout_seconds", problem)
    if usable("retry_budget") and config.retry_budget > MAX_RETRY_BUDGET:
        fail("retry_budget", f"At most {MAX_RETRY_BUDGET} retries before failing over.")
    if usable("rate_limit_per_minute") and config.rate_limit_per_minute == 0:
        fail("rate_limit_per_minute", "0 would stop every call: leave it empty for no limit.")
    gap = config.age_gap_years
    if usable("age_gap_years") and gap is not None and not 1 <= gap <= MAX_AGE_GAP:
        fail("age_gap_years", f"Between 1 and {MAX_AGE_GAP} years, or empty for off.")
    if usable("review_risk_tags"):
        unknown = sorted(set(config.review_risk_tags or ()) - set(RISK_TAG_REASONS))
        if unknown:
            fail(
                "review_risk_tags",
                f"Unknown risk tag {', '.join(unknown)}; known: "
                f"{', '.join(sorted(RISK_TAG_REASONS))}.",
            )
    if usable("preflight") and config.preflight and config.backend == "local":
        fail(
            "preflight",
            "The local engine is the face detector itself: pre-flight is for vendors only.",
        )
    return errors


def validate_config(config: VendorConfig, *, was_enabled: bool) -> None:
    """Raise a `ValidationError` keyed by field for anything wrong with `config`."""
    try:
        config.full_clean(validate_unique=False)
    except ValidationError as error:
        field_errors = error.message_dict
    else:
        field_errors = {}
    for name, messages in check_rules(
        config, was_enabled=was_enabled, skip=set(field_errors)
    ).items():
        field_errors.setdefault(name, []).extend(messages)
    if field_errors:
        raise ValidationError(field_errors)


@transaction.atomic
def update_vendor_config(
    config: VendorConfig, changes: Mapping[str, Any], actor: Actor
) -> VendorConfig:
    """Apply `changes` to `config`, or raise `ValidationError` and change nothing.

    Writes `vendor_config.changed` with the changed values before and after. A change that
    changes nothing writes nothing.
    """
    if "review_risk_tags" in changes:
        changes = {**changes, "review_risk_tags": list(changes["review_risk_tags"])}
    locked, before, after = edit_locked(
        VendorConfig,
        config.pk,
        changes,
        editable=EDITABLE_FIELDS,
        snapshot=snapshot,
        validate=lambda row, before: validate_config(row, was_enabled=before["enabled"]),
    )
    if after != before:
        locked.save()
        events.vendor_config_changed(locked, actor, before=before, after=after)
    for name in (*EDITABLE_FIELDS, "updated_at"):
        setattr(config, name, getattr(locked, name))
    return config
