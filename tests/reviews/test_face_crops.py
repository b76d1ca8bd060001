"""The aligned face crops: made from the decrypted photo behind the audited image view's rules,
never stored; and the case page's faces panel, which waits for face work and picks it up."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from kyc import dispatch
from kyc.audit.models import AuditEvent
from kyc.services.faces import locate_faces
from reviews.models import CaseQueue
from reviews.templatetags.review_ui import vendor_name
from tests.conftest import face_bytes
from tests.reviews.cases import opened_case
from tests.reviews.conftest import signed_in

pytestmark = pytest.mark.django_db


def case_with_faces(located: bool = True, **fields):
    case = opened_case(images=(face_bytes("df_img12.jpg"), face_bytes("df_img55.jpg")), **fields)
    if located:
        locate_faces(case.pair_id)
        case.pair.refresh_from_db()
    return case


def crop(client, pair, which: str = "selfie-face"):
    return client.get(f"/review/images/{pair.public_id}/{which}/")


def image_views() -> list[tuple[str, str, dict]]:
    return [
        (event.actor_label, event.subject_id, event.params)
        for event in AuditEvent.objects.filter(event_type="images.viewed").order_by("seq")
    ]


@pytest.mark.parametrize("which", ["selfie-face", "reference-face"])
def test_the_reviewer_of_the_case_gets_the_aligned_face_and_the_view_is_audited(
    as_reviewer, reviewer, which
):
    case = case_with_faces()

    response = crop(as_reviewer, case.pair, which)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "no-store"
    with Image.open(io.BytesIO(response.content)) as image:
        assert (image.format, image.size) == ("JPEG", (512, 640))
        assert not image.getexif()
    assert image_views() == [
        (
            "rita",
            str(case.pair.public_id),
            {"which": which, "rule": "review_queue", "case": str(case.public_id)},
        )
    ]


def test_a_reviewer_cannot_open_the_faces_of_a_senior_case_and_nothing_is_recorded(as_reviewer):
    case = case_with_faces()
    case.queue = CaseQueue.SENIOR
    case.save(update_fields=["queue"])

    assert crop(as_reviewer, case.pair).status_code == 403
    assert image_views() == []


def test_an_auditor_cannot_open_the_faces(as_auditor):
    case = case_with_faces()

    assert crop(as_auditor, case.pair).status_code == 403
    assert image_views() == []


def test_before_face_work_the_crop_is_not_found_and_nothing_is_recorded(as_reviewer):
    case = case_with_faces(located=False)

    response = crop(as_reviewer, case.pair)

    assert response.status_code == 404
    assert image_views() == []


def test_a_stored_location_that_cannot_be_aligned_is_not_found_rather_than_an_error(as_reviewer):
    case = case_with_faces()
    pair = case.pair
    pair.face_geometry = {**pair.face_geometry, "selfie": {"box": "garbage", "source": "ours"}}
    pair.save(update_fields=["face_geometry"])

    assert crop(as_reviewer, pair).status_code == 404
    assert crop(as_reviewer, pair, "reference-face").status_code == 200


@pytest.mark.parametrize("which", ["face", "selfie-crop", "reference-face-x"])
def test_an_unknown_kind_of_image_is_not_found(as_reviewer, which):
    case = case_with_faces()

    assert crop(as_reviewer, case.pair, which).status_code == 404


# --- the panel on the case page ------------------------------------------------------------------


def test_the_case_page_shows_both_aligned_faces_and_names_whose_box_it_is(as_reviewer):
    case = case_with_faces(vendor="zoloz", faces={})  # ZOLOZ sends no boxes: ours are used

    page = as_reviewer.get(f"/review/{case.public_id}/").content.decode()

    assert 'id="faces" data-state="ready"' in page
    assert f'src="/review/images/{case.pair.public_id}/selfie-face/"' in page
    assert f'src="/review/images/{case.pair.public_id}/reference-face/"' in page
    assert page.count("box: ours (local engine)") == 2
    assert "<kbd>F</kbd></dt><dd>Show or hide the full photos" in page


def test_the_panel_names_the_vendor_whose_box_it_shows(as_reviewer):
    case = case_with_faces()  # the factory's ADVANCE attempt reports boxes on both photos

    page = as_reviewer.get(f"/review/{case.public_id}/").content.decode()

    assert page.count(f'face-src">box: {vendor_name("advance")}') == 2


def test_before_face_work_the_panel_says_so_and_asks_for_it_once_a_minute(
    reviewer, tasks, django_capture_on_commit_callbacks
):
    case = case_with_faces(located=False)
    tasks.sent.clear()
    client = signed_in(reviewer)

    with django_capture_on_commit_callbacks(execute=True):
        first = client.get(f"/review/{case.public_id}/").content.decode()
        client.get(f"/review/{case.public_id}/")
        fragment = client.get(f"/review/{case.public_id}/faces/").content.decode()

    assert 'data-state="pending"' in first
    assert "Finding the faces in both photos" in first
    assert 'data-state="pending"' in fragment
    assert [(t.name, t.args) for t in tasks.sent] == [(dispatch.LOCATE_FACES, (case.pair_id,))]


def test_the_panel_fragment_shows_the_faces_once_face_work_is_done(as_reviewer):
    case = case_with_faces(located=False)
    locate_faces(case.pair_id)

    fragment = as_reviewer.get(f"/review/{case.public_id}/faces/").content.decode()

    assert 'data-state="ready"' in fragment
    assert "selfie-face" in fragment


def test_a_reviewer_who_may_not_see_the_photos_gets_no_faces_panel(as_reviewer):
    case = case_with_faces()
    case.queue = CaseQueue.SENIOR
    case.save(update_fields=["queue"])

    response = as_reviewer.get(f"/review/{case.public_id}/")

    assert response.status_code == 200
    assert 'id="faces"' not in response.content.decode()
    assert image_views() == []
