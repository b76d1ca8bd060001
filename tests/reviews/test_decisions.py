"""Decisions: outcomes, reasons, four-eyes, escalation, and never a double decision."""

from __future__ import annotations

import pytest
from django.db import connection

from kyc.audit.models import AuditEvent
from kyc.models import PairStatus, WebhookDelivery
from reviews import services
from reviews.models import CaseQueue, CaseStatus, Decision, ReasonCode
from tests.factories import UserFactory
from tests.reviews.cases import at_the_same_instant, decide, opened_case, reason
from tests.reviews.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback_webhooks(settings):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = True


def post_decision(client, case, outcome: str, code: str | None = "", **extra):
    case.refresh_from_db()
    data = {
        "outcome": outcome,
        "reason_code": reason(outcome).code if code == "" and reason(outcome) else (code or ""),
        "note": extra.pop("note", ""),
        "stage": extra.pop(
            "stage", "second" if case.status == "awaiting_second_review" else "first"
        ),
        "status": extra.pop("status", case.status),
    }
    return client.post(f"/review/{case.public_id}/decide/", data, **extra)


def events_of(case) -> list[str]:
    return list(
        AuditEvent.objects.filter(subject_id=str(case.pair.public_id))
        .order_by("seq")
        .values_list("event_type", flat=True)
    )


def test_approving_a_gray_band_score_decides_the_pair_and_notifies_the_client(
    as_reviewer, reviewer
):
    case = opened_case(score=64, webhook_url="https://client.example/hooks")

    response = post_decision(as_reviewer, case, "approve", note="Same eyebrows, same scar.")

    assert (response.status_code, response["Location"]) == (302, "/review/")
    case.refresh_from_db()
    pair = case.pair
    pair.refresh_from_db()
    assert (case.status, case.assignee_id) == (CaseStatus.DECIDED, reviewer.pk)
    assert (pair.status, pair.decision_source, pair.status_reason) == (
        PairStatus.APPROVED,
        "reviewer",
        "reviewer_decision",
    )
    decision = Decision.objects.get(case=case)
    assert (
        decision.stage,
        decision.outcome,
        decision.reviewer,
        decision.confirms,
        decision.note,
    ) == (
        "first",
        "approve",
        reviewer,
        None,
        "Same eyebrows, same scar.",
    )
    assert events_of(case)[-2:] == ["review.decision", "pair.decided"]
    assert WebhookDelivery.objects.get(pair=pair).event_type == "pair.approved"


def test_a_rejection_waits_in_the_senior_queue_for_a_second_reviewer(as_reviewer):
    case = opened_case(webhook_url="https://client.example/hooks")

    response = post_decision(as_reviewer, case, "reject", code="different_person")

    assert response.status_code == 302
    case.refresh_from_db()
    case.pair.refresh_from_db()
    assert (case.status, case.queue, case.assignee_id) == (
        CaseStatus.AWAITING_SECOND_REVIEW,
        CaseQueue.SENIOR,
        None,
    )
    assert case.pair.status == PairStatus.NEEDS_REVIEW
    assert not WebhookDelivery.objects.exists()
    four_eyes = AuditEvent.objects.get(event_type="review.four_eyes_required")
    assert (four_eyes.params["rules"], four_eyes.params["outcome"]) == (["reject"], "reject")


def test_the_first_reviewer_can_never_give_the_second_review_even_as_a_senior(senior):
    case = opened_case()
    decide(case, senior, "reject")
    client = signed_in(senior)

    response = post_decision(client, case, "reject", follow=True)

    assert response.status_code == 200
    assert "must come from someone other than the first" in response.content.decode()
    assert Decision.objects.filter(case=case).count() == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_SECOND_REVIEW
    page = client.get(f"/review/{case.public_id}/").content.decode()
    assert "You made the first decision" in page and "data-decide=" not in page


def test_a_second_senior_confirms_the_rejection_and_only_then_the_pair_is_rejected(
    reviewer, as_senior, senior
):
    case = opened_case(webhook_url="https://client.example/hooks")
    decide(case, reviewer, "reject", reason_code=ReasonCode.objects.get(code="different_person"))

    response = post_decision(as_senior, case, "reject", code="different_person")

    assert (response.status_code, response["Location"]) == (302, "/review/senior/")
    case.refresh_from_db()
    pair = case.pair
    pair.refresh_from_db()
    second = Decision.objects.get(case=case, stage="second")
    assert (second.reviewer, second.outcome, second.confirms) == (senior, "reject", True)
    assert (case.status, pair.status, pair.status_reason, pair.decision_source) == (
        CaseStatus.DECIDED,
        PairStatus.REJECTED,
        "different_person",
        "reviewer",
    )
    assert WebhookDelivery.objects.get(pair=pair).event_type == "pair.rejected"
    tail = events_of(case)
    assert tail[tail.index("review.decision") :] == [
        "review.decision",
        "review.four_eyes_required",
        "review.decision",
        "pair.decided",
    ]


