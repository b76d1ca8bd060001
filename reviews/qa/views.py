"""The QA pages under /review/qa/: the queue of samples and the blind review of one.

Blind means the server leaves the score, both verdicts and the risk tags out of the page until
the answer is recorded (hiding them in the browser would leave them in the HTML).
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kyc.errors import ApplicationError
from kyc.models import ImagePair
from kyc.users import StaffRequest
from reviews.models import QaAnswer, QaItem
from reviews.permissions import DO_QA, staff_page
from reviews.photo_access import photo_access
from reviews.qa import selectors, services

#: The answer buttons, in the order shown, with their shortcut keys. All look alike: green and
#: red buttons would hint which answer the system expects.
ANSWERS = ((QaAnswer.SAME, "S"), (QaAnswer.DIFFERENT, "D"), (QaAnswer.UNSURE, "C"))


@require_GET
@staff_page(DO_QA)
def qa_queue(request: StaffRequest) -> HttpResponse:
    waiting = selectors.open_items()
    return render(
        request,
        "reviews/qa_queue.html",
        {
            "waiting_count": waiting.count(),
            "waiting": list(waiting[:50]),
            "answers": selectors.recent_answers(request.user),
        },
    )


@require_POST
@staff_page(DO_QA)
def qa_next(request: StaffRequest) -> HttpResponseRedirect:
    item = selectors.open_items().first()
    if item is None:
        messages.info(request, "No QA samples are waiting.")
        return HttpResponseRedirect(reverse("reviews:qa_queue"))
    return HttpResponseRedirect(reverse("reviews:qa_item", args=[item.public_id]))


def _photo_frames(pair: ImagePair) -> list[tuple[str, str, int | None, int | None]]:
    return [
        ("selfie", "Selfie", pair.selfie_width, pair.selfie_height),
        ("reference", "Reference photo", pair.reference_width, pair.reference_height),
    ]


def _item_or_404(item_id: UUID) -> QaItem:
    try:
        return selectors.blind_item(item_id)
    except QaItem.DoesNotExist as error:
        raise Http404("No such QA sample.") from error


@require_GET
@staff_page(DO_QA)
def qa_item(request: StaffRequest, item_id: UUID) -> HttpResponse:
    item = _item_or_404(item_id)
    if item.answered_at is None:
        return _blind_page(request, item)
    shown = selectors.revealed(item_id)
    return render(
        request,
        "reviews/qa_item.html",
        {
            "item": shown.item,
            "pair": shown.item.pair,
            "attempt": shown.attempt,
            "answered": True,
            "photo_frames": _photo_frames(shown.item.pair),
            "drawn_share": f"{shown.item.probability:.1%}",
            "photos": photo_access(request.user, shown.item.pair, []).allowed,
        },
    )


def _blind_page(request: StaffRequest, item: QaItem, status: int = 200) -> HttpResponse:
    return render(
        request,
        "reviews/qa_item.html",
        {
            "item": item,
            "pair": item.pair,
            "answered": False,
            "photo_frames": _photo_frames(item.pair),
            "answer_choices": [(value, QaAnswer(value).label, key) for value, key in ANSWERS],
            "photos": photo_access(request.user, item.pair, []).allowed,
        },
        status=status,
    )


@require_POST
@staff_page(DO_QA)
def qa_answer(request: StaffRequest, item_id: UUID) -> HttpResponse:
    item = _item_or_404(item_id)
    try:
        answered = services.answer_qa_item(
            item.public_id, request.user, request.POST.get("answer", "")
        )
    except services.QaAlreadyAnswered as error:
        messages.warning(request, error.message)
    except ApplicationError as error:
        messages.error(request, error.message)
        return _blind_page(request, item, status=400)
    else:
        if answered.case is not None:
            messages.warning(
                request, "Your answer contradicts the automatic decision: a case was opened."
            )
        else:
            messages.info(request, "Answer recorded.")
    return HttpResponseRedirect(reverse("reviews:qa_item", args=[item.public_id]))
