"""Running one comparison attempt and acting on its outcome (DESIGN §5 steps 2–3, §6).

The order matters and is the point of this module:
1. claim the attempt with a conditional UPDATE (a redelivered task finds nothing to do);
2. decrypt and prepare the images and call the backend **outside any transaction**;
3. store the vendor's answer and its verdict at once, in one statement committed on its own:
   from then on a crash costs no second call, and nothing waits for the pair's lock first;
   the worker's other threads let it go before their settling and image work (answers_first);
4. in one transaction, settle it: decide the pair, open a review case, retry after a backoff
   or fail over — with the audit events and the webhook.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from kyc import dispatch
from kyc.audit import events
from kyc.audit.chain import Actor, audited_atomic
from kyc.db_pool import release_connection
from kyc.images import ImageRejected, prepare_for_backend
from kyc.known_faces.services import verdict_override
from kyc.models import (
    FINAL_PAIR_STATUSES,
    AttemptPurpose,
    AttemptStatus,
    ComparisonAttempt,
    DecisionSource,
    ImagePair,
    PairStatus,
)
from kyc.ops.vendor_calls import vendor_call
from kyc.representation import pair_data
from kyc.row_updates import save_fields
from kyc.services import attempt_claims, attempt_outcomes, routing
from kyc.services.answers_first import answers
from kyc.signals import pair_decided, pair_needs_review, review_priority
from kyc.webhooks import enqueue_pair_event
from vendors.base import (
    CompareRequest,
    CompareResult,
    ErrorCode,
    ReferenceSource,
    ResultStatus,
    VendorError,
    VendorNotConfigured,
)
from vendors.models import VendorConfig
from vendors.registry import get_adapter
from vendors.verdicts import APPROVE, REJECT, RESUBMIT, REVIEW, Verdict, judge

logger = logging.getLogger(__name__)

_PAIR_STATUS = {
    APPROVE: PairStatus.APPROVED,
    REJECT: PairStatus.REJECTED,
    RESUBMIT: PairStatus.RESUBMIT,
}
#: The taxonomy code of each refusal of kyc.images, for an image refused before the vendor call.
_LOCAL_CHECK_CODES = {
    "image_too_large": ErrorCode.IMAGE_TOO_LARGE,
    "image_too_small": ErrorCode.IMAGE_TOO_SMALL,
}


def enqueue_attempt(attempt: ComparisonAttempt, delay: float = 0.0) -> None:
    """Schedule the attempt once the surrounding transaction commits."""
    dispatch.send_on_commit(dispatch.COMPARE, attempt.pk, countdown=max(0.0, delay))


def run_attempt(attempt_id: int) -> float | None:
    """Run one attempt. Returns seconds to wait and try again, when another worker holds it or
    its vendor's calls-per-minute limit is used up.

    A redelivered message (its first worker died mid-call) may arrive before the dead worker's
    deadline has passed; it must come back later rather than be dropped.
    """
    taken = _claim(attempt_id)
    attempt, config = taken.attempt, taken.config
    if attempt is None or config is None:
        return taken.busy_for
    # No connection is held through the image work and the vendor call (kyc.db_pool).
    release_connection()
    if attempt.answered_at is not None:
        # Its worker died after the vendor's answer was stored: settle that, do not pay again.
        logger.info("stored vendor answer settled", extra={"attempt_id": attempt.pk})
        _settle_answer(attempt, {"status": attempt.answer_status()})
        return None
    if attempt.purpose != AttemptPurpose.PREFLIGHT:  # pre-flight runs locally, calls no vendor
        over_limit_for = routing.rate_limit_delay(config)
        if over_limit_for > 0:
            _postpone(attempt, over_limit_for)
            return over_limit_for
    pair = attempt.pair
    if pair.images_purged_at is not None:
        _finish_without_images(attempt)
        return None
    answers.let_answers_go_first()  # decrypting and preparing images can wait; answers cannot
    selfie, reference = _read_images(pair)
    if attempt.purpose == AttemptPurpose.PREFLIGHT:
        _run_preflight(attempt, selfie, reference)
        return None
    try:
        request = _build_request(pair, attempt, config, selfie, reference)
    except ImageRejected as rejected:
        # Below this vendor's documented limits: no call is made, nothing is billed.
        result = CompareResult(
            vendor=attempt.vendor,
            status=ResultStatus.INVALID_INPUT,
            error_code=_LOCAL_CHECK_CODES.get(rejected.code, ErrorCode.INVALID_IMAGE),
            vendor_message=rejected.message,
            details={"which": rejected.field, "local_check": rejected.code},
        )
        _settle_answer(attempt, _judged(attempt, result, config))
        return None
    try:
        adapter = get_adapter(attempt.vendor, timeout=config.timeout_seconds)
        # Logs the call (kyc/ops) once the answer is stored.
        settling = vendor_call(
            attempt,
            adapter.compare,
            request,
            on_answer=lambda result: _store_result(attempt, result, config),
        )
    except VendorError as error:
        routing.record_failure(attempt.vendor)
        _record_failure(attempt, error, config)
    except VendorNotConfigured as error:
        _record_failure(
            attempt,
            VendorError(
                ErrorCode.BAD_REQUEST, str(error), retryable=False, vendor_code="not_configured"
            ),
            config,
        )
    else:
        # Outside the try: a VendorError is the vendor call's, never the settling's.
        if settling is not None:
            _settle_stored(attempt, settling)
        # After the answer is stored, not before: it is a round trip to the cache that the
        # answer would otherwise wait for.
        routing.record_success(attempt.vendor)
    return None


def _read_images(pair: ImagePair) -> tuple[bytes, bytes]:
    """The pair's selfie and reference, decrypted."""
    with pair.selfie.open("rb") as handle:
        selfie = handle.read()
    with pair.reference.open("rb") as handle:
        reference = handle.read()
    return selfie, reference


