from __future__ import annotations

import base64
import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from kyc.audit.chain import Actor, verify_chain
from kyc.audit.models import AuditEvent
from kyc.models import ApiKey, AttemptPurpose, AttemptStatus, ComparisonAttempt, ImagePair
from kyc.services.api_clients import revoke_api_key
from tests.conftest import face_bytes
from tests.factories import ImagePairFactory, client_with_key
from vendors.models import VendorConfig

pytestmark = pytest.mark.django_db
URL = "/api/v1/image-pairs/"


def upload(name: str, filename: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        filename or name.split("/")[-1], face_bytes(name), content_type="image/jpeg"
    )


def submit(api: APIClient, selfie: str = "df_img1.jpg", reference: str = "df_img2.jpg", **fields):
    headers = fields.pop("headers", {})
    data = {
        "applicant_ref": "user-42",
        "selfie": upload(selfie),
        "reference": upload(reference),
        **fields,
    }
    return api.post(URL, data, format="multipart", **headers)


def test_a_multipart_submission_is_accepted_with_a_location(
    api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = submit(api, metadata='{"session": "abc"}')
    assert response.status_code == 202
    body = response.json()
    assert response["Location"] == f"/api/v1/image-pairs/{body['id']}/"
    assert body["status"] == "received"
    assert body["applicant_ref"] == "user-42"
    assert body["metadata"] == {"session": "abc"}
    assert (
        body["images"]["selfie"]["sha256"]
        == __import__("hashlib").sha256(face_bytes("df_img1.jpg")).hexdigest()
    )
    assert body["attempts"] == [
        {
            "vendor": "local",
            "number": 1,
            "purpose": "decide",
            "status": "pending",
            "score": None,
            "error_code": None,
            "latency_ms": None,
        }
    ]
    assert len(callbacks) == 1  # the comparison task is enqueued only once the pair is committed


def test_the_stored_images_are_ciphertext_not_the_upload(api):
    body = submit(api).json()
    pair = ImagePair.objects.get(public_id=body["id"])
    stored = default_storage.read_raw(pair.selfie.name)
    assert stored[:4] == b"KYC1"
    assert face_bytes("df_img1.jpg")[:64] not in stored
    with pair.selfie.open("rb") as handle:
        assert handle.read() == face_bytes("df_img1.jpg")


def test_a_json_submission_with_base64_images_is_accepted(api):
    response = api.post(
        URL,
        {
            "applicant_ref": "user-7",
            "selfie_base64": base64.b64encode(face_bytes("df_img1.jpg")).decode(),
            "reference_base64": base64.b64encode(face_bytes("df_img2.jpg")).decode(),
            "reference_source": "SELFIE",
        },
        format="json",
    )
    assert response.status_code == 202
    assert response.json()["reference_source"] == "SELFIE"


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("bad/not_an_image.jpg", 400, "image_not_readable"),
        ("bad/empty.jpg", 400, "image_not_readable"),
        ("bad/truncated.jpg", 400, "image_corrupt"),
    ],
)
def test_each_unusable_file_gets_its_specific_code_naming_the_field(api, name, status, code):
    response = submit(api, reference=name)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["field"] == "reference"
    assert ImagePair.objects.count() == 0


@pytest.mark.parametrize(
    "name",
    [
        "bad/cmyk.jpg",
        "bad/grayscale.jpg",
        "bad/face_rgba.png",
        "bad/exif_rotated.jpg",
        "bad/huge_5000x5000.jpg",
    ],
)
def test_awkward_but_valid_files_are_accepted(api, name):
    assert submit(api, selfie=name).status_code == 202


def test_a_tiny_photo_is_refused_at_once_for_a_vendor_with_a_minimum(api):
    VendorConfig.objects.filter(backend="advance").update(enabled=True)
    response = submit(api, selfie="bad/tiny_100x100.jpg", vendor="advance")
    assert response.status_code == 400
    assert response.json() == {
        "code": "image_too_small",
        "message": response.json()["message"],
        "field": "selfie",
    }


