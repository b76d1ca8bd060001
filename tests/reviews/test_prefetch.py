"""Decide fast: while a reviewer looks at a case, the next one's aligned faces are made on the
server (kept encrypted), without claiming it, without sending anything biometric, and without
an audit event until the case is shown; claims, stale decisions and skips work as before."""

from __future__ import annotations

import pytest
from django.db import connection

from kyc import crypto
from kyc.audit.chain import Actor
from kyc.audit.models import AuditEvent
from kyc.services.erasure import erase_applicant
from kyc.services.faces import locate_faces
from reviews import services
from reviews.models import CaseStatus
from tests.conftest import face_bytes
from tests.reviews.cases import kept_crops, opened_case
from tests.reviews.conftest import signed_in

pytestmark = pytest.mark.django_db


def case_with_faces(priority: int):
    case = opened_case(
        images=(face_bytes("df_img12.jpg"), face_bytes("df_img55.jpg")), priority=priority
    )
    locate_faces(case.pair_id)
    case.refresh_from_db()
    case.pair.refresh_from_db()
    return case


def prepare_next(client, case):
    return client.post(f"/review/{case.public_id}/prepare-next/")


def approve(client, case):
    case.refresh_from_db()
    return client.post(
        f"/review/{case.public_id}/decide/",
        {"outcome": "approve", "reason_code": "same_person", "stage": "first", "status": "claimed"},
    )


def image_views() -> list[tuple[str, str, str]]:
    return [
        (event.actor_label, event.subject_id, event.params["which"])
        for event in AuditEvent.objects.filter(event_type="images.viewed").order_by("seq")
    ]


@pytest.fixture
def line():
    """Three cases, most urgent first."""
    return [case_with_faces(priority=3 - n) for n in range(3)]


def test_peek_next_names_the_case_take_next_gives_after_this_one_without_claiming_it(
    reviewer, line
):
    current, following, _ = line
    assert services.take_next(reviewer) == current

    assert services.peek_next(reviewer, current.queue, after=current) == following
    following.refresh_from_db()
    assert (following.assignee, following.status) == (None, CaseStatus.OPEN)


def test_the_next_cases_faces_are_kept_encrypted_and_nothing_is_claimed_sent_or_audited(
    as_reviewer, reviewer, line
):
    current, following, last = line
    services.take_next(reviewer)
    views_before = AuditEvent.objects.count()

    response = prepare_next(as_reviewer, current)

    assert (response.status_code, response.content) == (204, b"")
    assert response["Cache-Control"] == "no-store"
    kept = kept_crops(following)
    for blob in kept.values():
        assert blob is not None
        # Encrypted: no JPEG or PNG in clear, and the image keys open it to a JPEG.
        assert not blob.startswith(b"\xff\xd8\xff")
        assert b"JFIF" not in blob and b"\x89PNG" not in blob
        assert crypto.decrypt(blob).startswith(b"\xff\xd8\xff")
    assert kept_crops(last) == {"selfie": None, "reference": None}  # only the next one
    following.refresh_from_db()
    assert (following.assignee, following.status) == (None, CaseStatus.OPEN)
    assert AuditEvent.objects.count() == views_before


def test_erasing_the_applicant_drops_the_prepared_faces_of_their_pair(as_reviewer, reviewer, line):
    current, following, _ = line
    services.take_next(reviewer)
    prepare_next(as_reviewer, current)
    assert None not in kept_crops(following).values()

    erase_applicant(following.pair.applicant, Actor.system("test"))

    assert kept_crops(following) == {"selfie": None, "reference": None}


def test_after_the_decision_the_prepared_faces_are_served_and_each_view_is_audited(
    as_reviewer, reviewer, line
):
    current, following, _ = line
    services.take_next(reviewer)
    prepare_next(as_reviewer, current)
    kept = {photo: crypto.decrypt(blob) for photo, blob in kept_crops(following).items() if blob}

    response = approve(as_reviewer, current)
    assert response["Location"] == f"/review/{following.public_id}/"
    served = {
        photo: as_reviewer.get(f"/review/images/{following.pair.public_id}/{photo}-face/")
        for photo in ("selfie", "reference")
    }

    assert {photo: r.content for photo, r in served.items()} == kept
    assert all(r["Cache-Control"] == "no-store" for r in served.values())
    assert image_views() == [
        ("rita", str(following.pair.public_id), "selfie-face"),
        ("rita", str(following.pair.public_id), "reference-face"),
    ]


def test_preparing_never_keeps_another_reviewer_from_taking_that_case(
    as_reviewer, reviewer, other_reviewer, line
):
    current, following, last = line
    services.take_next(reviewer)
    prepare_next(as_reviewer, current)

    assert services.take_next(other_reviewer) == following
    response = approve(as_reviewer, current)

    # Rita lands on the case after it: the one she prepared is Omar's now.
    assert response["Location"] == f"/review/{last.public_id}/"
    following.refresh_from_db()
    assert following.assignee == other_reviewer


