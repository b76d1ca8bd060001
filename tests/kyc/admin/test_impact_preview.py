"""The impact preview: replaying proposed thresholds over a backend's recent decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kyc.admin.impact import compare_thresholds, recent_decisions
from kyc.models import AttemptPurpose, AttemptStatus
from tests.factories import AttemptFactory
from tests.kyc.admin.conftest import change_url, vendor_form_data
from vendors.models import VendorConfig

pytestmark = pytest.mark.django_db

NOW = timezone.now()
SCORES = [50, 55, 60, 65, 70, 75, 80, 85, 90, 95]


def decided(vendor="advance", score=70.0, days_ago=1.0, **fields):
    defaults = {
        "vendor": vendor,
        "status": AttemptStatus.COMPLETED,
        "purpose": AttemptPurpose.DECIDE,
        "score": score,
        "finished_at": NOW - timedelta(days=days_ago),
    }
    return AttemptFactory(**{**defaults, **fields})


@pytest.fixture
def ten_advance_decisions():
    """Scores 50, 55, ... 95, one a day over the last ten days."""
    return [decided(score=score, days_ago=10 - i) for i, score in enumerate(SCORES)]


def thresholds(approve_at, reject_below):
    config = VendorConfig.objects.get(backend="advance")
    return {**config.thresholds_snapshot(), "approve_at": approve_at, "reject_below": reject_below}


def replay(current, proposed, vendor="advance"):
    return compare_thresholds(vendor, recent_decisions(vendor), current, proposed, now=NOW)


def test_lowering_approve_at_moves_exactly_the_new_band_from_review_to_approve(
    ten_advance_decisions,
):
    preview = replay(thresholds(70, 55), thresholds(60, 55))
    assert preview.total == 10
    assert dict(preview.transitions) == {
        ("reject", "reject"): 1,  # 50
        ("review", "review"): 1,  # 55
        ("review", "approve"): 2,  # 60, 65
        ("approve", "approve"): 6,  # 70 ... 95
    }
    assert preview.moved == 2
    assert (preview.into_review, preview.out_of_review) == (0, 2)
    # One decision a day over ten days: the queue loses 0.2 cases a day (0.3 -> 0.1).
    assert preview.window_days == pytest.approx(10)
    assert preview.per_day == pytest.approx(1.0)
    assert preview.review_per_day_before == pytest.approx(0.3)
    assert preview.review_per_day_after == pytest.approx(0.1)
    assert preview.review_per_day_change == pytest.approx(-0.2)


def test_stricter_thresholds_move_decisions_both_ways(ten_advance_decisions):
    preview = replay(thresholds(70, 55), thresholds(80, 65))
    assert dict(preview.transitions) == {
        ("reject", "reject"): 1,  # 50
        ("review", "reject"): 2,  # 55, 60
        ("review", "review"): 1,  # 65
        ("approve", "review"): 2,  # 70, 75
        ("approve", "approve"): 4,  # 80 ... 95
    }
    assert [(t.before, t.after, t.count) for t in preview.changes] == [
        ("approve", "review", 2),
        ("review", "reject", 2),
    ]
    assert (preview.into_review, preview.out_of_review) == (2, 2)
    assert preview.review_per_day_change == pytest.approx(0.0)


def test_only_completed_decision_attempts_of_that_backend_are_replayed(ten_advance_decisions):
    decided(vendor="zoloz", score=65)
    decided(status=AttemptStatus.FAILED, score=None)
    decided(status=AttemptStatus.INVALID_INPUT, score=None)
    decided(purpose=AttemptPurpose.SECOND_OPINION, score=65)
    decided(purpose=AttemptPurpose.PREFLIGHT, score=None)
    decided(finished_at=None, score=65)
    assert len(recent_decisions("advance")) == 10


def test_only_the_last_n_decisions_are_replayed(ten_advance_decisions):
    newest = recent_decisions("advance", limit=3)
    assert [a.score for a in newest] == [95, 90, 85]


def test_reading_the_decisions_is_one_query(ten_advance_decisions, django_assert_num_queries):
    current, proposed = thresholds(70, 55), thresholds(60, 55)
    with django_assert_num_queries(1):
        attempts = recent_decisions("advance")
        preview = compare_thresholds("advance", attempts, current, proposed, now=NOW)
    assert preview.total == 10


def test_finauth_is_replayed_against_the_thresholds_stored_from_its_answers():
    levels = {"1e-3": 62.0, "1e-4": 69.0, "1e-5": 75.0, "1e-6": 80.0}
    for score in (60, 66, 72, 78):
        decided(vendor="finauth", score=score, details={"thresholds": levels}, same_person=None)
    finauth = VendorConfig.objects.get(backend="finauth")
    current = finauth.thresholds_snapshot()
    preview = replay(current, {**current, "finauth_strictness": "1e-5"}, vendor="finauth")
    assert dict(preview.transitions) == {
        ("reject", "reject"): 1,  # 60 < 62
        ("review", "review"): 1,  # 66
        ("approve", "review"): 1,  # 72: approved at 1e-4 (69), not at 1e-5 (75)
        ("approve", "approve"): 1,  # 78
    }
    # approve_at / reject_below are only a fallback: changing them moves nothing here.
    unchanged = replay(current, {**current, "approve_at": 10, "reject_below": 5}, "finauth")
    assert unchanged.moved == 0


def test_risk_tags_and_the_vendors_own_flag_are_part_of_the_replay():
    decided(vendor="finauth", score=96, risk_tags=["is_age_risk"], details={})
    decided(vendor="finauth", score=96, same_person=False, details={})
    finauth = VendorConfig.objects.get(backend="finauth")
    current = finauth.thresholds_snapshot()
    preview = replay(current, {**current, "review_risk_tags": []}, vendor="finauth")
    # The age-risk pair leaves review; the disagreeing one stays there whatever the tags.
    assert dict(preview.transitions) == {("review", "approve"): 1, ("review", "review"): 1}


def test_stored_verdicts_judged_with_older_settings_are_counted_separately():
    decided(score=65, verdict="approve")  # decided when approve_at was 60
    decided(score=75, verdict="approve")
    preview = replay(thresholds(70, 55), thresholds(70, 55))
    assert preview.stored_differs == 1
    assert preview.moved == 0


def test_the_admin_preview_page_shows_the_transition_matrix_and_the_queue_per_day(
    admin_client, ten_advance_decisions
):
    advance = VendorConfig.objects.get(backend="advance")
    response = admin_client.post(
        change_url(advance), {**vendor_form_data(advance, approve_at=60), "_save": "Save"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-transition="review-approve" class="vc-moved">2</td>' in page
    assert 'data-transition="approve-approve" class="vc-same">6</td>' in page
    assert 'data-transition="approve-review" class="vc-zero">0</td>' in page
    assert '<li data-move="review-approve"><b>2</b>' in page
    assert '<span class="vc-big">0.3</span> &rarr;' in page
    assert '<span class="vc-big">0.1</span> cases per day' in page
    assert "(\N{MINUS SIGN}0.2 per day)" in page
    assert "0 of 10 decisions would move into review and\n        2 out of it" in page


def test_the_preview_of_a_backend_without_decisions_says_there_is_nothing_to_replay(admin_client):
    zoloz = VendorConfig.objects.get(backend="zoloz")
    response = admin_client.post(
        change_url(zoloz), {**vendor_form_data(zoloz, approve_at=75), "_preview": "1"}
    )
    assert "has no completed decisions yet" in response.content.decode()


def test_decisions_made_in_the_last_minutes_are_divided_by_those_minutes_not_a_day():
    # 44 decisions over the last 11 minutes: 44 per 11 minutes is 5,760 a day.
    attempts = [
        decided(score=70.0, days_ago=minute / (24 * 60))
        for minute in [11 - i / 4 for i in range(44)]
    ]
    preview = replay(thresholds(70, 55), thresholds(70, 55))
    assert preview.total == len(attempts) == 44
    assert preview.window_days == pytest.approx(11 / (24 * 60))
    assert preview.per_day == pytest.approx(5760)


def test_the_admin_preview_says_the_real_span_in_words(admin_client):
    now = timezone.now()  # not the module's NOW: a full run imports this file minutes earlier
    for minute in range(1, 12):
        decided(score=70.0, finished_at=now - timedelta(minutes=minute))
    advance = VendorConfig.objects.get(backend="advance")
    response = admin_client.post(
        change_url(advance), {**vendor_form_data(advance, approve_at=60), "_preview": "1"}
    )
    page = response.content.decode()
    assert "(the last\n        11 took 11 min)" in page
    assert "took 1.0 days" not in page
