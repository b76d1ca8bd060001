"""The reviewer's workbench: next case after a decision, skip, assignment, search, saved filters,
counts that show one's own work at once, the applicant's story and the senior queue's marks."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from kyc.audit.models import AuditEvent
from kyc.models import PairStatus
from reviews import saved_filters, selectors, services
from reviews.models import CaseQueue, CaseSkip, CaseStatus, SavedFilter
from tests.factories import ImagePairFactory, UserFactory
from tests.reviews.cases import decide, opened_case
from tests.reviews.conftest import signed_in

pytestmark = pytest.mark.django_db


def events_of(case) -> list[str]:
    return list(
        AuditEvent.objects.filter(subject_id=str(case.pair.public_id))
        .order_by("seq")
        .values_list("event_type", flat=True)
    )


def approve(client, case):
    case.refresh_from_db()
    return client.post(
        f"/review/{case.public_id}/decide/",
        {"outcome": "approve", "reason_code": "same_person", "stage": "first", "status": "claimed"},
    )


# --- decide, and the next case is there -----------------------------------------------------


def test_after_a_decision_the_reviewer_lands_on_the_next_case_already_claimed(
    as_reviewer, reviewer
):
    first, following = opened_case(priority=2), opened_case(priority=1)
    services.take_next(reviewer)

    response = approve(as_reviewer, first)

    assert response.status_code == 302
    assert response["Location"] == f"/review/{following.public_id}/"
    following.refresh_from_db()
    assert (following.assignee, following.status) == (reviewer, CaseStatus.CLAIMED)


def test_after_the_last_decision_the_reviewer_lands_on_the_queue(as_reviewer, reviewer):
    case = opened_case()
    services.take_next(reviewer)

    response = approve(as_reviewer, case)

    assert (response.status_code, response["Location"]) == (302, "/review/")


def test_an_escalating_reviewer_is_told_the_case_waits_for_a_senior(as_reviewer, reviewer):
    case = opened_case()
    services.take_next(reviewer)
    as_reviewer.post(
        f"/review/{case.public_id}/decide/",
        {
            "outcome": "escalate",
            "reason_code": "needs_senior",
            "stage": "first",
            "status": "claimed",
        },
    )

    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()

    assert "The case waits for a senior reviewer." in html
    assert "Your decision is final" not in html


# --- skip -----------------------------------------------------------------------------------


def test_a_skipped_case_goes_back_with_its_note_and_is_not_offered_to_the_skipper_next(
    as_reviewer, reviewer
):
    urgent, later = opened_case(priority=5), opened_case(priority=0)
    services.take_next(reviewer)

    response = as_reviewer.post(f"/review/{urgent.public_id}/skip/", {"note": "Need daylight."})

    assert (response.status_code, response["Location"]) == (302, f"/review/{later.public_id}/")
    urgent.refresh_from_db()
    assert (urgent.status, urgent.assignee) == (CaseStatus.OPEN, None)
    assert list(CaseSkip.objects.values_list("note", flat=True)) == ["Need daylight."]
    assert events_of(urgent)[-1] == "review.skipped"
    skipped = AuditEvent.objects.get(event_type="review.skipped")
    assert "Need daylight." not in str(skipped.params)  # free text stays out of the trail


def test_another_reviewer_gets_the_skipped_case_first_and_reads_the_note(reviewer, other_reviewer):
    urgent, _ = opened_case(priority=5), opened_case(priority=0)
    services.take_next(reviewer)
    services.skip_case(urgent.public_id, reviewer, note="Glare on the ID.")

    assert services.take_next(other_reviewer) == urgent
    html = signed_in(other_reviewer).get(f"/review/{urgent.public_id}/").content.decode()
    assert "Glare on the ID." in html and "Skipped" in html


def test_a_skipper_gets_the_skipped_case_back_when_nothing_else_is_left(reviewer):
    only = opened_case()
    services.take_next(reviewer)
    services.skip_case(only.public_id, reviewer, note="Later.")

    assert services.take_next(reviewer) == only


def test_a_skip_without_a_note_is_refused_next_to_the_note_and_changes_nothing(
    as_reviewer, reviewer
):
    case = opened_case()
    services.take_next(reviewer)
    before = events_of(case)

    response = as_reviewer.post(f"/review/{case.public_id}/skip/", {"note": "   "})

    assert response.status_code == 400
    assert "Say in a few words why you skip this case." in response.content.decode()
    case.refresh_from_db()
    assert case.assignee == reviewer and CaseSkip.objects.count() == 0
    assert events_of(case) == before


def test_only_the_holder_can_skip(reviewer, other_reviewer):
    case = opened_case()
    services.take_next(reviewer)

    with pytest.raises(services.CaseUnavailable):
        services.skip_case(case.public_id, other_reviewer, note="Not mine.")


# --- assignment -----------------------------------------------------------------------------


def test_a_senior_assigns_a_case_to_a_named_reviewer_who_finds_it_under_assigned_to_me(
    as_senior, reviewer
):
    case = opened_case()

    response = as_senior.post(f"/review/{case.public_id}/assign/", {"assignee": "rita"})

    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.assignee, case.status) == (reviewer, CaseStatus.CLAIMED)
    assert case.claim_expires_at >= case.due_at
    event = AuditEvent.objects.get(event_type="review.assigned")
    assert (event.actor_label, event.params["assignee"]) == ("sofia", "rita")
    mine = signed_in(reviewer).get("/review/?assignee=mine").context["page"].rows
    assert [c.pk for c in mine] == [case.pk]
    assert services.take_next(reviewer) == case


def test_reviewers_cannot_assign(as_reviewer):
    case = opened_case()

    response = as_reviewer.post(f"/review/{case.public_id}/assign/", {"assignee": "rita"})

    assert response.status_code == 403
    case.refresh_from_db()
    assert case.assignee is None


def test_a_senior_case_cannot_be_assigned_to_a_plain_reviewer(senior, other_senior, reviewer):
    case = opened_case()
    decide(case, UserFactory(username="ula", role="Reviewers"), "reject")

    with pytest.raises(services.InvalidRequest) as refused:
        services.assign_case(case.public_id, senior, reviewer)

    assert (refused.value.code, refused.value.field) == ("assignee_not_allowed", "assignee")
    assert [u.username for u in selectors.assignable_reviewers(CaseQueue.SENIOR)] == [
        "sam",
        "sofia",
    ]


def test_the_first_reviewer_cannot_be_assigned_the_second_review(senior, other_senior):
    case = opened_case()
    decide(case, UserFactory(username="ula", role="Reviewers"), "escalate")
    services.take_next(other_senior, CaseQueue.SENIOR)
    case.refresh_from_db()
    first_reviewer = case.decisions.get().reviewer
    first_reviewer.groups.add(*other_senior.groups.all())

    with pytest.raises(services.FourEyesViolation):
        services.assign_case(case.public_id, senior, type(senior).objects.get(pk=first_reviewer.pk))


# --- search and saved filters ---------------------------------------------------------------


@pytest.mark.parametrize("how", ["case", "case_short", "pair", "pair_short", "ref", "applicant"])
def test_search_finds_a_case_by_case_pair_or_applicant(as_reviewer, how):
    wanted, _other = opened_case(), opened_case()
    pair = wanted.pair
    term = {
        "case": str(wanted.public_id),
        "case_short": str(wanted.public_id)[:8].upper(),
        "pair": str(pair.public_id),
        "pair_short": str(pair.public_id)[:8],
        "ref": pair.applicant.external_ref,
        "applicant": str(pair.applicant.public_id),
    }[how]

    rows = as_reviewer.get("/review/", {"q": term}).context["page"].rows

    assert [c.pk for c in rows] == [wanted.pk]


def test_a_search_that_matches_nothing_says_so(as_reviewer):
    opened_case()

    response = as_reviewer.get("/review/", {"q": "no-such-applicant"})

    assert list(response.context["page"].rows) == []
    assert "No cases match these filters." in response.content.decode()


def test_saved_filters_are_saved_listed_applied_and_deleted(as_reviewer, reviewer):
    response = as_reviewer.post(
        "/review/filters/",
        {
            "queue": "standard",
            "name": "FinAuth age risk",
            "vendor": "finauth",
            "reason": "age_risk",
        },
    )

    assert response["Location"] == "/review/?vendor=finauth&reason=age_risk"
    saved = SavedFilter.objects.get()
    assert (saved.user, saved.queue, saved.query) == (
        reviewer,
        "standard",
        "vendor=finauth&reason=age_risk",
    )
    page = as_reviewer.get("/review/").content.decode()
    assert 'href="?vendor=finauth&amp;reason=age_risk">FinAuth age risk</a>' in page

    as_reviewer.post(f"/review/filters/{saved.pk}/delete/", {"queue": "standard"})
    assert SavedFilter.objects.count() == 0


def test_a_filter_needs_a_name_and_something_to_save(reviewer):
    filters = selectors.QueueFilters(vendor="zoloz")
    with pytest.raises(saved_filters.InvalidSavedFilter) as unnamed:
        saved_filters.save_filter(reviewer, filters, "  ")
    with pytest.raises(saved_filters.InvalidSavedFilter) as empty:
        saved_filters.save_filter(reviewer, selectors.QueueFilters(), "Everything")
    assert (unnamed.value.code, unnamed.value.field) == ("name_required", "name")
    assert empty.value.code == "nothing_to_save"
    assert SavedFilter.objects.count() == 0


def test_a_stored_filter_value_that_is_no_longer_valid_is_dropped_when_read(as_reviewer, reviewer):
    SavedFilter.objects.create(
        user=reviewer, queue="standard", name="Old", query="vendor=retired&reason=age_risk"
    )

    response = as_reviewer.get("/review/")

    assert response.status_code == 200
    assert [query for _, query in response.context["saved_filters"]] == ["reason=age_risk"]


def test_nobody_can_delete_someone_elses_saved_filter(as_reviewer, other_reviewer):
    theirs = SavedFilter.objects.create(
        user=other_reviewer, queue="standard", name="Mine", query="vendor=zoloz"
    )

    as_reviewer.post(f"/review/filters/{theirs.pk}/delete/", {"queue": "standard"})

    assert SavedFilter.objects.filter(pk=theirs.pk).exists()


# --- counts reflect one's own work at once ----------------------------------------------------


def test_cached_counts_follow_a_claim_and_a_decision_at_once(
    as_reviewer, reviewer, monkeypatch, django_capture_on_commit_callbacks
):
    # Counts this queue's size are always cached: the slow path of a six-figure queue.
    monkeypatch.setattr("reviews.selectors.COUNTS_CACHE_AFTER_SECONDS", -1.0)
    cache.clear()
    aged = opened_case(reasons=["age_risk"])
    opened_case()

    def counts():
        response = as_reviewer.get("/review/")
        c = response.context["counts"]
        return (c.total, c.unassigned, c.mine, c.reasons.get("age_risk", 0))

    assert counts() == (2, 2, 0, 1)
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_case(aged.public_id, reviewer)
    assert counts() == (2, 1, 1, 1)
    with django_capture_on_commit_callbacks(execute=True):
        decide(aged, reviewer, "approve", reason_code=None)
    assert counts() == (1, 1, 0, 0)


# --- the applicant's story and the senior queue --------------------------------------------


def test_a_queue_row_flags_the_applicants_other_pairs(as_reviewer):
    case = opened_case()
    applicant = case.pair.applicant
    ImagePairFactory(applicant=applicant, status=PairStatus.REJECTED)
    ImagePairFactory(applicant=applicant, status=PairStatus.RESUBMIT)
    opened_case(applicant=applicant)

    response = as_reviewer.get("/review/")

    row = next(c for c in response.context["page"].rows if c.pk == case.pk)
    assert (row.others_rejected, row.others_resubmit, row.others_open) == (1, 1, 1)
    html = response.content.decode()
    assert "1 earlier rejected" in html and "1 resubmitted" in html and "1 other open" in html


def test_the_senior_queue_marks_escalations_and_the_seniors_own_first_reviews(senior, as_senior):
    escalated = opened_case()
    decide(escalated, UserFactory(username="ula", role="Reviewers"), "escalate")
    own = opened_case()
    decide(own, senior, "reject")

    response = as_senior.get("/review/senior/")

    rows = {c.pk: c for c in response.context["page"].rows}
    assert rows[escalated.pk].first_outcome == "escalate"
    assert rows[own.pk].first_reviewer_id == senior.pk
    html = response.content.decode()
    assert html.count(">Escalated</span>") == 1
    assert html.count(">You decided first</span>") == 1


def test_the_timeline_and_facts_read_as_words_not_codes(as_reviewer, reviewer):
    case = opened_case(reasons=["age_risk"])
    services.take_next(reviewer)
    decide(case, reviewer, "approve", reason_code=None)

    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()

    assert "age_risk" not in html and "Age risk" in html
    timeline = html[html.index('<ol class="timeline">') :]
    assert "Approve" in timeline and ">approve<" not in timeline
