"""The weekly drift check: each backend's scores of the last full week against the four before.

Run by Celery beat (`reviews.check_score_drift`, several times a day; only the first run after a
week ends finds anything to do). What a check compares, and why those statistics, is in
`reviews.drift.statistics`. Only the live population counts: completed decision attempts with a
score, by the time they finished (UTC weeks, Monday to Monday). Second opinions and re-runs are
left out, because reviewers choose which pairs get them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.db.models.functions import Floor
from django.utils import timezone

from kyc.models import AttemptPurpose, AttemptStatus, ComparisonAttempt
from reviews import events
from reviews.drift import statistics
from reviews.models import DriftCheck
from vendors.models import Backend

#: How many weeks before the checked one make up the reference distribution.
REFERENCE_WEEKS = 4


def psi_limit() -> float:
    return float(getattr(settings, "KYC_DRIFT_PSI_LIMIT", 0.2))


def min_scores() -> int:
    """Fewer scores than this, in the week or in the reference, and no PSI is computed: on a
    handful of scores the shares per bin are noise and the index says nothing."""
    return int(getattr(settings, "KYC_DRIFT_MIN_SCORES", 100))


def week_start_of(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def last_full_week(now: datetime) -> date:
    return week_start_of(now) - timedelta(weeks=1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def histogram(backend: str, start: date, end: date) -> list[int]:
    """Counts of the backend's live scores in 1-point bins, finished in [start, end) (UTC)."""
    rows = (
        ComparisonAttempt.objects.filter(
            vendor=backend,
            purpose=AttemptPurpose.DECIDE,
            status=AttemptStatus.COMPLETED,
            score__isnull=False,
            finished_at__gte=_midnight(start),
            finished_at__lt=_midnight(end),
        )
        .annotate(point=Floor(F("score")))
        .values("point")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = [0] * statistics.SCORE_BINS
    for row in rows:
        counts[statistics.score_bin(row["point"])] += row["n"]
    return counts


def check_week(backend: str, week_start: date) -> DriftCheck | None:
    """Compare one backend's week with the four before, once; None when it had no scores at all.

    A week already checked is returned as it was recorded: the check and its audit event happen
    once per backend and week, however often beat runs it.
    """
    existing = DriftCheck.objects.filter(backend=backend, week_start=week_start).first()
    if existing is not None:
        return existing
    week = histogram(backend, week_start, week_start + timedelta(weeks=1))
    reference = histogram(backend, week_start - timedelta(weeks=REFERENCE_WEEKS), week_start)
    scores, reference_scores = sum(week), sum(reference)
    if not scores and not reference_scores:
        return None
    limit = psi_limit()
    psi = ks = None
    if min(scores, reference_scores) >= min_scores():
        psi = statistics.population_stability_index(
            statistics.regroup(reference, statistics.PSI_BINS),
            statistics.regroup(week, statistics.PSI_BINS),
        )
        ks = statistics.ks_statistic(reference, week)
    try:
        with transaction.atomic():
            check = DriftCheck.objects.create(
                backend=backend,
                week_start=week_start,
                scores=scores,
                reference_scores=reference_scores,
                psi=psi,
                ks=ks,
                psi_limit=limit,
                flagged=psi is not None and psi > limit,
            )
            if check.flagged:
                events.score_drift_detected(check)
    except IntegrityError:  # a concurrent run recorded this week first
        return DriftCheck.objects.get(backend=backend, week_start=week_start)
    return check


def check_last_week(now: datetime | None = None) -> list[DriftCheck]:
    """Beat's entry point: every backend's last full week (the ones with scores)."""
    week = last_full_week(now or timezone.now())
    return [check for backend in Backend.values if (check := check_week(backend, week))]


def latest_checks() -> list[DriftCheck]:
    """Each backend's most recent check, in backend order (the dashboard's and /metrics' view)."""
    latest = (
        DriftCheck.objects.filter(backend=backend).order_by("-week_start").first()
        for backend in Backend.values
    )
    return [check for check in latest if check is not None]
