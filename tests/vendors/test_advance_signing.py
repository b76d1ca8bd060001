"""ADVANCE.AI token request signing (VENDOR-PROTOCOLS.md §2.2), against the seed's test vector."""

from __future__ import annotations

import json

import httpx
import pytest

from vendors.advance.adapter import AdvanceAdapter
from vendors.advance.auth import advance_signature, token_request_body
from vendors.advance.consts import TOKEN_PATH
from vendors.base import VendorError

SEED_ACCESS_KEY = "sampleaccesskey"
SEED_SECRET_KEY = "samplesecretkey"
SEED_TIMESTAMP_MS = 1665993522952
SEED_SIGNATURE = "02209bbeaf0d0a3dd587f6a1ba22f84c98d142e3b545e77db7e4906ca56349f5"


def test_the_seed_vector_signs_byte_for_byte():
    signature = advance_signature(SEED_ACCESS_KEY, SEED_SECRET_KEY, SEED_TIMESTAMP_MS)

    assert signature == SEED_SIGNATURE


def test_a_timestamp_written_as_a_string_signs_the_same():
    assert advance_signature(SEED_ACCESS_KEY, SEED_SECRET_KEY, "1665993522952") == SEED_SIGNATURE


@pytest.mark.parametrize(
    ("access_key", "secret_key", "timestamp_ms"),
    [
        ("sampleaccesskeY", SEED_SECRET_KEY, SEED_TIMESTAMP_MS),
        (SEED_ACCESS_KEY, "samplesecretkeX", SEED_TIMESTAMP_MS),
        (SEED_ACCESS_KEY, SEED_SECRET_KEY, SEED_TIMESTAMP_MS + 1),
    ],
)
def test_changing_any_input_changes_the_signature(access_key, secret_key, timestamp_ms):
    assert advance_signature(access_key, secret_key, timestamp_ms) != SEED_SIGNATURE


def test_the_token_request_body_sends_numbers_as_the_curl_example_does():
    body = token_request_body(SEED_ACCESS_KEY, SEED_SECRET_KEY, SEED_TIMESTAMP_MS, 3600)

    assert body == {
        "accessKey": SEED_ACCESS_KEY,
        "signature": SEED_SIGNATURE,
        "timestamp": SEED_TIMESTAMP_MS,
        "periodSecond": 3600,
    }


def test_the_adapter_posts_the_seed_vector_as_json_at_the_seed_time():
    seen: list[httpx.Request] = []

    def vendor(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": "PARAMETER_ERROR", "message": "Signature error"})

    adapter = AdvanceAdapter(
        {"ADVANCE_ACCESS_KEY": SEED_ACCESS_KEY, "ADVANCE_SECRET_KEY": SEED_SECRET_KEY},
        http_client=httpx.Client(transport=httpx.MockTransport(vendor)),
        clock=lambda: SEED_TIMESTAMP_MS / 1000,
    )
    with pytest.raises(VendorError):  # the answer does not matter here, only the request
        adapter.tokens.get()

    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://api.advance.ai" + TOKEN_PATH
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "accessKey": SEED_ACCESS_KEY,
        "signature": SEED_SIGNATURE,
        "timestamp": SEED_TIMESTAMP_MS,
        "periodSecond": 3600,
    }
    assert b'"timestamp":1665993522952' in request.content.replace(b" ", b"")
