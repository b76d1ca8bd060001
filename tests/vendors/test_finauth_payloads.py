"""The FinAuth adapter against recorded payloads (VENDOR-PROTOCOLS.md §1.4-§1.6), no network."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from vendors.base import (
    CompareRequest,
    ErrorCode,
    FaceBox,
    PreparedImage,
    ResultStatus,
    VendorError,
    VendorNotConfigured,
)
from vendors.finauth.adapter import FinAuthAdapter
from vendors.finauth.auth import parse_sign

PAYLOADS = Path(__file__).parent / "payloads" / "finauth"
SETTINGS = {
    "FINAUTH_BASE_URL": "https://finauth.test",
    "FINAUTH_API_KEY": "key-123",
    "FINAUTH_API_SECRET": "secret-456",
    "FINAUTH_COMPARE_ID": "scene-789",
}
NOW = 1_700_000_000
SELFIE = PreparedImage(
    data=b"\xff\xd8\xff selfie bytes",
    content_type="image/jpeg",
    width=500,
    height=400,
    source_width=1000,
    source_height=800,
)
REFERENCE = PreparedImage(
    data=b"\xff\xd8\xff reference bytes",
    content_type="image/jpeg",
    width=300,
    height=300,
    source_width=300,
    source_height=300,
)


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def compare_request(**options: Any) -> CompareRequest:
    return CompareRequest(
        selfie=SELFIE,
        reference=REFERENCE,
        reference_id="0b6f3c1e-5f0a-4c8e-9d55-7d1f1f0c2a11",
        user_ref="u-5d41402abc4b2a76",
        options=options,
    )


class Vendor:
    """A scripted FinAuth behind httpx.MockTransport that records what it was sent."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def adapter(self, settings: dict[str, str] | None = None) -> FinAuthAdapter:
        client = httpx.Client(transport=httpx.MockTransport(self))
        return FinAuthAdapter(settings or SETTINGS, http_client=client, clock=lambda: NOW)

    def form(self, index: int = -1) -> Request:
        sent = self.calls[index]
        environ = EnvironBuilder(
            method="POST",
            input_stream=io.BytesIO(sent.read()),
            content_type=sent.headers["content-type"],
        ).get_environ()
        return Request(environ)


