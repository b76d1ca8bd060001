"""The local backend through the same preparation and result shape as the paid vendors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from PIL import Image

from kyc.images import prepare_for_backend
from tests.conftest import BAD_DIR, face_bytes
from tests.vendors.contract import RESULT_KEYS
from vendors.base import CompareRequest, CompareResult, ErrorCode, PreparedImage, ResultStatus
from vendors.local.adapter import LocalAdapter
from vendors.registry import adapter_class


@pytest.fixture(scope="module")
def adapter() -> LocalAdapter:
    return LocalAdapter({})


def request(
    selfie: str, reference: str, options: Mapping[str, Any] | None = None
) -> CompareRequest:
    return CompareRequest(
        selfie=prepare_for_backend(face_bytes(selfie), "local", field="selfie"),
        reference=prepare_for_backend(face_bytes(reference), "local", field="reference"),
        reference_id="0b6f3c1e-5f0a-4c8e-9d55-7d1f1f0c2a11",
        options=options or {},
    )


def compare(adapter: LocalAdapter, selfie: str, reference: str, **options: Any) -> CompareResult:
    return adapter.compare(request(selfie, reference, options))


def test_the_registry_builds_the_local_adapter_without_any_settings():
    cls = adapter_class("local")
    assert cls is LocalAdapter
    assert cls.required_settings == ()
    assert cls({}).name == "local"


def test_a_local_comparison_leases_no_http_client(faces_dir, monkeypatch):
    """The engine calls nobody: a worker's local comparisons make no HTTP client each."""
    adapter = LocalAdapter({})

    def lease_client() -> Any:
        raise AssertionError("the local engine leased an HTTP client")

    monkeypatch.setattr(adapter, "lease_client", lease_client)
    assert compare(adapter, "df_img1.jpg", "df_img2.jpg").status == ResultStatus.COMPLETED


@pytest.mark.parametrize(
    ("selfie", "reference"),
    [
        ("df_img1.jpg", "df_img2.jpg"),
        ("fr_obama.jpg", "fr_obama2.jpg"),
        ("df_img5.jpg", "df_img6.jpg"),
    ],
)
def test_the_same_person_scores_at_least_70(adapter, faces_dir, selfie, reference):
    result = compare(adapter, selfie, reference)
    assert result.status == ResultStatus.COMPLETED
    assert result.score is not None and result.score >= 70


@pytest.mark.parametrize(
    ("selfie", "reference"),
    [
        ("df_img1.jpg", "fr_obama.jpg"),
        ("fr_obama.jpg", "fr_biden.jpg"),
        ("df_img5.jpg", "df_img25.jpg"),
    ],
)
def test_different_people_score_below_50(adapter, faces_dir, selfie, reference):
    result = compare(adapter, selfie, reference)
    assert result.status == ResultStatus.COMPLETED
    assert result.score is not None and result.score < 50


def test_a_completed_result_carries_the_distance_counts_and_engine_settings(adapter, faces_dir):
    result = compare(adapter, "df_img1.jpg", "df_img2.jpg")
    assert result.vendor == "local"
    assert result.billable is False
    assert result.same_person is None
    assert result.vendor_request_id
    assert isinstance(result.vendor_score, float)
    assert result.details["distance"] == result.vendor_score
    assert result.details["selfie_faces"] == 1 and result.details["reference_faces"] == 1
    assert result.details["engine"]["max_side"] == 1024
    assert result.score is not None and result.score == round(result.score, 2)
    assert result.vendor_score == round(result.vendor_score, 4)


def test_every_call_gets_a_fresh_request_id(adapter, faces_dir):
    first = compare(adapter, "df_img1.jpg", "df_img2.jpg")
    second = compare(adapter, "df_img1.jpg", "df_img2.jpg")
    assert first.vendor_request_id != second.vendor_request_id


