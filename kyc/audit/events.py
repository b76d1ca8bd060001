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


# Staff access: sign-in, throttling and accounts
#
# Subjects are users by their primary key (as actors are); the username rides along in the
# params so the trail reads without a lookup. A name someone typed into the sign-in form is kept
# as given, cut to the longest username there can be. Passwords never reach these functions.

#: The longest username Django stores; a longer "name tried" is cut to it.
USERNAME_MAX = 150


def _user_event(
    actor: Actor, event_type: str, user_id: int | None, params: dict[str, Any]
) -> AuditEvent:
    return append(
        actor=actor,
        event_type=event_type,
        subject_type="user",
        subject_id=str(user_id) if user_id is not None else "",
        params=params,
    )


def _staff_user_event(
    actor: Actor, event_type: str, user: StaffUser, params: dict[str, Any]
) -> AuditEvent:
    """An event about one staff account (the username is a colleague's, not an applicant's)."""
    return _user_event(actor, event_type, user.pk, {"username": user.get_username(), **params})


def staff_signed_in(
    user: StaffUser, *, method: str, second_factor_required: bool, address: str
) -> AuditEvent:
    """`method` is "password" or "sso"; when a second factor is required, the session is usable
    only after `second_factor_passed`."""
    return _staff_user_event(
        Actor.user(user),
        "staff.signed_in",
        user,
        {"method": method, "second_factor_required": second_factor_required, "address": address},
    )


def staff_sign_in_failed(
    *, username: str, user_id: int | None, method: str, address: str
) -> AuditEvent:
    return _user_event(
        Actor.system("anonymous"),
        "staff.sign_in_failed",
        user_id,
        {"username": username[:USERNAME_MAX], "method": method, "address": address},
    )


def staff_signed_out(user: StaffUser, *, address: str) -> AuditEvent:
    return _staff_user_event(Actor.user(user), "staff.signed_out", user, {"address": address})


def staff_locked_out(
    *, username: str, user_id: int | None, address: str, failures: int, cool_off_minutes: int
) -> AuditEvent:
    """Too many failed sign-ins for a name or from an address: refused until the cool-off ends."""
    return _user_event(
        Actor.system("lockout"),
        "staff.locked_out",
        user_id,
        {
            "username": username[:USERNAME_MAX],
            "address": address,
            "failures": failures,
            "cool_off_minutes": cool_off_minutes,
        },
    )


def staff_unlocked(
    actor: Actor, *, username: str, user_id: int | None, address: str, failures: int
) -> AuditEvent:
    """An administrator cleared the failed sign-ins of a name at an address before the cool-off."""
    return _user_event(
        actor,
        "staff.unlocked",
        user_id,
        {"username": username[:USERNAME_MAX], "address": address, "failures": failures},
    )


def _account(user: StaffUser) -> dict[str, Any]:
    return {
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
    }


def user_created(user: StaffUser, actor: Actor) -> AuditEvent:
    return _staff_user_event(actor, "user.created", user, _account(user))


def user_deactivated(user: StaffUser, actor: Actor) -> AuditEvent:
    return _staff_user_event(actor, "user.deactivated", user, {})


def user_reactivated(user: StaffUser, actor: Actor) -> AuditEvent:
    return _staff_user_event(actor, "user.reactivated", user, {})


def user_privileges_changed(
    user: StaffUser, actor: Actor, *, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    """`is_staff` (opens the admin) or `is_superuser` (every permission) changed."""
    return _staff_user_event(
        actor,
        "user.privileges_changed",
        user,
        changes(before, after),
    )


def user_deleted(user: StaffUser, actor: Actor) -> AuditEvent:
    return _staff_user_event(actor, "user.deleted", user, {})


def user_groups_changed(
    user: StaffUser, actor: Actor, *, added: list[str], removed: list[str]
) -> AuditEvent:
    """The user's roles: group names added and removed."""
    return _staff_user_event(
        actor,
        "user.groups_changed",
        user,
        {"added": added, "removed": removed},
    )


def user_permissions_changed(
    user: StaffUser, actor: Actor, *, added: list[str], removed: list[str]
) -> AuditEvent:
    """Permissions given to the user directly ("app_label.codename"), outside any group."""
    return _staff_user_event(
        actor,
        "user.permissions_changed",
        user,
        {"added": added, "removed": removed},
    )


def group_permissions_changed(
    group: Group, actor: Actor, *, added: list[str], removed: list[str]
) -> AuditEvent:
    """A role's permissions ("app_label.codename"): every member gains or loses them."""
    return append(
        actor=actor,
        event_type="group.permissions_changed",
        subject_type="group",
        subject_id=str(group.pk),
        params={"group": group.name, "added": added, "removed": removed},
    )


def user_sso_linked(user: StaffUser, actor: Actor, *, issuer: str, matched_by: str) -> AuditEvent:
    """From now on the account signs in through the provider `issuer`; `matched_by` says how its
    first sign-in found it: "email" (an existing account) or "created" (a new one)."""
    return _staff_user_event(
        actor,
        "user.sso_linked",
        user,
        {"issuer": issuer, "matched_by": matched_by},
    )


def user_sso_unlinked(user: StaffUser, actor: Actor, *, issuer: str) -> AuditEvent:
    """An administrator cut the account's link to the provider `issuer`: the next single sign-on
    links it afresh (by email) or is refused."""
    return _staff_user_event(actor, "user.sso_unlinked", user, {"issuer": issuer})


# Staff access: second factor and sessions


def second_factor_enrolled(
    user: StaffUser, actor: Actor, *, device: str, recovery_codes: int
) -> AuditEvent:
    return _staff_user_event(
        actor,
        "second_factor.enrolled",
        user,
        {"device": device, "recovery_codes": recovery_codes},
    )


def second_factor_passed(user: StaffUser, *, device: str, address: str) -> AuditEvent:
    """The sign-in's second step: the session is verified with `device` ("totp" or
    "recovery_code")."""
    return _staff_user_event(
        Actor.user(user), "second_factor.passed", user, {"device": device, "address": address}
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


def pair_decision_changed(
    pair: ImagePair, actor: Actor, *, before: str, reason: str, because: dict[str, str]
) -> AuditEvent:
    """A final decision replaced by a later human review; `because` names what led to it (the
    review case and, for a QA disagreement, the QA item)."""
    return pair_event(
        actor,
        "pair.decision_changed",
        pair,
        before=before,
        after=pair.status,
        reason=reason,
        **because,
    )


# Contests of automatic decisions (GDPR Art. 22)


def pair_contested(contest: PairContest, actor: Actor) -> AuditEvent:
    """The applicant asked for a person to decide; the statement's text stays out of the trail."""
    return pair_event(
        actor,
        "pair.contested",
        contest.pair,
        contest=str(contest.public_id),
        statement_chars=contest.statement_chars,
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