def json_answer(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


# --- what we send ----------------------------------------------------------------------------


def test_the_request_is_a_multipart_post_to_the_compare_path_with_all_documented_fields():
    vendor = Vendor(json_answer(payload("compare_1000_same_person.json")))
    vendor.adapter().compare(compare_request())
    sent = vendor.calls[0]
    assert sent.method == "POST"
    assert str(sent.url) == "https://finauth.test/finauth/v5/compare"
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert "authorization" not in sent.headers  # §1.1: every parameter travels in the body
    form = vendor.form()
    assert dict(form.form) == {
        "sign": form.form["sign"],
        "sign_version": "hmac_sha1",
        "compare_id": "scene-789",
        "encryption_type": "0",
        "biz_no": "0b6f3c1e-5f0a-4c8e-9d55-7d1f1f0c2a11",
        "uuid": "u-5d41402abc4b2a76",
    }
    assert set(form.files) == {"image", "image_ref1"}
    assert form.files["image"].read() == SELFIE.data
    assert form.files["image_ref1"].read() == REFERENCE.data
    assert form.files["image"].filename == "image.jpg"
    assert form.files["image_ref1"].mimetype == "image/jpeg"


def test_the_sign_is_single_use_and_verifies_with_the_secret():
    vendor = Vendor(json_answer(payload("compare_1000_same_person.json")))
    vendor.adapter().compare(compare_request())
    parsed = parse_sign(vendor.form().form["sign"])
    assert parsed.raw.startswith(f"a=key-123&b=0&c={NOW}&d=")
    assert parsed.mac == hmac.new(b"secret-456", parsed.raw.encode(), hashlib.sha1).digest()


def test_the_sign_ttl_option_sends_an_expiring_sign():
    vendor = Vendor(json_answer(payload("compare_1000_same_person.json")))
    vendor.adapter().compare(compare_request(sign_ttl=120))
    parsed = parse_sign(vendor.form().form["sign"])
    assert (parsed.expire_time, parsed.current_time) == (NOW + 120, NOW)


def test_uuid_is_left_out_when_there_is_no_user_reference():
    vendor = Vendor(json_answer(payload("compare_1000_same_person.json")))
    request = CompareRequest(selfie=SELFIE, reference=REFERENCE, reference_id="ref-1")
    vendor.adapter().compare(request)
    assert "uuid" not in vendor.form().form
    assert vendor.form().form["biz_no"] == "ref-1"


def test_an_unset_base_url_means_the_singapore_production_host():
    vendor = Vendor(json_answer(payload("compare_1000_same_person.json")))
    settings = {k: v for k, v in SETTINGS.items() if k != "FINAUTH_BASE_URL"}
    vendor.adapter(settings).compare(compare_request())
    assert str(vendor.calls[0].url) == "https://api-sgp.yljz.com/finauth/v5/compare"


def test_missing_credentials_are_a_configuration_error_naming_the_variables():
    with pytest.raises(VendorNotConfigured, match="FINAUTH_API_SECRET, FINAUTH_COMPARE_ID"):
        FinAuthAdapter({"FINAUTH_API_KEY": "k"})


# --- encryption_type=2 (UNVERIFIED framing, §1.3) --------------------------------------------


def test_rsa_encryption_without_the_public_key_is_a_configuration_error():
    vendor = Vendor(json_answer(payload("compare_1000_same_person.json")))
    with pytest.raises(VendorNotConfigured, match="FINAUTH_ENCRYPTION_PUBLIC_KEY"):
        vendor.adapter().compare(compare_request(encryption_type=2))
    assert vendor.calls == []


def test_rsa_encryption_sends_concatenated_pkcs1_blocks_of_117_byte_chunks():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    selfie = PreparedImage(bytes(range(256)) * 2, "image/jpeg", 10, 10, 10, 10)  # 512 bytes
    vendor = Vendor(json_answer(payload("compare_1000_same_person.json")))
    adapter = vendor.adapter({**SETTINGS, "FINAUTH_ENCRYPTION_PUBLIC_KEY": pem.decode()})
    adapter.compare(CompareRequest(selfie, REFERENCE, "ref-1", options={"encryption_type": 2}))
    form = vendor.form()
    assert form.form["encryption_type"] == "2"
    sent = form.files["image"].read()
    assert len(sent) == 5 * 128  # ceil(512 / 117) blocks of 128 bytes
    assert form.files["image"].mimetype == "application/octet-stream"
    blocks = [sent[i : i + 128] for i in range(0, len(sent), 128)]
    plain = b"".join(key.decrypt(block, padding.PKCS1v15()) for block in blocks)
    assert plain == selfie.data
    assert [len(key.decrypt(b, padding.PKCS1v15())) for b in blocks] == [117, 117, 117, 117, 44]


def test_an_encryption_type_other_than_0_or_2_is_refused_before_any_call():
    vendor = Vendor(json_answer(payload("compare_1000_same_person.json")))
    with pytest.raises(VendorNotConfigured, match="0 or 2"):
        vendor.adapter().compare(compare_request(encryption_type=1))
    assert vendor.calls == []


# --- answers about the images ----------------------------------------------------------------


def test_result_1000_is_a_billable_same_person_result_with_thresholds_and_attributes():
    vendor = Vendor(json_answer(payload("compare_1000_same_person.json")))
    result = vendor.adapter().compare(compare_request())
    assert result.status == ResultStatus.COMPLETED
    assert result.score == 86.63057
    assert result.vendor_score == 86.63057
    assert result.same_person is True
    assert result.billable is True
    assert (result.vendor_code, result.vendor_message) == ("1000", "SUCCESS")
    assert result.vendor_request_id == "1531397565,39b19451-393c-4fc4-8fae-6dc74b2b00d7"
    assert result.details["thresholds"] == {
        "1e-3": 62.168713,
        "1e-4": 69.31534,
        "1e-5": 74.39926,
        "1e-6": 78.038055,
    }
    assert all(isinstance(v, float) for v in result.details["thresholds"].values())
    assert (result.details["selfie_age"], result.details["selfie_gender"]) == (20, "male")
    assert (result.details["reference_age"], result.details["reference_gender"]) == (38, "male")
    assert result.details["face_quality"] == 38.221
    assert result.details["time_used_ms"] == 1448


def test_risk_tags_sent_as_numbers_become_the_names_of_the_set_tags():
    vendor = Vendor(json_answer(payload("compare_1000_same_person.json")))
    result = vendor.adapter().compare(compare_request())
    assert result.risk_tags == ("is_age_risk",)
    assert result.details["risk_checked"] is True


def test_result_2000_with_risk_tags_as_strings_is_billable_and_not_the_same_person():
    vendor = Vendor(json_answer(payload("compare_2000_not_same_person.json")))
    result = vendor.adapter().compare(compare_request())
    assert result.status == ResultStatus.COMPLETED
    assert (result.score, result.same_person, result.billable) == (41.2, False, True)
    assert (result.vendor_code, result.vendor_message) == ("2000", "PASS_LIVING_NOT_THE_SAME")
    assert result.risk_tags == ("is_age_risk", "is_gender_risk")
    assert result.details["selfie_gender"] == "female"
    assert result.details["reference_gender"] == "male"


@pytest.mark.parametrize("value", ["0", 0])
def test_risk_tags_at_zero_as_string_or_number_are_not_set(value):
    body = payload("compare_2000_not_same_person.json")
    body["verify_risk_info"]["verify_info_tags"] = {"is_gender_risk": value, "is_age_risk": value}
    result = Vendor(json_answer(body)).adapter().compare(compare_request())
    assert result.risk_tags == ()


def test_the_face_rect_fractions_become_pixels_of_the_submitted_selfie():
    vendor = Vendor(json_answer(payload("compare_1000_same_person.json")))
    result = vendor.adapter().compare(compare_request())
    # 0.18 x 500 px sent = 90 px, and the selfie was submitted at twice that size.
    assert result.selfie_face == FaceBox(left=180, top=144, width=596, height=477)
    assert result.reference_face is None  # §1.5: FinAuth reports no reference box


def test_without_face_or_risk_block_the_result_has_no_box_no_tags_and_no_images_kept():
    body = payload("compare_1000_images_no_face_no_risk_info.json")
    result = Vendor(json_answer(body)).adapter().compare(compare_request())
    assert result.selfie_face is None
    assert result.risk_tags == ()
    assert result.details["risk_checked"] is False
    kept = json.dumps(result.raw_response)
    assert body["images"]["image_best"] not in kept
    assert body["images"]["image_best"][:40] not in kept
    assert result.raw_response["verification"] == body["verification"]


def test_the_misspelled_reference_gender_of_the_seed_sample_is_still_read():
    body = payload("compare_1000_same_person.json")
    attributes = body["visual_attributes"]
    attributes["gender_image_ref"] = 1
    del attributes["gender_image_ref1"]
    result = Vendor(json_answer(body)).adapter().compare(compare_request())
    assert result.details["reference_gender"] == "female"


# --- the §1.6 error table --------------------------------------------------------------------

# error -> (taxonomy, is an answer about the images, retryable, which image)
EXPECTED: dict[str, tuple[ErrorCode, bool, bool, str | None]] = {
    "MISSING_ARGUMENTS:compare_id": (ErrorCode.BAD_REQUEST, False, False, None),
    "BAD_ARGUMENTS:biz_no": (ErrorCode.BAD_REQUEST, False, False, None),
    "IMAGE_ERROR_UNSUPPORTED_FORMAT:image": (ErrorCode.INVALID_IMAGE, True, False, "selfie"),
    "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_ref1": (
        ErrorCode.INVALID_IMAGE,
        True,
        False,
        "reference",
    ),
    "NO_FACE_FOUND:image": (ErrorCode.NO_FACE, True, False, "selfie"),
    "NO_FACE_FOUND:image_ref1": (ErrorCode.NO_FACE, True, False, "reference"),
    "INVALID_IMAGE_SIZE:image_ref1": (ErrorCode.IMAGE_TOO_LARGE, True, False, "reference"),
    "LOW_QUALITY": (ErrorCode.LOW_QUALITY, True, False, "unknown"),
    "MULTIPLE_FACES": (ErrorCode.MULTIPLE_FACES, True, False, "unknown"),
    "KEY_NOT_FOUND": (ErrorCode.BAD_REQUEST, False, False, None),
    "AUTHENTICATION_ERROR": (ErrorCode.AUTH_FAILED, False, False, None),
    "AUTHORIZATION_ERROR:INVALID_SIGN": (ErrorCode.AUTH_FAILED, False, False, None),
    "AUTHORIZATION_ERROR:EXPIRED_SIGN": (ErrorCode.AUTH_FAILED, False, False, None),
    "AUTHORIZATION_ERROR:API_KEY_BE_DISCONTINUED": (
        ErrorCode.PERMISSION_DENIED,
        False,
        False,
        None,
    ),
    "AUTHORIZATION_ERROR:IP_NOT_ALLOWED": (ErrorCode.PERMISSION_DENIED, False, False, None),
    "AUTHORIZATION_ERROR:DENIED": (ErrorCode.PERMISSION_DENIED, False, False, None),
    "AUTHORIZATION_ERROR:LIMIT_REACHED": (ErrorCode.QUOTA_EXCEEDED, False, False, None),
    "AUTHORIZATION_ERROR:MORE_RETRY_TIMES": (ErrorCode.QUOTA_EXCEEDED, False, False, None),
    "CONCURRENCY_LIMIT_EXCEEDED": (ErrorCode.RATE_LIMITED, False, True, None),
    "API_NOT_FOUND": (ErrorCode.BAD_REQUEST, False, False, None),
    "INTERNAL_ERROR": (ErrorCode.VENDOR_ERROR, False, True, None),
}
ERROR_ROWS = payload("errors.json")["errors"]


def test_every_recorded_error_row_has_an_expectation_and_the_other_way_round():
    assert sorted(row["body"]["error"] for row in ERROR_ROWS) == sorted(EXPECTED)


@pytest.mark.parametrize("row", ERROR_ROWS, ids=lambda row: row["body"]["error"])
def test_each_documented_error_maps_to_its_taxonomy_code_retry_flag_and_is_not_billed(row):
    error = row["body"]["error"]
    code, is_result, retryable, which = EXPECTED[error]
    vendor = Vendor(json_answer(row["body"], status=row["http_status"]))
    adapter = vendor.adapter()
    if is_result:
        result = adapter.compare(compare_request())
        assert result.status == ResultStatus.INVALID_INPUT
        assert result.error_code == code
        assert result.billable is False
        assert result.details["which"] == which
        assert result.vendor_code == error.split(":")[0]
        assert result.vendor_message == error
        return
    with pytest.raises(VendorError) as caught:
        adapter.compare(compare_request())
    assert caught.value.code == code
    assert caught.value.retryable is retryable
    assert caught.value.billable is False
    assert caught.value.http_status == row["http_status"]
    expected_vendor_code = error if error.startswith("AUTHORIZATION_ERROR") else error.split(":")[0]
    assert caught.value.vendor_code == expected_vendor_code


def test_the_seed_example_with_a_space_after_the_colon_is_still_invalid_sign():
    body = payload("error_seed_invalid_sign_with_space.json")
    assert body["error"] == "AUTHORIZATION_ERROR: INVALID_SIGN"
    vendor = Vendor(json_answer(body, status=403))
    with pytest.raises(VendorError) as caught:
        vendor.adapter().compare(compare_request())
    assert caught.value.code == ErrorCode.AUTH_FAILED
    assert caught.value.vendor_code == "AUTHORIZATION_ERROR:INVALID_SIGN"


def test_a_space_after_the_colon_does_not_hide_which_image_had_no_face():
    vendor = Vendor(json_answer({"error": "NO_FACE_FOUND: image_ref1"}, status=400))
    result = vendor.adapter().compare(compare_request())
    assert (result.error_code, result.details["which"]) == (ErrorCode.NO_FACE, "reference")


def test_the_plain_text_413_is_an_image_too_large_answer_not_a_crash():
    text = (PAYLOADS / "request_entity_too_large.txt").read_text()
    vendor = Vendor(httpx.Response(413, text=text, headers={"Content-Type": "text/plain"}))
    result = vendor.adapter().compare(compare_request())
    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == ErrorCode.IMAGE_TOO_LARGE
    assert result.vendor_code == "Request Entity Too Large"
    assert result.billable is False
    assert len(vendor.calls) == 1


# --- retries ---------------------------------------------------------------------------------


def test_an_auth_error_is_retried_once_with_a_fresh_sign_and_then_succeeds():
    vendor = Vendor(
        json_answer({"error": "AUTHORIZATION_ERROR:EXPIRED_SIGN"}, status=403),
        json_answer(payload("compare_1000_same_person.json")),
    )
    result = vendor.adapter().compare(compare_request())
    assert result.status == ResultStatus.COMPLETED
    assert len(vendor.calls) == 2
    assert vendor.form(0).form["sign"] != vendor.form(1).form["sign"]


def test_a_second_auth_error_gives_up_as_auth_failed_not_retryable():
    vendor = Vendor(json_answer({"error": "AUTHENTICATION_ERROR"}, status=403))
    with pytest.raises(VendorError) as caught:
        vendor.adapter().compare(compare_request())
    assert (caught.value.code, caught.value.retryable) == (ErrorCode.AUTH_FAILED, False)
    assert len(vendor.calls) == 2


@pytest.mark.parametrize(
    "body", [{"error": "INTERNAL_ERROR"}, {"error": "AUTHORIZATION_ERROR:DENIED"}]
)
def test_other_errors_are_not_retried_inside_the_adapter(body):
    vendor = Vendor(json_answer(body, status=500 if body["error"] == "INTERNAL_ERROR" else 403))
    with pytest.raises(VendorError):
        vendor.adapter().compare(compare_request())
    assert len(vendor.calls) == 1


def test_the_concurrency_limit_honours_a_retry_after_header():
    vendor = Vendor(
        json_answer(
            {"error": "CONCURRENCY_LIMIT_EXCEEDED"}, status=403, headers={"Retry-After": "12"}
        )
    )
    with pytest.raises(VendorError) as caught:
        vendor.adapter().compare(compare_request())
    assert caught.value.code == ErrorCode.RATE_LIMITED
    assert caught.value.retry_after == 12.0


def test_the_concurrency_limit_without_retry_after_has_no_delay():
    vendor = Vendor(json_answer({"error": "CONCURRENCY_LIMIT_EXCEEDED"}, status=403))
    with pytest.raises(VendorError) as caught:
        vendor.adapter().compare(compare_request())
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    "answer",
    [
        lambda: json_answer({"error": "CONCURRENCY_LIMIT_EXCEEDED"}, status=429),
        lambda: httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "3"}),
    ],
    ids=["json", "plain-text"],
)
def test_a_429_as_faceid_china_sends_it_is_rate_limited(answer: Callable[[], httpx.Response]):
    with pytest.raises(VendorError) as caught:
        Vendor(answer()).adapter().compare(compare_request())
    assert (caught.value.code, caught.value.retryable) == (ErrorCode.RATE_LIMITED, True)