def test_face_boxes_are_in_the_submitted_images_pixels_and_inside_it(adapter, faces_dir):
    req = request("df_img1.jpg", "fr_obama.jpg")
    result = adapter.compare(req)
    assert (req.selfie.source_width, req.selfie.source_height) == (1382, 1868)
    assert max(req.selfie.width, req.selfie.height) == 1024
    engine_box = result.raw_response["selfie"]["faces"][0]["box"]  # prepared-image pixels
    for face, image in ((result.selfie_face, req.selfie), (result.reference_face, req.reference)):
        assert face is not None
        assert face.left >= 0 and face.top >= 0
        assert face.left + face.width <= image.source_width
        assert face.top + face.height <= image.source_height
    assert result.selfie_face is not None
    assert result.selfie_face.width > engine_box[2]


def test_no_face_in_the_selfie_is_invalid_input_naming_the_selfie(adapter, faces_dir):
    result = compare(adapter, "bad/no_face_landscape.jpg", "df_img1.jpg")
    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == ErrorCode.NO_FACE
    assert result.details["which"] == "selfie"
    assert result.score is None
    assert result.reference_face is not None and result.selfie_face is None


def test_no_face_in_the_reference_is_invalid_input_naming_the_reference(adapter, faces_dir):
    result = compare(adapter, "df_img1.jpg", "bad/no_face_landscape.jpg")
    assert result.error_code == ErrorCode.NO_FACE
    assert result.details["which"] == "reference"


def test_two_faces_are_refused_when_the_options_ask_for_it(adapter, faces_dir):
    result = compare(adapter, "bad/two_faces.jpg", "fr_biden.jpg", multiple_faces="refuse")
    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == ErrorCode.MULTIPLE_FACES
    assert result.details["which"] == "selfie"
    assert result.details["selfie_faces"] == 2


def test_two_faces_otherwise_compare_the_largest_and_report_the_count(adapter, faces_dir):
    # The larger face in two_faces.jpg is Biden's, the same photograph as fr_biden.jpg.
    result = compare(adapter, "bad/two_faces.jpg", "fr_biden.jpg")
    assert result.status == ResultStatus.COMPLETED
    assert result.details["selfie_faces"] == 2
    assert result.score is not None and result.score >= 70


def test_a_face_too_small_to_trust_is_invalid_input(adapter, faces_dir):
    result = compare(adapter, "df_img25.jpg", "bad/tiny_100x100.jpg")
    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == ErrorCode.FACE_TOO_SMALL
    assert result.details["which"] == "reference"


def test_undecodable_data_is_an_invalid_image_result(adapter, faces_dir):
    good = prepare_for_backend(face_bytes("df_img1.jpg"), "local")
    garbage = PreparedImage(b"not a jpeg", "image/jpeg", 10, 10, 10, 10)
    result = adapter.compare(CompareRequest(selfie=good, reference=garbage, reference_id="r-1"))
    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == ErrorCode.INVALID_IMAGE
    assert result.details["which"] == "reference"


def test_the_raw_response_holds_no_descriptor_or_image_data(adapter, faces_dir):
    result = compare(adapter, "df_img1.jpg", "df_img2.jpg")
    text = json.dumps(result.raw_response)
    assert len(text) < 1000
    assert "descriptor" not in text and "redacted" not in text
    numbers = [
        v for side in result.raw_response.values() for face in side["faces"] for v in face["box"]
    ]
    assert all(isinstance(v, int) for v in numbers)


def test_the_result_has_the_json_keys_of_design_section_10(adapter, faces_dir):
    data = compare(adapter, "df_img1.jpg", "df_img2.jpg").as_dict()
    assert set(data) == RESULT_KEYS
    assert set(data["faces"]) == {"selfie", "reference"}
    assert set(data["faces"]["selfie"]) == {"left", "top", "width", "height"}
    assert data["status"] == "completed"
    json.dumps(data)


def test_a_rotated_submission_reports_its_box_in_upright_pixels(adapter, faces_dir):
    req = request("bad/exif_rotated.jpg", "df_img5.jpg")
    result = adapter.compare(req)
    with Image.open(BAD_DIR / "exif_rotated.jpg") as raw:  # stored turned 90 degrees
        stored_w, stored_h = raw.size
    assert (req.selfie.source_width, req.selfie.source_height) == (stored_h, stored_w)
    assert result.selfie_face is not None
    assert result.selfie_face.top + result.selfie_face.height <= req.selfie.source_height
