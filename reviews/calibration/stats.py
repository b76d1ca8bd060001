"""Calibration statistics for one backend: pure functions over binned, weighted labelled scores.

Everything works on histograms of 0.1-point bins on the 0–100 scale, so a million labelled
scores cost the same as a thousand: the database sums weights per bin (`reviews.calibration.data`)
and these functions never see a row.

Weights. A labelled score stands for 1/p pairs when a person judged it only because QA drew it
with probability p; a review case stands for itself (every pair in the review band reaches a
person). Rates are Horvitz–Thompson ratio estimates, Σw·[event] / Σw, and their intervals are
Wilson intervals on Kish's effective sample size n_eff = (Σw)² / Σw², so a handful of heavily
weighted QA labels are not mistaken for thousands of independent ones.

Orientation. Every backend's score is "higher is more alike" on 0–100 (vendors.verdicts): a
false accept is a different-person pair at or above `approve_at`, a false reject is a
same-person pair below `reject_below`; pairs between the lines go to a person.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

BINS_PER_POINT = 10
#: Bins [0, 0.1), [0.1, 0.2), …, [99.9, 100) and one for exactly 100.
N_BINS = 100 * BINS_PER_POINT + 1
#: Absorbs float noise at a bin's edge (70.0 is stored as 69.99999999999999 after arithmetic).
EDGE_SLACK = 1e-9
#: Two-sided 95 % normal quantile.
Z95 = 1.959963984540054
#: Below this many effective labels in a class, no rate of that class is shown.
MIN_EFFECTIVE_LABELS = 30.0


class LabelledScoreLike(Protocol):
    """The shape of reviews.labels.LabelledScore: a backend's score on a judged pair."""

    @property
    def score(self) -> float: ...

    @property
    def same(self) -> bool: ...

    @property
    def weight(self) -> float: ...


def bin_of(score: float) -> int:
    """The bin a score falls in (scores outside 0–100 are clamped to the ends)."""
    return min(max(math.floor(score * BINS_PER_POINT + EDGE_SLACK), 0), N_BINS - 1)


def edge(threshold: float) -> int:
    """The first bin at or above `threshold`: scores ≥ threshold are the bins from here on.

    Thresholds are read to the nearest 0.1 point, the resolution of the bins.
    """
    return min(max(round(threshold * BINS_PER_POINT), 0), N_BINS - 1)


def threshold_of(index: int) -> float:
    return round(index / BINS_PER_POINT, 1)


@dataclass(frozen=True)
class Histogram:
    """Per bin: the sum of weights, the sum of squared weights, and how many labels."""

    weights: np.ndarray = field(default_factory=lambda: np.zeros(N_BINS))
    squares: np.ndarray = field(default_factory=lambda: np.zeros(N_BINS))
    count: int = 0

    @property
    def total(self) -> float:
        return float(self.weights.sum())

    @property
    def effective_n(self) -> float:
        """Kish's effective sample size: n for equal weights, less when weights vary."""
        squares = float(self.squares.sum())
        return self.total**2 / squares if squares else 0.0

    def share_from(self, index: int) -> float:
        """The weighted share of scores in bins `index` and above."""
        return float(self.weights[index:].sum()) / self.total if self.total else math.nan


@dataclass(frozen=True)
class LabelBins:
    same: Histogram
    different: Histogram

    @property
    def count(self) -> int:
        return self.same.count + self.different.count


def histogram(scores: np.ndarray, weights: np.ndarray | None = None) -> Histogram:
    scores = np.asarray(scores, dtype=float)
    weights = np.ones_like(scores) if weights is None else np.asarray(weights, dtype=float)
    bins = np.clip(np.floor(scores * BINS_PER_POINT + EDGE_SLACK).astype(int), 0, N_BINS - 1)
    return Histogram(
        np.bincount(bins, weights=weights, minlength=N_BINS).astype(float),
        np.bincount(bins, weights=weights**2, minlength=N_BINS).astype(float),
        len(scores),
    )


def bin_labels(rows: Iterable[LabelledScoreLike]) -> LabelBins:
    """Bin labelled scores held in memory (a list of reviews.labels.LabelledScore)."""
    same: list[tuple[float, float]] = []
    different: list[tuple[float, float]] = []
    for row in rows:
        (same if row.same else different).append((row.score, row.weight))
    return LabelBins(_histogram_of(same), _histogram_of(different))


def _histogram_of(pairs: list[tuple[float, float]]) -> Histogram:
    if not pairs:
        return Histogram()
    scores, weights = zip(*pairs, strict=True)
    return histogram(np.array(scores), np.array(weights))


