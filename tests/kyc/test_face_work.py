"""Face work: where the faces are in a pair's photos, found once when the pair goes to review."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kyc import dispatch
from kyc.celery import app
from kyc.models import AttemptStatus
from kyc.services.faces import locate_faces
from kyc.worker_process import worker_command
from tests.conftest import face_bytes
from tests.factories import AttemptFactory, ImagePairFactory, store_images
from tests.reviews.cases import opened_case
from vendors.local.engine import get_engine

pytestmark = pytest.mark.django_db


def pair_of(selfie: str = "df_img1.jpg", reference: str = "df_img2.jpg", **attempt):
    pair = store_images(ImagePairFactory(), face_bytes(selfie), face_bytes(reference))
    if attempt:
        pair.deciding_attempt = AttemptFactory(pair=pair, number=1, **attempt)
        pair.save(update_fields=["deciding_attempt"])
    return pair


def test_without_vendor_boxes_both_faces_are_ours_with_the_engines_box_and_eyes():
    pair = pair_of(vendor="zoloz", faces={"selfie": None, "reference": None})

    assert locate_faces(pair.pk) is True

    pair.refresh_from_db()
    engine = get_engine()
    for which, name in (("selfie", "df_img1.jpg"), ("reference", "df_img2.jpg")):
        face = engine.locate_bytes(face_bytes(name))[0]
        left, top, width, height = face.box
        assert pair.face_geometry[which] == {
            "box": {"left": left, "top": top, "width": width, "height": height},
            "eyes": [list(face.eyes[0]), list(face.eyes[1])],
            "source": "ours",
            "eyes_estimated": False,
        }


def test_the_vendors_box_is_preferred_and_keeps_our_eye_points():
    ours = get_engine().locate_bytes(face_bytes("df_img1.jpg"))[0]
    left, top, width, height = ours.box
    vendor_box = {"left": left + 20, "top": top + 30, "width": width - 40, "height": height - 40}
    pair = pair_of(vendor="advance", faces={"selfie": vendor_box, "reference": None})

    locate_faces(pair.pk)

    pair.refresh_from_db()
    assert pair.face_geometry["selfie"] == {
        "box": vendor_box,
        "eyes": [list(ours.eyes[0]), list(ours.eyes[1])],
        "source": "vendor:advance",
        "eyes_estimated": False,
    }
    assert pair.face_geometry["reference"]["source"] == "ours"


def test_a_box_from_a_second_opinion_serves_when_the_deciding_vendor_sent_none():
    pair = pair_of(vendor="alibaba", faces={})
    box = {"left": 400, "top": 380, "width": 600, "height": 620}
    AttemptFactory(
        pair=pair, number=2, vendor="finauth", status=AttemptStatus.COMPLETED, faces={"selfie": box}
    )

    locate_faces(pair.pk)

    pair.refresh_from_db()
    assert pair.face_geometry["selfie"]["box"] == box
    assert pair.face_geometry["selfie"]["source"] == "vendor:finauth"


def test_a_photo_without_a_face_is_stored_as_none_and_the_other_still_located():
    pair = pair_of(reference="bad/no_face_landscape.jpg", vendor="local", faces={})

    locate_faces(pair.pk)

    pair.refresh_from_db()
    assert pair.face_geometry["reference"] is None
    assert pair.face_geometry["selfie"]["source"] == "ours"


def test_face_work_runs_once_and_never_for_purged_photos():
    done = pair_of(vendor="zoloz", faces={})
    assert locate_faces(done.pk) is True
    assert locate_faces(done.pk) is False

    purged = pair_of(vendor="zoloz", faces={})
    purged.images_purged_at = timezone.now()
    purged.save(update_fields=["images_purged_at"])
    assert locate_faces(purged.pk) is False
    purged.refresh_from_db()
    assert purged.face_geometry == {}


def test_opening_a_case_sends_the_face_work_once_it_commits(
    tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = opened_case()

    assert [(t.name, t.args) for t in tasks.sent] == [(dispatch.LOCATE_FACES, (case.pair_id,))]


def test_face_work_is_routed_to_the_faces_queue_which_the_worker_consumes():
    route = app.amqp.router.route({}, dispatch.LOCATE_FACES)
    compare = app.amqp.router.route({}, dispatch.COMPARE)

    assert route["queue"].name == "faces"
    assert compare["queue"].name == "celery"
    command = worker_command(2)
    assert command[command.index("--queues") + 1] == "celery,webhooks,faces,maintenance"