def test_a_senior_can_overturn_a_rejection_and_approve(reviewer, as_senior, senior):
    case = opened_case(score=66)
    decide(case, reviewer, "reject")

    post_decision(as_senior, case, "approve", code="same_person", note="Same person; old ID.")

    second = Decision.objects.get(case=case, stage="second")
    assert (second.outcome, second.confirms) == ("approve", False)
    case.pair.refresh_from_db()
    assert case.pair.status == PairStatus.APPROVED


def test_overturning_without_a_reason_code_is_refused_next_to_the_reason(
    reviewer, as_senior, senior
):
    case = opened_case(score=66)
    decide(case, reviewer, "reject")
    before = events_of(case)

    response = post_decision(as_senior, case, "approve", code=None, note="Looks fine to me.")

    assert response.status_code == 400
    form = response.context["actions"][0].form
    assert form.errors["reason_code"] == [
        "Overturning the first reviewer's decision needs a reason code."
    ]
    assert "Looks fine to me." in response.content.decode()  # the note typed is kept
    assert not Decision.objects.filter(case=case, stage="second").exists()
    assert events_of(case) == before


def test_the_service_names_the_overturn_refusal_and_its_field(reviewer, senior):
    case = opened_case(score=66)
    decide(case, reviewer, "reject")

    with pytest.raises(services.InvalidDecision) as refused:
        decide(case, senior, "approve", stage="second", reason_code=None)

    assert (refused.value.code, refused.value.field) == ("overturn_reason_required", "reason_code")


def test_confirming_an_approval_needs_no_reason_code(reviewer, senior, settings):
    settings.KYC_FOUR_EYES_RULES = ["approve"]
    case = opened_case(score=66)
    decide(case, reviewer, "approve")

    result = decide(case, senior, "approve", stage="second", reason_code=None)

    assert (result.decision.confirms, result.pair_status) == (True, PairStatus.APPROVED)


@pytest.mark.parametrize(
    ("score", "same_person", "rules"),
    [
        (40.0, None, ["override_vendor"]),  # approving below reject_below
        (90.0, False, ["override_vendor"]),  # approving against the vendor's "not the same"
    ],
)
def test_approving_against_the_vendors_clear_verdict_needs_a_second_reviewer(
    reviewer, score, same_person, rules
):
    case = opened_case(score=score, same_person=same_person)
    result = decide(case, reviewer, "approve")
    assert result.pair_status is None and list(result.four_eyes_rules) == rules
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_SECOND_REVIEW


def test_the_four_eyes_rules_are_configurable(settings, reviewer):
    settings.KYC_FOUR_EYES_RULES = []
    case = opened_case()
    assert decide(case, reviewer, "reject").pair_status == PairStatus.REJECTED
    settings.KYC_FOUR_EYES_RULES = ["all"]
    other = opened_case()
    assert decide(other, reviewer, "resubmit").pair_status is None


def test_asking_for_new_photos_decides_the_pair_as_resubmit(reviewer):
    case = opened_case()
    result = decide(case, reviewer, "resubmit")
    case.pair.refresh_from_db()
    assert (result.pair_status, case.pair.status, case.pair.status_reason) == (
        "resubmit",
        "resubmit",
        "poor_quality",
    )


def test_an_escalated_case_goes_to_the_seniors_whose_decision_is_final(
    as_reviewer, reviewer, senior
):
    case = opened_case()
    post_decision(as_reviewer, case, "escalate", code="possible_fraud")
    case.refresh_from_db()
    assert (case.status, case.queue) == (CaseStatus.OPEN, CaseQueue.SENIOR)
    assert post_decision(as_reviewer, case, "approve", stage="second").status_code == 403

    taken = services.take_next(senior, CaseQueue.SENIOR)
    assert taken.pk == case.pk
    result = decide(case, senior, "reject", stage="second")

    assert result.pair_status == PairStatus.REJECTED
    second = Decision.objects.get(case=case, stage="second")
    assert second.confirms is None


