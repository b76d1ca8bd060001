"""Writes of blind QA review: recording an answer, and a disagreement opening a four-eyes case.

An answer that contradicts the automatic decision ("different" on an approval, "same" on a
rejection) opens an ordinary review case with reason `qa_disagreement`. The pair keeps its
decision meanwhile; every first decision on such a case needs a second person
(`reviews.services`), and only that second decision may change it (`kyc` sends the client
`pair.decision_changed`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from kyc.audit.chain import Actor
from kyc.errors import ApplicationError
from kyc.users import StaffUser
from reviews import events
from reviews.labels import record_qa_label
from reviews.models import AutoOutcome, QaAnswer, QaItem, ReviewReason
from reviews.permissions import can_do_qa
from reviews.services import open_case

#: The answer that contradicts each automatic decision.
CONTRADICTS = {AutoOutcome.APPROVED: QaAnswer.DIFFERENT, AutoOutcome.REJECTED: QaAnswer.SAME}
#: A disagreement goes ahead of plain gray-band cases in the queue.
DISAGREEMENT_PRIORITY = 1


class QaAlreadyAnswered(ApplicationError):
    """Someone answered this QA item meanwhile; one blind answer per item."""

    code = "qa_already_answered"


class InvalidQaAnswer(ApplicationError):
    code = "invalid_qa_answer"


def answer_qa_item(item_id: Any, user: StaffUser, answer: str) -> QaItem:
    """Record `user`'s blind answer, label the pair, and open a case if it disagrees."""
    if not can_do_qa(user):
        raise PermissionDenied("Answering QA samples needs the QA permission.")
    if answer not in QaAnswer.values:
        raise InvalidQaAnswer(
            "Answer same, different or can't tell.", code="invalid_qa_answer", field="answer"
        )
    with transaction.atomic():
        item = (
            QaItem.objects.select_related("pair")
            .select_for_update(no_key=True, of=("self",))
            .get(public_id=item_id)
        )
        if item.answered_at is not None:
            raise QaAlreadyAnswered("This sample was answered meanwhile.")
        item.answer = answer
        item.answered_by = user
        item.answered_at = timezone.now()
        disagrees = CONTRADICTS[AutoOutcome(item.auto_outcome)] == answer
        if disagrees:
            item.case = open_case(
                item.pair, [ReviewReason.QA_DISAGREEMENT], priority=DISAGREEMENT_PRIORITY
            )
        item.save(update_fields=["answer", "answered_by", "answered_at", "case"])
        record_qa_label(item)
        events.qa_answered(item, Actor.user(user), disagrees=disagrees)
    return item
