"""The drift formulas on distributions whose PSI and KS are known by hand."""

from __future__ import annotations

import math

import pytest

from reviews.drift.statistics import (
    EMPTY_SHARE,
    ks_statistic,
    population_stability_index,
    regroup,
    score_bin,
)


def test_identical_distributions_have_no_drift():
    assert population_stability_index([10, 30, 60], [1, 3, 6]) == 0.0
    assert ks_statistic([10, 30, 60], [1, 3, 6]) == 0.0


def test_psi_of_a_quarter_of_the_mass_moving_is_a_quarter_of_ln_3():
    # (0.25 − 0.5)·ln(0.25/0.5) + (0.75 − 0.5)·ln(0.75/0.5) = 0.25·ln 2 + 0.25·ln 1.5 = 0.25·ln 3
    assert population_stability_index([50, 50], [25, 75]) == pytest.approx(0.25 * math.log(3))
    assert ks_statistic([50, 50], [25, 75]) == pytest.approx(0.25)


def test_psi_is_symmetric():
    assert population_stability_index([25, 75], [50, 50]) == pytest.approx(
        population_stability_index([50, 50], [25, 75])
    )


def test_an_empty_bin_counts_as_a_tiny_share_instead_of_an_infinite_term():
    # All mass moves from the first bin to the second: each term is (1 − ε)·ln(1/ε).
    expected = 2 * (1 - EMPTY_SHARE) * math.log(1 / EMPTY_SHARE)
    assert population_stability_index([10, 0], [0, 10]) == pytest.approx(expected)
    assert ks_statistic([10, 0], [0, 10]) == pytest.approx(1.0)


def test_ks_is_the_largest_gap_between_the_cumulative_shares():
    # Cumulative: expected 0.2, 0.6, 1.0; actual 0.5, 0.7, 1.0 → gaps 0.3, 0.1, 0.
    assert ks_statistic([2, 4, 4], [5, 2, 3]) == pytest.approx(0.3)


def test_one_point_bins_regroup_into_ten_point_bins():
    counts = [1] * 100
    assert regroup(counts, 10) == [10] * 10
    with pytest.raises(ValueError, match="equal groups"):
        regroup([1] * 7, 10)


def test_scores_fall_in_one_point_bins_with_100_in_the_last():
    assert [score_bin(s) for s in (0, 0.99, 1, 54.5, 99.2, 100, 130, -3)] == [
        0,
        0,
        1,
        54,
        99,
        99,
        99,
        0,
    ]


def test_distributions_must_share_their_bins_and_have_scores():
    with pytest.raises(ValueError, match="same bins"):
        population_stability_index([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least one score"):
        ks_statistic([0, 0], [1, 1])
