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

The labels are cached under a key that changes whenever a decision is recorded or removed, so a
new label is on the page at once; the population may be up to `CACHE_SECONDS` old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

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


@dataclass(frozen=True)
class BackendData:
    population: np.ndarray
    labels: stats.LabelBins


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


def _labels_version() -> str:
    seen = Label.objects.aggregate(last=Max("id"), n=Count("id"))
    return f"{seen['last'] or 0}-{seen['n']}"


def backend_data(backend: str) -> BackendData:
    """Both histograms, each cached on its own: the labels until a decision is recorded or
    removed (a new label shows at once), the population for `CACHE_SECONDS`."""
    labels_key = f"kyc:calibration:{backend}:labels:{_labels_version()}"
    labelled = cache.get(labels_key)
    if labelled is None:
        labelled = labels(backend)
        cache.set(labels_key, labelled, CACHE_SECONDS)
    population_key = f"kyc:calibration:{backend}:population"
    decided = cache.get(population_key)
    if decided is None:
        decided = population(backend)
        cache.set(population_key, decided, CACHE_SECONDS)
    return BackendData(decided, labelled)
