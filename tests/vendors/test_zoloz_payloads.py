"""The ZOLOZ adapter against recorded answers (VENDOR-PROTOCOLS.md §3.6, §3.7; S3, Z6).

Each payload under payloads/zoloz/ is a body exactly as documented; the fake gateway here serves
it through httpx.MockTransport and signs it the way ZOLOZ does (§3.4), with the test-only keys.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from vendors.base import (
    CompareRequest,
    ErrorCode,
    PreparedImage,
    ReferenceSource,
    ResultStatus,
    VendorError,
    VendorNotConfigured,
)
from vendors.zoloz import auth
from vendors.zoloz.adapter import ZolozAdapter, biz_id
from vendors.zoloz.consts import COMPARE_PATH

PAYLOADS = Path(__file__).parent / "payloads" / "zoloz"
KEYS = PAYLOADS / "keys"
CLIENT_ID = "2089012345678900"
NOW = 1_700_000_000.0
REFERENCE_ID = "0b6f3c1e-5f0a-4c8e-9d55-7d1f1f0c2a11"


def pem(name: str) -> str:
    return (KEYS / f"{name}.pem").read_text()


def private(name: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem(name).encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


SETTINGS = {
    "ZOLOZ_CLIENT_ID": CLIENT_ID,
    "ZOLOZ_MERCHANT_PRIVATE_KEY": pem("merchant_private_key"),
    "ZOLOZ_PUBLIC_KEY": pem("zoloz_public_key"),
}
ZOLOZ_KEY = private("zoloz_private_key")
MERCHANT_KEY = private("merchant_private_key")
SELFIE = PreparedImage(
    data=b"\xff\xd8\xff\xe0selfie" + bytes(range(256)) * 8,
    content_type="image/jpeg",
    width=800,
    height=600,
    source_width=1600,
    source_height=1200,
)
REFERENCE = PreparedImage(
    data=b"\xff\xd8\xff\xe0reference" + bytes(range(255, -1, -1)) * 8,
    content_type="image/jpeg",
    width=640,
    height=480,
    source_width=640,
    source_height=480,
)


def payload(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def zoloz_signature(
    path: str, client_id: str, response_time: str, body: bytes, key=ZOLOZ_KEY
) -> str:
    """Signed as ZOLOZ signs answers (§3.4), written without the adapter's helpers."""
    content = f"POST {path}\n{client_id}.{response_time}.".encode() + body
    raw = key.sign(content, padding.PKCS1v15(), hashes.SHA256())
    return "algorithm=RSA256, signature=" + quote(base64.b64encode(raw).decode(), safe="")


class FakeGateway:
    """Answers every call with one recorded body, signed unless told otherwise."""

    def __init__(
        self,
        body: bytes,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        signed: bool = True,
        signing_key: rsa.RSAPrivateKey = ZOLOZ_KEY,
        signature_header: Callable[[str], str] | None = None,
        after_signing: Callable[[bytes], bytes] | None = None,
        encrypt: Callable[[httpx.Request, bytes], tuple[bytes, dict[str, str]]] | None = None,
        signed_client_id: str | None = None,
        signed_path: str | None = None,
    ) -> None:
        self.body = body
        self.status = status
        self.headers = headers or {}
        self.signed = signed
        self.signing_key = signing_key
        self.signature_header = signature_header
        self.after_signing = after_signing
        self.encrypt = encrypt
        self.signed_client_id = signed_client_id
        self.signed_path = signed_path
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = self.body
        headers = {"Content-Type": "application/json; charset=UTF-8", **self.headers}
        if self.encrypt is not None:
            body, extra = self.encrypt(request, body)
            headers.update(extra)
        response_time = "2019-11-19T21:56:15-0800"
        if self.signed:
            header = zoloz_signature(
                self.signed_path or request.url.path,
                self.signed_client_id or request.headers["Client-Id"],
                response_time,
                body,
                self.signing_key,
            )
            if self.signature_header:
                header = self.signature_header(header)
            headers["Signature"] = header
            headers["Response-Time"] = response_time
        if self.after_signing:
            body = self.after_signing(body)
        return httpx.Response(self.status, content=body, headers=headers)