def test_a_reason_is_required_for_every_outcome_but_approve_and_shown_next_to_the_field(
    as_reviewer,
):
    case = opened_case()
    response = post_decision(as_reviewer, case, "reject", code=None)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose a reason: it is required for this outcome." in html
    assert 'id="decide-reject" data-open="1"' in html
    assert Decision.objects.count() == 0


def test_an_inactive_reason_or_one_of_another_outcome_is_refused(as_reviewer):
    case = opened_case()
    ReasonCode.objects.filter(code="different_person").update(is_active=False)
    assert post_decision(as_reviewer, case, "reject", code="different_person").status_code == 400
    assert post_decision(as_reviewer, case, "reject", code="poor_quality").status_code == 400
    assert Decision.objects.count() == 0


def test_the_service_refuses_a_missing_or_foreign_reason_with_a_code_naming_the_field(reviewer):
    case = opened_case()
    with pytest.raises(services.InvalidDecision) as missing:
        decide(case, reviewer, "reject", reason_code=None)
    with pytest.raises(services.InvalidDecision) as foreign:
        decide(case, reviewer, "reject", reason_code=reason("resubmit"))
    assert (missing.value.code, missing.value.field) == ("reason_code_required", "reason_code")
    assert (foreign.value.code, foreign.value.field) == ("reason_code_mismatch", "reason_code")
    assert Decision.objects.count() == 0


def test_a_senior_cannot_escalate_further_and_is_told_so_on_the_case_page(
    as_reviewer, as_senior, senior
):
    case = opened_case()
    post_decision(as_reviewer, case, "escalate", code="possible_fraud")
    services.take_next(senior, CaseQueue.SENIOR)

    response = post_decision(
        as_senior, case, "escalate", code="possible_fraud", stage="second", follow=True
    )

    assert response.redirect_chain == [(f"/review/{case.public_id}/", 302)]
    assert "A senior review cannot be escalated further. Nothing was recorded." in (
        response.content.decode()
    )
    assert Decision.objects.filter(case=case).count() == 1


def test_a_stale_form_never_decides_twice_and_says_what_happened(reviewer, other_reviewer):
    case = opened_case(webhook_url="https://client.example/hooks")
    first, second = signed_in(reviewer), signed_in(other_reviewer)
    # Both opened the case page while it was open.
    form = {"outcome": "approve", "reason_code": "", "stage": "first", "status": "open"}

    assert first.post(f"/review/{case.public_id}/decide/", form).status_code == 302
    response = second.post(f"/review/{case.public_id}/decide/", form, follow=True)

    assert response.redirect_chain == [(f"/review/{case.public_id}/", 302)]
    assert "changed while you were looking at it" in response.content.decode()
    assert Decision.objects.filter(case=case).count() == 1
    assert AuditEvent.objects.filter(event_type="pair.decided").count() == 1
    assert WebhookDelivery.objects.filter(pair=case.pair).count() == 1


def test_a_decided_case_is_read_only(as_reviewer, reviewer):
    case = opened_case()
    decide(case, reviewer, "approve")
    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    assert "This case is read-only." in html
    assert "data-decide=" not in html
    response = post_decision(as_reviewer, case, "approve", stage="first", status="open")
    assert response.status_code == 302
    assert Decision.objects.count() == 1


def test_a_case_held_by_someone_else_cannot_be_decided(reviewer, other_reviewer):
    case = opened_case()
    services.claim_case(case.public_id, reviewer)
    with pytest.raises(services.CaseUnavailable):
        decide(case, other_reviewer, "approve")
    response = post_decision(signed_in(other_reviewer), case, "approve", follow=True)
    assert "rita is working on this case" in response.content.decode()
    assert Decision.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_deciding_one_case_at_the_same_instant_record_exactly_one_decision(
    default_rows,
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are tested on PostgreSQL")
    case = opened_case()
    users = [UserFactory(username=f"racer{n}", role="Reviewers") for n in range(2)]

    def press(user) -> str:
        try:
            services.decide(
                case.public_id,
                user,
                outcome="approve",
                reason_code=None,
                expected_stage="first",
                expected_status="open",
            )
        except services.StaleDecision:
            return "stale"
        return "decided"

    outcomes = at_the_same_instant(press, users)
    assert sorted(outcomes) == ["decided", "stale"]
    assert Decision.objects.filter(case=case).count() == 1
    assert AuditEvent.objects.filter(event_type="pair.decided").count() == 1
