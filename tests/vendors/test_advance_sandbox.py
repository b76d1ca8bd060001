"""The ADVANCE.AI sandbox keeps ADVANCE's rules, and the adapter copes with them over real HTTP.

Most tests talk to the session sandbox on loopback; the expiry tests run a sandbox in-process
with a fake clock (werkzeug's test client, or httpx's WSGI transport for the adapter).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.core.cache.backends.locmem import LocMemCache
from PIL import Image
from werkzeug.test import Client, TestResponse

from kyc.images import prepare_for_backend
from tests.conftest import face_bytes
from tests.sandboxes import SandboxHandle
from vendors.advance.adapter import AdvanceAdapter
from vendors.advance.auth import advance_signature
from vendors.base import CompareRequest, ErrorCode, PreparedImage, ResultStatus, VendorError
from vendors.sandboxes.advance import AdvanceSandbox

TOKEN_PATH = "/openapi/auth/ticket/v1/generate-token"
CHECK_PATH = "/openapi/face-recognition/v4/check"
INVALID_FORMAT = (
    "Invalid image format, image format should be one of jpeg/jpg/png, and request content "
    "type should be image/jpeg or image/png"
)
INVALID_SIZE = (
    "Invalid image size, max image size should be less than 2M, and image dimension should be "
    "between 256 * 256 and 4096 * 4096"
)
TOKEN_REFUSED = "Access denied: Token not found or expired"
T0 = 1_800_000_000.0


@pytest.fixture
def advance(sandboxes: dict[str, SandboxHandle]) -> SandboxHandle:
    handle = sandboxes["advance"]
    handle.configure(engine=False)  # these tests are about the protocol, not the faces
    return handle


@pytest.fixture
def locmem() -> Iterator[LocMemCache]:
    cache = LocMemCache(f"advance-{uuid.uuid4()}", {})
    yield cache
    cache.clear()


def compare_request() -> CompareRequest:
    return CompareRequest(
        selfie=prepare_for_backend(face_bytes("df_img1.jpg"), "advance", field="selfie"),
        reference=prepare_for_backend(face_bytes("df_img2.jpg"), "advance", field="reference"),
        reference_id="attempt-1",
    )


def signed_body(settings: dict[str, str], timestamp_ms: int, **changes: Any) -> dict[str, Any]:
    access_key, secret_key = settings["ADVANCE_ACCESS_KEY"], settings["ADVANCE_SECRET_KEY"]
    body = {
        "accessKey": access_key,
        "signature": advance_signature(access_key, secret_key, timestamp_ms),
        "timestamp": timestamp_ms,
        "periodSecond": 600,
    }
    return {**body, **changes}


def now_ms() -> int:
    return round(time.time() * 1000)


def post_token(handle: SandboxHandle, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(handle.url + TOKEN_PATH, json=body)


def issued_token(handle: SandboxHandle) -> str:
    response = post_token(handle, signed_body(handle.settings, now_ms()))
    token: str = response.json()["data"]["token"]
    return token


def post_check(handle: SandboxHandle, token: str, files: dict[str, Any]) -> httpx.Response:
    return httpx.post(handle.url + CHECK_PATH, headers={"X-ACCESS-TOKEN": token}, files=files)


def jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 90, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


def two_jpegs() -> dict[str, tuple[str, bytes, str]]:
    image = jpeg(300, 300)
    return {
        "firstImage": ("a.jpg", image, "image/jpeg"),
        "secondImage": ("b.jpg", image, "image/jpeg"),
    }


def calls(handle: SandboxHandle, path: str) -> list[dict[str, Any]]:
    return [r for r in handle.requests() if r["path"] == path]


def assert_envelope(response: httpx.Response, code: str, message: str, pricing: str) -> None:
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"code", "message", "data", "extra", "transactionId", "pricingStrategy"}
    assert (body["code"], body["message"], body["pricingStrategy"]) == (code, message, pricing)
    assert body["data"] is None
    assert 0 < len(body["transactionId"]) <= 64


# --- token endpoint ----------------------------------------------------------------------------


def test_a_signed_token_request_gets_a_token_and_its_expiry_in_ms(advance):
    timestamp = now_ms()
    response = post_token(advance, signed_body(advance.settings, timestamp))

    body = response.json()
    assert response.status_code == 200
    assert (body["code"], body["message"], body["pricingStrategy"]) == ("SUCCESS", "OK", "FREE")
    assert body["data"]["token"]
    assert isinstance(body["data"]["expiredTime"], int)
    assert len(str(body["data"]["expiredTime"])) == 13


def test_a_stale_timestamp_is_refused_with_timestamp_error(advance):
    stale = now_ms() - 301_000

    response = post_token(advance, signed_body(advance.settings, stale))

    assert_envelope(response, "PARAMETER_ERROR", "Timestamp error", "FREE")


def test_a_timestamp_from_the_future_is_refused_too(advance):
    response = post_token(advance, signed_body(advance.settings, now_ms() + 301_000))

    assert_envelope(response, "PARAMETER_ERROR", "Timestamp error", "FREE")


def test_a_wrong_signature_is_refused_with_signature_error(advance):
    timestamp = now_ms()
    tampered = signed_body(advance.settings, timestamp)
    tampered["signature"] = tampered["signature"][:-1] + (
        "0" if tampered["signature"][-1] != "0" else "1"
    )

    response = post_token(advance, tampered)

    assert_envelope(response, "PARAMETER_ERROR", "Signature error", "FREE")


def test_a_signature_over_a_different_timestamp_is_refused(advance):
    timestamp = now_ms()
    body = signed_body(advance.settings, timestamp, timestamp=timestamp + 1)

    response = post_token(advance, body)

    assert_envelope(response, "PARAMETER_ERROR", "Signature error", "FREE")


def test_a_timestamp_sent_as_a_string_is_accepted_as_the_seed_table_types_it(advance):
    timestamp = now_ms()
    body = signed_body(advance.settings, timestamp, timestamp=str(timestamp))

    assert post_token(advance, body).json()["code"] == "SUCCESS"


@pytest.mark.parametrize("missing", ["accessKey", "signature", "timestamp"])
def test_an_empty_field_is_refused_as_an_empty_parameter(advance, missing):
    body = signed_body(advance.settings, now_ms(), **{missing: ""})

    response = post_token(advance, body)

    assert_envelope(response, "PARAMETER_ERROR", "Parameter should not be empty", "FREE")


@pytest.mark.parametrize("period", [59, 86401])
def test_a_period_outside_60_to_86400_seconds_is_refused(advance, period):
    response = post_token(advance, signed_body(advance.settings, now_ms(), periodSecond=period))

    assert response.json()["code"] == "PARAMETER_ERROR"
    assert response.json()["message"] == "periodSecond should be between 60 and 86400"


def test_the_adapter_reports_a_wrong_secret_as_auth_failed_from_the_sandbox(advance):
    settings = {**advance.settings, "ADVANCE_SECRET_KEY": "not-the-secret"}

    with pytest.raises(VendorError) as caught:
        AdvanceAdapter(settings).compare(compare_request())

    assert caught.value.code == ErrorCode.AUTH_FAILED
    assert caught.value.retryable is False
    assert caught.value.vendor_code == "PARAMETER_ERROR"
    assert "Signature error" in caught.value.message
    assert calls(advance, CHECK_PATH) == []


def test_the_adapter_reports_a_skewed_clock_as_auth_failed_from_the_sandbox(advance):
    adapter = AdvanceAdapter(advance.settings, clock=lambda: time.time() - 600)

    with pytest.raises(VendorError) as caught:
        adapter.compare(compare_request())

    assert caught.value.code == ErrorCode.AUTH_FAILED
    assert caught.value.retryable is False
    assert "Timestamp error" in caught.value.message


def test_a_disabled_account_is_permission_denied(advance):
    advance.configure(account_disabled=True)

    with pytest.raises(VendorError) as caught:
        AdvanceAdapter(advance.settings).compare(compare_request())

    assert caught.value.code == ErrorCode.PERMISSION_DENIED
    assert caught.value.vendor_code == "ACCOUNT_DISABLED"


def test_the_token_request_is_logged_without_its_signature(advance):
    AdvanceAdapter(advance.settings).tokens.get()

    (logged,) = calls(advance, TOKEN_PATH)
    assert logged["json"]["signature"] == "<signature>"
    assert logged["json_types"] == {
        "accessKey": "str",
        "signature": "str",
        "timestamp": "int",
        "periodSecond": "int",
    }


# --- check endpoint ----------------------------------------------------------------------------


def test_a_check_without_a_token_is_refused_as_iam_failed(advance):
    files = {"firstImage": ("a.jpg", jpeg(300, 300), "image/jpeg")}

    response = httpx.post(advance.url + CHECK_PATH, files=files)

    assert_envelope(response, "IAM_FAILED", TOKEN_REFUSED, "FREE")


def test_an_unknown_token_is_refused_as_iam_failed(advance):
    image = jpeg(300, 300)
    files = {
        "firstImage": ("a.jpg", image, "image/jpeg"),
        "secondImage": ("b.jpg", image, "image/jpeg"),
    }

    response = post_check(advance, "made-up-token", files)

    assert_envelope(response, "IAM_FAILED", TOKEN_REFUSED, "FREE")


def test_octet_stream_parts_are_refused_as_an_invalid_format(advance):
    image = jpeg(300, 300)
    files = {
        "firstImage": ("a.jpg", image, "application/octet-stream"),
        "secondImage": ("b.jpg", image, "image/jpeg"),
    }

    response = post_check(advance, issued_token(advance), files)

    assert_envelope(response, "IMAGE_INVALID_FORMAT", INVALID_FORMAT, "FREE")


def test_bytes_that_are_not_jpeg_or_png_are_refused_whatever_the_part_says(advance):
    files = {
        "firstImage": ("a.jpg", jpeg(300, 300), "image/jpeg"),
        "secondImage": ("b.jpg", face_bytes("bad/not_an_image.jpg"), "image/jpeg"),
    }

    response = post_check(advance, issued_token(advance), files)

    assert_envelope(response, "IMAGE_INVALID_FORMAT", INVALID_FORMAT, "FREE")


@pytest.mark.parametrize(("width", "height"), [(255, 300), (300, 255), (4097, 300)])
def test_dimensions_outside_256_to_4096_are_an_invalid_size(advance, width, height):
    files = {
        "firstImage": ("a.jpg", jpeg(width, height), "image/jpeg"),
        "secondImage": ("b.jpg", jpeg(300, 300), "image/jpeg"),
    }

    response = post_check(advance, issued_token(advance), files)

    assert_envelope(response, "IMAGE_INVALID_SIZE", INVALID_SIZE, "FREE")


def test_the_adapter_gets_an_oversized_image_back_as_a_free_invalid_input(advance):
    noise = Image.frombytes("RGB", (1000, 1000), os.urandom(3_000_000))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 2 * 1024 * 1024
    big = PreparedImage(buffer.getvalue(), "image/png", 1000, 1000, 1000, 1000)
    request = compare_request()

    result = AdvanceAdapter(advance.settings).compare(
        CompareRequest(selfie=big, reference=request.reference, reference_id="attempt-2")
    )

    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == ErrorCode.IMAGE_TOO_LARGE
    assert result.vendor_code == "IMAGE_INVALID_SIZE"
    assert result.billable is False


def test_a_missing_part_is_an_empty_parameter_error(advance):
    files = {"firstImage": ("a.jpg", jpeg(300, 300), "image/jpeg")}

    response = post_check(advance, issued_token(advance), files)

    assert_envelope(response, "EMPTY_PARAMETER_ERROR", "Parameter should not be empty", "FREE")


def test_no_face_in_the_second_picture_is_billed(advance):
    advance.script({"error": "NO_FACE_DETECTED_FROM_SECOND_IMAGE"})

    result = AdvanceAdapter(advance.settings).compare(compare_request())

    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == ErrorCode.NO_FACE
    assert result.details["which"] == "reference"
    assert result.billable is True


def test_a_scripted_quota_message_turns_service_busy_into_quota_exceeded(advance):
    advance.script(
        {
            "error": "SERVICE_BUSY",
            "message": "Quota exceeded: You have exceeded the daily quota for free queries, "
            "please contact out tech support for help",
        }
    )

    with pytest.raises(VendorError) as caught:
        AdvanceAdapter(advance.settings).compare(compare_request())

    assert caught.value.code == ErrorCode.QUOTA_EXCEEDED
    assert caught.value.retryable is False


def test_a_rate_limit_is_an_http_200_envelope_with_a_retry_after_in_seconds(advance):
    token = issued_token(advance)
    advance.script({"fault": "rate_limit", "retry_after": 10})
    image = jpeg(300, 300)
    files = {
        "firstImage": ("a.jpg", image, "image/jpeg"),
        "secondImage": ("b.jpg", image, "image/jpeg"),
    }

    response = post_check(advance, token, files)

    assert response.headers["Retry-After"] == "10s"
    assert_envelope(
        response,
        "SERVICE_BUSY",
        "Rate limit is exceeded, please retry after the suggested time in HTTP Header.",
        "FREE",
    )


def test_a_server_error_is_the_documented_error_envelope_with_the_status(advance):
    token = issued_token(advance)
    advance.script({"fault": "http_503"})

    response = post_check(advance, token, {})

    assert response.status_code == 503
    assert (response.json()["code"], response.json()["message"]) == ("ERROR", "Server error")


# --- the token's life over real HTTP -----------------------------------------------------------


def test_a_token_request_does_not_use_up_the_entry_scripted_for_the_check(advance):
    advance.script({"score": 42.0})

    result = AdvanceAdapter(advance.settings).compare(compare_request())

    assert result.score == 42.0


def test_an_entry_marked_for_the_token_endpoint_answers_the_token_request(advance):
    advance.script({"score": 42.0}, {"endpoint": "token", "error": "ACCOUNT_DISABLED"})

    with pytest.raises(VendorError) as caught:
        AdvanceAdapter(advance.settings).compare(compare_request())

    assert caught.value.code == ErrorCode.PERMISSION_DENIED
    assert calls(advance, CHECK_PATH) == []


def test_the_token_is_reused_across_calls(advance):
    adapter = AdvanceAdapter(advance.settings)

    adapter.compare(compare_request())
    adapter.compare(compare_request())

    assert len(calls(advance, TOKEN_PATH)) == 1
    checks = calls(advance, CHECK_PATH)
    assert len(checks) == 2
    assert checks[0]["token_digest"] == checks[1]["token_digest"]


def test_two_adapter_instances_sharing_a_cache_fetch_one_token(advance, locmem):
    AdvanceAdapter(advance.settings, cache=locmem).compare(compare_request())
    AdvanceAdapter(advance.settings, cache=locmem).compare(compare_request())

    assert len(calls(advance, TOKEN_PATH)) == 1
    assert len(calls(advance, CHECK_PATH)) == 2


def test_an_expired_token_costs_exactly_one_refresh_and_one_retry(advance):
    adapter = AdvanceAdapter(advance.settings)
    adapter.compare(compare_request())
    advance.reset()
    advance.configure(engine=False)
    adapter.tokens.get()  # still cached: the sandbox forgot it, but the adapter cannot know
    advance.script({"expire_token": True}, {"score": 80.0})

    result = adapter.compare(compare_request())

    assert result.score == 80.0
    assert len(calls(advance, TOKEN_PATH)) == 1
    checks = calls(advance, CHECK_PATH)
    assert len(checks) == 2
    assert checks[0]["token_digest"] != checks[1]["token_digest"]


def test_a_token_that_keeps_failing_does_not_loop(advance):
    advance.configure(expire_tokens=True)

    with pytest.raises(VendorError) as caught:
        AdvanceAdapter(advance.settings).compare(compare_request())

    assert caught.value.code == ErrorCode.AUTH_FAILED
    assert caught.value.retryable is False
    assert caught.value.vendor_code == "IAM_FAILED"
    assert len(calls(advance, TOKEN_PATH)) == 2
    assert len(calls(advance, CHECK_PATH)) == 2


def test_the_request_log_never_holds_the_token(advance):
    adapter = AdvanceAdapter(advance.settings)
    token = adapter.tokens.get()
    adapter.compare(compare_request())

    logged = str(advance.requests())
    assert token.value not in logged
    assert hashlib.sha256(token.value.encode()).hexdigest()[:16] in logged


# --- expiry against the sandbox's own clock (in-process, no network) ---------------------------


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def body_of(response: TestResponse) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response.get_data())
    return body


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def local_sandbox(clock: FakeClock) -> AdvanceSandbox:
    sandbox = AdvanceSandbox(AdvanceSandbox.generate_credentials(), clock=clock)
    sandbox.config["engine"] = False
    return sandbox


def test_the_default_period_is_3600_seconds_and_expiry_is_in_ms(local_sandbox, clock):
    settings = local_sandbox.client_settings("http://sandbox")
    body = signed_body(settings, round(T0 * 1000))
    del body["periodSecond"]

    response = Client(local_sandbox).post(TOKEN_PATH, json=body)

    assert body_of(response)["data"]["expiredTime"] == round((T0 + 3600) * 1000)


def test_a_token_is_refused_from_its_expiry_on(local_sandbox, clock):
    settings = local_sandbox.client_settings("http://sandbox")
    client = Client(local_sandbox)
    token = body_of(client.post(TOKEN_PATH, json=signed_body(settings, round(T0 * 1000))))["data"]
    image = jpeg(300, 300)

    def check() -> str:
        data = {"firstImage": (io.BytesIO(image), "a.jpg", "image/jpeg")}
        data["secondImage"] = (io.BytesIO(image), "b.jpg", "image/jpeg")
        headers = {"X-ACCESS-TOKEN": token["token"]}
        return str(body_of(client.post(CHECK_PATH, data=data, headers=headers))["code"])

    clock.now = T0 + 599
    assert check() == "SUCCESS"
    clock.now = T0 + 600  # periodSecond 600
    assert check() == "IAM_FAILED"


def test_the_timestamp_window_is_300_seconds_either_way(local_sandbox, clock):
    settings = local_sandbox.client_settings("http://sandbox")
    client = Client(local_sandbox)

    def message_at(offset_s: int) -> str:
        body = signed_body(settings, round((T0 + offset_s) * 1000))
        return str(body_of(client.post(TOKEN_PATH, json=body))["message"])

    assert [message_at(-300), message_at(300), message_at(-301), message_at(301)] == [
        "OK",
        "OK",
        "Timestamp error",
        "Timestamp error",
    ]


def test_the_adapter_refreshes_a_minute_before_the_sandbox_would_expire_the_token(
    local_sandbox, clock
):
    adapter = AdvanceAdapter(
        local_sandbox.client_settings("http://sandbox"),
        http_client=httpx.Client(transport=httpx.WSGITransport(app=local_sandbox)),
        clock=clock,
    )

    adapter.compare(compare_request())
    clock.now = T0 + 3539  # the token lives 3600 s; the adapter lets it go 60 s early
    adapter.compare(compare_request())
    clock.now = T0 + 3541
    adapter.compare(compare_request())

    tokens = [r for r in local_sandbox.request_log if r["path"] == TOKEN_PATH]
    checks = [r for r in local_sandbox.request_log if r["path"] == CHECK_PATH]
    assert [r["time"] for r in tokens] == [T0, T0 + 3541]
    assert len({r["token_digest"] for r in checks}) == 2
