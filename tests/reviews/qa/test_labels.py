"""Labels from every human judgement, and the labelled scores calibration reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kyc.models import AttemptPurpose
from reviews.labels import LabelledScore, labelled_scores
from reviews.models import Label, ReasonCode
from reviews.qa import services
from tests.factories import AttemptFactory
from tests.reviews.cases import decide, opened_case
from tests.reviews.qa.items import sampled

pytestmark = pytest.mark.django_db


def reason(outcome: str, code: str) -> ReasonCode:
    return ReasonCode.objects.get(outcome=outcome, code=code)


def labels_of(pair) -> list[tuple[str, str, str]]:
    return [
        (label.verdict, label.source, label.labeller.username)
        for label in Label.objects.filter(pair=pair).select_related("labeller")
    ]


@pytest.mark.parametrize(
    ("outcome", "code", "verdict"),
    [
        ("approve", None, "same"),
        ("approve", "same_person", "same"),
        ("reject", "different_person", "different"),
        ("reject", "reference_mismatch", "different"),
        ("reject", "presentation_attack", "unsure"),
    ],
)
def test_a_review_decision_labels_the_pair(settings, reviewer, outcome, code, verdict):
    settings.KYC_FOUR_EYES_RULES = []
    case = opened_case()
    decide(case, reviewer, outcome, reason_code=reason(outcome, code) if code else None)
    assert labels_of(case.pair) == [(verdict, "review", "rita")]


@pytest.mark.parametrize("outcome", ["resubmit", "escalate"])
def test_asking_for_new_photos_or_a_senior_judges_no_faces_and_labels_nothing(reviewer, outcome):
    case = opened_case()
    decide(case, reviewer, outcome)
    assert labels_of(case.pair) == []


def test_a_seniors_confirmation_is_a_label_of_its_own(reviewer, senior):
    case = opened_case()  # a rejection needs four eyes by default
    decide(case, reviewer, "reject", reason_code=reason("reject", "different_person"))
    decide(case, senior, "reject", stage="second", reason_code=reason("reject", "different_person"))
    assert labels_of(case.pair) == [
        ("different", "review", "rita"),
        ("different", "senior", "sofia"),
    ]


def test_labelled_scores_give_each_backends_scores_on_labelled_pairs_with_their_weights(
    settings, reviewer, senior
):
    settings.KYC_FOUR_EYES_RULES = []
    # A QA sample drawn with probability 0.05, answered "same": weight 20.
    qa_same = sampled("approved", score=91, probability=0.05)
    services.answer_qa_item(qa_same.public_id, reviewer, "same")
    # A reviewed case approved, with a second opinion of the same backend and one of another.
    case = opened_case(score=64)
    AttemptFactory(
        pair=case.pair,
        vendor="advance",
        score=66.5,
        status="completed",
        purpose=AttemptPurpose.SECOND_OPINION,
    )
    AttemptFactory(
        pair=case.pair,
        vendor="zoloz",
        score=80.0,
        status="completed",
        purpose=AttemptPurpose.SECOND_OPINION,
    )
    decide(case, reviewer, "approve")
    # Unsure labels and unlabelled pairs give nothing.
    unsure = sampled("approved", score=88)
    services.answer_qa_item(unsure.public_id, reviewer, "unsure")
    sampled("approved", score=99)

    assert sorted(labelled_scores("advance"), key=lambda row: row.score) == [
        LabelledScore(64.0, True, 1.0),
        LabelledScore(66.5, True, 1.0),
        LabelledScore(91.0, True, 20.0),
    ]
    assert labelled_scores("zoloz") == [LabelledScore(80.0, True, 1.0)]


def test_a_pairs_label_is_its_most_authoritative_judgement(reviewer, other_reviewer, senior):
    item = sampled("approved", score=92, probability=0.02)
    services.answer_qa_item(item.public_id, reviewer, "different")  # opens a disagreement
    item.refresh_from_db()
    decide(item.case, other_reviewer, "reject", reason_code=reason("reject", "different_person"))
    decide(
        item.case, senior, "approve", stage="second", reason_code=reason("approve", "same_person")
    )  # the senior overturns: same person

    assert labels_of(item.pair) == [
        ("different", "qa", "rita"),
        ("different", "review", "omar"),
        ("same", "senior", "sofia"),
    ]
    # Drawn by QA with probability 0.02, so it stands for 50 such decisions.
    assert labelled_scores("advance") == [LabelledScore(92.0, True, 50.0)]


def test_since_keeps_only_attempts_made_from_then_on(settings, reviewer):
    settings.KYC_FOUR_EYES_RULES = []
    case = opened_case(score=64)
    decide(case, reviewer, "approve")
    assert labelled_scores("advance", since=timezone.now() + timedelta(days=1)) == []
    assert len(labelled_scores("advance", since=timezone.now() - timedelta(days=1))) == 1
