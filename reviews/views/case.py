"""The case page and what can be done on it: claim, release, decide, ask a second opinion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kyc.access.denied import AccessDenied
from kyc.audit.chain import Actor
from kyc.errors import ApplicationError
from kyc.models import AttemptStatus, ImagePair, PairStatus
from kyc.services.decisions import request_second_opinion
from kyc.users import StaffRequest
from reviews import contests, face_crops, selectors, services
from reviews.face_crops import prepare_faces
from reviews.forms import AssignForm, DecisionForm, SecondOpinionForm, SkipForm
from reviews.models import CaseQueue, Decision, DecisionStage, Outcome, ReviewCase
from reviews.permissions import REVIEW, SECOND_REVIEW, can_assign, can_work_queue, staff_page
from reviews.photo_access import photo_access, reason_cases
from reviews.templatetags.review_ui import vendor_name
from reviews.views import known_faces
from reviews.views.faces import faces_panel


@dataclass(frozen=True)
class OutcomeWords:
    """How the decision bar names one outcome: its button, shortcut key, colour, the question it
    asks before acting and what it says after."""

    label: str
    key: str
    style: str
    question: str
    done: str


WORDS = {
    Outcome.APPROVE: OutcomeWords(
        "Approve", "A", "approve", "Approve this pair as the same person?", "Approved."
    ),
    Outcome.REJECT: OutcomeWords("Reject", "R", "reject", "Reject this pair?", "Rejected."),
    Outcome.RESUBMIT: OutcomeWords(
        "New photos",
        "N",
        "resubmit",
        "Ask the client for new photos?",
        "New photos requested.",
    ),
    Outcome.ESCALATE: OutcomeWords(
        "Escalate",
        "E",
        "escalate",
        "Send this case to a senior reviewer?",
        "Escalated: the case now waits for a senior reviewer.",
    ),
}


#: The fields a decision dialog shows, so a refusal about them is said next to them.
DIALOG_FIELDS = ("reason_code", "note")


@dataclass(frozen=True)
class Action:
    outcome: str
    label: str
    key: str
    style: str
    question: str
    reasons: list[Any]
    form: DecisionForm | None = None
    preselect: str = ""
    overturn: bool = False

    @property
    def reason_required(self) -> bool:
        return self.outcome != Outcome.APPROVE or self.overturn


def _case_or_404(case_id: UUID) -> ReviewCase:
    try:
        return selectors.case_for_page(case_id)
    except ReviewCase.DoesNotExist:
        raise Http404("No such case.") from None


def _actions(
    stage: str | None,
    first: Decision | None,
    reason_codes: dict[str, list[Any]],
    bound: DecisionForm | None,
    *,
    photos: bool,
) -> list[Action]:
    if stage is None:
        return []
    outcomes = list(Outcome) if photos else list(services.WITHOUT_PHOTOS)
    if stage == DecisionStage.SECOND and Outcome.ESCALATE in outcomes:
        outcomes.remove(Outcome.ESCALATE)
    confirming = first is not None and first.outcome != Outcome.ESCALATE
    actions = []
    for outcome in outcomes:
        words = WORDS[outcome]
        label, question = words.label, words.question
        # Approving needs no reason, but its usual one comes chosen: approve is two keys (A, Enter).
        codes = reason_codes.get(outcome, [])
        preselect = codes[0].code if outcome == Outcome.APPROVE and codes else ""
        overturn = services.overturns(first, stage, outcome)
        if stage == DecisionStage.SECOND and confirming and first is not None:
            if outcome == first.outcome:
                label = f"Confirm {words.label.lower()}"
                question = f"Confirm {first.reviewer}'s decision: {words.label.lower()}?"
                preselect = first.reason_code.code if first.reason_code else ""
            else:
                label = f"Overturn: {words.label.lower()}"
                question = f"Overturn {first.reviewer}'s decision and {words.label.lower()}?"
                preselect = ""  # an overturn is explained by a reason chosen on purpose
        form = bound if bound is not None and bound.data.get("outcome") == outcome else None
        actions.append(
            Action(
                outcome=outcome,
                label=label,
                key=words.key,
                style=words.style,
                question=question,
                reasons=codes,
                form=form,
                preselect=str(form.data.get("reason_code", "")) if form is not None else preselect,
                overturn=overturn,
            )
        )
    return actions


def _blocker(
    request: StaffRequest, case: ReviewCase, stage: str | None, first: Decision | None
) -> str:
    """Why this user cannot decide now ("" when they can)."""
    user = request.user
    if stage is None:
        return "This case is decided; it is read-only."
    if not can_work_queue(user, case.queue):
        return "This case waits for a senior reviewer."
    if first is not None and first.reviewer_id == user.pk:
        if first.outcome == Outcome.ESCALATE:
            return "You escalated this case: it waits for a senior reviewer."
        return "You made the first decision: a different senior reviewer must take the second."
    if services.is_held_by_other(case, user, timezone.now()):
        return f"{case.assignee} is working on this case."
    if contests.is_recused(case, user.pk):
        return "You had a part in this pair before: someone who did not must decide it."
    return ""


def _faces(deciding: Any, attempts: list[Any]) -> dict[str, Any]:
    """Face boxes from the deciding attempt, or from any other attempt that reported them."""
    from reviews.templatetags.review_ui import face_box

    boxes: dict[str, Any] = {}
    for which in ("selfie", "reference"):
        for attempt in [deciding, *reversed(attempts)]:
            box = face_box(attempt, which) if attempt is not None else None
            if box:
                boxes[which] = {**box, "vendor": attempt.vendor}
                break
    return boxes


def _timeline_items(events: list[Any]) -> list[dict[str, Any]]:
    """Events in order; a run of image views by one person reads as one line."""
    items: list[dict[str, Any]] = []
    for event in events:
        last = items[-1] if items else None
        if (
            last is not None
            and event.event_type == "images.viewed"
            and last["event"].event_type == "images.viewed"
            and last["event"].actor_label == event.actor_label
        ):
            last["count"] += 1
            last["last"] = event
            continue
        items.append({"event": event, "count": 1, "last": event})
    return items


def _opinions_context(attempts: list[Any], deciding: Any) -> dict[str, Any]:
    opinions = selectors.second_opinions(attempts)
    return {
        "opinions": opinions,
        "opinions_pending": any(
            o.status in {AttemptStatus.PENDING, AttemptStatus.RUNNING} for o in opinions
        ),
        "opinion_vendors": [
            (c.backend, vendor_name(c.backend))
            for c in selectors.vendor_configs().values()
            if c.enabled and (deciding is None or c.backend != deciding.vendor)
        ],
    }


def _has_photos(pair: ImagePair) -> bool:
    return pair.images_purged_at is None and bool(pair.selfie)


def _photos_context(request: StaffRequest, pair: ImagePair) -> dict[str, Any]:
    """The case's photos and the applicant's other pairs, each with whether this viewer may see
    their photos (reviews.photo_access decides; the image view asks it again on every request)."""
    earlier = selectors.earlier_pairs(pair)
    cases = reason_cases([pair, *earlier])
    statuses = [other.status for other in earlier]
    access = photo_access(request.user, pair, cases)
    return {
        "images_available": _has_photos(pair),
        "photo_access": access,
        **faces_panel(pair, access),
        "earlier": [
            (other, _has_photos(other) and photo_access(request.user, other, cases).allowed)
            for other in earlier
        ],
        # The header's flags: what became of the applicant's other pairs.
        "story": {
            "rejected": statuses.count(PairStatus.REJECTED),
            "resubmit": statuses.count(PairStatus.RESUBMIT),
            "open": sum(status in selectors.OPEN_PAIR_STATUSES for status in statuses),
        },
    }


def _case_context(
    request: StaffRequest,
    case: ReviewCase,
    bound: DecisionForm | None = None,
    skip_form: SkipForm | None = None,
) -> dict[str, Any]:
    pair = case.pair
    attempts = selectors.attempts_of(pair)
    decisions = selectors.decisions_of(case)
    first = next((d for d in decisions if d.stage == DecisionStage.FIRST), None)
    second = next((d for d in decisions if d.stage == DecisionStage.SECOND), None)
    stage = services.current_stage(case, first)
    deciding = next((a for a in attempts if a.pk == pair.deciding_attempt_id), None)
    blocker = _blocker(request, case, stage, first)
    reason_codes = selectors.reason_codes_by_outcome()
    return {
        "case": case,
        "pair": pair,
        "deciding": deciding,
        "attempts": attempts,
        **_opinions_context(attempts, deciding),
        "decisions": decisions,
        "first": first,
        "second": second,
        "stage": stage,
        "blocker": blocker,
        "actions": (
            _actions(stage, first, reason_codes, bound, photos=pair.images_purged_at is None)
            if not blocker
            else []
        ),
        "is_mine": case.assignee_id == request.user.pk,
        # Only for a case this reviewer holds and can decide: the next one is theirs to prepare.
        "prepare_next": (
            settings.KYC_PREFETCH_NEXT_CASE
            and case.assignee_id == request.user.pk
            and stage is not None
            and not blocker
        ),
        "held_by_other": services.is_held_by_other(case, request.user, timezone.now()),
        **_photos_context(request, pair),
        "timeline": _timeline_items(selectors.timeline(pair)),
        "faces": _faces(deciding, attempts),
        "details": (deciding.details if deciding is not None else {}) or {},
        "open_outcome": bound.data.get("outcome") if bound is not None else "",
        "can_claim": not blocker and case.assignee_id != request.user.pk,
        "skips": selectors.skips_of(case),
        "skip_form": skip_form or SkipForm(),
        "open_skip": skip_form is not None,
        "assignees": (
            selectors.assignable_reviewers(case.queue)
            if stage is not None and can_assign(request.user)
            else []
        ),
        "contest": contests.contest_of(case),
        "known_faces": known_faces.panel(request.user, pair),
    }


@require_GET
@staff_page(REVIEW)
def case_page(request: StaffRequest, case_id: UUID) -> HttpResponse:
    case = _case_or_404(case_id)
    return render(request, "reviews/case.html", _case_context(request, case))


@require_POST
@staff_page(REVIEW)
def claim(request: StaffRequest, case_id: UUID) -> HttpResponse:
    try:
        services.claim_case(case_id, request.user)
    except ReviewCase.DoesNotExist:
        raise Http404("No such case.") from None
    except ApplicationError as refused:
        messages.error(request, refused.message)
    return HttpResponseRedirect(reverse("reviews:case", args=[case_id]))


@require_POST
@staff_page(REVIEW)
def release(request: StaffRequest, case_id: UUID) -> HttpResponse:
    try:
        case = services.release_case(case_id, request.user)
    except ReviewCase.DoesNotExist:
        raise Http404("No such case.") from None
    except ApplicationError as refused:
        messages.error(request, refused.message)
        return HttpResponseRedirect(reverse("reviews:case", args=[case_id]))
    messages.info(request, "Case released back to the queue.")
    return HttpResponseRedirect(_queue_url(case))


def _queue_url(case: ReviewCase) -> str:
    return _queue_url_for(case.queue)


def _queue_url_for(queue: str) -> str:
    return reverse("reviews:senior" if queue == CaseQueue.SENIOR else "reviews:queue")


@require_POST
@staff_page(REVIEW)
def decide(request: StaffRequest, case_id: UUID) -> HttpResponse:
    form = DecisionForm(request.POST)
    if not form.is_valid():
        context = _case_context(request, _case_or_404(case_id), bound=form)
        return render(request, "reviews/case.html", context, status=400)
    data = form.cleaned_data
    outcome = data["outcome"]
    try:
        result = services.decide(
            case_id,
            request.user,
            outcome=outcome,
            reason_code=data.get("reason_code"),
            note=data.get("note", ""),
            expected_stage=data["stage"],
            expected_status=data["status"],
        )
    except ReviewCase.DoesNotExist:
        raise Http404("No such case.") from None
    except services.StaleDecision:
        messages.error(
            request,
            "This case changed while you were looking at it (someone else decided or took it). "
            "Nothing was recorded; here is its current state.",
        )
        return HttpResponseRedirect(reverse("reviews:case", args=[case_id]))
    except ApplicationError as refused:
        if refused.field in DIALOG_FIELDS:  # said next to the field, with the input kept
            form.add_error(refused.field, refused.message)
            context = _case_context(request, _case_or_404(case_id), bound=form)
            return render(request, "reviews/case.html", context, status=400)
        messages.error(request, f"{refused.message} Nothing was recorded.")
        return HttpResponseRedirect(reverse("reviews:case", args=[case_id]))
    case = result.case
    short = str(case.public_id)[:8]
    if outcome == Outcome.ESCALATE:
        messages.success(request, f"Case {short}: {WORDS[Outcome.ESCALATE].done}")
    elif result.pair_status is None:
        label = WORDS[Outcome(outcome)].label
        messages.success(
            request,
            f"Case {short}: {label.lower()} recorded. A second reviewer must confirm it before "
            "it takes effect (four-eyes).",
        )
    else:
        messages.success(
            request, f"Case {short}: {WORDS[Outcome(outcome)].done} The client has been notified."
        )
    return _next_case(request, result.decided_in)


@require_POST
@staff_page(REVIEW)
def prepare_next(request: StaffRequest, case_id: UUID) -> HttpResponse:
    """While the reviewer looks at this case, make the aligned faces of the case they would get
    next, kept encrypted on the server (reviews.face_crops). Nothing is claimed, nothing is sent
    back but 204: the next case is still taken by `take_next` after the decision, and its
    faces reach the browser only through the audited image view once it is shown."""
    case = _case_or_404(case_id)
    if settings.KYC_PREFETCH_NEXT_CASE and case.assignee_id == request.user.pk:
        following = services.peek_next(request.user, case.queue, after=case)
        if following is not None:
            prepare_faces(ImagePair.objects.only(*face_crops.PAIR_FIELDS).get(pk=following.pair_id))
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    return response


def _next_case(request: StaffRequest, queue: str) -> HttpResponse:
    """Straight on to the next case of the queue the reviewer was working (claimed for them by
    `take_next`, so two reviewers never land on the same one); the queue when none is left."""
    following = services.take_next(request.user, queue)
    if following is None:
        messages.info(request, "Nothing left to take in this queue. Well done.")
        return HttpResponseRedirect(_queue_url_for(queue))
    return HttpResponseRedirect(reverse("reviews:case", args=[following.public_id]))


@require_POST
@staff_page(REVIEW)
def skip(request: StaffRequest, case_id: UUID) -> HttpResponse:
    """Put the case back with a note and go on to the next one."""
    case = _case_or_404(case_id)
    form = SkipForm(request.POST)
    if not form.is_valid():
        return render(
            request, "reviews/case.html", _case_context(request, case, skip_form=form), status=400
        )
    try:
        services.skip_case(case_id, request.user, note=form.cleaned_data["note"])
    except ApplicationError as refused:
        if refused.field:
            form.add_error(refused.field, refused.message)
            context = _case_context(request, case, skip_form=form)
            return render(request, "reviews/case.html", context, status=400)
        messages.error(request, refused.message)
        return HttpResponseRedirect(reverse("reviews:case", args=[case_id]))
    messages.info(request, f"Case {str(case.public_id)[:8]} skipped: back in the queue.")
    return _next_case(request, case.queue)


@require_POST
@staff_page(REVIEW)
def assign(request: StaffRequest, case_id: UUID) -> HttpResponse:
    """A senior or an administrator hands the case to a named reviewer."""
    _case_or_404(case_id)
    if not can_assign(request.user):
        raise AccessDenied(
            "Assigning cases is for senior reviewers and administrators.", (SECOND_REVIEW,)
        )
    form = AssignForm(request.POST)
    back = HttpResponseRedirect(reverse("reviews:case", args=[case_id]))
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("assignee", [])))
        return back
    try:
        services.assign_case(case_id, request.user, form.cleaned_data["assignee"])
    except ApplicationError as refused:
        messages.error(request, refused.message)
        return back
    messages.success(request, f"Case assigned to {form.cleaned_data['assignee']}.")
    return back


@require_POST
@staff_page(REVIEW)
def second_opinion(request: StaffRequest, case_id: UUID) -> HttpResponse:
    case = _case_or_404(case_id)
    form = SecondOpinionForm(request.POST)
    configs = selectors.vendor_configs()
    back = HttpResponseRedirect(reverse("reviews:case", args=[case_id]) + "#opinions")
    if not form.is_valid() or form.cleaned_data["vendor"] not in configs:
        messages.error(request, "Choose one of the listed vendors.")
        return back
    vendor = form.cleaned_data["vendor"]
    if not configs[vendor].enabled:
        messages.error(request, f"{vendor_name(vendor)} is not enabled.")
        return back
    if case.status == "decided":
        messages.error(request, "This case is decided; it is read-only.")
        return back
    if not can_work_queue(request.user, case.queue):
        raise AccessDenied("This case is for senior reviewers.", (REVIEW, SECOND_REVIEW))
    try:
        request_second_opinion(case.pair, vendor, Actor.user(request.user))
    except ApplicationError as refused:
        messages.error(request, refused.message)
        return back
    messages.info(request, f"Asked {vendor_name(vendor)} for a second opinion.")
    return back


@require_GET
@staff_page(REVIEW)
def second_opinions_fragment(request: StaffRequest, case_id: UUID) -> HttpResponse:
    """The second-opinion and attempt panels alone, for the page's polling script."""
    case = _case_or_404(case_id)
    attempts = selectors.attempts_of(case.pair)
    deciding = next((a for a in attempts if a.pk == case.pair.deciding_attempt_id), None)
    response = render(
        request,
        "reviews/_live_panels.html",
        {
            "case": case,
            "pair": case.pair,
            "deciding": deciding,
            "attempts": attempts,
            **_opinions_context(attempts, deciding),
        },
    )
    response["Cache-Control"] = "no-store"
    return response