def _postpone(attempt: ComparisonAttempt, seconds: float) -> None:
    """Hand a claimed attempt back as pending, not to be run (or swept) for `seconds`."""
    ComparisonAttempt.objects.filter(
        pk=attempt.pk, status=AttemptStatus.RUNNING, started_at=attempt.started_at
    ).update(
        status=AttemptStatus.PENDING,
        deadline_at=None,
        not_before=timezone.now() + timedelta(seconds=seconds),
    )


# --- claiming ------------------------------------------------------------------------------------


def _claim(attempt_id: int) -> attempt_claims.Claim:
    """Take the attempt if it is pending, or running past its deadline (its worker died).

    The attempt, its pair, the pair's client and applicant and the vendor's config are read with
    the claim (one statement on PostgreSQL, kyc/services/attempt_claims.py).
    """
    return attempt_claims.claim(attempt_id, timezone.now())


def _build_request(
    pair: ImagePair,
    attempt: ComparisonAttempt,
    config: VendorConfig,
    selfie: bytes,
    reference: bytes,
) -> CompareRequest:
    return CompareRequest(
        selfie=prepare_for_backend(selfie, attempt.vendor, field="selfie"),
        reference=prepare_for_backend(reference, attempt.vendor, field="reference"),
        reference_id=str(attempt.public_id),
        # Vendors get an opaque id, never the client's own user reference.
        user_ref=hashlib.sha256(
            f"{pair.client.public_id}:{pair.applicant.public_id}".encode()
        ).hexdigest()[:32],
        reference_source=ReferenceSource(pair.reference_source),
        options={"multiple_faces": config.multiple_faces},
    )


# --- pre-flight ----------------------------------------------------------------------------------


def _run_preflight(attempt: ComparisonAttempt, selfie: bytes, reference: bytes) -> None:
    from vendors.local.preflight import run_preflight

    outcome = run_preflight(selfie, reference)
    target = str(attempt.details.get("target_vendor", ""))
    outcome_fields = {
        "status": AttemptStatus.COMPLETED if outcome.passed else AttemptStatus.INVALID_INPUT,
        "error_code": str(outcome.error_code or ""),
        "latency_ms": outcome.latency_ms,
        "details": {
            **attempt.details,
            "selfie_faces": outcome.selfie_faces,
            "reference_faces": outcome.reference_faces,
            "which": outcome.which,
            "reason": outcome.reason,
            "vendor_called": False if not outcome.passed else None,
        },
        "verdict": "" if outcome.passed else RESUBMIT,
        "verdict_reasons": [] if outcome.passed else [outcome.reason],
    }
    with audited_atomic():  # the audit events are written last, right before COMMIT
        if not attempt_outcomes.store(attempt, outcome_fields, lock_pair=True):
            return
        pair = attempt.pair
        if outcome.passed:
            events.attempt_recorded(attempt)
            nxt = ComparisonAttempt.objects.create(
                pair=pair, vendor=target, number=attempt.number + 1
            )
            enqueue_attempt(nxt)
            return
        config = VendorConfig.objects.get(backend=target)
        verdict = Verdict(
            REVIEW if config.image_problems_to_review else RESUBMIT, (outcome.reason,)
        )
        events.attempt_recorded(attempt)
        _decide(pair, attempt, verdict)


