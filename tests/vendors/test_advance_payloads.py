"""The ADVANCE.AI adapter against recorded payloads (VENDOR-PROTOCOLS.md §2.2, §2.4).

Every body under payloads/advance/ is served through httpx.MockTransport exactly as documented;
HTTP statuses and headers are set here because the vendor page documents bodies only.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.cache.backends.locmem import LocMemCache
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from vendors.advance.adapter import AdvanceAdapter
from vendors.advance.auth import AccessToken, TokenStore
from vendors.advance.consts import CHECK_PATH, TOKEN_PATH, TOKEN_REFRESH_MARGIN_SECONDS
from vendors.base import (
    CompareRequest,
    ErrorCode,
    FaceBox,
    PreparedImage,
    ResultStatus,
    VendorError,
    VendorNotConfigured,
)

PAYLOADS = Path(__file__).parent / "payloads" / "advance"
SETTINGS = {"ADVANCE_ACCESS_KEY": "ak-recorded", "ADVANCE_SECRET_KEY": "sk-recorded"}
#: `iat` of the documented sample token; its expiredTime (1642580192430) is 120 s later.
ISSUED_AT = 1642580072.430
DOCUMENTED_TOKEN = json.loads((PAYLOADS / "token_success.json").read_text())["data"]["token"]
REFERENCE_ID = "0b6f3c1e-5f0a-4c8e-9d55-7d1f1f0c2a11"
RATE_HEADERS = {"Retry-After": "10s"}  # literally as the glossary shows it (§2.4)


def payload(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return body


def second_token(value: str = "second-token", lifetime: float = 3600) -> dict[str, Any]:
    body = payload("token_success.json")
    body["data"] = {"token": value, "expiredTime": round((ISSUED_AT + lifetime) * 1000)}
    return body


@dataclass
class Reply:
    body: dict[str, Any] | str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> httpx.Response:
        if isinstance(self.body, str):
            return httpx.Response(self.status, text=self.body, headers=self.headers)
        return httpx.Response(self.status, json=self.body, headers=self.headers)


def reply(name: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(payload(name), status, headers or {})


class RecordedAdvance:
    """Answers token and check requests from lists of replies (the last one repeats)."""

    def __init__(self, checks: list[Reply], tokens: list[Reply] | None = None) -> None:
        self.checks = checks
        self.tokens = tokens or [reply("token_success.json")]
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()
        self.token_gate: threading.Event | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            if request.url.path == TOKEN_PATH:
                replies, index = self.tokens, len(self.token_requests) - 1
            else:
                replies, index = self.checks, len(self.check_requests) - 1
        if request.url.path == TOKEN_PATH and self.token_gate is not None:
            self.token_gate.wait(5)
        return replies[min(index, len(replies) - 1)].response()

    @property
    def token_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == TOKEN_PATH]

    @property
    def check_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == CHECK_PATH]


class Clock:
    def __init__(self, now: float = ISSUED_AT) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_adapter(
    vendor: RecordedAdvance,
    clock: Clock | None = None,
    cache: Any = None,
    settings: dict[str, str] | None = None,
) -> AdvanceAdapter:
    return AdvanceAdapter(
        settings or SETTINGS,
        http_client=httpx.Client(transport=httpx.MockTransport(vendor)),
        clock=clock or Clock(),
        cache=cache,
    )


def compare_request() -> CompareRequest:
    # The selfie was shrunk to half its submitted size; the reference was sent as submitted.
    selfie = PreparedImage(b"\xff\xd8\xffselfie-bytes", "image/jpeg", 800, 600, 1600, 1200)
    reference = PreparedImage(b"\x89PNG\r\n\x1a\nreference", "image/png", 1000, 1400, 1000, 1400)
    return CompareRequest(selfie=selfie, reference=reference, reference_id=REFERENCE_ID)


def multipart(request: httpx.Request) -> Request:
    environ = EnvironBuilder(
        method="POST", data=request.content, content_type=request.headers["Content-Type"]
    ).get_environ()
    return Request(environ)


@pytest.fixture
def locmem() -> Iterator[LocMemCache]:
    cache = LocMemCache(f"advance-{uuid.uuid4()}", {})
    yield cache
    cache.clear()


# --- SUCCESS -----------------------------------------------------------------------------------


def test_the_documented_success_becomes_a_completed_billable_result():
    vendor = RecordedAdvance([reply("check_success.json")])

    result = make_adapter(vendor).compare(compare_request())

    assert result.status == ResultStatus.COMPLETED
    assert result.vendor == "advance"
    assert result.score == 69.0
    assert result.vendor_score == 69.0
    assert result.vendor_code == "SUCCESS"
    assert result.vendor_message == "OK"
    assert result.vendor_request_id == "196eb0c777789e58"
    assert result.billable is True
    assert result.same_person is None
    assert result.error_code is None
    assert result.raw_response == payload("check_success.json")


def test_face_edges_become_boxes_in_pixels_of_the_submitted_images():
    vendor = RecordedAdvance([reply("check_success.json")])

    result = make_adapter(vendor).compare(compare_request())

    # firstFace 618,227 -> 715,350 in the half-size selfie we sent: doubled.
    assert result.selfie_face == FaceBox(left=1236, top=454, width=194, height=246)
    # secondFace 316,552 -> 894,1321 in the reference, sent at its own size.
    assert result.reference_face == FaceBox(left=316, top=552, width=578, height=769)


def test_a_success_marked_free_is_not_billable():
    body = payload("check_success.json")
    body["pricingStrategy"] = "FREE"
    vendor = RecordedAdvance([Reply(body)])

    result = make_adapter(vendor).compare(compare_request())

    assert result.status == ResultStatus.COMPLETED
    assert result.billable is False


@pytest.mark.parametrize("similarity", [None, "69.0", 100.5, -1, True])
def test_a_success_without_a_usable_similarity_is_a_protocol_error(similarity):
    body = payload("check_success.json")
    body["data"]["similarity"] = similarity
    vendor = RecordedAdvance([Reply(body)])

    with pytest.raises(VendorError) as caught:
        make_adapter(vendor).compare(compare_request())

    assert caught.value.code == ErrorCode.PROTOCOL_ERROR
    assert caught.value.retryable is False
    assert caught.value.vendor_request_id == "196eb0c777789e58"


def test_a_success_without_face_positions_still_has_a_score():
    body = payload("check_success.json")
    del body["data"]["firstFace"]
    body["data"]["secondFace"] = {"id": "2", "left": 10.0, "top": 5.0, "right": 10.0, "bottom": 9}
    vendor = RecordedAdvance([Reply(body)])

    result = make_adapter(vendor).compare(compare_request())

    assert result.score == 69.0
    assert result.selfie_face is None
    assert result.reference_face is None


# --- what is sent ------------------------------------------------------------------------------


def test_the_check_is_a_multipart_post_with_typed_image_parts_and_the_token():
    vendor = RecordedAdvance([reply("check_success.json")])
    request = compare_request()

    make_adapter(vendor).compare(request)

    (sent,) = vendor.check_requests
    assert sent.method == "POST"
    assert str(sent.url) == "https://api.advance.ai/openapi/face-recognition/v4/check"
    assert sent.headers["X-ACCESS-TOKEN"] == DOCUMENTED_TOKEN
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    form = multipart(sent)
    assert sorted(form.files) == ["firstImage", "secondImage"]
    assert form.files["firstImage"].mimetype == "image/jpeg"
    assert form.files["firstImage"].read() == request.selfie.data
    assert form.files["secondImage"].mimetype == "image/png"
    assert form.files["secondImage"].read() == request.reference.data
    assert dict(form.form) == {}
    assert b"application/octet-stream" not in sent.content


def test_our_reference_id_never_travels_because_advance_has_no_field_for_it():
    vendor = RecordedAdvance([reply("check_success.json")])

    make_adapter(vendor).compare(compare_request())

    for sent in vendor.requests:
        assert REFERENCE_ID.encode() not in sent.content
        assert REFERENCE_ID not in str(sent.url)
        assert all(REFERENCE_ID not in value for value in sent.headers.values())


def test_the_reference_id_is_logged_next_to_the_transaction_id_but_the_token_is_not(caplog):
    vendor = RecordedAdvance([reply("check_success.json")])

    with caplog.at_level(logging.DEBUG):
        make_adapter(vendor).compare(compare_request())

    assert REFERENCE_ID in caplog.text
    assert "196eb0c777789e58" in caplog.text
    assert DOCUMENTED_TOKEN not in caplog.text
    assert DOCUMENTED_TOKEN[:40] not in caplog.text


def test_a_failure_is_logged_with_our_reference_id_and_the_transaction_id(caplog):
    vendor = RecordedAdvance([reply("check_insufficient_balance.json")])

    with caplog.at_level(logging.INFO), pytest.raises(VendorError):
        make_adapter(vendor).compare(compare_request())

    assert REFERENCE_ID in caplog.text
    assert "INSUFFICIENT_BALANCE" in caplog.text
    assert "6f5b4a3e1b7c8d95" in caplog.text


def test_a_configured_base_url_replaces_the_production_host():
    vendor = RecordedAdvance([reply("check_success.json")])
    settings = {**SETTINGS, "ADVANCE_BASE_URL": "https://sg-api.advance.ai/"}

    make_adapter(vendor, settings=settings).compare(compare_request())

    assert [str(r.url) for r in vendor.requests] == [
        "https://sg-api.advance.ai/openapi/auth/ticket/v1/generate-token",
        "https://sg-api.advance.ai/openapi/face-recognition/v4/check",
    ]


def test_a_missing_secret_key_is_a_configuration_error_not_a_vendor_error():
    with pytest.raises(VendorNotConfigured, match="ADVANCE_SECRET_KEY"):
        AdvanceAdapter({"ADVANCE_ACCESS_KEY": "ak"})


def test_an_image_that_is_neither_jpeg_nor_png_is_never_sent():
    vendor = RecordedAdvance([reply("check_success.json")])
    request = compare_request()
    webp = PreparedImage(b"RIFF....WEBP", "image/webp", 800, 600, 800, 600)

    with pytest.raises(VendorError) as caught:
        make_adapter(vendor).compare(
            CompareRequest(selfie=webp, reference=request.reference, reference_id=REFERENCE_ID)
        )

    assert caught.value.code == ErrorCode.BAD_REQUEST
    assert caught.value.retryable is False
    assert vendor.requests == []


# --- answers about the images: results ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "error_code", "billable", "which"),
    [
        ("check_no_face_first.json", ErrorCode.NO_FACE, True, "selfie"),
        ("check_no_face_second.json", ErrorCode.NO_FACE, True, "reference"),
        ("check_low_quality_first.json", ErrorCode.LOW_QUALITY, True, "selfie"),
        ("check_low_quality_second.json", ErrorCode.LOW_QUALITY, True, "reference"),
        ("check_image_invalid_size.json", ErrorCode.IMAGE_TOO_LARGE, False, None),
        ("check_image_invalid_format.json", ErrorCode.INVALID_IMAGE, False, None),
    ],
)
def test_an_image_answer_is_an_invalid_input_result(name, error_code, billable, which):
    body = payload(name)
    vendor = RecordedAdvance([Reply(body)])

    result = make_adapter(vendor).compare(compare_request())

    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == error_code
    assert result.billable is billable
    assert result.details.get("which") == which
    assert result.vendor_code == body["code"]
    assert result.vendor_message == body["message"]
    assert result.vendor_request_id == body["transactionId"]
    assert result.score is None


# --- no usable answer: errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "headers", "error_code", "retryable", "retry_after"),
    [
        ("check_error.json", {}, ErrorCode.VENDOR_ERROR, True, None),
        ("check_empty_parameter_error.json", {}, ErrorCode.BAD_REQUEST, False, None),
        ("check_parameter_error.json", {}, ErrorCode.BAD_REQUEST, False, None),
        ("check_insufficient_balance.json", {}, ErrorCode.QUOTA_EXCEEDED, False, None),
        ("check_service_busy_rate_limit.json", RATE_HEADERS, ErrorCode.RATE_LIMITED, True, 10.0),
        ("check_service_busy_quota.json", {}, ErrorCode.QUOTA_EXCEEDED, False, None),
        ("check_iam_failed_country.json", {}, ErrorCode.PERMISSION_DENIED, False, None),
        ("check_iam_failed_domain.json", {}, ErrorCode.PERMISSION_DENIED, False, None),
        ("check_iam_failed_account_expired.json", {}, ErrorCode.PERMISSION_DENIED, False, None),
        ("check_iam_failed_account_disabled.json", {}, ErrorCode.PERMISSION_DENIED, False, None),
        ("check_iam_failed_access_key.json", {}, ErrorCode.AUTH_FAILED, False, None),
        ("check_over_query_limit.json", {}, ErrorCode.QUOTA_EXCEEDED, False, None),
        ("check_client_error.json", {}, ErrorCode.BAD_REQUEST, False, None),
        ("check_retry_later.json", RATE_HEADERS, ErrorCode.RATE_LIMITED, True, 10.0),
        ("check_undocumented_code.json", {}, ErrorCode.VENDOR_ERROR, False, None),
    ],
)
def test_a_documented_error_code_maps_to_the_taxonomy(
    name, headers, error_code, retryable, retry_after
):
    body = payload(name)
    vendor = RecordedAdvance([Reply(body, 200, headers)])

    with pytest.raises(VendorError) as caught:
        make_adapter(vendor).compare(compare_request())

    error = caught.value
    assert error.code == error_code
    assert error.retryable is retryable
    assert error.retry_after == retry_after
    assert error.billable is False
    assert error.vendor_code == body["code"]
    assert error.vendor_request_id == body["transactionId"]
    assert error.http_status == 200
    assert body["message"] in error.message
    assert len(vendor.check_requests) == 1  # none of these is retried inside the adapter


def test_a_rate_limit_without_a_retry_after_header_has_no_delay():
    vendor = RecordedAdvance([reply("check_service_busy_rate_limit.json")])

    with pytest.raises(VendorError) as caught:
        make_adapter(vendor).compare(compare_request())

    assert caught.value.code == ErrorCode.RATE_LIMITED
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("token_reply", "error_code"),
    [
        ("token_parameter_empty.json", ErrorCode.BAD_REQUEST),
        ("token_timestamp_error.json", ErrorCode.AUTH_FAILED),
        ("token_signature_error.json", ErrorCode.AUTH_FAILED),
        ("token_account_disabled.json", ErrorCode.PERMISSION_DENIED),
        ("token_client_error.json", ErrorCode.BAD_REQUEST),
    ],
)
def test_a_refused_token_request_maps_to_the_taxonomy_and_sends_no_images(token_reply, error_code):
    body = payload(token_reply)
    vendor = RecordedAdvance([reply("check_success.json")], tokens=[Reply(body)])

    with pytest.raises(VendorError) as caught:
        make_adapter(vendor).compare(compare_request())

    error = caught.value
    assert error.code == error_code
    assert error.retryable is False
    assert error.billable is False
    assert error.vendor_code == body["code"]
    assert error.vendor_request_id == body["transactionId"]
    assert len(vendor.token_requests) == 1
    assert vendor.check_requests == []


def test_a_timestamp_error_hints_at_the_clock():
    vendor = RecordedAdvance([], tokens=[reply("token_timestamp_error.json")])

    with pytest.raises(VendorError, match="clock"):
        make_adapter(vendor).compare(compare_request())


# --- HTTP-level answers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "error_code", "retryable", "retry_after"),
    [
        (Reply("Too Many Requests", 429, RATE_HEADERS), ErrorCode.RATE_LIMITED, True, 10.0),
        (
            reply("check_service_busy_rate_limit.json", 429, {"Retry-After": "7"}),
            ErrorCode.RATE_LIMITED,
            True,
            7.0,
        ),
        (reply("check_error.json", 500), ErrorCode.VENDOR_ERROR, True, None),
        (Reply("<html>Bad Gateway</html>", 502), ErrorCode.VENDOR_ERROR, True, None),
        (Reply("<html>Not Found</html>", 404), ErrorCode.BAD_REQUEST, False, None),
        (Reply("not json", 200), ErrorCode.VENDOR_ERROR, True, None),
        (Reply({"status": "ok"}, 200), ErrorCode.PROTOCOL_ERROR, False, None),
    ],
)
def test_http_level_failures_map_to_the_taxonomy(answer, error_code, retryable, retry_after):
    vendor = RecordedAdvance([answer])

    with pytest.raises(VendorError) as caught:
        make_adapter(vendor).compare(compare_request())

    assert caught.value.code == error_code
    assert caught.value.retryable is retryable
    assert caught.value.retry_after == retry_after
    assert caught.value.http_status == answer.status


def test_a_server_error_envelope_keeps_the_vendor_code():
    vendor = RecordedAdvance([reply("check_error.json", 500)])

    with pytest.raises(VendorError) as caught:
        make_adapter(vendor).compare(compare_request())

    assert caught.value.vendor_code == "ERROR"
    assert caught.value.vendor_request_id == "3c2e1d0b8e4f5a62"


def test_a_token_endpoint_outage_is_retryable():
    vendor = RecordedAdvance([], tokens=[Reply("Service Unavailable", 503)])

    with pytest.raises(VendorError) as caught:
        make_adapter(vendor).compare(compare_request())

    assert caught.value.code == ErrorCode.VENDOR_ERROR
    assert caught.value.retryable is True
    assert vendor.check_requests == []


def test_a_token_answer_without_expiry_is_a_protocol_error_that_never_shows_the_token():
    body = payload("token_success.json")
    del body["data"]["expiredTime"]
    vendor = RecordedAdvance([], tokens=[Reply(body)])

    with pytest.raises(VendorError) as caught:
        make_adapter(vendor).compare(compare_request())

    assert caught.value.code == ErrorCode.PROTOCOL_ERROR
    assert DOCUMENTED_TOKEN not in json.dumps(caught.value.raw_response)
    assert DOCUMENTED_TOKEN not in str(caught.value)


# --- the token's life --------------------------------------------------------------------------


def test_the_token_is_reused_until_sixty_seconds_before_it_expires():
    clock = Clock()
    vendor = RecordedAdvance(
        [reply("check_success.json")],
        tokens=[reply("token_success.json"), Reply(second_token())],
    )
    adapter = make_adapter(vendor, clock)

    adapter.compare(compare_request())
    clock.now = ISSUED_AT + 59  # the documented token expires at ISSUED_AT + 120
    adapter.compare(compare_request())
    clock.now = ISSUED_AT + 61
    adapter.compare(compare_request())

    assert len(vendor.token_requests) == 2
    assert [r.headers["X-ACCESS-TOKEN"] for r in vendor.check_requests] == [
        DOCUMENTED_TOKEN,
        DOCUMENTED_TOKEN,
        "second-token",
    ]


def test_two_adapters_sharing_a_cache_share_one_token(locmem):
    vendor = RecordedAdvance([reply("check_success.json")])

    make_adapter(vendor, cache=locmem).compare(compare_request())
    make_adapter(vendor, cache=locmem).compare(compare_request())

    assert len(vendor.token_requests) == 1
    assert [r.headers["X-ACCESS-TOKEN"] for r in vendor.check_requests] == [DOCUMENTED_TOKEN] * 2


def test_the_cache_key_names_no_secret_and_a_new_secret_gets_its_own_token(locmem):
    vendor = RecordedAdvance([reply("check_success.json")])
    rotated = {**SETTINGS, "ADVANCE_SECRET_KEY": "sk-rotated"}

    first = make_adapter(vendor, cache=locmem)
    first.compare(compare_request())
    make_adapter(vendor, cache=locmem, settings=rotated).compare(compare_request())

    assert SETTINGS["ADVANCE_SECRET_KEY"] not in first.tokens.key
    assert len(vendor.token_requests) == 2


def test_concurrent_threads_fetch_one_token_between_them():
    vendor = RecordedAdvance([reply("check_success.json")])
    vendor.token_gate = threading.Event()
    adapter = make_adapter(vendor)
    tokens: list[AccessToken] = []
    threads = [
        threading.Thread(target=lambda: tokens.append(adapter.tokens.get())) for _ in range(8)
    ]

    for thread in threads:
        thread.start()
    vendor.token_gate.set()
    for thread in threads:
        thread.join(5)

    assert len(vendor.token_requests) == 1
    assert len(tokens) == 8
    assert {token.value for token in tokens} == {DOCUMENTED_TOKEN}


def test_an_expired_token_is_refreshed_once_and_the_check_retried_once():
    vendor = RecordedAdvance(
        [reply("check_iam_failed_token.json"), reply("check_success.json")],
        tokens=[reply("token_success.json"), Reply(second_token())],
    )

    result = make_adapter(vendor).compare(compare_request())

    assert result.status == ResultStatus.COMPLETED
    assert [r.url.path for r in vendor.requests] == [TOKEN_PATH, CHECK_PATH, TOKEN_PATH, CHECK_PATH]
    assert [r.headers["X-ACCESS-TOKEN"] for r in vendor.check_requests] == [
        DOCUMENTED_TOKEN,
        "second-token",
    ]


def test_a_token_refused_twice_is_auth_failed_without_a_loop():
    vendor = RecordedAdvance(
        [reply("check_iam_failed_token.json")],
        tokens=[reply("token_success.json"), Reply(second_token())],
    )

    with pytest.raises(VendorError) as caught:
        make_adapter(vendor).compare(compare_request())

    assert caught.value.code == ErrorCode.AUTH_FAILED
    assert caught.value.retryable is False
    assert caught.value.vendor_code == "IAM_FAILED"
    assert len(vendor.token_requests) == 2
    assert len(vendor.check_requests) == 2
    assert "second-token" not in str(caught.value) + repr(caught.value)


def test_a_refused_token_is_dropped_from_the_shared_cache(locmem):
    vendor = RecordedAdvance(
        [reply("check_iam_failed_token.json"), reply("check_success.json")],
        tokens=[reply("token_success.json"), Reply(second_token())],
    )
    make_adapter(vendor, cache=locmem).compare(compare_request())

    make_adapter(vendor, cache=locmem).compare(compare_request())

    assert len(vendor.token_requests) == 2
    assert vendor.check_requests[-1].headers["X-ACCESS-TOKEN"] == "second-token"


def test_a_token_already_replaced_by_another_thread_is_not_fetched_again():
    fetched: list[AccessToken] = []

    def fetch() -> AccessToken:
        token = AccessToken(f"token-{len(fetched)}", ISSUED_AT + 3600)
        fetched.append(token)
        return token

    store = TokenStore(
        cache=None, base_url="u", access_key="a", secret_key="s", fetch=fetch, clock=Clock()
    )
    stale = store.get()
    newer = store.replace(stale)

    assert store.replace(stale) == newer
    assert [token.value for token in fetched] == ["token-0", "token-1"]


class CountingCache(LocMemCache):
    def __init__(self) -> None:
        super().__init__(f"advance-{uuid.uuid4()}", {})
        self.reads = 0

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        self.reads += 1
        return super().get(key, default, version)


def counting_store(cache: CountingCache, fetched: list[AccessToken], clock: Clock) -> TokenStore:
    def fetch() -> AccessToken:
        token = AccessToken(f"token-{len(fetched)}", clock() + 3600)
        fetched.append(token)
        return token

    return TokenStore(
        cache=cache, base_url="u", access_key="a", secret_key="s", fetch=fetch, clock=clock
    )


def test_a_process_reads_the_shared_token_once_until_it_nears_expiry():
    cache, fetched, clock = CountingCache(), [], Clock()
    store = counting_store(cache, fetched, clock)

    tokens = [store.get() for _ in range(5)]
    reads_while_fresh = cache.reads
    clock.now += 3600 - TOKEN_REFRESH_MARGIN_SECONDS  # now inside the refresh margin
    renewed = store.get()

    assert {token.value for token in tokens} == {"token-0"}
    assert reads_while_fresh == 2  # the first get: once before and once under the refresh lock
    assert renewed.value == "token-1"


def test_a_copy_replaced_by_another_process_is_swapped_for_the_shared_one_without_a_fetch():
    cache, fetched, clock = CountingCache(), [], Clock()
    this_process = counting_store(cache, fetched, clock)
    other_process = counting_store(cache, fetched, clock)
    stale = this_process.get()
    newer = other_process.replace(other_process.get())  # ADVANCE refused it over there

    assert this_process.get() == stale  # this process cannot know yet
    assert this_process.replace(stale) == newer  # ADVANCE refused it here too
    assert this_process.get() == newer
    assert [token.value for token in fetched] == ["token-0", "token-1"]
