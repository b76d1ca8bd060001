"""Writes of the reviews domain: opening, claiming, releasing and deciding review cases.

Every change locks the case row first (`select_for_update`) and writes its audit event in the
same transaction. Two people can therefore never both claim one case, nor both decide one stage
of it: the second finds the case changed and is told so (`StaleDecision`), and the unique
(case, stage) constraint on `Decision` backs this up at the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from kyc import dispatch
from kyc.audit.chain import Actor
from kyc.errors import ApplicationError
from kyc.inserts import insert_unless_present
from kyc.models import ComparisonAttempt, ImagePair, PairStatus
from kyc.users import StaffUser
from reviews import events
from reviews.contests import CONTEST_RULE, carry_out, is_contest, is_recused
from reviews.labels import record_decision_label
from reviews.models import (
    CaseQueue,
    CaseRecusal,
    CaseSkip,
    CaseStatus,
    Decision,
    DecisionStage,
    Outcome,
    QaItem,
    ReasonCode,
    ReviewCase,
    ReviewReason,
)
from reviews.permissions import can_assign, can_review, can_second_review, can_work_queue
from vendors.verdicts import REVIEW, judged_band

#: What a final reviewer outcome does to the pair.
PAIR_STATUS_FOR = {
    Outcome.APPROVE: PairStatus.APPROVED,
    Outcome.REJECT: PairStatus.REJECTED,
    Outcome.RESUBMIT: PairStatus.RESUBMIT,
}
#: Cases still waiting for a person, per queue.
ACTIVE_STATUSES: dict[str, tuple[str, ...]] = {
    CaseQueue.STANDARD: (CaseStatus.OPEN, CaseStatus.CLAIMED),
    CaseQueue.SENIOR: (CaseStatus.OPEN, CaseStatus.CLAIMED, CaseStatus.AWAITING_SECOND_REVIEW),
}


class CaseUnavailable(ApplicationError):
    """The case cannot be taken or decided by this user right now (held by someone else...)."""

    code = "case_unavailable"


class StaleDecision(ApplicationError):
    """The form was made for a state of the case that no longer holds (decided meanwhile)."""

    code = "stale_decision"


class FourEyesViolation(ApplicationError):
    """The second look must come from a different person than the first."""

    code = "four_eyes_violation"


class ConflictOfInterest(ApplicationError):
    """The user had a part in the pair before, and the case must be decided by fresh eyes."""

    code = "conflict_of_interest"


def _require_fresh_eyes(case: ReviewCase, user: StaffUser) -> None:
    if is_recused(case, user.pk):
        raise ConflictOfInterest(
            "You had a part in this pair before; someone who did not must decide it."
        )


#: What can close a case whose photos were deleted (retention or erasure): nobody can compare
#: faces that are gone, but the client can be asked for new ones.
WITHOUT_PHOTOS = (Outcome.RESUBMIT,)


class InvalidDecision(ApplicationError):
    """The decision itself is not one this case accepts (its reason code, or its outcome)."""

    code = "invalid_decision"


class InvalidRequest(ApplicationError):
    """What was asked is incomplete or names someone who cannot take the case."""

    code = "invalid_request"


#: Where the queue selectors cache the shared counts of one queue.
QUEUE_COUNTS_KEY = "reviews:queue-counts:{queue}"


def forget_queue_counts() -> None:
    """Every case transition changes the counts: drop the cached ones once it is committed, so
    the next page (the reviewer's own, first of all) counts afresh instead of lagging behind."""
    keys = [QUEUE_COUNTS_KEY.format(queue=queue) for queue in CaseQueue.values]
    transaction.on_commit(lambda: cache.delete_many(keys))


def open_case(pair: ImagePair, reasons: list[str], priority: int = 0) -> ReviewCase:
    """One case per pair; opened inside the pipeline's transaction."""
    case = ReviewCase(
        pair=pair,
        reasons=reasons,
        priority=priority,
        due_at=timezone.now() + timedelta(hours=settings.KYC_REVIEW_SLA_HOURS),
    )
    if not insert_unless_present(case):  # one statement; a redelivered task finds it there
        return ReviewCase.objects.get(pair=pair)
    events.review_case_opened(case)
    forget_queue_counts()
    # The face boxes and eye points for the case page's aligned crops, found once, off the
    # decision path, on the faces queue.
    dispatch.send_on_commit(dispatch.LOCATE_FACES, pair.pk)
    return case


def on_pair_needs_review(
    sender: Any, pair: ImagePair, reasons: list[str], priority: int, **kwargs: Any
) -> None:
    open_case(pair, reasons, priority)


def on_pair_review_reasons_added(
    sender: Any, pair: ImagePair, reasons: list[str], priority: int, **kwargs: Any
) -> None:
    """Add reasons found after the case opened (a known-face match) to the pair's undecided
    case, keeping its own, and raise its priority if they are urgent; audited."""
    case = (
        ReviewCase.objects.select_for_update()
        .filter(pair=pair)
        .exclude(status=CaseStatus.DECIDED)
        .first()
    )
    if case is None:
        return  # not opened yet: the pipeline opens it with the check's reasons
    new = [reason for reason in reasons if reason not in case.reasons]
    if not new and priority <= case.priority:
        return
    case.reasons = [*case.reasons, *new]
    case.priority = max(case.priority, priority)
    case.save(update_fields=["reasons", "priority"])
    events.case_reasons_added(case, reasons=new, priority=case.priority)


# --- stages --------------------------------------------------------------------------------------


def current_stage(case: ReviewCase, first: Decision | None) -> str | None:
    """Which decision the case waits for: the first, the second (four-eyes or escalation), none.

    An escalated case goes to a senior whose decision is the second and final one: two people
    have looked at it, and the unique (case, stage) constraint allows no third decision.
    """
    if case.status == CaseStatus.DECIDED:
        return None
    if case.status == CaseStatus.AWAITING_SECOND_REVIEW:
        return DecisionStage.SECOND
    if first is not None:
        return DecisionStage.SECOND  # escalated
    return DecisionStage.FIRST


def first_decision(case: ReviewCase) -> Decision | None:
    return (
        Decision.objects.filter(case=case, stage=DecisionStage.FIRST)
        .select_related("reviewer", "reason_code")
        .first()
    )


def claim_minutes() -> int:
    return int(getattr(settings, "KYC_CLAIM_MINUTES", 30))


def is_held_by_other(case: ReviewCase, user: StaffUser, now: datetime) -> bool:
    return bool(
        case.assignee_id is not None
        and case.assignee_id != user.pk
        and case.claim_expires_at is not None
        and case.claim_expires_at > now
    )


# --- claiming ------------------------------------------------------------------------------------


def available_cases(user: StaffUser, queue: str, now: datetime) -> QuerySet[ReviewCase]:
    """Cases this user may take now: active, unclaimed (or claim expired), not their own work."""
    decided_first_by_user = Decision.objects.filter(
        case=OuterRef("pk"), stage=DecisionStage.FIRST, reviewer=user
    )
    statuses = (
        (CaseStatus.OPEN, CaseStatus.CLAIMED)
        if queue == CaseQueue.STANDARD
        else (CaseStatus.OPEN, CaseStatus.CLAIMED, CaseStatus.AWAITING_SECOND_REVIEW)
    )
    return (
        ReviewCase.objects.filter(queue=queue, status__in=statuses)
        .filter(Q(assignee__isnull=True) | Q(claim_expires_at__lt=now))
        .exclude(Exists(decided_first_by_user))
        .exclude(Exists(CaseRecusal.objects.filter(case=OuterRef("pk"), user=user)))
    )


def _require_queue_permission(user: StaffUser, case: ReviewCase) -> None:
    if not can_work_queue(user, case.queue):
        raise PermissionDenied("This case is for senior reviewers.")


def _claim(case: ReviewCase, user: StaffUser, now: datetime) -> None:
    """Give the (locked) case to `user`, recording who lost an expired claim."""
    if case.assignee_id is not None and case.assignee_id != user.pk:
        events.case_released(case, Actor.system("claims"), why="claim_expired")
    case.assignee = user
    case.claim_expires_at = now + timedelta(minutes=claim_minutes())
    if case.status == CaseStatus.OPEN:
        case.status = CaseStatus.CLAIMED
    case.save(update_fields=["assignee", "claim_expires_at", "status"])
    events.case_claimed(case, Actor.user(user))
    forget_queue_counts()


def take_next(user: StaffUser, queue: str = CaseQueue.STANDARD) -> ReviewCase | None:
    """Claim the most urgent case the user may take, atomically; None when there is none.

    `skip_locked` lets two reviewers pressing "Take next" at the same instant walk past each
    other's row instead of queueing on it (PostgreSQL; SQLite serializes writers anyway).
    A reviewer who already holds a case in this queue gets that case back; cases the reviewer
    skipped come last, so a skip never hands the same case straight back.
    """
    if queue == CaseQueue.SENIOR and not can_second_review(user):
        raise PermissionDenied("The senior queue is for senior reviewers.")
    if not can_review(user):
        raise PermissionDenied("Reviewing needs the review permission.")
    now = timezone.now()
    with transaction.atomic():
        held = _held(user, queue, now).first()
        if held is not None:
            return held
        # The pair comes along for the claim's audit event; only the case row is locked.
        case = (
            _in_line(user, queue, now)
            .select_related("pair")
            .select_for_update(no_key=True, skip_locked=True, of=("self",))
            .first()
        )
        if case is None:
            return None
        _claim(case, user, now)
    return case


def _held(user: StaffUser, queue: str, now: datetime) -> QuerySet[ReviewCase]:
    """The cases of `queue` the user holds now, the one `take_next` gives back first."""
    return ReviewCase.objects.filter(
        assignee=user, queue=queue, claim_expires_at__gt=now, status__in=ACTIVE_STATUSES[queue]
    ).order_by("-priority", "due_at", "pk")


def _in_line(user: StaffUser, queue: str, now: datetime) -> QuerySet[ReviewCase]:
    """The cases the user may take, in the order `take_next` offers them (skipped ones last)."""
    skipped = CaseSkip.objects.filter(case=OuterRef("pk"), reviewer=user)
    return (
        available_cases(user, queue, now)
        .annotate(skipped_by_user=Exists(skipped))
        .order_by("skipped_by_user", "-priority", "due_at", "pk")
    )


def peek_next(user: StaffUser, queue: str, after: ReviewCase) -> ReviewCase | None:
    """The case `take_next` would give the user once `after` (the case on their screen) is done,
    without claiming it: nobody is kept from it, and whoever takes it first has it. Only a guess
    for preparing its page; `take_next` decides, under its lock, when the time comes."""
    if not can_work_queue(user, queue) or not can_review(user):
        return None
    now = timezone.now()
    held = _held(user, queue, now).exclude(pk=after.pk).first()
    return held or _in_line(user, queue, now).exclude(pk=after.pk).first()


@transaction.atomic
def claim_case(case_id: Any, user: StaffUser) -> ReviewCase:
    """ "Assign to me" on the case page."""
    now = timezone.now()
    case = ReviewCase.objects.select_for_update(no_key=True).get(public_id=case_id)
    _require_queue_permission(user, case)
    _require_fresh_eyes(case, user)
    if case.status == CaseStatus.DECIDED:
        raise CaseUnavailable("This case is already decided.")
    if is_held_by_other(case, user, now):
        raise CaseUnavailable(f"{case.assignee} is working on this case.")
    first = first_decision(case)
    if first is not None and first.reviewer_id == user.pk:
        raise FourEyesViolation("You made the first decision; someone else must take it now.")
    if case.assignee_id == user.pk:
        case.claim_expires_at = now + timedelta(minutes=claim_minutes())
        case.save(update_fields=["claim_expires_at"])
    else:
        _claim(case, user, now)
    return case


@transaction.atomic
def release_case(case_id: Any, user: StaffUser) -> ReviewCase:
    """Hand a case back to the queue (only its assignee can)."""
    case = ReviewCase.objects.select_for_update(no_key=True).get(public_id=case_id)
    if case.assignee_id != user.pk:
        raise CaseUnavailable("Only the reviewer holding this case can release it.")
    _unassign(case)
    events.case_released(case, Actor.user(user), why="released")
    return case


@transaction.atomic
def skip_case(case_id: Any, user: StaffUser, *, note: str) -> ReviewCase:
    """Put a held case back undecided, saying why; the note stays with the case for the next
    reviewer, and this reviewer's "Take next" offers it to them only when nothing else is left."""
    note = note.strip()
    if not note:
        raise InvalidRequest(
            "Say in a few words why you skip this case.", code="note_required", field="note"
        )
    case = ReviewCase.objects.select_for_update(no_key=True).get(public_id=case_id)
    if case.status == CaseStatus.DECIDED:
        raise CaseUnavailable("This case is already decided.")
    if case.assignee_id != user.pk:
        raise CaseUnavailable("Only the reviewer holding this case can skip it.")
    CaseSkip.objects.create(case=case, reviewer=user, note=note)
    _unassign(case)
    events.case_skipped(case, Actor.user(user))
    return case


@transaction.atomic
def assign_case(case_id: Any, user: StaffUser, assignee: StaffUser) -> ReviewCase:
    """A senior or an administrator gives the case to a named reviewer, until it is due.

    The assignee must be able to decide it now: allowed in its queue, and not the first reviewer
    of a case waiting for its second look. Whoever held it before is recorded as released.
    """
    if not can_assign(user):
        raise PermissionDenied("Assigning cases is for senior reviewers and administrators.")
    now = timezone.now()
    case = ReviewCase.objects.select_for_update(no_key=True).get(public_id=case_id)
    if case.status == CaseStatus.DECIDED:
        raise CaseUnavailable("This case is already decided.")
    if not assignee.is_active or not can_work_queue(assignee, case.queue):
        raise InvalidRequest(
            f"{assignee} cannot work the {case.get_queue_display().lower()} queue.",
            code="assignee_not_allowed",
            field="assignee",
        )
    _require_fresh_eyes(case, assignee)
    first = first_decision(case)
    if first is not None and first.reviewer_id == assignee.pk:
        raise FourEyesViolation(
            f"{assignee} made the first decision; the second must come from someone else.",
            field="assignee",
        )
    if case.assignee_id is not None and case.assignee_id != assignee.pk:
        events.case_released(case, Actor.user(user), why="reassigned")
    case.assignee = assignee
    case.claim_expires_at = max(case.due_at, now + timedelta(minutes=claim_minutes()))
    if case.status == CaseStatus.OPEN:
        case.status = CaseStatus.CLAIMED
    case.save(update_fields=["assignee", "claim_expires_at", "status"])
    events.case_assigned(case, Actor.user(user), assignee=assignee.get_username())
    forget_queue_counts()
    return case


def _unassign(case: ReviewCase) -> None:
    case.assignee = None
    case.claim_expires_at = None
    if case.status == CaseStatus.CLAIMED:
        case.status = CaseStatus.OPEN
    case.save(update_fields=["assignee", "claim_expires_at", "status"])
    forget_queue_counts()


def release_expired_claims(now: datetime | None = None, batch: int = 500) -> int:
    """Hand back every case whose claim ran out (Celery beat, `reviews.release_expired_claims`)."""
    now = now or timezone.now()
    candidates = list(
        ReviewCase.objects.filter(
            status__in=(CaseStatus.CLAIMED, CaseStatus.AWAITING_SECOND_REVIEW),
            claim_expires_at__lt=now,
        ).values_list("pk", flat=True)[:batch]
    )
    released = 0
    for pk in candidates:
        with transaction.atomic():
            case = (
                ReviewCase.objects.select_for_update(no_key=True, skip_locked=True)
                .filter(pk=pk, claim_expires_at__lt=now)
                .exclude(status=CaseStatus.DECIDED)
                .first()
            )
            if case is None:  # taken over or decided meanwhile
                continue
            _unassign(case)
            events.case_released(case, Actor.system("claims"), why="claim_expired")
            released += 1
    return released


# --- deciding ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionResult:
    case: ReviewCase
    decision: Decision
    pair_status: str | None  # the pair's new final status, or None while a second look is due
    four_eyes_rules: tuple[str, ...] = ()
    decided_in: str = CaseQueue.STANDARD  # the queue the case was in (four-eyes moves it on)


def vendor_clear_verdict(attempt: ComparisonAttempt | None) -> set[str]:
    """What the vendor clearly said: {"approve"}, {"reject"}, both (a disagreement) or neither."""
    if attempt is None:
        return set()
    clear: set[str] = set()
    band = judged_band(attempt.thresholds)
    if attempt.score is not None and band is not None:
        placed = band.place(attempt.score)
        if placed != REVIEW:
            clear.add(Outcome(placed))
    if attempt.same_person is True:
        clear.add(Outcome.APPROVE)
    elif attempt.same_person is False:
        clear.add(Outcome.REJECT)
    return clear


def four_eyes_rules_for(outcome: str, attempt: ComparisonAttempt | None) -> tuple[str, ...]:
    """The configured rules (settings.KYC_FOUR_EYES_RULES) that this first decision triggers."""
    rules = list(getattr(settings, "KYC_FOUR_EYES_RULES", ["reject", "override_vendor"]))
    if outcome == Outcome.ESCALATE:
        return ()
    triggered = [rule for rule in rules if rule in {outcome, "all"}]
    if "override_vendor" in rules:
        clear = vendor_clear_verdict(attempt)
        overrides = (outcome == Outcome.APPROVE and Outcome.REJECT in clear) or (
            outcome == Outcome.REJECT and Outcome.APPROVE in clear
        )
        if overrides:
            triggered.append("override_vendor")
    return tuple(triggered)


def overturns(first: Decision | None, stage: str, outcome: str) -> bool:
    """A second review that goes against the first reviewer (an escalation asked, not decided)."""
    return (
        stage == DecisionStage.SECOND
        and first is not None
        and first.outcome != Outcome.ESCALATE
        and outcome != first.outcome
    )


def _check_reason(outcome: str, reason_code: ReasonCode | None, *, overturn: bool) -> None:
    """Every outcome but approve needs an active reason code of that outcome; so does every
    overturn, approve included: going against a colleague is always explained."""
    if reason_code is None:
        if overturn:
            raise InvalidDecision(
                "Overturning the first reviewer's decision needs a reason code.",
                code="overturn_reason_required",
                field="reason_code",
            )
        if outcome != Outcome.APPROVE:
            raise InvalidDecision(
                "A reason code is required for this outcome.",
                code="reason_code_required",
                field="reason_code",
            )
        return
    if reason_code.outcome != outcome or not reason_code.is_active:
        raise InvalidDecision(
            "That reason code does not belong to this outcome.",
            code="reason_code_mismatch",
            field="reason_code",
        )


def decide(
    case_id: Any,
    user: StaffUser,
    *,
    outcome: str,
    reason_code: ReasonCode | None,
    note: str = "",
    expected_stage: str,
    expected_status: str,
) -> DecisionResult:
    """Record one reviewer decision and carry it out; see the module docstring for safety.

    `expected_stage` and `expected_status` come from hidden fields of the form the reviewer saw:
    when the case has moved on since (someone else decided), nothing is written.
    """
    try:
        with transaction.atomic():
            return _decide(
                case_id,
                user,
                outcome=outcome,
                reason_code=reason_code,
                note=note,
                expected_stage=expected_stage,
                expected_status=expected_status,
            )
    except IntegrityError as error:
        # Decision's unique (case, stage) refused a second decision for this stage.
        raise StaleDecision("Someone else decided this case meanwhile.") from error


def _decide(
    case_id: Any,
    user: StaffUser,
    *,
    outcome: str,
    reason_code: ReasonCode | None,
    note: str,
    expected_stage: str,
    expected_status: str,
) -> DecisionResult:
    from kyc.services.contests import ContestNotOpen
    from kyc.services.decisions import PairNotAwaitingReview, apply_reviewer_outcome

    now = timezone.now()
    # The pair and its deciding attempt come along (the photos decide what is allowed, the
    # attempt which four-eyes rules apply); only the case row is locked.
    case = (
        ReviewCase.objects.select_related("pair__deciding_attempt")
        .select_for_update(no_key=True, of=("self",))
        .get(public_id=case_id)
    )
    decided_in = case.queue
    first = first_decision(case)
    stage = current_stage(case, first)
    if stage is None or stage != expected_stage or case.status != expected_status:
        raise StaleDecision("This case changed while you were looking at it.")
    _require_queue_permission(user, case)
    _require_fresh_eyes(case, user)
    if stage == DecisionStage.SECOND and not can_second_review(user):
        raise PermissionDenied("A second review needs the second-review permission.")
    if is_held_by_other(case, user, now):
        raise CaseUnavailable(f"{case.assignee} is working on this case.")
    if first is not None and first.reviewer_id == user.pk:
        raise FourEyesViolation("A second review must come from someone other than the first.")
    if stage == DecisionStage.SECOND and outcome == Outcome.ESCALATE:
        raise InvalidDecision(
            "A senior review cannot be escalated further.",
            code="cannot_escalate",
            field="outcome",
        )
    if case.pair.images_purged_at is not None and outcome not in WITHOUT_PHOTOS:
        raise InvalidDecision(
            "The photos of this pair were deleted: only new photos can be asked for.",
            code="images_purged",
            field="outcome",
        )
    _check_reason(outcome, reason_code, overturn=overturns(first, stage, outcome))

    actor = Actor.user(user)
    confirms: bool | None = None
    if stage == DecisionStage.SECOND and first is not None and first.outcome != Outcome.ESCALATE:
        confirms = outcome == first.outcome
    decision = Decision.objects.create(
        case=case,
        stage=stage,
        reviewer=user,
        outcome=outcome,
        reason_code=reason_code,
        note=note,
        confirms=confirms,
    )
    events.decision_recorded(decision, actor)
    forget_queue_counts()
    record_decision_label(decision)
    rules: tuple[str, ...] = ()
    if stage == DecisionStage.FIRST:
        deciding = case.pair.deciding_attempt
        rules = four_eyes_rules_for(outcome, deciding)
        if ReviewReason.QA_DISAGREEMENT in case.reasons and outcome != Outcome.ESCALATE:
            rules += (ReviewReason.QA_DISAGREEMENT.value,)  # it may overturn a sent decision
        if is_contest(case) and outcome != Outcome.ESCALATE and CONTEST_RULE not in rules:
            rules = (*rules, CONTEST_RULE)  # a contest is always decided by two people
        if outcome == Outcome.ESCALATE or rules:
            case.queue = CaseQueue.SENIOR
            case.status = (
                CaseStatus.OPEN
                if outcome == Outcome.ESCALATE
                else CaseStatus.AWAITING_SECOND_REVIEW
            )
            case.assignee = None
            case.claim_expires_at = None
            case.save(update_fields=["queue", "status", "assignee", "claim_expires_at"])
            if rules:
                events.four_eyes_required(case, actor, rules=list(rules), outcome=outcome)
            return DecisionResult(case, decision, None, rules, decided_in)

    case.status = CaseStatus.DECIDED
    case.decided_at = now
    case.assignee = user
    case.claim_expires_at = None
    case.save(update_fields=["status", "decided_at", "assignee", "claim_expires_at"])
    pair_status = PAIR_STATUS_FOR[Outcome(outcome)]
    if ReviewReason.QA_DISAGREEMENT in case.reasons:
        _settle_qa_disagreement(case, pair_status, actor, reason_code)
        return DecisionResult(case, decision, pair_status, rules, decided_in)
    reason = reason_code.code if reason_code else "reviewer_decision"
    try:
        if is_contest(case):
            carry_out(case, pair_status, actor, reason=reason)
        else:
            apply_reviewer_outcome(case.pair, pair_status, actor, reason=reason)
    except (PairNotAwaitingReview, ContestNotOpen) as error:
        raise StaleDecision(str(error)) from error
    return DecisionResult(case, decision, pair_status, rules, decided_in)


def _settle_qa_disagreement(
    case: ReviewCase, pair_status: str, actor: Actor, reason_code: ReasonCode | None
) -> None:
    """The final decision of a qa_disagreement case: the pair keeps its automatic decision or,
    when the reviewers disagree with it, kyc changes it and tells the client."""
    from kyc.services.decisions import DecisionNotChangeable, change_decision

    item = QaItem.objects.filter(case=case).only("public_id").first()
    because = {"case": str(case.public_id)}
    if item is not None:
        because["qa_item"] = str(item.public_id)
    try:
        change_decision(
            case.pair,
            pair_status,
            actor,
            reason=reason_code.code if reason_code else ReviewReason.QA_DISAGREEMENT.value,
            because=because,
        )
    except DecisionNotChangeable as error:
        raise StaleDecision(str(error)) from error
