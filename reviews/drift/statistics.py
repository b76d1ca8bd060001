"""Pure statistics for score drift: population-stability index and the two-sample KS statistic.

Both compare a week's scores (the *actual* distribution) with the four weeks before it (the
*expected*, or reference, distribution), from histograms of 1-point bins over the 0–100 score
scale that every backend reports (`vendors.base.CompareResult.score`). Counting in the database
and comparing histograms keeps a check at one aggregate query, however many attempts a week has.

Population-stability index, over `PSI_BINS` fixed bins of 10 points:

    PSI = Σ_i (a_i − e_i) · ln(a_i / e_i)

where a_i and e_i are the shares of the week's and the reference's scores in bin i. An empty bin
would make the logarithm infinite, so a share of zero counts as `EMPTY_SHARE` (1e-4, far below
any share a populated bin has at the minimum sample size). PSI is symmetric, zero for identical
shares, and the customary reading is < 0.1 stable, 0.1–0.25 a moderate shift, above 0.25 (or
0.2 for the cautious) a population that has changed: this is what the flag uses, with the limit
in settings.KYC_DRIFT_PSI_LIMIT.

Two-sample Kolmogorov–Smirnov statistic, shown beside it:

    D = max_x |F_a(x) − F_e(x)|

with F the cumulative shares at the upper edge of each 1-point bin. On binned data this is the
exact statistic evaluated at the bin edges, so it can understate the statistic of the raw scores
only by what moves inside one point. It is reported, not flagged on: at weekly volumes its
p-value calls every small, harmless shift significant, while PSI's scale does not grow with the
sample size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Scores run from 0 to 100; 1-point bins, the last closed (100 falls in [99, 100]).
SCORE_BINS = 100
#: PSI bins: 10 of 10 points each, grouped from the 1-point bins.
PSI_BINS = 10
#: The share an empty bin counts as in PSI (see the module docstring).
EMPTY_SHARE = 1e-4


def score_bin(score: float) -> int:
    """The 1-point bin of a score; out-of-range scores fall in the first or last bin."""
    return min(SCORE_BINS - 1, max(0, math.floor(score)))


def shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    if total <= 0:
        raise ValueError("A distribution needs at least one score.")
    return [count / total for count in counts]


def regroup(counts: Sequence[int], bins: int) -> list[int]:
    """Counts in `bins` equal groups of consecutive bins (their number must divide evenly)."""
    if len(counts) % bins:
        raise ValueError(f"{len(counts)} bins do not fall into {bins} equal groups.")
    width = len(counts) // bins
    return [sum(counts[i : i + width]) for i in range(0, len(counts), width)]


def population_stability_index(expected: Sequence[int], actual: Sequence[int]) -> float:
    """PSI of `actual` against `expected`, both counts over the same bins."""
    if len(expected) != len(actual):
        raise ValueError("Both distributions must use the same bins.")
    total = 0.0
    for e, a in zip(shares(expected), shares(actual), strict=True):
        e, a = max(e, EMPTY_SHARE), max(a, EMPTY_SHARE)
        total += (a - e) * math.log(a / e)
    return total


def ks_statistic(expected: Sequence[int], actual: Sequence[int]) -> float:
    """The largest gap between the two cumulative distributions, both counts over the same bins."""
    if len(expected) != len(actual):
        raise ValueError("Both distributions must use the same bins.")
    gap = cumulative_e = cumulative_a = 0.0
    for e, a in zip(shares(expected), shares(actual), strict=True):
        cumulative_e += e
        cumulative_a += a
        gap = max(gap, abs(cumulative_a - cumulative_e))
    return gap