# --- recording outcomes --------------------------------------------------------------------------


def _judged(
    attempt: ComparisonAttempt, result: CompareResult, config: VendorConfig
) -> dict[str, Any]:
    """The attempt's columns for `result`: the answer itself, its thresholds and its verdict."""
    thresholds = config.thresholds_snapshot()
    verdict = judge(config.backend, result, thresholds)
    band = verdict.band
    return {
        **attempt.fields_from_result(result),
        "thresholds": {
            **thresholds,
            **(
                {"band": {"approve_at": band.approve_at, "reject_below": band.reject_below}}
                if band
                else {}
            ),
        },
        "verdict": verdict.outcome,
        "verdict_reasons": list(verdict.reasons),
    }


def _store_result(
    attempt: ComparisonAttempt, result: CompareResult, config: VendorConfig
) -> dict[str, Any] | None:
    """Commit the vendor's answer with its verdict; returns what settling it stores, or None if
    this worker no longer holds the attempt (nothing was written).

    The answer's statement commits on its own and waits for no lock: a worker killed after it
    leaves the answer for the attempt's next claim (`run_attempt`), which settles it without
    calling, and paying, the vendor again (issue 19: crash cost)."""
    with answers.storing():
        fields = _judged(attempt, result, config)
        final = {"status": fields.pop("status")}
        return final if attempt_outcomes.store_answer(attempt, fields) else None


def _settle_stored(attempt: ComparisonAttempt, fields: dict[str, Any]) -> None:
    """Settle an answer this thread has just stored, once the answers that arrived before it
    are stored too; the connection goes back to the pool meanwhile, or those stores would wait
    for it."""
    release_connection()
    answers.let_answers_go_first()
    _settle_answer(attempt, fields)


def _settle_answer(attempt: ComparisonAttempt, fields: dict[str, Any]) -> None:
    """Store `fields` with the attempt's judged answer and, for a deciding attempt, decide the
    pair on its verdict: one transaction."""
    # Only a deciding attempt changes the pair, so only it locks the pair's row.
    deciding = attempt.purpose == AttemptPurpose.DECIDE
    with audited_atomic():  # the audit events are written last, right before COMMIT
        if not attempt_outcomes.store(attempt, fields, lock_pair=deciding):
            return
        events.attempt_recorded(attempt)
        if deciding:
            verdict = Verdict(attempt.verdict, tuple(attempt.verdict_reasons))
            _decide(attempt.pair, attempt, verdict)


def _record_failure(attempt: ComparisonAttempt, error: VendorError, config: VendorConfig) -> None:
    logger.warning(
        "comparison attempt failed",
        extra={
            "attempt_id": attempt.pk,
            "vendor": config.backend,
            "error_code": str(error.code),
            "vendor_code": error.vendor_code,
            "retryable": error.retryable,
        },
    )
    deciding = attempt.purpose == AttemptPurpose.DECIDE
    with audited_atomic():  # the audit events are written last, right before COMMIT
        if not attempt_outcomes.store(
            attempt, attempt.fields_from_error(error), lock_pair=deciding
        ):
            return
        events.attempt_recorded(attempt)
        if not deciding:
            return
        pair = attempt.pair
        if pair.status in FINAL_PAIR_STATUSES or pair.status == PairStatus.NEEDS_REVIEW:
            return
        _retry_or_fail_over(pair, attempt, error, config)


