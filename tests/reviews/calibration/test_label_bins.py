"""Labels binned by the database: the same histograms as binning each labelled score in Python,
weighted for the QA sampling so a rate read off them is the population's, not the sample's."""

from __future__ import annotations

import numpy as np
import pytest
from django.contrib.auth import get_user_model

from kyc.models import AttemptPurpose, AttemptStatus, PairContest
from reviews.calibration import data, stats
from reviews.labels import labelled_scores
from reviews.models import Label, LabelSource, LabelVerdict, QaItem
from tests.factories import AttemptFactory, ImagePairFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def labeller():
    return UserFactory(username="labeller")


def labelled_pair(
    score: float | None,
    verdict: str,
    *,
    probability: float | None = None,
    source: str = LabelSource.REVIEW,
    vendor: str = "advance",
):
    """A pair `vendor` scored `score`, judged `verdict` by one person; drawn by QA with
    `probability` when one is given (its label is then the QA answer unless `source` says)."""
    labeller = get_user_model().objects.get(username="labeller")
    pair = ImagePairFactory()
    AttemptFactory(
        pair=pair,
        vendor=vendor,
        number=1,
        score=score,
        status=AttemptStatus.COMPLETED,
        purpose=AttemptPurpose.DECIDE,
    )
    item = None
    if probability is not None:
        item = QaItem.objects.create(
            pair=pair, backend=vendor, auto_outcome="approved", probability=probability
        )
        source = LabelSource.QA if source == LabelSource.REVIEW else source
    Label.objects.create(
        pair=pair,
        verdict=verdict,
        source=source,
        labeller=labeller,
        qa_item=item if source == LabelSource.QA else None,
    )
    return pair


def in_bin(scores: list[float], score: float) -> int:
    return sum(stats.bin_of(other) == stats.bin_of(score) for other in scores)


def assert_same_bins(binned: stats.LabelBins, expected: stats.LabelBins) -> None:
    for got, want in ((binned.same, expected.same), (binned.different, expected.different)):
        assert got.count == want.count
        np.testing.assert_allclose(got.weights, want.weights)
        np.testing.assert_allclose(got.squares, want.squares)


def test_the_databases_bins_equal_the_labelled_scores_binned_one_by_one():
    rng = np.random.default_rng(5)
    same = [float(score) for score in np.round(rng.normal(82, 9, 40).clip(0, 100), 1)]
    different = [float(score) for score in np.round(rng.normal(35, 12, 40).clip(0, 100), 1)]
    for score in same:
        labelled_pair(score, LabelVerdict.SAME)
    for score in different:
        labelled_pair(score, LabelVerdict.DIFFERENT)
    for score, probability in [(95.0, 0.02), (91.3, 0.02), (12.0, 0.05), (70.0, 0.5)]:
        labelled_pair(score, LabelVerdict.SAME, probability=probability)
    labelled_pair(88.0, LabelVerdict.DIFFERENT, probability=0.02)
    labelled_pair(0.0, LabelVerdict.DIFFERENT)
    labelled_pair(100.0, LabelVerdict.SAME)
    labelled_pair(69.95, LabelVerdict.SAME)  # a bin's edge
    labelled_pair(60.0, LabelVerdict.UNSURE)  # says nothing
    labelled_pair(66.0, LabelVerdict.SAME, vendor="zoloz")  # another backend's
    # A senior's judgement outranks the reviewer's before it.
    overruled = labelled_pair(64.0, LabelVerdict.DIFFERENT)
    Label.objects.create(
        pair=overruled,
        verdict=LabelVerdict.SAME,
        source=LabelSource.SENIOR,
        labeller=UserFactory(username="senior"),
    )
    # A second opinion of the same backend on that pair is a labelled score of its own.
    AttemptFactory(
        pair=overruled,
        number=2,
        score=71.5,
        status=AttemptStatus.COMPLETED,
        purpose=AttemptPurpose.SECOND_OPINION,
    )

    binned = data.labels("advance")

    assert_same_bins(binned, stats.bin_labels(labelled_scores("advance")))
    assert binned.same.count == 40 + 4 + 1 + 1 + 2
    assert binned.different.count == 40 + 1 + 1
    assert binned.same.weights[stats.bin_of(95.0)] == pytest.approx(50.0)
    assert binned.same.squares[stats.bin_of(95.0)] == pytest.approx(2500.0)
    assert binned.same.weights[stats.bin_of(70.0)] == pytest.approx(2.0)
    # The overruled reviewer's "different" at 64 counts for nothing; the senior's "same" counts
    # on both of the backend's scores.
    assert binned.different.weights[stats.bin_of(64.0)] == in_bin(different, 64.0)
    assert binned.same.weights[stats.bin_of(64.0)] == in_bin(same, 64.0) + 1
    assert binned.same.weights[stats.bin_of(71.5)] == in_bin(same, 71.5) + 1


def test_a_qa_sample_drawn_in_proportion_gives_the_populations_false_accept_rate():
    """A known population of different-person pairs: 2,000 rejected automatically, 150 in the
    band, 100 approved automatically (the false accepts: 100 / 2,250). Reviewers judge the whole
    band; QA draws 5 % of the rejections and 2 % of the approvals."""
    for index in range(100):  # 5 % of 2,000 rejections
        labelled_pair(10.0 + index * 0.3, LabelVerdict.DIFFERENT, probability=0.05)
    for index in range(150):
        labelled_pair(55.0 + index * 0.1, LabelVerdict.DIFFERENT)
    for score in (72.0, 80.0):  # 2 % of the 100 false accepts
        labelled_pair(score, LabelVerdict.DIFFERENT, probability=0.02)

    labels = data.labels("advance")
    far = stats.false_accept_rate(labels, approve_at=70)

    assert labels.different.count == 252
    assert labels.different.total == pytest.approx(2250)
    assert far.estimate == pytest.approx(100 / 2250)
    assert far.low < 100 / 2250 < far.high
    # Kish: (Σw)² / Σw² = 2250² / (100·20² + 150 + 2·50²).
    assert far.effective_n == pytest.approx(2250**2 / 45150)
    # Unweighted, the same labels would say 2 in 252: the sample's rate, not the population's.
    assert far.low > 2 / 252


def test_a_contested_rejection_is_a_label_but_no_labelled_score_unless_qa_drew_it():
    """Applicants contest the rejections they think wrong: their pairs are no sample of the
    rejections, and counting them would inflate the false-reject rate."""
    contested = labelled_pair(20.0, LabelVerdict.SAME)
    PairContest.objects.create(pair=contested, statement_chars=9)
    drawn = labelled_pair(30.0, LabelVerdict.SAME, probability=0.05)
    PairContest.objects.create(pair=drawn, statement_chars=9)

    labels = data.labels("advance")

    assert Label.objects.filter(pair=contested).exists()
    assert labels.same.count == 1
    assert labels.same.weights[stats.bin_of(30.0)] == pytest.approx(20.0)
    assert labels.same.weights[stats.bin_of(20.0)] == 0