def adapter_for(gateway: FakeGateway, settings: dict[str, str] | None = None) -> ZolozAdapter:
    client = httpx.Client(transport=httpx.MockTransport(gateway))
    return ZolozAdapter(settings or SETTINGS, http_client=client, clock=lambda: NOW)


def compare_request(**kwargs: Any) -> CompareRequest:
    return CompareRequest(
        selfie=SELFIE,
        reference=REFERENCE,
        reference_id=REFERENCE_ID,
        user_ref="u-5d41402abc4b2a76",
        **kwargs,
    )


def compare(name: str, **gateway: Any):
    return adapter_for(FakeGateway(payload(name), **gateway)).compare(compare_request())


def compare_error(name: str, **gateway: Any) -> VendorError:
    with pytest.raises(VendorError) as caught:
        compare(name, **gateway)
    return caught.value


# --- SUCCESS (S) -------------------------------------------------------------------------------


def test_the_documented_success_sample_is_a_completed_billable_result():
    result = compare("success")
    assert result.status == ResultStatus.COMPLETED
    assert result.vendor == "zoloz"
    assert result.score == 88.2
    assert result.vendor_score == 88.2
    assert result.same_person is True
    assert result.billable is True
    assert result.vendor_code == "SUCCESS"
    assert result.vendor_message == "success"
    # The top-level transactionId, not the sample's placeholder echoed inside `result`.
    assert result.vendor_request_id == "G000000005FID20200304000000000001570702"
    assert result.error_code is None
    assert result.raw_response == json.loads(payload("success"))


def test_zoloz_reports_no_face_rectangles_so_no_boxes_are_invented():
    result = compare("success")
    assert result.selfie_face is None
    assert result.reference_face is None


def test_a_different_person_keeps_the_vendors_false_verdict():
    result = compare("success_different_people")
    assert result.status == ResultStatus.COMPLETED
    assert result.score == 12.5
    assert result.same_person is False
    assert result.billable is True


def test_success_without_a_score_is_a_billable_vendor_error_and_not_a_result():
    error = compare_error("success_without_score")
    assert error.code == ErrorCode.VENDOR_ERROR
    assert error.retryable is False
    assert error.billable is True  # charged on resultCode SUCCESS (Z8)
    assert error.vendor_code == "SUCCESS"


# --- F and U -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "retryable"),
    [
        ("INVALID_ARGUMENT", ErrorCode.BAD_REQUEST, False),
        ("SYSTEM_ERROR", ErrorCode.VENDOR_ERROR, True),
        ("PARAM_MISSING", ErrorCode.BAD_REQUEST, False),
        ("PARAM_ILLEGAL", ErrorCode.BAD_REQUEST, False),
        ("MSG_PARSE_ERROR", ErrorCode.BAD_REQUEST, False),
        ("SIGNATURE_INVALID", ErrorCode.AUTH_FAILED, False),
        ("KEY_NOT_FOUND", ErrorCode.AUTH_FAILED, False),
        ("MERCHANT_NOT_FOUND", ErrorCode.AUTH_FAILED, False),
        ("OAUTH_FAIL", ErrorCode.AUTH_FAILED, False),
        ("OAUTH_RESOURCE_CODE_FAIL", ErrorCode.AUTH_FAILED, False),
        ("ACCESS_DENIED", ErrorCode.PERMISSION_DENIED, False),
        ("NO_INTERFACE_DEF", ErrorCode.BAD_REQUEST, False),
        ("REQUEST_TRAFFIC_EXCEED_LIMIT", ErrorCode.RATE_LIMITED, True),
        ("PRODUCT_QUOTA_LIMIT", ErrorCode.QUOTA_EXCEEDED, False),
        ("PROCESS_TIMEOUT", ErrorCode.TIMEOUT, True),
    ],
)
def test_each_documented_failure_maps_to_one_taxonomy_code(name, code, retryable):
    body = json.loads(payload(name))
    error = compare_error(name)
    assert error.code == code
    assert error.retryable is retryable
    assert error.billable is False
    assert error.vendor_code == name
    assert error.http_status == 200
    assert body["result"]["resultMessage"] in error.message
    assert error.raw_response == body


