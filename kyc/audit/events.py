"""The only way anything is written to the audit trail: one function per event type (DESIGN §8).

Call these inside the transaction that makes the change, so the event and the change commit or
roll back together. Parameters hold ids, codes and numbers only: never images, keys or the
client's own user references (applicants are named by our public id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kyc.audit.chain import Actor, append
from kyc.audit.models import AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import Group

    from kyc.models import (
        ApiClient,
        ApiKey,
        Applicant,
        ComparisonAttempt,
        ImagePair,
        PairContest,
        RetentionPolicy,
    )
    from kyc.users import StaffUser
    from vendors.models import VendorConfig

__all__ = ["Actor", "append", "changed_event", "changes", "pair_event"]


def pair_event(actor: Actor, event_type: str, pair: ImagePair, **params: Any) -> AuditEvent:
    """An event in one image pair's timeline (the case page and evidence pack read these)."""
    return append(
        actor=actor,
        event_type=event_type,
        subject_type="image_pair",
        subject_id=str(pair.public_id),
        params=params,
    )


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The params of a "changed" event: which fields changed, and their values before and after."""
    changed = sorted(key for key in after if before.get(key) != after.get(key))
    return {
        "changed": changed,
        "before": {key: before.get(key) for key in changed},
        "after": {key: after.get(key) for key in changed},
    }


def changed_event(
    actor: Actor,
    event_type: str,
    subject: tuple[str, str],
    *,
    before: dict[str, Any],
    after: dict[str, Any],
) -> AuditEvent:
    """A "<thing>.changed" event: `subject` is (subject type, subject id)."""
    subject_type, subject_id = subject
    return append(
        actor=actor,
        event_type=event_type,
        subject_type=subject_type,
        subject_id=subject_id,
        params=changes(before, after),
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
    return pair_event(
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
    return pair_event(
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
    return pair_event(
        actor,
        "pair.decided",
        pair,
        status=pair.status,
        source=pair.decision_source,
        reason=pair.status_reason,
        reasons=reasons or [],
        attempt=str(pair.deciding_attempt.public_id) if pair.deciding_attempt else None,
    )


def second_opinion_requested(
    pair: ImagePair, actor: Actor, *, vendor: str, attempt: str
) -> AuditEvent:
    return pair_event(actor, "comparison.second_opinion", pair, vendor=vendor, attempt=attempt)


def images_purged(pair: ImagePair, actor: Actor, *, why: str) -> AuditEvent:
    return pair_event(actor, "images.purged", pair, why=why)


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
    return changed_event(
        actor,
        "vendor_config.changed",
        ("vendor_config", config.backend),
        before=before,
        after=after,
    )


def api_key_created(key: ApiKey, actor: Actor) -> AuditEvent:
    return _client_event(
        actor, "api_key.created", key.client, {"prefix": key.prefix, "name": key.name}
    )


def api_key_revoked(key: ApiKey, actor: Actor) -> AuditEvent:
    return _client_event(actor, "api_key.revoked", key.client, {"prefix": key.prefix})


def webhook_secret_rotated(client: ApiClient, actor: Actor) -> AuditEvent:
    return _client_event(actor, "webhook_secret.rotated", client, {})


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
    return _client_event(actor, "api_client.changed", client, changes(before, after))


def webhook_secret_retired(client: ApiClient, actor: Actor) -> AuditEvent:
    return _client_event(actor, "webhook_secret.retired", client, {})


def retention_policy_changed(
    policy: RetentionPolicy, actor: Actor, *, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    return changed_event(
        actor,
        "retention_policy.changed",
        ("retention_policy", str(policy.pk)),
        before=before,
        after=after,
    )


def rerun_requested(pair: ImagePair, actor: Actor, *, vendor: str, attempt: str) -> AuditEvent:
    """A calibration re-run on another vendor; its result never changes the pair's decision."""
    return pair_event(actor, "comparison.rerun_requested", pair, vendor=vendor, attempt=attempt)


# Staff access: second factor and sessions


def _staff_user_event(
    actor: Actor, event_type: str, user: StaffUser, params: dict[str, Any]
) -> AuditEvent:
    """An event about one staff account (the username is a colleague's, not an applicant's)."""
    return append(
        actor=actor,
        event_type=event_type,
        subject_type="user",
        subject_id=str(user.pk),
        params={"username": user.get_username(), **params},
    )


def second_factor_enrolled(
    user: StaffUser, actor: Actor, *, device: str, recovery_codes: int
) -> AuditEvent:
    return _staff_user_event(
        actor,
        "second_factor.enrolled",
        user,
        {"device": device, "recovery_codes": recovery_codes},
    )


def second_factor_removed(user: StaffUser, actor: Actor, *, devices: list[str]) -> AuditEvent:
    """The user removed their own second factor (to set up a new one)."""
    return _staff_user_event(actor, "second_factor.removed", user, {"devices": devices})


def second_factor_reset(user: StaffUser, actor: Actor, *, devices: list[str]) -> AuditEvent:
    """An administrator removed a user's second factor: they set up a new one at next sign-in."""
    return _staff_user_event(actor, "second_factor.reset", user, {"devices": devices})


def second_factor_policy_changed(group: Group, actor: Actor, *, required: bool) -> AuditEvent:
    return append(
        actor=actor,
        event_type="second_factor.policy_changed",
        subject_type="role",
        subject_id=str(group.pk),
        params={"role": group.name, "required": required},
    )


def sessions_ended(user: StaffUser, actor: Actor, *, sessions: int) -> AuditEvent:
    """An administrator signed a user out everywhere."""
    return _staff_user_event(actor, "sessions.ended", user, {"sessions": sessions})


# Contests of automatic decisions (GDPR Art. 22)


def pair_contested(contest: PairContest, actor: Actor) -> AuditEvent:
    """The applicant asked for a person to decide; the statement's text stays out of the trail."""
    return pair_event(
        actor,
        "pair.contested",
        contest.pair,
        contest=str(contest.public_id),
        statement_chars=len(contest.statement),
    )


def contest_decided(contest: PairContest, actor: Actor) -> AuditEvent:
    return pair_event(
        actor,
        "contest.decided",
        contest.pair,
        contest=str(contest.public_id),
        status=contest.status,
        pair_status=contest.pair.status,
    )


def contest_statements_erased(applicant: Applicant, actor: Actor, *, contests: int) -> AuditEvent:
    return append(
        actor=actor,
        event_type="contest.statements_erased",
        subject_type="applicant",
        subject_id=str(applicant.public_id),
        params={"contests": contests},
    )
