"""Calibration statistics on synthetic labelled scores whose true rates are known analytically.

Same-person scores ~ N(80, 8) and different-person ~ N(30, 10) (or harder pairs where the rates
are large enough to estimate); seeds are fixed, so each test is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pytest

from reviews.calibration import stats


def normal_cdf(x: float, mean: float, sd: float) -> float:
    return 0.5 * (1 + math.erf((x - mean) / (sd * math.sqrt(2))))


@dataclass(frozen=True)
class Row:
    score: float
    same: bool
    weight: float


def draw(rng: np.random.Generator, n: int, mean: float, sd: float) -> np.ndarray:
    return np.clip(rng.normal(mean, sd, n), 0, 100)


def labels_of(
    same: np.ndarray,
    different: np.ndarray,
    same_weights: np.ndarray | None = None,
    different_weights: np.ndarray | None = None,
) -> stats.LabelBins:
    return stats.LabelBins(
        stats.histogram(same, same_weights), stats.histogram(different, different_weights)
    )


def test_rates_and_intervals_contain_the_true_ones():
    rng = np.random.default_rng(18)
    labels = labels_of(draw(rng, 4000, 80, 8), draw(rng, 4000, 30, 10))
    # Lines where the true rates are large enough for 4,000 labels to see.
    true_far = 1 - normal_cdf(45, 30, 10)  # 0.0668
    true_frr = normal_cdf(65, 80, 8)  # 0.0304

    far = stats.false_accept_rate(labels, approve_at=45)
    frr = stats.false_reject_rate(labels, reject_below=65)

    assert far.shown and frr.shown
    assert far.effective_n == pytest.approx(4000)
    assert far.low < true_far < far.high
    assert frr.low < true_frr < frr.high
    assert far.estimate == pytest.approx(true_far, abs=0.01)
    assert frr.estimate == pytest.approx(true_frr, abs=0.01)


def test_bins_read_a_threshold_exactly_at_its_edge():
    labels = stats.bin_labels(
        [Row(69.9, False, 1.0), Row(70.0, False, 1.0), Row(70.05, False, 1.0)]
        + [Row(90.0, True, 1.0)] * 40
        + [Row(10.0, False, 1.0)] * 37
    )
    # 70.0 and 70.05 are at or above 70; 69.9 is not.
    assert labels.different.share_from(stats.edge(70)) == pytest.approx(2 / 40)
    assert labels.different.weights[stats.bin_of(100.0)] == 0
    assert stats.bin_of(100.0) == stats.N_BINS - 1


def sampled_population(rng: np.random.Generator):
    """Harder pairs, decided with 70 / 50; QA samples 2 % of approvals and 5 % of rejections,
    every pair in the band is reviewed (weight 1). Returns the true rates and the label sets."""
    same, different = draw(rng, 200_000, 75, 10), draw(rng, 200_000, 45, 12)
    scores = np.concatenate([same, different])
    is_same = np.concatenate([np.ones(len(same), bool), np.zeros(len(different), bool)])
    approved, rejected = scores >= 70, scores < 50
    probability = np.where(approved, 0.02, np.where(rejected, 0.05, 1.0))
    labelled = rng.random(len(scores)) < probability
    weight = 1 / probability[labelled]
    s, y = scores[labelled], is_same[labelled]
    weighted = labels_of(s[y], s[~y], weight[y], weight[~y])
    unweighted = labels_of(s[y], s[~y])
    truth = {
        "far": float((different >= 70).mean()),
        "frr": float((same < 50).mean()),
    }
    return truth, weighted, unweighted


def test_sampling_weights_remove_the_bias_that_unweighted_labels_carry():
    truth, weighted, unweighted = sampled_population(np.random.default_rng(7))

    far = stats.false_accept_rate(weighted, approve_at=70)
    frr = stats.false_reject_rate(weighted, reject_below=50)
    biased_far = stats.false_accept_rate(unweighted, approve_at=70)
    biased_frr = stats.false_reject_rate(unweighted, reject_below=50)

    assert far.low < truth["far"] < far.high
    assert frr.low < truth["frr"] < frr.high
    # Without weights the fully reviewed band swamps the sampled tails: both rates come out far
    # too low and their intervals miss the truth.
    assert biased_far.high < truth["far"]
    assert biased_frr.high < truth["frr"]
    # Weights that vary shrink the effective sample below the number of labels.
    assert far.effective_n < far.labels


def test_effective_sample_size_is_kish():
    h = stats.histogram(np.array([10.0, 20.0, 30.0]), np.array([1.0, 1.0, 4.0]))
    assert h.effective_n == pytest.approx(36 / 18)


def test_suggested_thresholds_meet_the_target_on_held_out_data():
    rng = np.random.default_rng(3)
    labels = labels_of(draw(rng, 20_000, 80, 8), draw(rng, 20_000, 30, 10))
    population = stats.histogram(
        np.concatenate([draw(rng, 50_000, 80, 8), draw(rng, 50_000, 30, 10)])
    ).weights

    suggestion = stats.suggest(labels, population, target_far=1e-3, max_review_share=0.05)

    assert suggestion.usable
    assert suggestion.false_accept.high <= 1e-3
    # The true false-accept rate at the suggested line, and on 1,000,000 held-out pairs.
    assert 1 - normal_cdf(suggestion.approve_at, 30, 10) <= 1e-3
    held_out = draw(np.random.default_rng(99), 1_000_000, 30, 10)
    assert (held_out >= suggestion.approve_at).mean() <= 1e-3
    # The review budget is used, not exceeded, and the reject line sits under the approve line.
    assert suggestion.reject_below <= suggestion.approve_at
    assert suggestion.review_share <= 0.05
    assert stats.review_share(population, suggestion.approve_at, suggestion.reject_below - 0.1) > (
        0.05
    )


def test_too_few_labels_for_the_target_says_how_many_are_needed():
    rng = np.random.default_rng(5)
    labels = labels_of(draw(rng, 500, 80, 8), draw(rng, 500, 30, 10))
    population = stats.histogram(draw(rng, 1000, 55, 25)).weights

    suggestion = stats.suggest(labels, population, target_far=1e-3, max_review_share=0.1)

    assert not suggestion.usable
    assert suggestion.approve_at is None
    assert "3,838 effective different-person labels are needed; there are 500" in (
        suggestion.problem
    )


def test_a_class_with_too_few_labels_shows_no_rate():
    labels = labels_of(np.full(29, 90.0), np.full(500, 20.0))
    assert stats.false_reject_rate(labels, 50).too_few
    assert stats.false_reject_rate(labels, 50).estimate is None
    suggestion = stats.suggest(labels, np.ones(stats.N_BINS), target_far=0.01, max_review_share=1)
    assert not suggestion.usable
    assert suggestion.problem.startswith("Too few labels")


def test_curve_runs_from_accepting_everything_to_accepting_nothing():
    rng = np.random.default_rng(1)
    points = stats.curve(labels_of(draw(rng, 1000, 80, 8), draw(rng, 1000, 30, 10)))
    assert points[0].threshold == 0 and points[0].false_accept == 1 and points[0].false_reject == 0
    assert points[-1].threshold == 100
    assert all(a.false_accept >= b.false_accept for a, b in pairwise(points))


def test_zones_without_labels_are_named():
    band_only = labels_of(np.full(100, 60.0), np.full(100, 55.0))
    population = stats.histogram(np.array([10.0, 55.0, 90.0])).weights

    assert stats.unlabelled_zones(band_only, population, approve_at=70, reject_below=50) == [
        "approve",
        "reject",
    ]
    assert stats.unlabelled_zones(band_only, population, approve_at=58, reject_below=5) == []
