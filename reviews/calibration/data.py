"""What the calibration page reads, summed per score bin in the database and cached per backend.

Two histograms per backend, each one GROUP BY over the attempts:

- the population: the backend's completed decision attempts of the last `POPULATION_DAYS`,
  counted per bin (what the review share of proposed lines is measured on);
- the labels: every completed attempt of the backend — second opinions and re-runs included —
  on a pair a person judged, its weight and squared weight summed per bin and class.

Labels are each pair's most authoritative human judgement (reviews.labels: review decisions,
seniors' confirmations, blind QA answers weighted for the chance of their draw). Review cases
come only from the band between the lines, so only QA answers say anything about the automatic
zones; where none do, the page says so (stats.unlabelled_zones) rather than reading a rate off an
empty zone.

Summing the labels takes about a second on a million attempts and 100,000 labels
(bench/calibration.py), so it is kept off the page's path: `refresh` (the maintenance task
reviews.refresh_calibration, every `REFRESH_SECONDS`) sums both histograms of every backend into
the cache. A page uses the sums as they are while labels arrive, up to date at the next refresh,
and says how many labels came since; only an installation with at most `LIVE_LABELS` labels,
where summing is quick, sums them again on the page so that a new label shows at once. With an
empty cache (the first view, or no beat running) the page sums them itself. The population may
be up to `CACHE_SECONDS` old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.core.cache import cache
from django.db.models import Count, F, IntegerField, Max, QuerySet
from django.db.models.functions import Cast, Floor, Least
from django.utils import timezone

from kyc.models import AttemptPurpose, AttemptStatus, ComparisonAttempt
from reviews.calibration import stats
from reviews.labels import labelled_attempts
from reviews.models import Label

POPULATION_DAYS = 90
CACHE_SECONDS = 15 * 60
#: How often reviews.refresh_calibration sums every backend's labels and population again.
REFRESH_SECONDS = 10 * 60
#: Up to this many labels in all, a page sums them again whenever one was added or removed.
LIVE_LABELS = 20_000


@dataclass(frozen=True)
class BackendData:
    population: np.ndarray
    labels: stats.LabelBins
    #: When the labels were summed (None: just now), and how many were added since.
    labels_as_of: datetime | None = None
    labels_since: int = 0


@dataclass(frozen=True)
class LabelsVersion:
    """Which labels a sum saw: the highest id and the number of labels."""

    last: int
    count: int


@dataclass(frozen=True)
class _SummedLabels:
    version: LabelsVersion
    labels: stats.LabelBins
    at: datetime


def _bin(score: str = "score") -> Least:
    """The score bin of the field `score` (0–100), as stats.bin_of computes it."""
    raw = Floor(F(score) * stats.BINS_PER_POINT + stats.EDGE_SLACK)
    return Least(Cast(raw, IntegerField()), stats.N_BINS - 1)


def scored_attempts(backend: str) -> QuerySet[ComparisonAttempt]:
    """Completed attempts with a score on the 0–100 scale. A score off the scale (or NaN, which
    PostgreSQL orders above every number) is no point on any curve: left out, not clamped."""
    return ComparisonAttempt.objects.filter(
        vendor=backend, status=AttemptStatus.COMPLETED, score__gte=0, score__lte=100
    )


def population(backend: str) -> np.ndarray:
    since = timezone.now() - timedelta(days=POPULATION_DAYS)
    counts = np.zeros(stats.N_BINS)
    rows = (
        scored_attempts(backend)
        .filter(purpose=AttemptPurpose.DECIDE, finished_at__gte=since)
        .annotate(bin=_bin())
        .values("bin")
        .annotate(n=Count("id"))
        .values_list("bin", "n")
    )
    for index, n in rows:
        counts[index] = n
    return counts


def labels(backend: str) -> stats.LabelBins:
    """Each labelled pair's judgement (reviews.labels: the most authoritative one) on each of the
    backend's scores for that pair, counted in SQL per score bin, class and sampling stratum (the
    probability QA drew the pair with, or none). A stratum's n labels drawn with probability p
    weigh n/p, their squares n/p². Scores off the 0-100 scale (NaN included) are left out, as in
    the population."""
    rows = (
        labelled_attempts(backend)
        .filter(score__gte=0, score__lte=100)
        .annotate(bin=_bin())
        .values("bin", "same", "probability")
        .annotate(n=Count("id"))
        .values_list("bin", "same", "probability", "n")
    )
    weights = {True: np.zeros(stats.N_BINS), False: np.zeros(stats.N_BINS)}
    squares = {True: np.zeros(stats.N_BINS), False: np.zeros(stats.N_BINS)}
    counts = {True: 0, False: 0}
    for index, same, probability, n in rows:
        weight = 1.0 / probability if probability else 1.0
        weights[same][index] += n * weight
        squares[same][index] += n * weight * weight
        counts[same] += n

    def histogram(same: bool) -> stats.Histogram:
        return stats.Histogram(weights[same], squares[same], counts[same])

    return stats.LabelBins(histogram(True), histogram(False))


def labels_version() -> LabelsVersion:
    seen = Label.objects.aggregate(last=Max("id"), n=Count("id"))
    return LabelsVersion(seen["last"] or 0, seen["n"])


def _labels_key(backend: str) -> str:
    return f"kyc:calibration:{backend}:labels"


def _population_key(backend: str) -> str:
    return f"kyc:calibration:{backend}:population"


def _sum_labels(backend: str, version: LabelsVersion) -> _SummedLabels:
    summed = _SummedLabels(version, labels(backend), timezone.now())
    # Kept for three refreshes: if the beat stops, pages sum for themselves again.
    cache.set(_labels_key(backend), summed, 3 * REFRESH_SECONDS)
    return summed


def _population(backend: str) -> np.ndarray:
    decided = population(backend)
    cache.set(_population_key(backend), decided, CACHE_SECONDS)
    return decided


def refresh(backend: str) -> None:
    """Sum the backend's labels and population into the cache (the maintenance task)."""
    _sum_labels(backend, labels_version())
    _population(backend)


def backend_data(backend: str) -> BackendData:
    """Both histograms from the cache (see the module docstring), summed here when missing, and
    the labels too when they changed and are few enough to sum on the page."""
    version = labels_version()
    summed: _SummedLabels | None = cache.get(_labels_key(backend))
    if summed is None or (summed.version != version and version.count <= LIVE_LABELS):
        summed = _sum_labels(backend, version)
    decided = cache.get(_population_key(backend))
    if decided is None:
        decided = _population(backend)
    fresh = summed.version == version
    return BackendData(
        decided,
        summed.labels,
        labels_as_of=None if fresh else summed.at,
        labels_since=0 if fresh else max(0, version.count - summed.version.count),
    )