def test_api_level_failures_keep_the_transaction_id():
    error = compare_error("INVALID_ARGUMENT")
    assert error.vendor_request_id == "G000000005FID20200304000000000001570703"


def test_unable_get_image_is_an_invalid_image_answer_about_the_photos():
    result = compare("UNABLE_GET_IMAGE")
    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == ErrorCode.INVALID_IMAGE
    assert result.vendor_code == "UNABLE_GET_IMAGE"
    assert result.vendor_message == "face2.content is not a valid base64 image."
    assert result.billable is False
    assert result.score is None
    assert result.vendor_request_id == "G000000005FID20200304000000000001570703"


def test_unable_get_image_saying_no_face_is_no_face_in_the_named_photo():
    result = compare("UNABLE_GET_IMAGE_no_face")
    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == ErrorCode.NO_FACE
    assert result.vendor_code == "UNABLE_GET_IMAGE"
    assert result.details["which"] == "selfie"
    assert result.billable is False


def test_an_undocumented_code_is_a_final_vendor_error_that_keeps_the_code():
    error = compare_error("undocumented_code")
    assert error.code == ErrorCode.VENDOR_ERROR
    assert error.retryable is False
    assert error.vendor_code == "FACE_FEATURE_EXTRACT_FAIL"


def test_an_undocumented_code_with_status_u_is_retryable():
    error = compare_error("undocumented_code_unknown_status")
    assert error.code == ErrorCode.VENDOR_ERROR
    assert error.retryable is True
    assert error.vendor_code == "GATEWAY_BUSY"


def test_a_signed_rate_limit_answer_carries_the_retry_after_delay():
    error = compare_error("REQUEST_TRAFFIC_EXCEED_LIMIT", status=429, headers={"Retry-After": "7"})
    assert error.code == ErrorCode.RATE_LIMITED
    assert error.retryable is True
    assert error.retry_after == 7.0
    assert error.http_status == 429


def test_a_signed_system_error_over_http_500_is_retryable():
    error = compare_error("SYSTEM_ERROR", status=500)
    assert error.code == ErrorCode.VENDOR_ERROR
    assert error.retryable is True
    assert error.http_status == 500
    assert error.vendor_code == "SYSTEM_ERROR"


# --- the response signature (§3.4) -------------------------------------------------------------


def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    "gateway",
    [
        pytest.param({"signing_key": MERCHANT_KEY}, id="signed-with-the-wrong-key"),
        pytest.param({"after_signing": lambda body: body.replace(b"88.2", b"98.2")}, id="tampered"),
        pytest.param({"signed": False}, id="unsigned"),
        pytest.param(
            {"signature_header": lambda header: header.replace("signature=", "signature=AA")},
            id="garbled",
        ),
    ],
)
def test_a_success_whose_signature_does_not_verify_is_a_protocol_error_never_a_result(gateway):
    error = compare_error("success", **gateway)
    assert error.code == ErrorCode.PROTOCOL_ERROR
    assert error.retryable is False
    assert error.billable is False
    assert error.vendor_code == ""


@pytest.mark.parametrize(
    "gateway",
    [
        pytest.param({"signed_client_id": "2089012345678901"}, id="another-client-id"),
        pytest.param({"signed_path": "/api/v1/zoloz/authentication/test"}, id="another-path"),
    ],
)
def test_a_signature_over_another_client_id_or_path_is_refused(gateway):
    # §3.4.2: the content is built from *our request's* path and client id.
    error = compare_error("success", **gateway)
    assert error.code == ErrorCode.PROTOCOL_ERROR


