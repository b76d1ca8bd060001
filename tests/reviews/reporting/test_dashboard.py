"""The dashboard's figures on a data set worked out by hand, and who may see the page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from reviews.reporting import stats
from reviews.reporting.dashboard import _decision_time_chart, duration_unit
from reviews.reporting.stats import DateRange, percentile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PERIOD = DateRange(date(2026, 2, 14), date(2026, 3, 15))  # the default 30 days on 15 March
FEB_20, MAR_10, MAR_11, MAR_12, MAR_13, MAR_14, MAR_15 = 6, 24, 25, 26, 27, 28, 29


def zeros_except(**positions: int) -> list[int]:
    values = [0] * 30
    for key, value in positions.items():
        values[int(key[1:])] = value
    return values


def test_the_default_period_is_the_last_thirty_days(frozen):
    assert DateRange.last(30) == PERIOD
    assert len(PERIOD.days) == 30


def test_headline_numbers(known_data):
    head = stats.headline(PERIOD)
    assert head.pairs_today == 2
    assert (head.decided, head.decided_auto) == (9, 5)
    assert head.auto_rate == pytest.approx(5 / 9)
    assert (head.open_cases, head.overdue_cases) == (2, 1)
    assert head.oldest_open_hours == pytest.approx(50)
    assert head.median_latency_ms == pytest.approx(400)
    assert head.p95_latency_ms == pytest.approx(9400)
    assert head.billable_calls == 8
    assert head.preflight_saved == 2


def test_decisions_per_day_by_outcome_and_source(known_data):
    per_day = stats.decisions_per_day(PERIOD)
    assert per_day[("approved", "auto")] == zeros_except(d24=3)
    assert per_day[("approved", "reviewer")] == zeros_except(d24=1)
    assert per_day[("rejected", "auto")] == zeros_except(d24=1)
    assert per_day[("rejected", "reviewer")] == zeros_except(d6=1, d26=1)
    assert per_day[("resubmit", "auto")] == zeros_except(d26=1)
    assert per_day[("resubmit", "reviewer")] == [0] * 30
    assert per_day[("failed", "")] == zeros_except(d26=1)
    assert sum(sum(values) for values in per_day.values()) == 9  # the January one is outside


def test_score_histograms_use_five_point_buckets_and_the_vendor_thresholds(known_data):
    histograms = {h.vendor: h for h in stats.score_histograms(PERIOD)}
    assert list(histograms) == ["advance", "zoloz"]
    advance = histograms["advance"]
    assert len(advance.counts) == 20
    assert {i: c for i, c in enumerate(advance.counts) if c} == {2: 1, 12: 1, 14: 1, 19: 2}
    assert (advance.reject_below, advance.approve_at) == (55, 70)
    assert {i: c for i, c in enumerate(histograms["zoloz"].counts) if c} == {10: 1, 18: 1}


def test_vendor_latency_percentiles_and_error_rates(known_data):
    rows = {row.vendor: row for row in stats.vendor_table(PERIOD)}
    assert list(rows) == ["advance", "zoloz"]  # pre-flight checks are not vendor calls
    advance, zoloz = rows["advance"], rows["zoloz"]
    assert (advance.calls, advance.completed, advance.failed, advance.billable) == (6, 5, 1, 5)
    assert advance.p50_ms == pytest.approx(350)
    assert advance.p95_ms == pytest.approx(11500)
    assert advance.errors == {"TIMEOUT": 1}
    assert advance.error_rate == pytest.approx(1 / 6)
    assert (zoloz.calls, zoloz.invalid_input, zoloz.billable) == (3, 1, 3)
    assert (zoloz.p50_ms, zoloz.p95_ms) == (pytest.approx(500), pytest.approx(680))
    assert zoloz.error_rate == 0
    assert zoloz.image_problem_rate == pytest.approx(1 / 3)


def test_billable_calls_per_vendor_per_day(known_data):
    assert stats.billable_per_day(PERIOD) == {
        "advance": zeros_except(d24=5),
        "zoloz": zeros_except(d26=3),
    }


def test_calls_saved_by_the_preflight_check(known_data):
    saved = stats.preflight_savings(PERIOD)
    assert saved.by_vendor == {"advance": 2}
    assert saved.per_day == zeros_except(d26=2)


def test_the_queue_at_the_end_of_each_day_and_its_sla(known_data):
    queue = stats.queue_over_time(PERIOD)
    assert queue.open_cases == [1] * 6 + [0] * 19 + [1, 0, 1, 1, 2]
    assert queue.overdue == [1] * 6 + [0] * 22 + [1, 1]
    assert queue.opened == zeros_except(d24=1, d25=1, d27=1, d29=1)
    assert queue.decided == zeros_except(d6=1, d24=1, d26=1)
    assert queue.decided_late == zeros_except(d6=1, d26=1)
    assert queue.breaches == 2
    hours = {i: h for i, h in enumerate(queue.hours_to_decision) if h is not None}
    assert hours == {
        FEB_20: pytest.approx(457),
        MAR_10: pytest.approx(6),
        MAR_12: pytest.approx(36),
    }


def test_a_shorter_period_counts_what_was_open_when_it_starts(known_data):
    queue = stats.queue_over_time(DateRange(date(2026, 3, 12), date(2026, 3, 15)))
    assert queue.open_cases == [0, 1, 1, 2]
    assert queue.overdue == [0, 0, 1, 1]


def test_percentile_interpolates_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.95) == 7
    assert percentile([100.0, 200.0, 300.0, 400.0], 0.5) == 250
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.95) == pytest.approx(4.8)


# --- the page -------------------------------------------------------------------------------------


def test_the_dashboard_renders_charts_and_cards_for_a_permitted_user(client, known_data):
    client.force_login(UserFactory(permissions=["kyc.view_dashboard"]))
    response = client.get("/stats/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Operations dashboard" in html
    assert html.count('<svg class="chart"') >= 6  # decisions, queue, time, 2 histograms, ...
    assert 'role="img"' in html and "<title" in html
    assert "Decided automatically" in html and "56%" in html  # 5 of 9
    assert "Export decisions" not in html  # that needs kyc.export_decisions


def test_the_period_can_be_chosen_and_bad_dates_are_explained(client, known_data):
    client.force_login(UserFactory(permissions=["kyc.view_dashboard", "kyc.export_decisions"]))
    response = client.get("/stats/", {"start": "2026-03-10", "end": "2026-03-12"})
    assert response.status_code == 200
    assert "10 Mar 2026 – 12 Mar 2026" in response.content.decode()
    assert "Export decisions" in response.content.decode()
    response = client.get("/stats/", {"start": "2026-03-12", "end": "2026-03-10"})
    assert response.status_code == 200
    assert "The start must be on or before the end." in response.content.decode()


def test_a_superuser_sees_the_dashboard(client, known_data):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get("/stats/").status_code == 200


def test_a_user_without_the_permission_is_refused(client, db):
    client.force_login(UserFactory(permissions=["reviews.review_case"], is_staff=True))
    assert client.get("/stats/").status_code == 403


def test_an_anonymous_visitor_is_sent_to_sign_in(client, db):
    response = client.get("/stats/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_dashboard_renders_with_no_data_at_all(client, db):
    client.force_login(UserFactory(permissions=["kyc.view_dashboard"]))
    response = client.get("/stats/")
    assert response.status_code == 200
    assert "No data in this period" in response.content.decode()


@pytest.mark.parametrize(
    ("longest_hours", "unit"),
    [
        (0.2, ("minutes", " min", 1 / 60)),
        (5.0, ("hours", " h", 1.0)),
        (100.0, ("days", " d", 24.0)),
    ],
)
def test_durations_are_drawn_in_the_unit_that_keeps_them_readable(longest_hours, unit):
    assert duration_unit(longest_hours) == unit


def test_same_day_reviews_plot_in_minutes_not_at_zero_hours():
    svg = _decision_time_chart([0.25, None, 0.5], 24, ["1", "2", "3"], ["1", "2", "3"], "March")
    labels = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]  # noqa: S314
    assert "mean minutes to decision" in labels
    assert "30 min" in labels  # the axis reaches the longest mean, half an hour
    assert "well inside the 24 h SLA" in svg