# --- no usable answer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "vendor_code"),
    [
        ({"error": "SOMETHING_NEW:detail"}, 400, "SOMETHING_NEW:detail"),
        ({"error": "AUTHORIZATION_ERROR:NEW_REASON"}, 403, "AUTHORIZATION_ERROR:NEW_REASON"),
        ({"result_code": 3000, "result_message": "RESERVED"}, 200, "3000"),
    ],
)
def test_an_undocumented_code_is_a_vendor_error_that_keeps_the_code(body, status, vendor_code):
    with pytest.raises(VendorError) as caught:
        Vendor(json_answer(body, status=status)).adapter().compare(compare_request())
    assert caught.value.code == ErrorCode.VENDOR_ERROR
    assert caught.value.retryable is False
    assert caught.value.vendor_code == vendor_code


def test_an_undocumented_code_with_a_5xx_status_is_worth_retrying():
    vendor = Vendor(json_answer({"error": "GATEWAY_BUSY"}, status=503))
    with pytest.raises(VendorError) as caught:
        vendor.adapter().compare(compare_request())
    assert (caught.value.code, caught.value.retryable) == (ErrorCode.VENDOR_ERROR, True)


@pytest.mark.parametrize("status", [200, 502])
def test_a_body_that_is_not_json_is_a_retryable_vendor_error(status):
    vendor = Vendor(httpx.Response(status, text="<html>Bad Gateway</html>"))
    with pytest.raises(VendorError) as caught:
        vendor.adapter().compare(compare_request())
    assert (caught.value.code, caught.value.retryable) == (ErrorCode.VENDOR_ERROR, True)


def test_a_result_code_without_confidence_is_a_billed_protocol_error():
    body = payload("compare_1000_same_person.json")
    del body["verification"]
    with pytest.raises(VendorError) as caught:
        Vendor(json_answer(body)).adapter().compare(compare_request())
    assert caught.value.code == ErrorCode.PROTOCOL_ERROR
    assert (caught.value.retryable, caught.value.billable) == (False, True)


def test_no_image_bytes_or_secret_end_up_in_an_error():
    vendor = Vendor(json_answer({"error": "AUTHORIZATION_ERROR:DENIED"}, status=403))
    with pytest.raises(VendorError) as caught:
        vendor.adapter().compare(compare_request())
    text = f"{caught.value} {caught.value!r} {json.dumps(caught.value.raw_response)}"
    assert base64.b64encode(SELFIE.data).decode() not in text
    assert "secret-456" not in text