def test_a_signed_answer_without_response_time_is_a_protocol_error():
    class NoTime(FakeGateway):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            response = super().__call__(request)
            del response.headers["Response-Time"]
            return response

    with pytest.raises(VendorError) as caught:
        adapter_for(NoTime(payload("success"))).compare(compare_request())
    assert caught.value.code == ErrorCode.PROTOCOL_ERROR


def test_a_bad_signature_on_an_error_answer_is_still_a_protocol_error():
    error = compare_error("SIGNATURE_INVALID", signing_key=MERCHANT_KEY)
    assert error.code == ErrorCode.PROTOCOL_ERROR


def test_extra_key_version_pairs_and_lower_case_escapes_verify():
    def php_style(header: str) -> str:
        value = header.split("signature=", 1)[1]
        lowered = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), value)
        return f"algorithm=RSA256, keyVersion=v1, signature={lowered}"

    result = compare("success", signature_header=php_style)
    assert result.score == 88.2


# --- answers that are not ZOLOZ's gateway (unsigned non-2xx) ------------------------------------


def test_an_unsigned_503_from_a_proxy_is_a_retryable_vendor_error():
    gateway = FakeGateway(b"Service Unavailable", status=503, signed=False)
    with pytest.raises(VendorError) as caught:
        adapter_for(gateway).compare(compare_request())
    assert caught.value.code == ErrorCode.VENDOR_ERROR
    assert caught.value.retryable is True
    assert caught.value.http_status == 503


def test_an_unsigned_429_is_rate_limited_with_its_delay():
    gateway = FakeGateway(b"", status=429, signed=False, headers={"Retry-After": "3"})
    with pytest.raises(VendorError) as caught:
        adapter_for(gateway).compare(compare_request())
    assert caught.value.code == ErrorCode.RATE_LIMITED
    assert caught.value.retryable is True
    assert caught.value.retry_after == 3.0


def test_an_unsigned_404_is_a_final_vendor_error():
    gateway = FakeGateway(b"not found", status=404, signed=False)
    with pytest.raises(VendorError) as caught:
        adapter_for(gateway).compare(compare_request())
    assert caught.value.code == ErrorCode.VENDOR_ERROR
    assert caught.value.retryable is False


def test_an_unsigned_error_body_is_not_trusted_for_its_code():
    gateway = FakeGateway(payload("PRODUCT_QUOTA_LIMIT"), status=502, signed=False)
    with pytest.raises(VendorError) as caught:
        adapter_for(gateway).compare(compare_request())
    assert caught.value.code == ErrorCode.VENDOR_ERROR
    assert caught.value.vendor_code == ""


def test_a_signed_body_that_is_not_json_is_a_retryable_vendor_error():
    gateway = FakeGateway(b'{"result": ', status=200)
    with pytest.raises(VendorError) as caught:
        adapter_for(gateway).compare(compare_request())
    assert caught.value.code == ErrorCode.VENDOR_ERROR
    assert caught.value.retryable is True


def test_a_signed_body_without_a_result_object_is_a_vendor_error():
    gateway = FakeGateway(b'{"score": 90}', status=200)
    with pytest.raises(VendorError) as caught:
        adapter_for(gateway).compare(compare_request())
    assert caught.value.code == ErrorCode.VENDOR_ERROR


# --- what we send (§3.2, §3.3, §3.6) -----------------------------------------------------------


def sent(request: CompareRequest | None = None) -> httpx.Request:
    gateway = FakeGateway(payload("success"))
    adapter_for(gateway).compare(request or compare_request())
    return gateway.requests[0]


