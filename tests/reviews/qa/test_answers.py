"""Blind QA answers: labels, a contradiction opens a four-eyes case, and only two people can
change a decision the client already has."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from kyc.audit.models import AuditEvent
from kyc.models import PairStatus, WebhookDelivery
from reviews.models import CaseQueue, CaseStatus, Label, ReasonCode, ReviewCase
from reviews.qa import services
from reviews.services import StaleDecision
from tests.factories import UserFactory
from tests.reviews.cases import decide
from tests.reviews.qa.items import sampled

pytestmark = pytest.mark.django_db

HOOKS = "https://client.example/hooks"


@pytest.fixture(autouse=True)
def _loopback_webhooks(settings):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = True


def events_of(pair) -> list[tuple[str, dict]]:
    return [
        (event.event_type, event.params)
        for event in AuditEvent.objects.filter(subject_id=str(pair.public_id)).order_by("seq")
    ]


def reject_reason(code: str = "different_person") -> ReasonCode:
    return ReasonCode.objects.get(outcome="reject", code=code)


@pytest.mark.parametrize(
    ("auto", "answer"),
    [
        ("approved", "same"),
        ("rejected", "different"),
        ("approved", "unsure"),
        ("rejected", "unsure"),
    ],
)
def test_an_answer_that_agrees_or_cannot_tell_opens_no_case_and_labels_the_pair(
    reviewer, auto, answer
):
    item = sampled(auto)

    services.answer_qa_item(item.public_id, reviewer, answer)

    item.refresh_from_db()
    assert (item.answer, item.answered_by, item.case) == (answer, reviewer, None)
    assert not ReviewCase.objects.exists()
    label = Label.objects.get(pair=item.pair)
    assert (label.verdict, label.source, label.labeller, label.qa_item) == (
        answer,
        "qa",
        reviewer,
        item,
    )
    event_type, params = events_of(item.pair)[-1]
    assert (event_type, params["answer"], params["disagrees"], params["case"]) == (
        "qa.answered",
        answer,
        False,
        None,
    )


@pytest.mark.parametrize(("auto", "answer"), [("approved", "different"), ("rejected", "same")])
def test_an_answer_that_contradicts_the_decision_opens_a_qa_disagreement_case(
    reviewer, auto, answer
):
    item = sampled(auto)

    services.answer_qa_item(item.public_id, reviewer, answer)

    item.refresh_from_db()
    case = ReviewCase.objects.get(pair=item.pair)
    assert item.case == case
    assert (case.reasons, case.status, case.queue, case.priority) == (
        ["qa_disagreement"],
        CaseStatus.OPEN,
        CaseQueue.STANDARD,
        1,
    )
    item.pair.refresh_from_db()
    assert item.pair.status == auto  # the client's decision stands until two people decide
    types = [event_type for event_type, _ in events_of(item.pair)]
    assert types[-2:] == ["review.opened", "qa.answered"]


def test_a_sample_is_answered_once(reviewer, other_reviewer):
    item = sampled()
    services.answer_qa_item(item.public_id, reviewer, "same")
    with pytest.raises(services.QaAlreadyAnswered):
        services.answer_qa_item(item.public_id, other_reviewer, "different")
    assert Label.objects.filter(pair=item.pair).count() == 1


def test_an_unknown_answer_is_refused_naming_the_field(reviewer):
    item = sampled()
    with pytest.raises(services.InvalidQaAnswer) as refused:
        services.answer_qa_item(item.public_id, reviewer, "probably")
    assert (refused.value.code, refused.value.field) == ("invalid_qa_answer", "answer")
    item.refresh_from_db()
    assert (item.answer, item.answered_at) == ("", None)
    assert not Label.objects.exists()


def test_answering_needs_the_qa_permission():
    item = sampled()
    with pytest.raises(PermissionDenied):
        services.answer_qa_item(item.public_id, UserFactory(role="Auditors"), "same")


def disagreement(reviewer, webhook_url: str = HOOKS):
    item = sampled("approved", webhook_url=webhook_url)
    services.answer_qa_item(item.public_id, reviewer, "different")
    item.refresh_from_db()
    return item, item.case


def test_one_reviewer_cannot_change_a_decision_the_client_has(reviewer, other_reviewer):
    item, case = disagreement(reviewer)

    result = decide(case, other_reviewer, "reject", reason_code=reject_reason())

    case.refresh_from_db()
    item.pair.refresh_from_db()
    assert result.pair_status is None
    assert "qa_disagreement" in result.four_eyes_rules
    assert (case.status, case.queue) == (CaseStatus.AWAITING_SECOND_REVIEW, CaseQueue.SENIOR)
    assert item.pair.status == PairStatus.APPROVED
    assert not WebhookDelivery.objects.filter(event_type="pair.decision_changed").exists()


def test_even_a_first_approval_of_a_disagreement_waits_for_a_second_person(
    reviewer, other_reviewer
):
    _, case = disagreement(reviewer)
    result = decide(case, other_reviewer, "approve")
    assert result.pair_status is None
    assert result.four_eyes_rules == ("qa_disagreement",)


def test_a_confirmed_overturn_changes_the_decision_once_and_says_why(
    reviewer, other_reviewer, senior
):
    item, case = disagreement(reviewer)
    decide(case, other_reviewer, "reject", reason_code=reject_reason())

    result = decide(case, senior, "reject", stage="second", reason_code=reject_reason())

    item.pair.refresh_from_db()
    assert result.pair_status == PairStatus.REJECTED
    assert (item.pair.status, item.pair.decision_source, item.pair.status_reason) == (
        PairStatus.REJECTED,
        "reviewer",
        "different_person",
    )
    delivery = WebhookDelivery.objects.get(pair=item.pair)
    assert delivery.event_type == "pair.decision_changed"
    assert (delivery.payload["data"]["status"], delivery.payload["data"]["previous_status"]) == (
        "rejected",
        "approved",
    )
    changed = [
        params
        for event_type, params in events_of(item.pair)
        if event_type == "pair.decision_changed"
    ]
    assert changed == [
        {
            "before": "approved",
            "after": "rejected",
            "reason": "different_person",
            "case": str(case.public_id),
            "qa_item": str(item.public_id),
        }
    ]


def test_a_decision_the_reviewers_uphold_is_not_sent_again(reviewer, other_reviewer, senior):
    item, case = disagreement(reviewer)
    decide(case, other_reviewer, "approve")

    result = decide(case, senior, "approve", stage="second")

    item.pair.refresh_from_db()
    case.refresh_from_db()
    assert (result.pair_status, case.status) == (PairStatus.APPROVED, CaseStatus.DECIDED)
    assert (item.pair.status, item.pair.decision_source) == (PairStatus.APPROVED, "auto")
    assert not WebhookDelivery.objects.exists()
    assert "pair.decision_changed" not in [event_type for event_type, _ in events_of(item.pair)]


def test_a_pair_no_longer_approved_or_rejected_makes_the_final_decision_stale(
    reviewer, other_reviewer, senior
):
    item, case = disagreement(reviewer)
    decide(case, other_reviewer, "reject", reason_code=reject_reason())
    type(item.pair).objects.filter(pk=item.pair.pk).update(status=PairStatus.FAILED)

    with pytest.raises(StaleDecision):
        decide(case, senior, "reject", stage="second", reason_code=reject_reason())
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_SECOND_REVIEW