def test_an_unsupported_format_is_415(api):
    gif = io.BytesIO()
    Image.new("RGB", (400, 400)).save(gif, format="GIF")
    data = {
        "applicant_ref": "u",
        "selfie": SimpleUploadedFile("a.jpg", gif.getvalue()),
        "reference": upload("df_img2.jpg"),
    }
    response = api.post(URL, data, format="multipart")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_format"


def test_an_oversized_image_is_413(api, settings):
    settings.KYC_MAX_IMAGE_BYTES = 50_000
    response = submit(api)
    assert response.status_code == 413
    assert response.json()["code"] == "image_too_large"
    assert response.json()["field"] == "selfie"


@pytest.mark.parametrize(
    ("drop", "field"),
    [("selfie", "selfie"), ("reference", "reference"), ("applicant_ref", "applicant_ref")],
)
def test_a_missing_field_is_named(api, drop, field):
    data = {
        "applicant_ref": "u",
        "selfie": upload("df_img1.jpg"),
        "reference": upload("df_img2.jpg"),
    }
    del data[drop]
    response = api.post(URL, data, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "missing_field"
    assert response.json()["field"] == field


def test_broken_base64_is_refused_with_its_own_code(api):
    response = api.post(
        URL,
        {"applicant_ref": "u", "selfie_base64": "not base64!!", "reference_base64": "AAAA"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_base64"
    assert response.json()["field"] == "selfie_base64"


def test_metadata_over_4kb_or_not_an_object_is_refused(api):
    too_big = submit(api, metadata='{"x": "' + "a" * 5000 + '"}')
    assert (too_big.status_code, too_big.json()["code"]) == (400, "metadata_too_large")
    not_object = submit(api, metadata="[1, 2]")
    assert (not_object.status_code, not_object.json()["code"]) == (400, "invalid_metadata")


def test_an_unknown_vendor_is_an_invalid_choice(api):
    response = submit(api, vendor="acme")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_choice"
    assert response.json()["field"] == "vendor"


def test_a_disabled_vendor_is_not_available(api):
    response = submit(api, vendor="zoloz")
    assert response.status_code == 400
    assert response.json()["code"] == "vendor_not_available"
    assert response.json()["field"] == "vendor"


def test_with_no_backend_enabled_a_submission_is_503_and_nothing_is_kept(api):
    VendorConfig.objects.update(enabled=False)
    response = submit(api)
    assert response.status_code == 503
    assert response.json() == {
        "code": "no_backend_available",
        "message": "No comparison backend is enabled.",
        "field": None,
    }
    assert ImagePair.objects.count() == 0


def test_a_private_callback_url_is_refused_when_not_allowed(api, settings):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = False
    response = submit(api, callback_url="http://127.0.0.1:9/hook")
    assert response.status_code == 400
    assert response.json()["code"] == "callback_url_not_allowed"


def test_the_same_idempotency_key_and_body_replays_the_first_answer(api):
    first = submit(api, headers={"HTTP_IDEMPOTENCY_KEY": "k-1"})
    again = submit(api, headers={"HTTP_IDEMPOTENCY_KEY": "k-1"})
    assert again.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ImagePair.objects.count() == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(api):
    submit(api, headers={"HTTP_IDEMPOTENCY_KEY": "k-2"})
    response = submit(api, reference="df_img3.jpg", headers={"HTTP_IDEMPOTENCY_KEY": "k-2"})
    assert response.status_code == 409
    assert response.json() == {
        "code": "idempotency_conflict",
        "message": "This Idempotency-Key was already used with a different request body.",
        "field": "Idempotency-Key",
    }
    assert ImagePair.objects.count() == 1


def test_requests_without_a_valid_key_are_401():
    anonymous = APIClient()
    assert anonymous.get(URL).status_code == 401
    assert anonymous.get(URL).json()["code"] == "unauthenticated"
    anonymous.credentials(HTTP_AUTHORIZATION="Api-Key kyc_000000000000_nope")
    assert anonymous.get(URL).status_code == 401
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer something")
    assert anonymous.get(URL).status_code == 401


def test_a_revoked_key_stops_working_while_a_second_key_keeps_working(api_client_and_key):
    client, key = api_client_and_key
    from kyc.services.api_clients import create_api_key

    _, second = create_api_key(client, Actor.system("test"))
    revoke_api_key(ApiKey.objects.get(prefix=key.split("_")[1]), Actor.system("test"))
    old, new = APIClient(), APIClient()
    old.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    new.credentials(HTTP_AUTHORIZATION=f"Api-Key {second}")
    assert old.get(URL).status_code == 401
    assert new.get(URL).status_code == 200


def test_only_a_hash_of_the_key_is_stored(api_client_and_key):
    _, key = api_client_and_key
    stored = ApiKey.objects.get()
    assert key not in (stored.hashed_secret, stored.prefix)
    assert key.split("_", 2)[2] not in stored.hashed_secret


def test_a_client_never_sees_another_clients_pairs(api):
    other_pair = ImagePairFactory()
    assert api.get(f"{URL}{other_pair.public_id}/").status_code == 404
    assert api.get(f"{URL}{other_pair.public_id}/").json()["code"] == "not_found"
    assert api.get(URL).json()["results"] == []
    assert api.delete(f"/api/v1/applicants/{other_pair.applicant.external_ref}/").status_code == 404


def test_a_pair_reads_back_with_its_attempts_and_no_image_data(api):
    body = submit(api).json()
    response = api.get(f"{URL}{body['id']}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert base64.b64encode(face_bytes("df_img1.jpg")[:60]).decode()[:40] not in text
    assert response.json()["id"] == body["id"]


def test_the_list_filters_by_applicant_and_status_and_pages_with_a_cursor(api):
    for ref in ("a", "a", "b"):
        submit(api, applicant_ref=ref)
    assert len(api.get(URL, {"applicant_ref": "a"}).json()["results"]) == 2
    assert api.get(URL, {"status": "approved"}).json()["results"] == []
    page = api.get(URL, {"page_size": 2}).json()
    assert len(page["results"]) == 2
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 1
    assert api.get(URL, {"status": "nonsense"}).json()["code"] == "invalid_choice"


def test_erasing_an_applicant_purges_images_and_keeps_decisions_and_audit(
    api, django_capture_on_commit_callbacks
):
    body = submit(api).json()
    pair = ImagePair.objects.get(public_id=body["id"])
    names = [pair.selfie.name, pair.reference.name]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete("/api/v1/applicants/user-42/")
    assert response.status_code == 200
    assert response.json()["pairs"] == 1
    pair.refresh_from_db()
    assert pair.images_purged_at is not None
    assert not pair.selfie.name
    assert pair.selfie_sha256 == body["images"]["selfie"]["sha256"]
    assert not any(default_storage.exists(name) for name in names)
    assert AuditEvent.objects.filter(event_type="applicant.erased").count() == 1
    assert AuditEvent.objects.filter(event_type="images.purged", subject_id=body["id"]).count() == 1
    assert verify_chain().ok


def test_an_applicant_on_legal_hold_cannot_be_erased(api):
    submit(api)
    ImagePair.objects.get().applicant.__class__.objects.update(legal_hold=True)
    response = api.delete("/api/v1/applicants/user-42/")
    assert response.status_code == 409
    assert response.json() == {
        "code": "legal_hold",
        "message": "This applicant is on legal hold; images cannot be erased.",
        "field": "applicant_ref",
    }


def test_a_client_over_its_rate_gets_429_with_retry_after():
    _, key = client_with_key(throttle_rate="2/min")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert [api.get(URL).status_code for _ in range(2)] == [200, 200]
    response = api.get(URL)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_unknown_api_paths_answer_json_404(api):
    assert api.get("/api/v1/nothing-here/").json()["code"] == "not_found"
    assert api.get(f"{URL}not-a-uuid/").status_code == 404


def test_preflight_makes_the_first_attempt_a_local_face_check(api):
    VendorConfig.objects.filter(backend="advance").update(enabled=True, preflight=True)
    body = submit(api, vendor="advance").json()
    attempt = ComparisonAttempt.objects.get(pair__public_id=body["id"])
    assert (attempt.vendor, attempt.purpose, attempt.status) == (
        "local",
        AttemptPurpose.PREFLIGHT,
        AttemptStatus.PENDING,
    )
    assert attempt.details == {"target_vendor": "advance"}
