"""Photos are shown to people with a reason, not to a role alone, and every view names the rule
that allowed it (issue 15, item 9; reviews.photo_access)."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from kyc.audit.models import AuditEvent
from kyc.models import DecisionSource, ImagePair, PairStatus
from reviews.models import CaseQueue
from tests.factories import ApplicantFactory, ImagePairFactory, UserFactory, store_images
from tests.reviews.cases import decide, opened_case
from tests.reviews.conftest import signed_in

pytestmark = pytest.mark.django_db

JPEG = "image/jpeg"


def auto_approved(applicant=None) -> ImagePair:
    """A pair the pipeline approved on its own: it never had a review case."""
    pair = ImagePairFactory(
        applicant=applicant or ApplicantFactory(),
        status=PairStatus.APPROVED,
        decision_source=DecisionSource.AUTO,
    )
    return store_images(pair)


def with_photos(**fields):
    case = opened_case(**fields)
    store_images(case.pair)
    return case


def photo(client, pair, which: str = "selfie"):
    return client.get(f"/review/images/{pair.public_id}/{which}/")


def image_views() -> list[tuple[str, str, dict]]:
    """Every images.viewed event: who, which pair, and its parameters."""
    return [
        (event.actor_label, event.subject_id, event.params)
        for event in AuditEvent.objects.filter(event_type="images.viewed").order_by("seq")
    ]


def superuser():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


# --- the image view ------------------------------------------------------------------------------


def test_a_reviewer_cannot_open_the_photos_of_an_auto_approved_pair_and_nothing_is_recorded(
    as_reviewer,
):
    pair = auto_approved()
    assert photo(as_reviewer, pair).status_code == 403
    assert photo(as_reviewer, pair, "reference").status_code == 403
    assert image_views() == []


def test_a_reviewer_sees_the_photos_of_a_case_in_the_standard_queue_by_the_queue_rule(
    as_reviewer,
):
    case = with_photos()
    response = photo(as_reviewer, case.pair)
    assert (response.status_code, response["Content-Type"]) == (200, JPEG)
    assert image_views() == [
        (
            "rita",
            str(case.pair.public_id),
            {"which": "selfie", "rule": "review_queue", "case": str(case.public_id)},
        )
    ]


def test_a_case_in_the_senior_queue_is_refused_to_a_plain_reviewer_and_shown_to_a_senior(
    reviewer, as_reviewer, as_senior
):
    case = with_photos()
    decide(case, reviewer, "escalate")
    case.refresh_from_db()
    assert case.queue == CaseQueue.SENIOR

    # Even to the reviewer who escalated it: the case is no longer theirs to work.
    assert photo(as_reviewer, case.pair).status_code == 403
    assert image_views() == []

    assert photo(as_senior, case.pair, "reference").status_code == 200
    assert image_views() == [
        (
            "sofia",
            str(case.pair.public_id),
            {"which": "reference", "rule": "review_queue", "case": str(case.public_id)},
        )
    ]


def test_a_decided_case_stays_readable_by_the_reviewers_of_its_queue(reviewer, as_reviewer):
    case = with_photos()
    decide(case, reviewer, "approve")
    case.refresh_from_db()
    assert (case.status, case.queue) == ("decided", CaseQueue.STANDARD)
    assert photo(as_reviewer, case.pair).status_code == 200
    assert [params["rule"] for _, _, params in image_views()] == ["review_queue"]


def test_an_administrator_sees_any_pair_by_the_permission_rule():
    pair = auto_approved()
    assert photo(signed_in(superuser()), pair).status_code == 200
    assert image_views() == [
        (
            "root",
            str(pair.public_id),
            {"which": "selfie", "rule": "view_any_pair_photos", "case": None},
        )
    ]


def test_the_permission_alone_opens_any_pair_to_a_user_without_a_role():
    pair = auto_approved()
    investigator = UserFactory(
        username="ivan", is_staff=True, permissions=["reviews.view_any_pair_photos"]
    )
    assert photo(signed_in(investigator), pair, "reference").status_code == 200
    assert [params for _, _, params in image_views()] == [
        {"which": "reference", "rule": "view_any_pair_photos", "case": None}
    ]


def test_an_administrator_looking_at_a_case_is_recorded_under_the_narrower_queue_rule():
    case = with_photos()
    assert photo(signed_in(superuser()), case.pair).status_code == 200
    assert [params["rule"] for _, _, params in image_views()] == ["review_queue"]


def test_an_auditor_gets_no_photos_even_of_a_case(as_auditor):
    # Auditors see any pair through its evidence pack, which holds hashes and no images.
    case = with_photos()
    assert photo(as_auditor, case.pair).status_code == 403
    assert photo(as_auditor, auto_approved()).status_code == 403
    assert image_views() == []


def test_a_refusal_comes_before_the_purge_check_so_it_does_not_tell_whether_photos_exist(
    as_reviewer,
):
    pair = auto_approved()
    ImagePair.objects.filter(pk=pair.pk).update(images_purged_at=timezone.now())
    assert photo(as_reviewer, pair).status_code == 403


# --- the applicant's other pairs -----------------------------------------------------------------


def test_the_reviewer_of_an_open_case_sees_the_applicants_auto_approved_pair_by_the_applicant_rule(
    as_reviewer,
):
    case = with_photos()
    earlier = auto_approved(applicant=case.pair.applicant)
    assert photo(as_reviewer, earlier).status_code == 200
    assert image_views() == [
        (
            "rita",
            str(earlier.public_id),
            {"which": "selfie", "rule": "applicant_under_review", "case": str(case.public_id)},
        )
    ]


def test_the_applicant_rule_ends_when_the_case_is_decided(reviewer, as_reviewer):
    case = with_photos()
    earlier = auto_approved(applicant=case.pair.applicant)
    decide(case, reviewer, "approve")
    assert photo(as_reviewer, earlier).status_code == 403
    assert image_views() == []


def test_another_applicants_open_case_gives_no_reason(as_reviewer):
    with_photos()
    stranger = auto_approved()
    assert photo(as_reviewer, stranger).status_code == 403


def test_an_open_senior_case_gives_the_applicants_pairs_to_seniors_only(
    reviewer, as_reviewer, as_senior
):
    case = with_photos()
    earlier = auto_approved(applicant=case.pair.applicant)
    decide(case, reviewer, "escalate")
    assert photo(as_reviewer, earlier).status_code == 403
    assert photo(as_senior, earlier).status_code == 200
    assert [(label, params["rule"]) for label, _, params in image_views()] == [
        ("sofia", "applicant_under_review")
    ]


# --- the case page asks the same rule ------------------------------------------------------------


def image_sources(html: str) -> list[str]:
    return re.findall(r'src="(/review/images/[^"]+)"', html)


def test_the_case_page_shows_a_senior_case_to_a_plain_reviewer_without_its_photos(
    reviewer, as_reviewer, as_senior
):
    case = with_photos()
    decide(case, reviewer, "escalate")
    plain = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    assert image_sources(plain) == []
    assert 'id="photos-withheld"' in plain

    senior_page = as_senior.get(f"/review/{case.public_id}/").content.decode()
    assert image_sources(senior_page) == [
        f"/review/images/{case.pair.public_id}/selfie/",
        f"/review/images/{case.pair.public_id}/reference/",
    ]
    assert 'id="photos-withheld"' not in senior_page


def compare_links(html: str) -> list[tuple[str, str]]:
    """The "Photos beside this pair" buttons: the selfie and reference each would open."""
    return re.findall(r'data-compare-selfie="([^"]+)" data-compare-reference="([^"]+)"', html)


def test_the_case_page_links_the_photos_of_the_applicants_other_pairs_that_still_have_them(
    as_reviewer,
):
    case = with_photos()
    kept = auto_approved(applicant=case.pair.applicant)
    purged = auto_approved(applicant=case.pair.applicant)
    ImagePair.objects.filter(pk=purged.pk).update(images_purged_at=timezone.now())

    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()

    assert compare_links(html) == [
        (f"/review/images/{kept.public_id}/selfie/", f"/review/images/{kept.public_id}/reference/")
    ]
    assert '<span class="muted">photos purged</span>' in html
    # Every link the page offers opens, by the rule the page decided with.
    assert [photo(as_reviewer, kept, which).status_code for which in ("selfie", "reference")] == [
        200,
        200,
    ]
    assert {params["rule"] for _, _, params in image_views()} == {"applicant_under_review"}


def test_the_case_page_links_no_other_pair_once_its_case_is_decided(reviewer, as_reviewer):
    case = with_photos()
    auto_approved(applicant=case.pair.applicant)
    decide(case, reviewer, "approve")
    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    assert "The applicant&#x27;s pairs" in html or "The applicant's pairs" in html
    assert compare_links(html) == []
    # The decided case's own photos stay: its queue is still the reviewer's.
    assert len(image_sources(html)) == 2