def wilson(share: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion observed on n (possibly effective) trials."""
    if n <= 0:
        return (0.0, 1.0)
    z2 = z * z
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Rate:
    """An estimated error rate with its 95 % interval, or the reason there is none."""

    estimate: float | None
    low: float | None
    high: float | None
    effective_n: float
    labels: int
    too_few: bool

    @property
    def shown(self) -> bool:
        return not self.too_few


def rate(histogram: Histogram, *, from_index: int, above: bool) -> Rate:
    """The weighted share of the class at or above (`above`) or below bin `from_index`."""
    n_eff = histogram.effective_n
    if n_eff < MIN_EFFECTIVE_LABELS:
        return Rate(None, None, None, n_eff, histogram.count, too_few=True)
    at_or_above = histogram.share_from(from_index)
    share = at_or_above if above else 1.0 - at_or_above
    share = min(max(share, 0.0), 1.0)
    low, high = wilson(share, n_eff)
    return Rate(share, low, high, n_eff, histogram.count, too_few=False)


def false_accept_rate(labels: LabelBins, approve_at: float) -> Rate:
    """Different-person pairs scored at or above `approve_at`, out of all different-person pairs."""
    return rate(labels.different, from_index=edge(approve_at), above=True)


def false_reject_rate(labels: LabelBins, reject_below: float) -> Rate:
    """Same-person pairs scored below `reject_below`, out of all same-person pairs."""
    return rate(labels.same, from_index=edge(reject_below), above=False)


def review_share(population: np.ndarray, approve_at: float, reject_below: float) -> float | None:
    """The share of all decided attempts (counts per bin) that fall between the lines."""
    total = float(population.sum())
    if not total:
        return None
    low, high = edge(reject_below), edge(approve_at)
    return float(population[low:high].sum()) / total if high > low else 0.0


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    false_accept: float
    false_reject: float


def curve(labels: LabelBins, step: float = 1.0) -> list[CurvePoint]:
    """ROC/DET points: a single threshold t moved over the scale (accept at or above t)."""
    if labels.same.effective_n < 1 or labels.different.effective_n < 1:
        return []
    same_above = np.cumsum(labels.same.weights[::-1])[::-1] / labels.same.total
    different_above = np.cumsum(labels.different.weights[::-1])[::-1] / labels.different.total
    stride = max(1, round(step * BINS_PER_POINT))
    return [
        CurvePoint(threshold_of(i), float(different_above[i]), float(1.0 - same_above[i]))
        for i in range(0, N_BINS, stride)
    ]


@dataclass(frozen=True)
class Suggestion:
    """Suggested lines for a target false-accept rate and a maximum review share.

    `approve_at` is the lowest line whose false-accept rate's upper 95 % bound meets the target
    (the bound, not the estimate, so the target still holds on pairs not yet seen);
    `reject_below` the lowest line under it that keeps the review share within the maximum, so
    as few same-person pairs as the review budget allows are rejected.
    """

    approve_at: float | None
    reject_below: float | None
    false_accept: Rate | None
    false_reject: Rate | None
    review_share: float | None
    problem: str = ""

    @property
    def usable(self) -> bool:
        return not self.problem


def labels_needed(target: float, z: float = Z95) -> int:
    """Effective different-person labels needed before zero false accepts can show `target`."""
    # Wilson's upper bound at p̂ = 0 is z²/(n + z²).
    return math.ceil(z * z / target - z * z)


def suggest(
    labels: LabelBins,
    population: np.ndarray,
    *,
    target_far: float,
    max_review_share: float,
) -> Suggestion:
    different = labels.different
    n_eff = different.effective_n
    if n_eff < MIN_EFFECTIVE_LABELS or labels.same.effective_n < MIN_EFFECTIVE_LABELS:
        return Suggestion(
            None,
            None,
            None,
            None,
            None,
            problem=f"Too few labels: at least {MIN_EFFECTIVE_LABELS:.0f} effective same-person "
            f"and {MIN_EFFECTIVE_LABELS:.0f} effective different-person labels are needed.",
        )
    above = np.cumsum(different.weights[::-1])[::-1] / different.total
    uppers = np.array([wilson(float(share), n_eff)[1] for share in above])
    meeting = np.flatnonzero(uppers <= target_far)
    if not len(meeting):
        return Suggestion(
            None,
            None,
            None,
            None,
            None,
            problem=f"Too few different-person labels to show a false-accept rate of "
            f"{target_far:g}: the upper bound of the interval stays above it even at 100. "
            f"About {labels_needed(target_far):,} effective different-person labels are needed; "
            f"there are {n_eff:,.0f}.",
        )
    approve_index = int(meeting[0])
    approve_at = threshold_of(approve_index)
    total = float(population.sum())
    if not total:
        return Suggestion(
            approve_at,
            None,
            false_accept_rate(labels, approve_at),
            None,
            None,
            problem="No decided attempts to measure the review share on.",
        )
    # Share of all attempts in [r, approve_at) for every r ≤ approve_at: falls as r rises.
    in_band = np.cumsum(population[:approve_index][::-1])[::-1] / total
    allowed = np.flatnonzero(in_band <= max_review_share)
    reject_index = int(allowed[0]) if len(allowed) else approve_index
    reject_below = threshold_of(reject_index)
    return Suggestion(
        approve_at,
        reject_below,
        false_accept_rate(labels, approve_at),
        false_reject_rate(labels, reject_below),
        review_share(population, approve_at, reject_below),
    )


def unlabelled_zones(
    labels: LabelBins, population: np.ndarray, *, approve_at: float, reject_below: float
) -> list[str]:
    """The automatic zones ("approve", "reject") that hold decided attempts but no labels.

    Review cases label only the band between the lines; the rates at the lines are about the
    pairs beyond them, which only QA samples of automatic decisions reach. A zone no one has
    looked into has an error rate no one can estimate, however many labels the band holds.
    """
    low, high = edge(reject_below), edge(approve_at)
    labelled = labels.same.weights + labels.different.weights
    zones = []
    if population[high:].sum() and not labelled[high:].sum():
        zones.append("approve")
    if population[:low].sum() and not labelled[:low].sum():
        zones.append("reject")
    return zones
