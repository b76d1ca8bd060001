"""The only way anything is written to the audit trail: one function per event type (DESIGN §8).

Call these inside the transaction that makes the change, so the event and the change commit or
roll back together. Parameters hold ids, codes and numbers only: never images, keys or the
client's own user references (applicants are named by our public id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reviews.chain import Actor, append
from reviews.models import AuditEvent

if TYPE_CHECKING:
    from kyc.models import (
        ApiClient,
        ApiKey,
        Applicant,
        ComparisonAttempt,
        ImagePair,
        RetentionPolicy,
    )
    from reviews.models import Decision, ReasonCode, ReviewCase
    from vendors.models import VendorConfig

__all__ = ["Actor"]


def _pair_event(actor: Actor, event_type: str, pair: ImagePair, **params: Any) -> AuditEvent:
    return append(
        actor=actor,
        event_type=event_type,
        subject_type="image_pair",
        subject_id=str(pair.public_id),
        params=params,
    )


def _client_event(
    actor: Actor, event_type: str, client: ApiClient, params: dict[str, Any]
) -> AuditEvent:
    return append(
        actor=actor,
        event_type=event_type,
        subject_type="api_client",
        subject_id=str(client.public_id),
        params=params,
    )


def pair_submitted(pair: ImagePair, actor: Actor) -> AuditEvent:
    return _pair_event(
        actor,
        "pair.submitted",
        pair,
        applicant=str(pair.applicant.public_id),
        selfie_sha256=pair.selfie_sha256,
        reference_sha256=pair.reference_sha256,
        reference_source=pair.reference_source,
        requested_vendor=pair.requested_vendor,
    )


def attempt_recorded(attempt: ComparisonAttempt) -> AuditEvent:
    return _pair_event(
        Actor.system("pipeline"),
        "comparison.recorded",
        attempt.pair,
        attempt=str(attempt.public_id),
        vendor=attempt.vendor,
        number=attempt.number,
        purpose=attempt.purpose,
        status=attempt.status,
        score=attempt.score,
        error_code=attempt.error_code,
        verdict=attempt.verdict,
        billable=attempt.billable,
    )


def pair_decided(pair: ImagePair, actor: Actor, *, reasons: list[str] | None = None) -> AuditEvent:
    return _pair_event(
        actor,
        "pair.decided",
        pair,
        status=pair.status,
        source=pair.decision_source,
        reason=pair.status_reason,
        reasons=reasons or [],
        attempt=str(pair.deciding_attempt.public_id) if pair.deciding_attempt else None,
    )


def review_case_opened(case: ReviewCase) -> AuditEvent:
    return _pair_event(
        Actor.system("pipeline"),
        "review.opened",
        case.pair,
        case=str(case.public_id),
        reasons=list(case.reasons),
        due_at=case.due_at.isoformat(),
    )


def case_claimed(case: ReviewCase, actor: Actor) -> AuditEvent:
    return _pair_event(actor, "review.claimed", case.pair, case=str(case.public_id))


def case_released(case: ReviewCase, actor: Actor, *, why: str) -> AuditEvent:
    return _pair_event(actor, "review.released", case.pair, case=str(case.public_id), why=why)


def decision_recorded(decision: Decision, actor: Actor) -> AuditEvent:
    return _pair_event(
        actor,
        "review.decision",
        decision.case.pair,
        case=str(decision.case.public_id),
        decision=str(decision.public_id),
        stage=decision.stage,
        outcome=decision.outcome,
        reason_code=decision.reason_code.code if decision.reason_code else "",
        confirms=decision.confirms,
        has_note=bool(decision.note),
    )


def second_opinion_requested(
    pair: ImagePair, actor: Actor, *, vendor: str, attempt: str
) -> AuditEvent:
    return _pair_event(actor, "comparison.second_opinion", pair, vendor=vendor, attempt=attempt)


def images_viewed(pair: ImagePair, actor: Actor, *, which: str) -> AuditEvent:
    return _pair_event(actor, "images.viewed", pair, which=which)


def images_purged(pair: ImagePair, actor: Actor, *, why: str) -> AuditEvent:
    return _pair_event(actor, "images.purged", pair, why=why)


def applicant_erased(applicant: Applicant, actor: Actor, *, pairs: int) -> AuditEvent:
    return append(
        actor=actor,
        event_type="applicant.erased",
        subject_type="applicant",
        subject_id=str(applicant.public_id),
        params={"pairs": pairs},
    )


def legal_hold_changed(applicant: Applicant, actor: Actor) -> AuditEvent:
    return append(
        actor=actor,
        event_type="applicant.legal_hold",
        subject_type="applicant",
        subject_id=str(applicant.public_id),
        params={"legal_hold": applicant.legal_hold},
    )


def vendor_config_changed(
    config: VendorConfig, actor: Actor, *, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    return append(
        actor=actor,
        event_type="vendor_config.changed",
        subject_type="vendor_config",
        subject_id=config.backend,
        params=_changed(before, after),
    )


def api_key_created(key: ApiKey, actor: Actor) -> AuditEvent:
    return _client_event(
        actor, "api_key.created", key.client, {"prefix": key.prefix, "name": key.name}
    )


def api_key_revoked(key: ApiKey, actor: Actor) -> AuditEvent:
    return _client_event(actor, "api_key.revoked", key.client, {"prefix": key.prefix})


def webhook_secret_rotated(client: ApiClient, actor: Actor) -> AuditEvent:
    return _client_event(actor, "webhook_secret.rotated", client, {})


# --- Admin configuration (appended with the admin control panel) ------------------------------


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changed = sorted(key for key in after if before.get(key) != after.get(key))
    return {
        "changed": changed,
        "before": {key: before.get(key) for key in changed},
        "after": {key: after.get(key) for key in changed},
    }


def vendor_connection_tested(
    backend: str, actor: Actor, *, status: str, error_code: str, latency_ms: int | None
) -> AuditEvent:
    """An admin ran one comparison on the built-in sample images (it may be billed)."""
    return append(
        actor=actor,
        event_type="vendor_config.connection_tested",
        subject_type="vendor_config",
        subject_id=backend,
        params={"status": status, "error_code": error_code, "latency_ms": latency_ms},
    )


def api_client_created(client: ApiClient, actor: Actor, *, values: dict[str, Any]) -> AuditEvent:
    return _client_event(actor, "api_client.created", client, {"values": values})


def api_client_changed(
    client: ApiClient, actor: Actor, *, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    return _client_event(actor, "api_client.changed", client, _changed(before, after))


def webhook_secret_retired(client: ApiClient, actor: Actor) -> AuditEvent:
    return _client_event(actor, "webhook_secret.retired", client, {})


def reason_code_created(reason_code: ReasonCode, actor: Actor) -> AuditEvent:
    return append(
        actor=actor,
        event_type="reason_code.created",
        subject_type="reason_code",
        subject_id=f"{reason_code.outcome}:{reason_code.code}",
        params={
            "label": reason_code.label,
            "position": reason_code.position,
            "is_active": reason_code.is_active,
        },
    )


def reason_code_changed(
    reason_code: ReasonCode, actor: Actor, *, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    return append(
        actor=actor,
        event_type="reason_code.changed",
        subject_type="reason_code",
        subject_id=f"{reason_code.outcome}:{reason_code.code}",
        params=_changed(before, after),
    )


def retention_policy_changed(
    policy: RetentionPolicy, actor: Actor, *, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    return append(
        actor=actor,
        event_type="retention_policy.changed",
        subject_type="retention_policy",
        subject_id=str(policy.pk),
        params=_changed(before, after),
    )


def four_eyes_required(
    case: ReviewCase, actor: Actor, *, rules: list[str], outcome: str
) -> AuditEvent:
    """A first decision that needs a second person (settings.KYC_FOUR_EYES_RULES) before it acts."""
    return _pair_event(
        actor,
        "review.four_eyes_required",
        case.pair,
        case=str(case.public_id),
        rules=rules,
        outcome=outcome,
    )


def audit_trail_exported(actor: Actor, *, filters: dict[str, str]) -> AuditEvent:
    """Someone took a copy of (part of) the audit trail."""
    return append(
        actor=actor,
        event_type="audit.exported",
        subject_type="audit_trail",
        subject_id="",
        params={"filters": filters},
    )


# --- Operations: exports and re-runs (appended with the operations dashboard) ------------------


def decisions_exported(
    actor: Actor, *, start: str, end: str, rows: int, export_format: str = "csv"
) -> AuditEvent:
    """Someone downloaded the decisions of a date range (kyc.ops exports)."""
    return append(
        actor=actor,
        event_type="decisions.exported",
        subject_type="decisions",
        subject_id=f"{start}..{end}",
        params={"start": start, "end": end, "rows": rows, "format": export_format},
    )


def evidence_exported(pair: ImagePair, actor: Actor) -> AuditEvent:
    """Someone downloaded the evidence pack of one pair (for a regulator or an auditor)."""
    return _pair_event(actor, "evidence.exported", pair)


def rerun_requested(pair: ImagePair, actor: Actor, *, vendor: str, attempt: str) -> AuditEvent:
    """A calibration re-run on another vendor; its result never changes the pair's decision."""
    return _pair_event(actor, "comparison.rerun_requested", pair, vendor=vendor, attempt=attempt)
