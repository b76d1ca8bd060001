"""How well reviewers judge: seniors' overturns, agreement beyond chance, time per decision.

For seniors and administrators only (the page's view checks it). Over the decisions of the last
`QUALITY_DAYS`:

- overturn rate: of a reviewer's first decisions that a senior reviewed, the share the senior
  did not uphold (`Decision.confirms is False`);
- Cohen's kappa: on the cases two different people judged (a first decision and a second), how
  far the first reviewer's outcomes agree with the second person's beyond what chance gives.
  Escalations are left out: they hand the judgement on rather than make one;
- time per decision: from the reviewer's claim of the case to their decision, from the audit
  trail's `review.claimed` and `review.decision` events (the median, so one case left open over
  lunch does not speak for the rest);
- agreement with QA: on the pairs a reviewer judged that someone else also judged in blind QA
  (a qa_disagreement case), the share where both said the same (reviews.labels).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from kyc.audit.models import AuditEvent
from reviews.models import Decision, DecisionStage, Label, LabelSource, LabelVerdict, Outcome

QUALITY_DAYS = 90
#: Fewer two-person judgements than this give no kappa (one disagreement would swing it wildly).
MIN_PAIRS_FOR_KAPPA = 10
JUDGEMENTS = frozenset({Outcome.APPROVE, Outcome.REJECT, Outcome.RESUBMIT})


def cohens_kappa(ratings: Sequence[tuple[str, str]]) -> float | None:
    """Agreement of two raters beyond chance: (p_o − p_e) / (1 − p_e); None for no ratings.

    When both raters always give one and the same category, p_e is 1 and kappa is undefined;
    their agreement is then perfect and 1.0 is returned.
    """
    n = len(ratings)
    if not n:
        return None
    observed = sum(1 for a, b in ratings if a == b) / n
    first, second = Counter(a for a, _ in ratings), Counter(b for _, b in ratings)
    expected = sum(first[c] * second[c] for c in first.keys() | second.keys()) / (n * n)
    if expected == 1:
        return 1.0
    return (observed - expected) / (1 - expected)


@dataclass(frozen=True)
class ReviewerQuality:
    reviewer: str
    first_decisions: int
    senior_reviewed: int
    overturned: int
    kappa: float | None
    kappa_pairs: int
    median_seconds: float | None
    qa_shared: int = 0
    qa_agreed: int = 0

    @property
    def overturn_rate(self) -> float | None:
        return self.overturned / self.senior_reviewed if self.senior_reviewed else None

    @property
    def qa_agreement(self) -> float | None:
        return self.qa_agreed / self.qa_shared if self.qa_shared else None


@dataclass(frozen=True)
class QualityReport:
    since: datetime
    reviewers: list[ReviewerQuality]
    kappa: float | None
    kappa_pairs: int


def _seconds_to_decide(since: datetime) -> dict[str, list[float]]:
    """Per reviewer id: seconds from their last claim of a case to their decision on it."""
    claims: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    # A claim may come before the period starts; a working day's margin catches those.
    claim_rows = AuditEvent.objects.filter(
        event_type="review.claimed", created_at__gte=since - timedelta(days=1)
    ).values_list("actor_id", "params__case", "created_at")
    for actor, case, at in claim_rows.iterator(chunk_size=5000):
        claims[(actor, case)].append(at)
    durations: dict[str, list[float]] = defaultdict(list)
    decision_rows = AuditEvent.objects.filter(
        event_type="review.decision", created_at__gte=since
    ).values_list("actor_id", "params__case", "created_at")
    for actor, case, at in decision_rows.iterator(chunk_size=5000):
        before = [claimed for claimed in claims.get((actor, case), ()) if claimed <= at]
        if before:
            durations[actor].append((at - max(before)).total_seconds())
    return durations


def _agreement_with_qa(since: datetime) -> tuple[Counter[int], Counter[int]]:
    """Per reviewer id: the pairs they judged (a review or senior decision) that someone else
    also judged in blind QA, and on how many of those the two said the same (same or
    different; "unsure" on either side is no judgement to agree with)."""
    shared: Counter[int] = Counter()
    agreed: Counter[int] = Counter()
    judged = (LabelVerdict.SAME, LabelVerdict.DIFFERENT)
    qa = defaultdict(list)
    for pair_id, labeller_id, verdict in Label.objects.filter(
        source=LabelSource.QA, verdict__in=judged
    ).values_list("pair_id", "labeller_id", "verdict"):
        qa[pair_id].append((labeller_id, verdict))
    if not qa:
        return shared, agreed
    reviews = Label.objects.filter(
        pair_id__in=list(qa), created_at__gte=since, verdict__in=judged
    ).exclude(source=LabelSource.QA)
    for pair_id, labeller_id, verdict in reviews.values_list("pair_id", "labeller_id", "verdict"):
        for qa_labeller, qa_verdict in qa[pair_id]:
            if qa_labeller != labeller_id:
                shared[labeller_id] += 1
                agreed[labeller_id] += verdict == qa_verdict
    return shared, agreed


def build(now: datetime | None = None) -> QualityReport:
    since = (now or timezone.now()) - timedelta(days=QUALITY_DAYS)
    by_case: dict[int, dict[str, tuple[int, str, bool | None]]] = defaultdict(dict)
    recent_cases = Decision.objects.filter(created_at__gte=since).values("case_id")
    rows = Decision.objects.filter(case_id__in=recent_cases)
    for case_id, stage, reviewer_id, outcome, confirms in rows.values_list(
        "case_id", "stage", "reviewer_id", "outcome", "confirms"
    ).iterator(chunk_size=5000):
        by_case[case_id][stage] = (reviewer_id, outcome, confirms)

    first_decisions: Counter[int] = Counter()
    reviewed: Counter[int] = Counter()
    overturned: Counter[int] = Counter()
    ratings: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for stages in by_case.values():
        first = stages.get(DecisionStage.FIRST)
        if first is None:
            continue
        reviewer, outcome, _ = first
        first_decisions[reviewer] += 1
        second = stages.get(DecisionStage.SECOND)
        if second is None or second[0] == reviewer:
            continue
        reviewed[reviewer] += 1
        if second[2] is False:
            overturned[reviewer] += 1
        if outcome in JUDGEMENTS and second[1] in JUDGEMENTS:
            ratings[reviewer].append((outcome, second[1]))

    durations = _seconds_to_decide(since)
    qa_shared, qa_agreed = _agreement_with_qa(since)
    names = dict(
        get_user_model().objects.filter(pk__in=first_decisions.keys()).values_list("pk", "username")
    )
    reviewers = [
        ReviewerQuality(
            reviewer=names.get(reviewer_id, f"#{reviewer_id}"),
            first_decisions=first_decisions[reviewer_id],
            senior_reviewed=reviewed[reviewer_id],
            overturned=overturned[reviewer_id],
            kappa=_kappa_if_enough(ratings[reviewer_id]),
            kappa_pairs=len(ratings[reviewer_id]),
            median_seconds=(
                statistics.median(durations[str(reviewer_id)])
                if durations.get(str(reviewer_id))
                else None
            ),
            qa_shared=qa_shared[reviewer_id],
            qa_agreed=qa_agreed[reviewer_id],
        )
        for reviewer_id in first_decisions
    ]
    reviewers.sort(key=lambda r: r.reviewer)
    everyone = [rating for per_reviewer in ratings.values() for rating in per_reviewer]
    return QualityReport(since, reviewers, _kappa_if_enough(everyone), len(everyone))


def _kappa_if_enough(ratings: list[tuple[str, str]]) -> float | None:
    return cohens_kappa(ratings) if len(ratings) >= MIN_PAIRS_FOR_KAPPA else None
