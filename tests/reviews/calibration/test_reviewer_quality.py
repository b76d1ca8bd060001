"""Reviewer quality: kappa on hand-built tables, overturns, time per decision, who may look."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from kyc.audit.chain import Actor
from reviews import events
from reviews.models import CaseStatus, DecisionStage, Label
from reviews.reporting.reviewer_quality import build, cohens_kappa
from tests.factories import DecisionFactory, ReviewCaseFactory, UserFactory
from tests.reviews.conftest import (  # noqa: F401
    as_auditor,
    as_reviewer,
    as_senior,
    auditor,
    reviewer,
    senior,
)

URL = "/stats/reviewers/"


def table(counts: dict[tuple[str, str], int]) -> list[tuple[str, str]]:
    return [pair for pair, n in counts.items() for _ in range(n)]


def test_kappa_of_a_hand_computed_table():
    # p_o = 35/50 = 0.7; p_e = 25/50·30/50 + 25/50·20/50 = 0.5; kappa = (0.7−0.5)/(1−0.5) = 0.4
    ratings = table(
        {("approve", "approve"): 20, ("approve", "reject"): 5}
        | {("reject", "approve"): 10, ("reject", "reject"): 15}
    )
    assert cohens_kappa(ratings) == pytest.approx(0.4)


def test_kappa_of_three_categories():
    # p_o = (4+3+1)/10 = 0.8; margins first 5,3,2 and second 5,4,1:
    # p_e = (25 + 12 + 2)/100 = 0.39; kappa = 0.41 / 0.61
    ratings = table(
        {("approve", "approve"): 4, ("approve", "reject"): 1, ("reject", "reject"): 3}
        | {("resubmit", "resubmit"): 1, ("resubmit", "approve"): 1}
    )
    assert cohens_kappa(ratings) == pytest.approx(0.41 / 0.61)


def test_kappa_edges():
    assert cohens_kappa([]) is None
    assert cohens_kappa([("approve", "approve")] * 3) == 1.0
    assert cohens_kappa([("approve", "reject"), ("reject", "approve")]) == pytest.approx(-1.0)


def test_reviewers_and_auditors_are_refused(as_reviewer, as_auditor):  # noqa: F811
    assert as_reviewer.get(URL).status_code == 403
    assert as_auditor.get(URL).status_code == 403


def test_seniors_and_admins_may_look(as_senior, admin_client):  # noqa: F811
    assert as_senior.get(URL).status_code == 200
    assert admin_client.get(URL).status_code == 200


def judged_twice(first_reviewer, senior_user, first: str, second: str, *, minutes: int = 0):
    """A case the first reviewer decided `minutes` after claiming it, then a senior reviewed."""
    case = ReviewCaseFactory(status=CaseStatus.DECIDED)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        events.case_claimed(case, Actor.user(first_reviewer))
    with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
        decision = DecisionFactory(case=case, reviewer=first_reviewer, outcome=first)
        events.decision_recorded(decision, Actor.user(first_reviewer))
    DecisionFactory(
        case=case,
        reviewer=senior_user,
        outcome=second,
        stage=DecisionStage.SECOND,
        confirms=first == second,
    )
    return case


@pytest.mark.django_db
def test_overturns_kappa_and_time_per_decision(reviewer, senior, as_senior):  # noqa: F811
    for minutes, (first, second) in enumerate(
        [("approve", "approve")] * 5
        + [("reject", "reject")] * 4
        + [("approve", "reject")] * 2
        + [("escalate", "approve")],
        start=1,
    ):
        judged_twice(reviewer, senior, first, second, minutes=minutes)

    report = build()

    (row,) = report.reviewers
    assert row.reviewer == "rita"
    assert (row.first_decisions, row.senior_reviewed, row.overturned) == (12, 12, 3)
    assert row.overturn_rate == pytest.approx(3 / 12)
    # 11 judgements (the escalation is none): p_o = 9/11; first margins 7 approve / 4 reject,
    # second 5 / 6; p_e = (35 + 24) / 121.
    p_e = 59 / 121
    assert row.kappa_pairs == 11
    assert row.kappa == pytest.approx((9 / 11 - p_e) / (1 - p_e))
    assert report.kappa == row.kappa
    # Claimed, then decided 1 … 12 minutes later: the median is 6.5 minutes.
    assert row.median_seconds == 390

    body = as_senior.get(URL).content.decode()
    assert "rita" in body
    assert "6 min 30 s" in body
    assert "25 %" in body


@pytest.mark.django_db
def test_too_few_shared_cases_give_no_kappa(reviewer, senior):  # noqa: F811
    for _ in range(3):
        judged_twice(reviewer, senior, "approve", "approve")

    (row,) = build().reviewers

    assert row.kappa is None
    assert row.kappa_pairs == 3
    assert row.overturned == 0


def test_agreement_with_qa_counts_pairs_someone_else_judged_blind(reviewer, senior):  # noqa: F811
    other = UserFactory(username="quinn", role="Reviewers")

    def judged(review: str, qa: str, qa_by=other) -> None:
        case = ReviewCaseFactory(status=CaseStatus.DECIDED)
        decision = DecisionFactory(case=case, reviewer=reviewer, outcome="approve")
        Label.objects.create(
            pair=case.pair, verdict=review, source="review", labeller=reviewer, decision=decision
        )
        Label.objects.create(pair=case.pair, verdict=qa, source="qa", labeller=qa_by)

    judged("same", "same")
    judged("same", "different")
    judged("different", "different")
    judged("different", "unsure")  # no judgement to agree with
    judged("same", "different", qa_by=reviewer)  # their own QA answer is no second opinion

    [row] = build().reviewers
    assert (row.qa_shared, row.qa_agreed) == (3, 2)
    assert row.qa_agreement == pytest.approx(2 / 3)