def test_the_request_is_signed_json_with_the_documented_headers():
    request = sent()
    assert request.method == "POST"
    assert (
        str(request.url) == "https://sg-production-api.zoloz.com/api/v1/zoloz/facecompare/compare"
    )
    assert request.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert request.headers["Client-Id"] == CLIENT_ID
    request_time = request.headers["Request-Time"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}", request_time)
    assert datetime.strptime(request_time, "%Y-%m-%dT%H:%M:%S%z").timestamp() == NOW
    assert "Encrypt" not in request.headers
    pairs = auth.parse_header_pairs(request.headers["Signature"])
    assert pairs["algorithm"] == "RSA256"
    signature = base64.b64decode(unquote(pairs["signature"]))
    content = f"POST {COMPARE_PATH}\n{CLIENT_ID}.{request_time}.".encode() + request.content
    MERCHANT_KEY.public_key().verify(signature, content, padding.PKCS1v15(), hashes.SHA256())


def test_the_body_carries_the_documented_field_names():
    body = json.loads(sent().content)
    assert body == {
        "bizId": uuid.UUID(REFERENCE_ID).hex,
        "userId": "u-5d41402abc4b2a76",
        "face1": {"content": base64.b64encode(SELFIE.data).decode()},
        "face2": {"content": base64.b64encode(REFERENCE.data).decode()},
        "sourceOfFace2": "00000001007",
    }


def test_an_earlier_selfie_as_reference_is_sent_as_selfie():
    body = json.loads(sent(compare_request(reference_source=ReferenceSource.SELFIE)).content)
    assert body["sourceOfFace2"] == "SELFIE"


def test_a_known_doc_type_can_be_named_for_an_id_photo():
    request = compare_request(options={"source_of_face2": "00000001003"})
    assert json.loads(sent(request).content)["sourceOfFace2"] == "00000001003"


def test_biz_id_fits_32_bytes_without_losing_the_reference():
    assert biz_id("trans-test-1234") == "trans-test-1234"
    assert biz_id(REFERENCE_ID) == "0b6f3c1e5f0a4c8e9d557d1f1f0c2a11"
    hashed = biz_id("x" * 40)
    assert len(hashed) == 32 and hashed == biz_id("x" * 40)


def test_no_image_data_is_kept_in_the_raw_response_or_errors():
    result = compare("success")
    kept = json.dumps(result.raw_response)
    for image in (SELFIE.data, REFERENCE.data):
        assert base64.b64encode(image).decode()[:40] not in kept
    failure = compare_error("SYSTEM_ERROR")
    assert base64.b64encode(SELFIE.data).decode()[:40] not in str(failure)
    assert base64.b64encode(SELFIE.data).decode()[:40] not in json.dumps(failure.raw_response)


# --- RSA_AES (§3.5) ----------------------------------------------------------------------------


def request_key(request: httpx.Request) -> bytes:
    return auth.unwrap_key(ZOLOZ_KEY, request.headers["Encrypt"])


def encrypted_with(key_for: Callable[[httpx.Request], bytes], *, wrap_for: rsa.RSAPublicKey | None):
    def encrypt(request: httpx.Request, body: bytes) -> tuple[bytes, dict[str, str]]:
        key = key_for(request)
        headers = {"Content-Type": "text/plain; charset=UTF-8"}
        if wrap_for is not None:
            headers["Encrypt"] = auth.encrypt_header(wrap_for, key)
        return auth.aes_encrypt(key, body).encode(), headers

    return encrypt


def test_an_encrypted_request_sends_aes_ciphertext_signed_as_sent():
    gateway = FakeGateway(payload("success"))
    adapter_for(gateway).compare(compare_request(options={"encrypt": True}))
    request = gateway.requests[0]
    assert request.headers["Content-Type"] == "text/plain; charset=UTF-8"
    key = request_key(request)
    assert len(key) == 32  # the Java SDK's default (§3.5.1)
    body = json.loads(auth.aes_decrypt(key, request.content.decode()))
    assert body["bizId"] == uuid.UUID(REFERENCE_ID).hex
    assert body["face1"]["content"] == base64.b64encode(SELFIE.data).decode()
    content = auth.signing_content(
        COMPARE_PATH, CLIENT_ID, request.headers["Request-Time"], request.content.decode()
    )
    assert auth.verify(MERCHANT_KEY.public_key(), content, request.headers["Signature"]) is True


