"""Known faces on the reviewer's side: the case page's panel of matched faces (aligned crops
through the audited image view), the blocklist action and the blocklist page's four-eyes
removal."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kyc.audit.models import AuditEvent
from kyc.known_faces.models import BlocklistEntry, KnownFaceCheck
from kyc.known_faces.services import add_to_blocklist, check_pair
from kyc.models import ImagePair
from kyc.signals import pair_review_reasons_added
from reviews.models import CaseStatus
from tests.conftest import face_bytes
from tests.factories import ApplicantFactory, UserFactory
from tests.kyc.known_faces.conftest import matched_review_case
from tests.reviews.cases import opened_case

pytestmark = pytest.mark.django_db

PENDING = {"status": "pending", "reasons": [], "matched_applicant_refs": []}


@pytest.fixture
def matched_case():
    return matched_review_case()


def test_the_case_page_shows_the_matched_face_beside_this_one_with_its_outcome(
    as_reviewer, matched_case
):
    case, alice = matched_case
    html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    assert 'id="known-faces"' in html
    assert "Face seen before" in html
    assert f'src="/review/images/{case.pair.public_id}/selfie-face/"' in html
    assert f'src="/review/images/{alice.public_id}/selfie-face/"' in html
    assert "<code>alice</code>" in html and "status-p-approved" in html
    # A reviewer has no blocklist permission: no form.
    assert "Put face on blocklist" not in html


def test_the_matched_face_is_served_only_through_the_audited_view(as_reviewer, matched_case):
    case, alice = matched_case
    response = as_reviewer.get(f"/review/images/{alice.public_id}/selfie-face/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    event = AuditEvent.objects.get(event_type="images.viewed", subject_id=str(alice.public_id))
    assert event.params["rule"] == "known_face_match"
    assert event.params["case"] == str(case.public_id)


def test_a_matched_face_is_closed_again_once_the_case_is_decided(as_reviewer, matched_case):
    case, alice = matched_case
    case.status = "decided"
    case.save()
    assert as_reviewer.get(f"/review/images/{alice.public_id}/selfie-face/").status_code == 403


def test_a_senior_puts_the_face_on_the_blocklist_with_a_reason_code(
    as_senior, as_reviewer, matched_case
):
    case, _ = matched_case
    assert "Put face on blocklist" in as_senior.get(f"/review/{case.public_id}/").content.decode()
    refused = as_reviewer.post(
        f"/review/{case.public_id}/blocklist/", {"reason_code": "fraud_ring"}
    )
    assert refused.status_code == 403
    no_reason = as_senior.post(f"/review/{case.public_id}/blocklist/", {"reason_code": ""})
    assert no_reason.status_code == 302 and not BlocklistEntry.objects.exists()

    as_senior.post(f"/review/{case.public_id}/blocklist/", {"reason_code": "fraud_ring"})

    entry = BlocklistEntry.objects.get()
    assert (entry.reason_code, entry.source_pair_id) == ("fraud_ring", case.pair.pk)
    assert AuditEvent.objects.filter(event_type="blocklist.added").count() == 1


def test_the_blocklist_page_needs_two_people_to_remove_an_entry(
    as_senior, senior, other_senior, matched_case
):
    from tests.reviews.conftest import signed_in

    case, _ = matched_case
    as_senior.post(f"/review/{case.public_id}/blocklist/", {"reason_code": "fraud_ring"})
    entry = BlocklistEntry.objects.get()
    page = as_senior.get("/review/blocklist/").content.decode()
    assert f"Request removal of #{entry.pk}" in page

    as_senior.post(f"/review/blocklist/{entry.pk}/request-removal/")
    page = as_senior.get("/review/blocklist/").content.decode()
    assert "waiting for a second person" in page and "Approve removal" not in page
    as_senior.post(f"/review/blocklist/{entry.pk}/approve-removal/")
    entry.refresh_from_db()
    assert entry.removed_at is None  # the requester cannot approve

    signed_in(other_senior).post(f"/review/blocklist/{entry.pk}/approve-removal/")
    entry.refresh_from_db()
    assert entry.removed_at is not None and entry.removal_approved_by == other_senior
    assert "No face is on a blocklist." in as_senior.get("/review/blocklist/").content.decode()


def test_with_the_check_off_the_case_page_asks_nothing_about_known_faces(as_reviewer):
    case = opened_case()
    with CaptureQueriesContext(connection) as queries:
        html = as_reviewer.get(f"/review/{case.public_id}/").content.decode()
    assert 'id="known-faces"' not in html
    assert not [q for q in queries.captured_queries if "known_faces_" in q["sql"]]


# --- a match that arrives while the pair is in review ---------------------------------------------


def test_a_match_arriving_while_the_pair_is_in_review_joins_its_open_case(matched_case):
    case, _ = matched_case
    assert case.reasons == ["score_in_band", "face_seen_before"]  # its own reason kept
    assert case.priority == 0  # seen before is not urgent
    added = AuditEvent.objects.get(event_type="review.reasons_added")
    assert added.subject_id == str(case.pair.public_id)
    assert added.params == {
        "case": str(case.public_id),
        "reasons": ["face_seen_before"],
        "priority": 0,
    }


def test_a_blocklisted_face_arriving_in_review_raises_the_case_priority():
    _, alice = matched_review_case()
    add_to_blocklist(alice, "fraud_ring", UserFactory())
    case = opened_case(
        applicant=ApplicantFactory(client=alice.client, external_ref="carol"),
        images=(face_bytes("fr_obama1_knn_test.jpg"), face_bytes("fr_obama2.jpg")),
        reasons=["score_in_band"],
        faces={},
    )
    case.pair.known_face = PENDING
    case.pair.save()
    KnownFaceCheck.objects.create(pair=case.pair)

    assert check_pair(case.pair.pk) == "matched"

    case.refresh_from_db()
    assert case.reasons == ["score_in_band", "face_blocklisted", "face_seen_before"]
    assert case.priority == 1
    assert AuditEvent.objects.filter(
        event_type="review.reasons_added", params__case=str(case.public_id)
    ).get().params == {
        "case": str(case.public_id),
        "reasons": ["face_blocklisted", "face_seen_before"],
        "priority": 1,
    }


def test_reasons_already_on_the_case_are_not_added_twice_and_a_decided_case_is_left_alone(
    matched_case,
):
    case, _ = matched_case
    pair_review_reasons_added.send(
        sender=ImagePair, pair=case.pair, reasons=["face_seen_before"], priority=0
    )
    case.refresh_from_db()
    assert case.reasons == ["score_in_band", "face_seen_before"]
    assert AuditEvent.objects.filter(event_type="review.reasons_added").count() == 1

    case.status = CaseStatus.DECIDED
    case.save(update_fields=["status"])
    pair_review_reasons_added.send(
        sender=ImagePair, pair=case.pair, reasons=["face_blocklisted"], priority=1
    )
    case.refresh_from_db()
    assert case.reasons == ["score_in_band", "face_seen_before"] and case.priority == 0
    assert AuditEvent.objects.filter(event_type="review.reasons_added").count() == 1
