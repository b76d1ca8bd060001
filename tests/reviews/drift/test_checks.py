"""The weekly drift check: a shifted week is flagged once, on the dashboard, /metrics and the
audit trail; a steady week is not."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from kyc.audit.models import AuditEvent
from kyc.models import AttemptPurpose, AttemptStatus, ComparisonAttempt
from reviews.drift.checks import check_last_week, check_week, last_full_week
from reviews.drift.metrics import ScoreDriftCollector
from reviews.drift.statistics import EMPTY_SHARE
from reviews.models import DriftCheck
from reviews.tasks import check_score_drift
from tests.factories import ImagePairFactory, UserFactory

pytestmark = pytest.mark.django_db

WEEK = date(2026, 3, 9)  # a Monday
NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)  # Wednesday of the week after


@pytest.fixture(autouse=True)
def _small_samples(settings):
    settings.KYC_DRIFT_MIN_SCORES = 20
    settings.KYC_DRIFT_PSI_LIMIT = 0.2


def scores(vendor: str, week_start: date, values: list[float], **fields) -> None:
    """Decision attempts of `vendor` with these scores, finished on the Tuesday of that week."""
    pair = ImagePairFactory()
    finished = datetime(week_start.year, week_start.month, week_start.day, 10, tzinfo=UTC)
    finished += timedelta(days=1)
    ComparisonAttempt.objects.bulk_create(
        ComparisonAttempt(
            pair=pair,
            vendor=vendor,
            number=number,
            purpose=fields.get("purpose", AttemptPurpose.DECIDE),
            status=fields.get("status", AttemptStatus.COMPLETED),
            score=value,
            finished_at=finished,
        )
        for number, value in enumerate(values, start=1)
    )


def steady_reference(vendor: str = "advance") -> None:
    """Four weeks of 40 scores each, half at 75 and half at 85."""
    for weeks_before in range(1, 5):
        scores(vendor, WEEK - timedelta(weeks=weeks_before), [75.0] * 20 + [85.0] * 20)


def drift_events():
    return AuditEvent.objects.filter(event_type="score_drift.detected")


def test_the_last_full_week_starts_on_the_monday_before_this_one():
    assert last_full_week(NOW) == WEEK
    assert last_full_week(datetime(2026, 3, 16, 0, 0, tzinfo=UTC)) == WEEK


def test_a_week_whose_scores_moved_is_flagged_with_one_audit_event():
    steady_reference()
    scores("advance", WEEK, [25.0] * 20 + [35.0] * 20)  # the same shape, 50 points lower

    [check] = check_last_week(NOW)

    assert (check.backend, check.week_start, check.scores, check.reference_scores) == (
        "advance",
        WEEK,
        40,
        160,
    )
    # Half the mass in each of two bins, moved to two bins that were empty: four terms of
    # (0.5 − ε)·ln(0.5/ε).
    assert check.psi == pytest.approx(4 * (0.5 - EMPTY_SHARE) * math.log(0.5 / EMPTY_SHARE))
    assert check.ks == pytest.approx(1.0)
    assert check.flagged is True
    [event] = drift_events()
    assert (event.subject_type, event.subject_id, event.actor_type) == (
        "vendor_config",
        "advance",
        "system",
    )
    assert event.params["week_start"] == "2026-03-09"
    assert event.params["psi_limit"] == 0.2
    assert (event.params["scores"], event.params["reference_scores"]) == (40, 160)


def test_a_steady_week_is_recorded_but_not_flagged():
    steady_reference()
    scores("advance", WEEK, [75.0] * 20 + [85.0] * 20)

    [check] = check_last_week(NOW)

    assert (check.psi, check.ks, check.flagged) == (0.0, 0.0, False)
    assert not drift_events().exists()


def test_the_check_runs_once_per_backend_and_week_however_often_beat_calls_it():
    steady_reference()
    scores("advance", WEEK, [25.0] * 40)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("reviews.drift.checks.timezone.now", lambda: NOW)
        assert check_score_drift() == 1
        assert check_score_drift() == 1  # the week is still flagged, and recorded once

    assert DriftCheck.objects.count() == 1
    assert drift_events().count() == 1


def test_too_few_scores_are_recorded_without_a_judgement(settings):
    settings.KYC_DRIFT_MIN_SCORES = 100
    steady_reference()
    scores("advance", WEEK, [25.0] * 40)

    check = check_week("advance", WEEK)

    assert check is not None
    assert (check.psi, check.ks, check.flagged) == (None, None, False)
    assert not drift_events().exists()


def test_a_backend_without_scores_gets_no_row():
    assert check_week("zoloz", WEEK) is None
    assert not DriftCheck.objects.exists()


def test_second_opinions_reruns_and_failed_calls_are_not_the_live_population():
    steady_reference()
    scores("advance", WEEK, [75.0] * 20 + [85.0] * 20)
    scores("advance", WEEK, [10.0] * 40, purpose=AttemptPurpose.SECOND_OPINION)
    scores("advance", WEEK, [10.0] * 40, purpose=AttemptPurpose.RERUN)
    scores("advance", WEEK, [10.0] * 40, status=AttemptStatus.FAILED)

    check = check_week("advance", WEEK)

    assert check is not None
    assert (check.scores, check.flagged) == (40, False)


def test_the_metric_carries_each_backends_latest_psi_and_flag():
    steady_reference("advance")
    scores("advance", WEEK, [25.0] * 40)
    steady_reference("zoloz")
    scores("zoloz", WEEK, [75.0] * 20 + [85.0] * 20)
    check_last_week(NOW)

    psi, flagged = ScoreDriftCollector().collect()

    assert {s.labels["backend"]: s.value for s in flagged.samples} == {"advance": 1, "zoloz": 0}
    psi_by_backend = {s.labels["backend"]: s.value for s in psi.samples}
    assert psi_by_backend["zoloz"] == 0.0
    assert psi_by_backend["advance"] > 0.2


def test_the_dashboard_shows_a_flagged_backend(client):
    steady_reference()
    scores("advance", WEEK, [25.0] * 40)
    check_last_week(NOW)
    client.force_login(UserFactory(permissions=["kyc.view_dashboard"]))

    html = client.get("/stats/").content.decode()

    assert 'id="h-drift"' in html
    assert "Drift: PSI above 0.2" in html
    assert "9 Mar 2026" in html


def test_the_dashboard_says_when_no_week_was_checked(client):
    client.force_login(UserFactory(permissions=["kyc.view_dashboard"]))
    assert "No week has been checked yet." in client.get("/stats/").content.decode()
