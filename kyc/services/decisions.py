"""Final outcomes decided by people (the pipeline decides the automatic ones)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.errors import ApplicationError
from kyc.models import AttemptPurpose, ComparisonAttempt, DecisionSource, ImagePair, PairStatus
from kyc.representation import pair_data
from kyc.services.pipeline import enqueue_attempt
from kyc.webhooks import enqueue_pair_event

REVIEWER_OUTCOMES = {PairStatus.APPROVED, PairStatus.REJECTED, PairStatus.RESUBMIT}
#: The final decisions a later human review (a QA disagreement) may replace.
CHANGEABLE_DECISIONS = {PairStatus.APPROVED, PairStatus.REJECTED}


class PairNotAwaitingReview(ApplicationError):
    """The pair was decided meanwhile (or never needed a human)."""

    code = "pair_not_awaiting_review"


class DecisionNotChangeable(ApplicationError):
    """The pair has no final approval or rejection a review could replace."""

    code = "decision_not_changeable"


class ImagesGone(ApplicationError):
    """The pair's images were purged; nothing can be compared any more."""

    code = "images_purged"


@transaction.atomic
def apply_reviewer_outcome(
    pair: ImagePair, status: str, actor: Actor, *, reason: str = ""
) -> ImagePair:
    """Move a pair waiting for review to its final status, once, with audit and webhook."""
    if status not in REVIEWER_OUTCOMES:  # a caller's bug, not a refusal a person can meet
        raise ValueError(f"A reviewer cannot set status {status!r}.")
    locked = ImagePair.objects.lock_for_change(pair.pk)
    if locked.status != PairStatus.NEEDS_REVIEW:
        raise PairNotAwaitingReview(f"Pair {locked.public_id} is already {locked.status}.")
    locked.status = status
    locked.status_reason = reason or "reviewer_decision"
    locked.decision_source = DecisionSource.REVIEWER
    locked.decided_at = timezone.now()
    locked.save(
        update_fields=["status", "status_reason", "decision_source", "decided_at", "updated_at"]
    )
    events.pair_decided(locked, actor)
    enqueue_pair_event(locked, f"pair.{locked.status}", lambda: pair_data(locked))
    return locked


@transaction.atomic
def change_decision(
    pair: ImagePair, status: str, actor: Actor, *, reason: str, because: dict[str, str]
) -> ImagePair | None:
    """Replace a pair's final decision after a later review, with audit and a
    `pair.decision_changed` webhook; None (and nothing written) when the review upheld it.

    `because` names the review that changed it, for the audit trail (ids only).
    """
    if status not in REVIEWER_OUTCOMES:  # a caller's bug, not a refusal a person can meet
        raise ValueError(f"A reviewer cannot set status {status!r}.")
    locked = ImagePair.objects.lock_for_change(pair.pk)
    if locked.status not in CHANGEABLE_DECISIONS:
        raise DecisionNotChangeable(f"Pair {locked.public_id} is {locked.status}.")
    if locked.status == status:
        return None
    before = locked.status
    locked.status = status
    locked.status_reason = reason
    locked.decision_source = DecisionSource.REVIEWER
    locked.decided_at = timezone.now()
    locked.save(
        update_fields=["status", "status_reason", "decision_source", "decided_at", "updated_at"]
    )
    events.pair_decision_changed(locked, actor, before=before, reason=reason, because=because)
    enqueue_pair_event(
        locked,
        "pair.decision_changed",
        lambda: {**pair_data(locked), "previous_status": before},
    )
    return locked


@transaction.atomic
def request_second_opinion(pair: ImagePair, vendor: str, actor: Actor) -> ComparisonAttempt:
    """Run the pair on another backend for a reviewer; its result never changes the decision."""
    locked = ImagePair.objects.select_for_update(no_key=True).get(pk=pair.pk)
    if locked.images_purged_at is not None:
        raise ImagesGone("The images of this pair were purged.")
    attempt = ComparisonAttempt.objects.create(
        pair=locked,
        vendor=vendor,
        number=locked.next_attempt_number(),
        purpose=AttemptPurpose.SECOND_OPINION,
    )
    events.second_opinion_requested(locked, actor, vendor=vendor, attempt=str(attempt.public_id))
    enqueue_attempt(attempt)
    return attempt