def test_a_128_bit_key_can_be_asked_for():
    gateway = FakeGateway(payload("success"))
    adapter_for(gateway).compare(compare_request(options={"encrypt": True, "aes_key_bits": 128}))
    assert len(request_key(gateway.requests[0])) == 16


def test_an_encrypted_answer_is_read_with_the_key_zoloz_wraps_for_the_merchant():
    fresh = bytes(range(100, 132))
    gateway = FakeGateway(
        payload("success"),
        encrypt=encrypted_with(lambda _r: fresh, wrap_for=MERCHANT_KEY.public_key()),
    )
    result = adapter_for(gateway).compare(compare_request(options={"encrypt": True}))
    assert result.score == 88.2
    assert result.same_person is True


def test_an_encrypted_answer_without_an_encrypt_header_is_read_with_the_request_key():
    gateway = FakeGateway(payload("success"), encrypt=encrypted_with(request_key, wrap_for=None))
    result = adapter_for(gateway).compare(compare_request(options={"encrypt": True}))
    assert result.score == 88.2


def test_a_response_key_we_cannot_unwrap_falls_back_to_the_request_key():
    stranger = other_key().public_key()
    gateway = FakeGateway(
        payload("success"), encrypt=encrypted_with(request_key, wrap_for=stranger)
    )
    result = adapter_for(gateway).compare(compare_request(options={"encrypt": True}))
    assert result.score == 88.2


def test_an_encrypted_answer_nobody_can_decrypt_is_a_protocol_error():
    stranger = bytes(32)
    gateway = FakeGateway(
        payload("success"), encrypt=encrypted_with(lambda _r: stranger, wrap_for=None)
    )
    with pytest.raises(VendorError) as caught:
        adapter_for(gateway).compare(compare_request(options={"encrypt": True}))
    assert caught.value.code == ErrorCode.PROTOCOL_ERROR


def test_a_plain_json_error_to_an_encrypted_request_is_still_read():
    gateway = FakeGateway(payload("SIGNATURE_INVALID"))
    with pytest.raises(VendorError) as caught:
        adapter_for(gateway).compare(compare_request(options={"encrypt": True}))
    assert caught.value.code == ErrorCode.AUTH_FAILED


# --- configuration -----------------------------------------------------------------------------


def test_a_missing_variable_is_a_configuration_error():
    settings = {k: v for k, v in SETTINGS.items() if k != "ZOLOZ_PUBLIC_KEY"}
    with pytest.raises(VendorNotConfigured, match="ZOLOZ_PUBLIC_KEY"):
        ZolozAdapter(settings)


def test_an_unreadable_key_is_named_without_its_value():
    settings = {**SETTINGS, "ZOLOZ_MERCHANT_PRIVATE_KEY": "c2VjcmV0LW5vdC1hLWtleQ=="}
    with pytest.raises(VendorNotConfigured, match="ZOLOZ_MERCHANT_PRIVATE_KEY") as caught:
        ZolozAdapter(settings)
    assert "c2VjcmV0" not in str(caught.value)


def test_the_sdks_bare_base64_der_keys_work_as_settings():
    der_private = MERCHANT_KEY.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der_public = ZOLOZ_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings = {
        **SETTINGS,
        "ZOLOZ_MERCHANT_PRIVATE_KEY": base64.b64encode(der_private).decode(),
        "ZOLOZ_PUBLIC_KEY": base64.b64encode(der_public).decode(),
    }
    gateway = FakeGateway(payload("success"))
    assert adapter_for(gateway, settings).compare(compare_request()).score == 88.2