def test_a_stale_decision_shows_this_case_again_not_the_prepared_one(as_reviewer, reviewer, line):
    current, following, _ = line
    services.take_next(reviewer)
    prepare_next(as_reviewer, current)

    response = as_reviewer.post(
        f"/review/{current.public_id}/decide/",
        {"outcome": "approve", "reason_code": "same_person", "stage": "first", "status": "open"},
    )

    assert response["Location"] == f"/review/{current.public_id}/"
    page = as_reviewer.get(response["Location"]).content.decode()
    assert "This case changed while you were looking at it" in page
    following.refresh_from_db()
    assert (following.assignee, following.status) == (None, CaseStatus.OPEN)


def test_skipping_after_preparing_still_lands_on_the_next_case(as_reviewer, reviewer, line):
    current, following, _ = line
    services.take_next(reviewer)
    prepare_next(as_reviewer, current)

    response = as_reviewer.post(f"/review/{current.public_id}/skip/", {"note": "blurred selfie"})

    assert response["Location"] == f"/review/{following.public_id}/"
    current.refresh_from_db()
    assert (current.assignee, current.status) == (None, CaseStatus.OPEN)


def test_only_the_holder_of_the_case_prepares_the_next_one(other_reviewer, reviewer, line):
    current, following, _ = line
    services.take_next(reviewer)

    response = prepare_next(signed_in(other_reviewer), current)

    assert response.status_code == 204
    assert kept_crops(following) == {"selfie": None, "reference": None}


def test_an_auditor_cannot_prepare_anything(as_auditor, reviewer, line):
    current, following, _ = line
    services.take_next(reviewer)

    assert prepare_next(as_auditor, current).status_code == 403
    assert kept_crops(following) == {"selfie": None, "reference": None}


def test_the_page_asks_to_prepare_the_next_case_only_when_its_reviewer_can_decide_it(
    as_reviewer, reviewer, other_reviewer, line
):
    current, following, _ = line
    services.take_next(reviewer)
    url = f'data-prepare-next="/review/{current.public_id}/prepare-next/"'

    assert url in as_reviewer.get(f"/review/{current.public_id}/").content.decode()
    assert (
        "data-prepare-next"
        not in signed_in(other_reviewer).get(f"/review/{current.public_id}/").content.decode()
    )
    assert (
        "data-prepare-next"
        not in as_reviewer.get(f"/review/{following.public_id}/").content.decode()
    )  # not claimed: no next one to prepare


def test_switched_off_the_page_does_not_ask_and_nothing_is_prepared(
    settings, as_reviewer, reviewer, line
):
    settings.KYC_PREFETCH_NEXT_CASE = False
    current, following, _ = line
    services.take_next(reviewer)

    assert (
        "data-prepare-next" not in as_reviewer.get(f"/review/{current.public_id}/").content.decode()
    )
    assert prepare_next(as_reviewer, current).status_code == 204
    assert kept_crops(following) == {"selfie": None, "reference": None}


def test_a_face_located_again_is_cut_again_not_served_from_the_old_crop(
    as_reviewer, reviewer, line
):
    current, following, _ = line
    services.take_next(reviewer)
    prepare_next(as_reviewer, current)
    pair = following.pair
    geometry = dict(pair.face_geometry)
    selfie = dict(geometry["selfie"])
    selfie["eyes"] = [[x + 4, y] for x, y in selfie["eyes"]]
    pair.face_geometry = {**geometry, "selfie": selfie}
    pair.save(update_fields=["face_geometry"])

    assert kept_crops(following)["selfie"] is None  # another location, another key


# --- the decision path's queries, pinned: a new one on it costs every decision -------------

#: Preparing the next case; recording the decision and claiming the next; the next case's page;
#: one of its prepared faces (audited). PostgreSQL writes an audit event in one statement
#: (`audit_append`, kyc/audit/migrations/0004), SQLite in two (the chain's head, the insert):
#: the decision writes three events, the face one.
PINNED = {
    "postgresql": {"prepare": 9, "decide": 27, "page": 15, "face": 10},
    "sqlite": {"prepare": 9, "decide": 30, "page": 15, "face": 11},
}


def queries(client, method: str, url: str, data=None) -> int:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
    assert response.status_code in {200, 204, 302}
    return len(captured.captured_queries)


def test_the_decision_the_next_page_and_its_faces_take_a_fixed_number_of_queries(
    as_reviewer, reviewer, line
):
    current, following, _ = line
    services.take_next(reviewer)
    as_reviewer.get(f"/review/{current.public_id}/")
    counts = {
        "prepare": queries(as_reviewer, "post", f"/review/{current.public_id}/prepare-next/"),
        "decide": queries(
            as_reviewer,
            "post",
            f"/review/{current.public_id}/decide/",
            {
                "outcome": "approve",
                "reason_code": "same_person",
                "stage": "first",
                "status": "claimed",
            },
        ),
        "page": queries(as_reviewer, "get", f"/review/{following.public_id}/"),
        "face": queries(
            as_reviewer, "get", f"/review/images/{following.pair.public_id}/selfie-face/"
        ),
    }

    assert counts == PINNED[connection.vendor]