def _retry_or_fail_over(
    pair: ImagePair, attempt: ComparisonAttempt, error: VendorError, config: VendorConfig
) -> None:
    decide_attempts = list(
        ComparisonAttempt.objects.filter(pair=pair, purpose=AttemptPurpose.DECIDE).values_list(
            "vendor", flat=True
        )
    )
    next_number = pair.next_attempt_number()
    retries_used = decide_attempts.count(attempt.vendor) - 1
    if (
        error.retryable
        and retries_used < config.retry_budget
        and not routing.breaker_open(attempt.vendor)
    ):
        delay = routing.backoff_seconds(retries_used + 1, error.retry_after)
        retry = ComparisonAttempt.objects.create(
            pair=pair,
            vendor=attempt.vendor,
            number=next_number,
            not_before=timezone.now() + timedelta(seconds=delay),
        )
        enqueue_attempt(retry, delay)
        return
    fallback = routing.next_backend(set(decide_attempts))
    if fallback is not None:
        enqueue_attempt(
            ComparisonAttempt.objects.create(pair=pair, vendor=fallback.backend, number=next_number)
        )
        return
    _decide(pair, attempt, Verdict(REVIEW, ("vendor_failed",)))


def _decide(pair: ImagePair, attempt: ComparisonAttempt, verdict: Verdict) -> None:
    """Move the pair to its outcome exactly once (the pair row is locked by the caller)."""
    if pair.status in FINAL_PAIR_STATUSES or pair.status == PairStatus.NEEDS_REVIEW:
        return
    if pair.known_face is not None:  # the client's known-face check (kyc.known_faces)
        override = verdict_override(pair.known_face, verdict.outcome, verdict.reasons)
        if override is not None:
            verdict = Verdict(override[0], override[1], verdict.band)
    pair.deciding_attempt = attempt
    pair.status_reason = verdict.reasons[0] if verdict.reasons else ""
    if verdict.outcome == REVIEW:
        pair.status = PairStatus.NEEDS_REVIEW
        save_fields(pair, ("status", "status_reason", "deciding_attempt", "updated_at"))
        pair_needs_review.send(
            sender=ImagePair,
            pair=pair,
            reasons=list(verdict.reasons),
            priority=review_priority(verdict.reasons),
        )
    else:
        pair.status = _PAIR_STATUS[verdict.outcome]
        pair.decision_source = DecisionSource.AUTO
        pair.decided_at = timezone.now()
        save_fields(
            pair,
            (
                "status",
                "status_reason",
                "decision_source",
                "decided_at",
                "deciding_attempt",
                "updated_at",
            ),
        )
        events.pair_decided(pair, Actor.system("pipeline"), reasons=list(verdict.reasons))
    # Its first attempt is made by this thread once the decision commits, with no task message
    # (kyc.webhooks.delivery, `send_here`).
    enqueue_pair_event(pair, f"pair.{pair.status}", lambda: pair_data(pair), send_here=True)
    if pair.decision_source == DecisionSource.AUTO:
        pair_decided.send(sender=ImagePair, pair=pair, attempt=attempt)


def _finish_without_images(attempt: ComparisonAttempt) -> None:
    """The applicant was erased while the pair waited: nothing left to compare."""
    erased = {
        "status": AttemptStatus.FAILED,
        "error_message": "Images were erased before the comparison ran.",
    }
    with audited_atomic():
        if not attempt_outcomes.store(attempt, erased, lock_pair=True):
            return
        pair = attempt.pair
        if pair.status not in FINAL_PAIR_STATUSES:
            pair.status = PairStatus.FAILED
            pair.status_reason = "images_erased"
            pair.decided_at = timezone.now()
            pair.save(update_fields=["status", "status_reason", "decided_at", "updated_at"])
            events.pair_decided(pair, Actor.system("pipeline"))


def sweep_stuck_attempts(older_than: timedelta = timedelta(minutes=2)) -> int:
    """Re-enqueue attempts whose message was lost or whose worker died (DESIGN §5 step 3)."""
    now = timezone.now()
    stuck = ComparisonAttempt.objects.filter(
        Q(status=AttemptStatus.RUNNING, deadline_at__lt=now)
        | Q(status=AttemptStatus.PENDING, created_at__lt=now - older_than)
        & (Q(not_before__isnull=True) | Q(not_before__lt=now - older_than))
    ).values_list("pk", flat=True)[:1000]
    ids = list(stuck)
    for attempt_id in ids:
        dispatch.send(dispatch.COMPARE, attempt_id)
    return len(ids)
