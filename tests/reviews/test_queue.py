"""The queue page, "Take next", claims and their expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kyc.audit.models import AuditEvent
from kyc.celery import app
from reviews import services
from reviews.models import CaseQueue, CaseStatus, ReviewCase
from tests.factories import UserFactory
from tests.reviews.cases import at_the_same_instant, decide, opened_case
from tests.reviews.conftest import signed_in

pytestmark = pytest.mark.django_db


def short(case) -> str:
    return str(case.public_id)[:8]


def test_the_queue_shows_one_row_per_case_with_vendor_reasons_score_due_time_and_no_images(
    as_reviewer,
):
    overdue = opened_case(vendor="finauth", reasons=["age_risk"], score=91.0)
    ReviewCase.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - timedelta(hours=3))
    fresh = opened_case(vendor="advance", reasons=["score_in_band"], score=62.0)

    response = as_reviewer.get("/review/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<tr data-href="/review/') == 2
    for case in (overdue, fresh):
        assert short(case) in html
    assert "FinAuth" in html and "ADVANCE.AI" in html
    assert "Age risk" in html and "Score in band" in html
    assert "3 h overdue" in html and 'class="col-due overdue"' in html
    assert "in 23 h" in html
    assert '<svg class="band band-mini"' in html
    assert "/review/images/" not in html and "<img" not in html
    assert "Take next <kbd>T</kbd>" in html


def test_filters_narrow_the_queue_and_each_filter_shows_its_count(as_reviewer, reviewer):
    finauth = opened_case(vendor="finauth", reasons=["age_risk"])
    advance = opened_case(vendor="advance", reasons=["score_in_band"])
    mine = opened_case(vendor="advance", reasons=["vendor_failed"], score=None)
    services.claim_case(mine.public_id, reviewer)

    def rows(query: str) -> set[str]:
        html = as_reviewer.get(f"/review/?{query}").content.decode()
        return {short(c) for c in (finauth, advance, mine) if short(c) in html}

    assert rows("vendor=finauth") == {short(finauth)}
    assert rows("vendor=advance") == {short(advance), short(mine)}
    assert rows("reason=age_risk") == {short(finauth)}
    assert rows("reason=vendor_failed") == {short(mine)}
    assert rows("status=claimed") == {short(mine)}
    assert rows("status=open") == {short(finauth), short(advance)}
    assert rows("assignee=mine") == {short(mine)}
    assert rows("assignee=unassigned") == {short(finauth), short(advance)}
    assert rows("vendor=nonsense") == {short(finauth), short(advance), short(mine)}

    counts = as_reviewer.get("/review/").context["counts"]
    assert counts.total == 3
    assert counts.vendors["advance"] == 2 and counts.vendors["finauth"] == 1
    assert counts.reasons["age_risk"] == 1 and counts.reasons["score_in_band"] == 1
    assert counts.statuses == {"open": 2, "claimed": 1}
    assert (counts.mine, counts.unassigned, counts.standard, counts.senior) == (1, 2, 3, 0)


def test_sorting_by_priority_due_time_or_age(as_reviewer):
    now = timezone.now()
    old_low = opened_case(priority=0)
    urgent = opened_case(priority=1)
    due_first = opened_case(priority=0)
    ReviewCase.objects.filter(pk=old_low.pk).update(
        created_at=now - timedelta(days=2), due_at=now + timedelta(hours=5)
    )
    ReviewCase.objects.filter(pk=urgent.pk).update(due_at=now + timedelta(hours=9))
    ReviewCase.objects.filter(pk=due_first.pk).update(due_at=now + timedelta(hours=1))

    def order(query: str) -> list[str]:
        return [str(c.public_id) for c in as_reviewer.get(f"/review/?{query}").context["page"].rows]

    ids = {
        name: str(c.public_id)
        for name, c in [("old", old_low), ("urgent", urgent), ("due", due_first)]
    }
    assert order("") == [ids["urgent"], ids["due"], ids["old"]]
    assert order("sort=due") == [ids["due"], ids["old"], ids["urgent"]]
    assert order("sort=age") == [ids["old"], ids["urgent"], ids["due"]]


def test_the_number_of_queries_does_not_grow_with_the_page_size(as_reviewer, reviewer, monkeypatch):
    # Counts are cached only when they were slow to compute: on a loaded machine that depends on
    # timing, so this test turns the cache off and counts every query of the page.
    monkeypatch.setattr("reviews.selectors.COUNTS_CACHE_AFTER_SECONDS", float("inf"))
    for n in range(40):
        case = opened_case(vendor=["advance", "finauth", "zoloz", "alibaba", "local"][n % 5])
        if n % 7 == 0:
            services.claim_case(case.public_id, reviewer)
    as_reviewer.get("/review/?size=25")  # warm the session and permission caches
    counts = {}
    for size in (25, 100):
        with CaptureQueriesContext(connection) as queries:
            response = as_reviewer.get(f"/review/?size={size}&vendor=&sort=due")
        assert response.status_code == 200
        assert len(response.context["page"].rows) == min(size, 40)
        counts[size] = len(queries)
    assert counts[25] == counts[100]
    # The session, its user and the device that verified it (django-otp), two permission
    # lookups, the user's saved filters, then the page's own four.
    assert counts[100] <= 10


def test_pages_move_forward_and_back(as_reviewer):
    cases = [opened_case() for _ in range(30)]
    first = as_reviewer.get("/review/?size=25").context["page"]
    second = as_reviewer.get("/review/?size=25&page=2").context["page"]
    assert (len(first.rows), first.has_next, len(second.rows), second.has_next) == (
        25,
        True,
        5,
        False,
    )
    assert {c.pk for c in first.rows} | {c.pk for c in second.rows} == {c.pk for c in cases}


def test_take_next_claims_the_most_urgent_case_and_opens_it(as_reviewer, reviewer):
    opened_case(priority=0)
    urgent = opened_case(priority=1)

    response = as_reviewer.post("/review/take-next/", {"queue": "standard"})

    assert response.status_code == 302
    assert response["Location"] == f"/review/{urgent.public_id}/"
    urgent.refresh_from_db()
    assert (urgent.status, urgent.assignee_id) == (CaseStatus.CLAIMED, reviewer.pk)
    assert urgent.claim_expires_at == pytest.approx(
        timezone.now() + timedelta(minutes=settings.KYC_CLAIM_MINUTES), abs=timedelta(seconds=5)
    )
    claimed = AuditEvent.objects.get(event_type="review.claimed")
    assert (claimed.actor_label, claimed.params["case"]) == ("rita", str(urgent.public_id))


def test_take_next_gives_a_reviewer_back_the_case_they_hold_and_others_a_different_one(
    reviewer, other_reviewer
):
    first, second = opened_case(priority=1), opened_case(priority=0)
    assert services.take_next(reviewer).pk == first.pk
    assert services.take_next(reviewer).pk == first.pk
    assert services.take_next(other_reviewer).pk == second.pk
    assert services.take_next(UserFactory(username="third", role="Reviewers")) is None
    assert AuditEvent.objects.filter(event_type="review.claimed").count() == 2


def test_take_next_on_an_empty_queue_says_so(as_reviewer):
    response = as_reviewer.post("/review/take-next/", {"queue": "standard"}, follow=True)
    assert response.redirect_chain == [("/review/", 302)]
    assert "Nothing left to take" in response.content.decode()


def test_the_senior_queue_never_offers_a_senior_their_own_first_decision(senior, other_senior):
    case = opened_case()
    decide(case, senior, "reject")
    assert services.take_next(senior, CaseQueue.SENIOR) is None
    taken = services.take_next(other_senior, CaseQueue.SENIOR)
    assert taken.pk == case.pk
    taken.refresh_from_db()
    assert (taken.status, taken.assignee_id) == (CaseStatus.AWAITING_SECOND_REVIEW, other_senior.pk)


def test_an_expired_claim_is_released_by_the_beat_task_with_an_audit_event(
    reviewer, other_reviewer
):
    stale, live = opened_case(priority=1), opened_case(priority=0)
    services.claim_case(stale.public_id, reviewer)
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.KYC_CLAIM_MINUTES - 5)):
        services.claim_case(live.public_id, other_reviewer)
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.KYC_CLAIM_MINUTES + 1)):
        app.loader.import_default_modules()  # what a worker does: autodiscover every app's tasks
        released = app.tasks["reviews.release_expired_claims"].apply().get()

    assert released == 1
    stale.refresh_from_db()
    live.refresh_from_db()
    assert (stale.status, stale.assignee_id, stale.claim_expires_at) == (
        CaseStatus.OPEN,
        None,
        None,
    )
    assert (live.status, live.assignee_id) == (CaseStatus.CLAIMED, other_reviewer.pk)
    event = AuditEvent.objects.get(event_type="review.released")
    assert (event.actor_type, event.params) == (
        "system",
        {"case": str(stale.public_id), "why": "claim_expired"},
    )


def test_the_release_task_runs_every_minute_from_beat():
    entries = [
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "reviews.release_expired_claims"
    ]
    assert entries == [{"task": "reviews.release_expired_claims", "schedule": 60.0}]


def test_take_next_picks_up_a_case_whose_claim_ran_out(reviewer, other_reviewer):
    case = opened_case()
    services.claim_case(case.public_id, reviewer)
    assert services.take_next(other_reviewer) is None
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.KYC_CLAIM_MINUTES + 1)):
        taken = services.take_next(other_reviewer)
    assert taken.pk == case.pk
    assert list(
        AuditEvent.objects.filter(event_type__startswith="review.").values_list(
            "event_type", "actor_label"
        )
    ) == [
        ("review.opened", "pipeline"),
        ("review.claimed", "rita"),
        ("review.released", "claims"),
        ("review.claimed", "omar"),
    ]


def test_releasing_a_case_hands_it_back_to_the_queue(as_reviewer, reviewer):
    case = opened_case()
    services.claim_case(case.public_id, reviewer)
    response = as_reviewer.post(f"/review/{case.public_id}/release/")
    assert (response.status_code, response["Location"]) == (302, "/review/")
    case.refresh_from_db()
    assert (case.status, case.assignee_id) == (CaseStatus.OPEN, None)
    assert AuditEvent.objects.filter(event_type="review.released", actor_label="rita").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_pressing_take_next_at_once_get_two_different_cases():
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED are tested on PostgreSQL")
    cases = [opened_case(priority=1) for _ in range(2)]
    users = [UserFactory(username=f"racer{n}", role="Reviewers") for n in range(2)]

    def press(user) -> int | None:
        case = services.take_next(user)
        return case.pk if case else None

    outcomes = at_the_same_instant(press, users)
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    taken = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    assert errors == []
    assert sorted(taken) == sorted(c.pk for c in cases)
    assert set(ReviewCase.objects.values_list("assignee__username", flat=True)) == {
        "racer0",
        "racer1",
    }


def test_the_queue_page_is_signed_in_and_as_fast_in_queries_for_the_senior_queue(as_senior, senior):
    case = opened_case()
    decide(case, UserFactory(username="first", role="Reviewers"), "reject")
    html = as_senior.get("/review/senior/").content.decode()
    assert short(case) in html and "Awaiting 2nd review" in html
    assert signed_in(senior).get("/review/").status_code == 200
