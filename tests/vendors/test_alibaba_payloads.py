"""The adapter against recorded FaceCompare payloads (VENDOR-PROTOCOLS.md §4.5), no network.

Each file under payloads/alibaba/ is a body exactly as documented; the table below says with
which HTTP status the vendor sends it and what our taxonomy makes of it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from vendors.alibaba import consts
from vendors.alibaba.adapter import AlibabaAdapter, merchant_biz_id
from vendors.alibaba.auth import Credentials, acs3_authorization
from vendors.base import (
    CompareRequest,
    CompareResult,
    ErrorCode,
    PreparedImage,
    ResultStatus,
    VendorError,
    VendorNotConfigured,
)

PAYLOADS = Path(__file__).parent / "payloads" / "alibaba"
SETTINGS = {
    "ALIBABA_ACCESS_KEY_ID": "testAccessKeyId",
    "ALIBABA_ACCESS_KEY_SECRET": "testAccessKeySecret",
    "ALIBABA_REGION": "ap-southeast-1",
}
SELFIE = PreparedImage(b"\xff\xd8\xff\xe0selfie-bytes\xfb\xff", "image/jpeg", 720, 960, 1440, 1920)
REFERENCE = PreparedImage(b"\xff\xd8\xff\xe0reference-bytes", "image/jpeg", 640, 480, 640, 480)
REFERENCE_ID = "0b6f3c1e-5f0a-4c8e-9d55-7d1f1f0c2a11"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


def adapter_answering(
    name: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    content: bytes | None = None,
    settings: dict[str, str] | None = None,
    seen: list[httpx.Request] | None = None,
) -> AlibabaAdapter:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        body = content if content is not None else (PAYLOADS / str(name)).read_bytes()
        return httpx.Response(
            status, content=body, headers={"content-type": "application/json", **(headers or {})}
        )

    return AlibabaAdapter(
        settings or SETTINGS, http_client=httpx.Client(transport=httpx.MockTransport(handler))
    )


def compare(adapter: AlibabaAdapter, **options) -> CompareResult:
    return adapter.compare(CompareRequest(SELFIE, REFERENCE, REFERENCE_ID, options=options))


# --- success -----------------------------------------------------------------------------------


def test_passed_y_with_a_string_score_is_a_billable_same_person_result():
    result = compare(adapter_answering("success_passed_y_score_string.json"))
    assert result.status == ResultStatus.COMPLETED
    assert result.score == pytest.approx(52.57)
    assert result.vendor_score == "52.57"
    assert result.same_person is True
    assert result.billable is True
    assert result.vendor_code == "Success"
    assert result.vendor_message == "success"
    assert result.vendor_request_id == "130A2C10-B9EE-4D84-88E3-5384FF0****"
    assert result.details["transaction_id"] == "08573be80f944d95ac812e019e36****"
    assert result.details["merchant_biz_id"] == "0b6f3c1e5f0a4c8e9d557d1f1f0c2a11"
    assert result.raw_response == payload("success_passed_y_score_string.json")


def test_passed_n_is_still_billed_and_says_not_the_same_person():
    result = compare(adapter_answering("success_passed_n_score_string.json"))
    assert result.status == ResultStatus.COMPLETED
    assert result.score == pytest.approx(23.08)
    assert result.same_person is False
    assert result.billable is True


def test_a_numeric_score_as_the_sdk_model_types_it_is_accepted_and_kept_as_sent():
    result = compare(adapter_answering("success_passed_y_score_number.json"))
    assert result.score == pytest.approx(91.35)
    assert result.vendor_score == 91.35
    assert isinstance(result.vendor_score, float)
    assert result.same_person is True


def test_code_200_counts_as_success_as_the_sdk_docstring_says():
    result = compare(adapter_answering("success_code_200.json"))
    assert result.status == ResultStatus.COMPLETED
    assert result.vendor_code == "200"
    assert result.score == pytest.approx(88.1)
    assert result.billable is True


def test_optional_quality_scores_are_kept_in_the_details():
    result = compare(adapter_answering("success_with_ext_face_info.json"))
    assert result.details["ext_face_info"]["TargetSharpnessScore"] == 72.8
    assert result.score == pytest.approx(79.4)


def test_facecompare_reports_no_face_boxes_so_none_are_invented():
    result = compare(adapter_answering("success_passed_y_score_string.json"))
    assert result.selfie_face is None
    assert result.reference_face is None


# --- every row of the §4.5 error table ---------------------------------------------------------

IMAGE_ANSWERS = [
    # (Code, HTTP status, taxonomy code)
    ("NoFaceDetected", 401, ErrorCode.NO_FACE),
    ("UnqualifiedPhoto", 401, ErrorCode.LOW_QUALITY),
    ("ToolargeImage", 401, ErrorCode.IMAGE_TOO_LARGE),
]

ERROR_ROWS = [
    # (Code, HTTP status, taxonomy code, retryable)
    ("MissingParameter", 400, ErrorCode.BAD_REQUEST, False),
    ("InvalidParameter", 400, ErrorCode.BAD_REQUEST, False),
    ("DataDuplication", 401, ErrorCode.BAD_REQUEST, False),
    ("DownloadTimeout", 401, ErrorCode.TIMEOUT, True),
    ("Forbidden.RAMUserAccessDenied", 403, ErrorCode.PERMISSION_DENIED, False),
    ("Forbidden.AccountAccessDenied", 403, ErrorCode.PERMISSION_DENIED, False),
    ("Throttling.Api", 403, ErrorCode.RATE_LIMITED, True),
    ("InternalError", 500, ErrorCode.VENDOR_ERROR, True),
    ("SignatureDoesNotMatch", 400, ErrorCode.AUTH_FAILED, False),
    ("IncompleteSignature", 400, ErrorCode.AUTH_FAILED, False),
    ("InvalidTimeStamp.Format", 400, ErrorCode.AUTH_FAILED, False),
    ("InvalidTimeStamp.Expired", 400, ErrorCode.AUTH_FAILED, True),
    ("SignatureNonceUsed", 400, ErrorCode.AUTH_FAILED, True),
    ("InvalidAccessKeyId.NotFound", 404, ErrorCode.AUTH_FAILED, False),
    ("InvalidAccessKeyId.Inactive", 400, ErrorCode.PERMISSION_DENIED, False),
    ("Throttling.User", 400, ErrorCode.RATE_LIMITED, True),
    ("InvalidApi.NotFound", 404, ErrorCode.BAD_REQUEST, False),
]


@pytest.mark.parametrize(("code", "status", "expected"), IMAGE_ANSWERS)
def test_an_answer_about_the_images_is_invalid_input_and_not_billed(code, status, expected):
    result = compare(adapter_answering(f"error_{code}.json", status))
    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == expected
    assert result.vendor_code == code
    assert result.vendor_message == payload(f"error_{code}.json")["Message"]
    assert result.vendor_request_id == payload(f"error_{code}.json")["RequestId"]
    assert result.billable is False
    assert result.score is None
    assert result.details["http_status"] == status


@pytest.mark.parametrize(("code", "status", "expected", "retryable"), ERROR_ROWS)
def test_every_documented_error_maps_to_its_taxonomy_code(code, status, expected, retryable):
    with pytest.raises(VendorError) as caught:
        compare(adapter_answering(f"error_{code}.json", status))
    error = caught.value
    assert error.code == expected
    assert error.retryable is retryable
    assert error.billable is False
    assert error.vendor_code == code
    assert error.http_status == status
    assert error.vendor_request_id == payload(f"error_{code}.json")["RequestId"]
    assert code in error.message
    assert error.raw_response == payload(f"error_{code}.json")


def test_the_tables_cover_every_recorded_payload_and_every_mapped_code():
    tested = {row[0] for row in IMAGE_ANSWERS} | {row[0] for row in ERROR_ROWS}
    recorded = {p.stem.removeprefix("error_") for p in PAYLOADS.glob("error_*.json")}
    assert recorded - {"undocumented"} == tested
    # Only the POP gateway's generic codes, which no doc page shows a body for, lack a payload.
    assert set(consts.ERROR_CODES) - tested == {"Throttling", "ServiceUnavailable"}


def test_a_no_face_answer_about_the_source_image_points_at_the_selfie():
    result = compare(adapter_answering("error_NoFaceDetected.json", 401))
    assert result.details["which"] == "selfie"


def test_a_no_face_answer_naming_the_target_points_at_the_reference():
    body = {
        **payload("error_NoFaceDetected.json"),
        "Message": "Failed to extract facial features from the target image.",
    }
    result = compare(adapter_answering(status=401, content=json.dumps(body).encode()))
    assert result.details["which"] == "reference"


def test_an_undocumented_code_is_a_vendor_error_that_keeps_the_code():
    with pytest.raises(VendorError) as caught:
        compare(adapter_answering("error_undocumented.json", 403))
    assert caught.value.code == ErrorCode.VENDOR_ERROR
    assert caught.value.retryable is False
    assert caught.value.vendor_code == "Forbidden.RiskControl"
    assert caught.value.http_status == 403


def test_an_undocumented_code_on_a_5xx_is_worth_a_retry():
    with pytest.raises(VendorError) as caught:
        compare(adapter_answering("error_undocumented.json", 502))
    assert caught.value.code == ErrorCode.VENDOR_ERROR
    assert caught.value.retryable is True


def test_a_non_success_code_over_http_200_is_still_mapped_by_its_code():
    # §8 question 8: whether business errors really come back as 401 is unverified.
    result = compare(adapter_answering("error_NoFaceDetected.json", 200))
    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == ErrorCode.NO_FACE


# --- throttling delays -------------------------------------------------------------------------


def test_throttling_honours_x_acs_retry_after_in_milliseconds():
    adapter = adapter_answering("error_Throttling.Api.json", 403, {"x-acs-retry-after": "1500"})
    with pytest.raises(VendorError) as caught:
        compare(adapter)
    assert caught.value.code == ErrorCode.RATE_LIMITED
    assert caught.value.retry_after == pytest.approx(1.5)


def test_throttling_honours_retry_after_in_seconds():
    adapter = adapter_answering("error_Throttling.Api.json", 403, {"Retry-After": "7"})
    with pytest.raises(VendorError) as caught:
        compare(adapter)
    assert caught.value.retry_after == pytest.approx(7.0)


def test_throttling_without_a_delay_header_leaves_the_delay_to_the_caller():
    with pytest.raises(VendorError) as caught:
        compare(adapter_answering("error_Throttling.User.json", 400))
    assert caught.value.retryable is True
    assert caught.value.retry_after is None


# --- bodies we cannot use ----------------------------------------------------------------------

MALFORMED = [
    # (status, body, taxonomy code, retryable)
    (200, b'{"RequestId": "x", "Code": "Succ', ErrorCode.VENDOR_ERROR, True),
    (502, b"<html>Bad Gateway</html>", ErrorCode.VENDOR_ERROR, True),
    (200, b'["Success"]', ErrorCode.PROTOCOL_ERROR, False),
    (200, b'{"RequestId": "x", "Message": "success"}', ErrorCode.PROTOCOL_ERROR, False),
    (
        200,
        b'{"RequestId": "x", "Code": "Success", "Message": "success"}',
        ErrorCode.PROTOCOL_ERROR,
        False,
    ),
    (
        200,
        b'{"Code": "Success", "Result": {"Passed": "Y", "FaceComparisonScore": "high"}}',
        ErrorCode.PROTOCOL_ERROR,
        False,
    ),
    (
        200,
        b'{"Code": "Success", "Result": {"Passed": "Y", "FaceComparisonScore": 130}}',
        ErrorCode.PROTOCOL_ERROR,
        False,
    ),
    (
        200,
        b'{"Code": "Success", "Result": {"Passed": "maybe", "FaceComparisonScore": "52.1"}}',
        ErrorCode.PROTOCOL_ERROR,
        False,
    ),
    (503, b'{"RequestId": "x", "Message": "busy"}', ErrorCode.VENDOR_ERROR, True),
]


@pytest.mark.parametrize(("status", "body", "expected", "retryable"), MALFORMED)
def test_a_body_we_cannot_use_is_an_error_not_a_result(status, body, expected, retryable):
    with pytest.raises(VendorError) as caught:
        compare(adapter_answering(status=status, content=body))
    assert caught.value.code == expected
    assert caught.value.retryable is retryable
    assert caught.value.http_status == status


# --- what is sent ------------------------------------------------------------------------------


def test_the_request_is_a_signed_rpc_post_with_the_pictures_in_the_form_body():
    seen: list[httpx.Request] = []
    compare(adapter_answering("success_passed_y_score_string.json", seen=seen))
    request = seen[0]
    assert request.method == "POST"
    assert request.url.host == "cloudauth-intl.ap-southeast-1.aliyuncs.com"
    assert request.url.scheme == "https"
    assert request.url.path == "/"
    assert dict(request.url.params) == {"MerchantBizId": "0b6f3c1e5f0a4c8e9d557d1f1f0c2a11"}
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["x-acs-action"] == "FaceCompare"
    assert request.headers["x-acs-version"] == "2022-08-09"
    form = parse_qs(request.content.decode(), strict_parsing=True)
    assert form == {
        "SourceFacePicture": [base64.b64encode(SELFIE.data).decode()],
        "TargetFacePicture": [base64.b64encode(REFERENCE.data).decode()],
    }
    signed = [
        "accept",
        "content-type",
        "host",
        "x-acs-action",
        "x-acs-content-sha256",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-version",
    ]
    expected = acs3_authorization(
        Credentials("testAccessKeyId", "testAccessKeySecret"),
        method="POST",
        path="/",
        query={"MerchantBizId": "0b6f3c1e5f0a4c8e9d557d1f1f0c2a11"},
        headers={name: request.headers[name] for name in signed},
        body=request.content,
    )
    assert request.headers["authorization"] == expected


def test_each_call_gets_a_fresh_nonce():
    seen: list[httpx.Request] = []
    adapter = adapter_answering("success_passed_y_score_string.json", seen=seen)
    compare(adapter)
    compare(adapter)
    assert seen[0].headers["x-acs-signature-nonce"] != seen[1].headers["x-acs-signature-nonce"]


def test_no_image_base64_ends_up_in_an_error():
    with pytest.raises(VendorError) as caught:
        compare(adapter_answering("error_InternalError.json", 500))
    encoded = base64.b64encode(SELFIE.data).decode()
    assert encoded not in str(caught.value)
    assert encoded not in json.dumps(caught.value.raw_response)


@pytest.mark.parametrize(
    ("reference_id", "expected"),
    [
        ("0b6f3c1e-5f0a-4c8e-9d55-7d1f1f0c2a11", "0b6f3c1e5f0a4c8e9d557d1f1f0c2a11"),
        ("attempt-42", "attempt42"),
        # Too long for 32 letters and digits: a stable digest prefix instead.
        ("x" * 40, hashlib.sha256(b"x" * 40).hexdigest()[:32]),
    ],
)
def test_our_reference_id_becomes_a_valid_merchant_biz_id(reference_id, expected):
    biz_id = merchant_biz_id(reference_id)
    assert biz_id == expected
    assert biz_id.isalnum() and 1 <= len(biz_id) <= 32


# --- endpoints ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "options", "network", "host"),
    [
        ("ap-southeast-1", {}, "", "cloudauth-intl.ap-southeast-1.aliyuncs.com"),
        ("ap-southeast-5", {}, "", "cloudauth-intl.ap-southeast-5.aliyuncs.com"),
        ("ap-southeast-3", {}, "", "cloudauth-intl.ap-southeast-3.aliyuncs.com"),
        ("cn-hongkong", {}, "", "cloudauth-intl.cn-hongkong.aliyuncs.com"),
        ("cn-hongkong", {"vpc": True}, "", "cloudauth-intl-vpc.cn-hongkong.aliyuncs.com"),
        ("ap-southeast-5", {}, "vpc", "cloudauth-intl-vpc.ap-southeast-5.aliyuncs.com"),
        ("ap-southeast-5", {"vpc": False}, "vpc", "cloudauth-intl.ap-southeast-5.aliyuncs.com"),
    ],
)
def test_the_regional_public_or_vpc_host_is_called_and_signed(region, options, network, host):
    seen: list[httpx.Request] = []
    settings = {**SETTINGS, "ALIBABA_REGION": region, "ALIBABA_NETWORK": network}
    compare(
        adapter_answering("success_passed_y_score_string.json", settings=settings, seen=seen),
        **options,
    )
    assert seen[0].url.host == host
    assert seen[0].headers["host"] == host


def test_alibaba_base_url_overrides_the_host_and_the_scheme():
    seen: list[httpx.Request] = []
    settings = {**SETTINGS, "ALIBABA_BASE_URL": "http://127.0.0.1:8104/"}
    compare(adapter_answering("success_passed_y_score_string.json", settings=settings, seen=seen))
    assert str(seen[0].url).startswith("http://127.0.0.1:8104/?MerchantBizId=")
    assert seen[0].headers["host"] == "127.0.0.1:8104"


def test_an_unknown_region_is_a_configuration_error_naming_the_variable():
    with pytest.raises(VendorNotConfigured, match="ALIBABA_REGION"):
        AlibabaAdapter({**SETTINGS, "ALIBABA_REGION": "eu-central-1"})


def test_a_missing_secret_is_a_configuration_error_naming_the_variable():
    with pytest.raises(VendorNotConfigured, match="ALIBABA_ACCESS_KEY_SECRET"):
        AlibabaAdapter({**SETTINGS, "ALIBABA_ACCESS_KEY_SECRET": ""})
