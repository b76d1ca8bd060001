"""The ZOLOZ sandbox plays ZOLOZ's side faithfully, over real HTTP on loopback (§3).

Raw requests are built here with `vendors.zoloz.auth` so that single headers or bytes can be
broken on purpose; the sandbox checks them with its own, separately written code.
"""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from PIL import Image

from kyc.images import prepare_for_backend
from tests.conftest import face_bytes
from tests.sandboxes import SandboxHandle
from vendors.base import CompareRequest, ErrorCode, ReferenceSource, ResultStatus, VendorError
from vendors.zoloz import auth
from vendors.zoloz.adapter import ZolozAdapter
from vendors.zoloz.consts import COMPARE_PATH, ECHO_PATH


@pytest.fixture
def zoloz(sandboxes: dict[str, SandboxHandle]) -> SandboxHandle:
    return sandboxes["zoloz"]


def jpeg(color: tuple[int, int, int] = (200, 150, 120), size: tuple[int, int] = (64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def compare_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "bizId": "trans-test-1234",
        "userId": "userid_1234",
        "face1": {"content": b64(jpeg())},
        "face2": {"content": b64(jpeg((90, 60, 40)))},
        "sourceOfFace2": "SELFIE",
    }
    body.update(overrides)
    return body


def signer_for(zoloz: SandboxHandle) -> auth.ZolozSigner:
    s = zoloz.settings
    return auth.ZolozSigner.from_settings(
        s["ZOLOZ_CLIENT_ID"], s["ZOLOZ_MERCHANT_PRIVATE_KEY"], s["ZOLOZ_PUBLIC_KEY"]
    )


def post(
    zoloz: SandboxHandle,
    body: dict[str, Any] | str,
    *,
    path: str = COMPARE_PATH,
    request_time: str = "2019-04-04T12:08:56+0530",
    aes_key: bytes | None = None,
    sent_body: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A request signed like the SDKs sign it; `sent_body`/`headers` break it on purpose."""
    signer = signer_for(zoloz)
    text = body if isinstance(body, str) else json.dumps(body)
    request_headers = {"Content-Type": "application/json; charset=UTF-8"}
    if aes_key is not None:
        text, request_headers["Encrypt"] = signer.encrypt_body(text, aes_key)
        request_headers["Content-Type"] = "text/plain; charset=UTF-8"
    request_headers.update(signer.request_headers(path, text, request_time))
    request_headers.update(headers or {})
    payload = text if sent_body is None else sent_body
    return httpx.post(zoloz.url + path, content=payload.encode(), headers=request_headers)


def verified(zoloz: SandboxHandle, response: httpx.Response, path: str = COMPARE_PATH) -> str:
    """The raw body after checking ZOLOZ's signature over it (§3.4): every answer is signed."""
    signer = signer_for(zoloz)
    assert signer.verify_response(
        path, response.headers["Response-Time"], response.text, response.headers["Signature"]
    ), "the sandbox's answer does not verify with ZOLOZ's public key"
    return response.text


def result_of(zoloz: SandboxHandle, response: httpx.Response, path: str = COMPARE_PATH) -> dict:
    body = json.loads(verified(zoloz, response, path))
    return body["result"]


def adapter(zoloz: SandboxHandle, **settings: str) -> ZolozAdapter:
    return ZolozAdapter({**zoloz.settings, **settings}, timeout=10)


def face_request(
    reference_source: ReferenceSource = ReferenceSource.ID_PHOTO, **options: Any
) -> CompareRequest:
    return CompareRequest(
        selfie=prepare_for_backend(face_bytes("df_img1.jpg"), "zoloz", field="selfie"),
        reference=prepare_for_backend(face_bytes("df_img2.jpg"), "zoloz", field="reference"),
        reference_id="0b6f3c1e-5f0a-4c8e-9d55-7d1f1f0c2a11",
        user_ref="u-5d41402abc4b2a76",
        reference_source=reference_source,
        options=options,
    )


# --- the request signature (§3.3) --------------------------------------------------------------


def test_a_correctly_signed_request_is_answered_with_a_signed_success(zoloz):
    zoloz.script({"score": 91.5})
    response = post(zoloz, compare_body())
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert re.fullmatch(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}", response.headers["Response-Time"]
    )
    body = json.loads(verified(zoloz, response))
    assert body["score"] == 91.5
    assert body["samePerson"] is True
    assert body["result"]["resultCode"] == "SUCCESS"
    assert body["result"]["resultStatus"] == "S"
    assert body["result"]["resultMessage"] == "success"
    assert re.fullmatch(r"G000000005FID\d{26}", body["transactionId"])
    assert body["result"]["transactionId"] == body["transactionId"]


def test_a_tampered_request_body_is_refused_as_signature_invalid(zoloz):
    good = json.dumps(compare_body())
    tampered = good.replace("trans-test-1234", "trans-test-1235")
    response = post(zoloz, good, sent_body=tampered)
    assert response.status_code == 200  # [I] §3.7: the outcome travels in `result`
    assert result_of(zoloz, response) == {
        "resultCode": "SIGNATURE_INVALID",
        "resultStatus": "F",
        "resultMessage": "Unauthorized. The signature is invalid.",
    }
    assert zoloz.requests()[-1]["refused"] == "SIGNATURE_INVALID"


def test_a_tampered_signature_value_is_refused(zoloz):
    signature = signer_for(zoloz).request_headers(COMPARE_PATH, "{}", "x")["Signature"]
    response = post(zoloz, compare_body(), headers={"Signature": signature})
    assert result_of(zoloz, response)["resultCode"] == "SIGNATURE_INVALID"


def test_a_missing_signature_header_is_refused(zoloz):
    response = post(zoloz, compare_body(), headers={"Signature": ""})
    assert result_of(zoloz, response)["resultCode"] == "SIGNATURE_INVALID"


def test_a_wrong_merchant_key_is_auth_failed_and_not_retried(zoloz):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client = adapter(zoloz, ZOLOZ_MERCHANT_PRIVATE_KEY=auth.private_key_pem(stranger))
    with pytest.raises(VendorError) as caught:
        client.compare(face_request())
    assert caught.value.code == ErrorCode.AUTH_FAILED
    assert caught.value.retryable is False
    assert caught.value.vendor_code == "SIGNATURE_INVALID"
    assert caught.value.billable is False


def test_an_unknown_client_id_is_refused_and_the_refusal_is_signed_for_that_client_id(zoloz):
    response = post(zoloz, compare_body(), headers={"Client-Id": "2089012345678900"})
    signer = signer_for(zoloz)
    other = auth.ZolozSigner(
        "2089012345678900", signer.merchant_private_key, signer.zoloz_public_key
    )
    assert other.verify_response(
        COMPARE_PATH,
        response.headers["Response-Time"],
        response.text,
        response.headers["Signature"],
    )
    assert json.loads(response.text)["result"]["resultCode"] == "MERCHANT_NOT_FOUND"


def test_lower_case_escapes_and_extra_pairs_are_accepted(zoloz):
    zoloz.script({"score": 50}, {"score": 50}, {"score": 50})
    text = json.dumps(compare_body())
    header = signer_for(zoloz).request_headers(COMPARE_PATH, text, "2019-04-04T12:08:56+0530")
    value = header["Signature"].split("signature=", 1)[1]
    lower = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), value)
    raw = auth.decode_signature(value)
    variants = [
        f"algorithm=RSA256, signature={lower}",  # zoloz.sh writes %2b (§3.3.4)
        f"algorithm=RSA256, keyVersion=v1, signature={value}",  # the PHP sample (§3.2)
        # An unencoded signature: `+` must stay `+`, never become a space (§3.3.4).
        f"algorithm=RSA256, signature={base64.b64encode(raw).decode()}",
    ]
    assert "+" in variants[2] or "/" in variants[2]
    for variant in variants:
        response = post(zoloz, text, headers={"Signature": variant})
        assert result_of(zoloz, response)["resultCode"] == "SUCCESS", variant


# --- other gateway checks (§3.2) ---------------------------------------------------------------


def test_request_time_with_a_colon_in_the_offset_is_accepted_too(zoloz):
    zoloz.script({"score": 50})
    response = post(zoloz, compare_body(), request_time="2019-04-04T12:08:56+05:30")
    assert result_of(zoloz, response)["resultCode"] == "SUCCESS"


@pytest.mark.parametrize(
    ("request_time", "code"),
    [
        ("2019-04-04 12:08:56", "PARAM_ILLEGAL"),
        ("2019-04-04T12:08:56Z", "PARAM_ILLEGAL"),
        ("2019-13-04T12:08:56+0530", "PARAM_ILLEGAL"),
        ("", "PARAM_MISSING"),
    ],
)
def test_a_malformed_or_missing_request_time_is_refused(zoloz, request_time, code):
    response = post(zoloz, compare_body(), request_time=request_time)
    assert result_of(zoloz, response)["resultCode"] == code


@pytest.mark.parametrize(
    "content_type",
    [
        "application/xml; charset=UTF-8",
        "application/json; charset=ISO-8859-1",
        "text/plain; charset=UTF-8",
    ],
)
def test_only_the_two_documented_content_types_are_accepted(zoloz, content_type):
    # text/plain is the encrypted content type: without an Encrypt header it cannot be read.
    response = post(zoloz, compare_body(), headers={"Content-Type": content_type})
    assert result_of(zoloz, response)["resultCode"] == "MSG_PARSE_ERROR"


def test_request_time_skew_is_refused_only_when_configured(zoloz, monkeypatch):
    now = 1_700_000_000.0
    monkeypatch.setattr(zoloz.running.app, "clock", lambda: now)
    zoloz.configure(max_skew_seconds=300, engine=False)
    late = ZolozAdapter(zoloz.settings, clock=lambda: now + 900)
    with pytest.raises(VendorError) as caught:
        late.compare(face_request())
    assert caught.value.vendor_code == "SIGNATURE_INVALID"
    on_time = ZolozAdapter(zoloz.settings, clock=lambda: now + 30)
    zoloz.script({"score": 50})
    assert on_time.compare(face_request()).score == 50


# --- the compare API's own checks (§3.6, §3.7) -------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"bizId": ""}, "INVALID_ARGUMENT"),
        ({"bizId": None}, "INVALID_ARGUMENT"),
        ({"bizId": "x" * 33}, "PARAM_ILLEGAL"),
        ({"userId": "u" * 65}, "PARAM_ILLEGAL"),
        ({"sourceOfFace2": "PASSPORT"}, "PARAM_ILLEGAL"),
        ({"face1": {"content": ""}}, "UNABLE_GET_IMAGE"),
        ({"face2": {"content": "not base64!"}}, "UNABLE_GET_IMAGE"),
        ({"face1": {"content": b64(b"GIF89a" + bytes(64))}}, "UNABLE_GET_IMAGE"),
        ({"face2": {"content": b64(face_bytes("bad/not_an_image.jpg"))}}, "UNABLE_GET_IMAGE"),
        ({"face2": {"content": b64(face_bytes("bad/truncated.jpg"))}}, "UNABLE_GET_IMAGE"),
        ({"face1": {"content": b64(jpeg()), "rect": "1,2,3"}}, "PARAM_ILLEGAL"),
    ],
)
def test_documented_field_rules_are_enforced(zoloz, overrides, code):
    response = post(zoloz, compare_body(**overrides))
    result = result_of(zoloz, response)
    assert result["resultCode"] == code
    assert result["resultStatus"] == "F"


def test_a_gif_is_refused_but_png_and_bmp_are_accepted(zoloz):
    zoloz.script({"score": 40}, {"score": 40})
    for image_format in ("PNG", "BMP"):
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), (10, 20, 30)).save(buffer, image_format)
        response = post(zoloz, compare_body(face2={"content": b64(buffer.getvalue())}))
        assert result_of(zoloz, response)["resultCode"] == "SUCCESS", image_format


def test_more_than_5_mb_of_images_together_is_refused(zoloz):
    big = "A" * (5 * 1024 * 1024 - 100)
    response = post(zoloz, compare_body(face2={"content": big}))
    assert result_of(zoloz, response)["resultCode"] == "PARAM_ILLEGAL"


def test_a_body_that_is_not_json_is_a_parse_error(zoloz):
    response = post(zoloz, "bizId=trans-test-1234")
    assert result_of(zoloz, response)["resultCode"] == "MSG_PARSE_ERROR"


def test_a_photo_without_a_face_is_unable_get_image_naming_the_side(zoloz):
    body = compare_body(
        face1={"content": b64(face_bytes("df_img1.jpg"))},
        face2={"content": b64(face_bytes("bad/no_face_landscape.jpg"))},
    )
    result = result_of(zoloz, post(zoloz, body))
    assert result["resultCode"] == "UNABLE_GET_IMAGE"
    assert result["resultMessage"] == "No face detected in face2."


def test_the_request_log_keeps_fields_but_no_image_content(zoloz):
    zoloz.script({"score": 50})
    body = compare_body()
    post(zoloz, body)
    logged = zoloz.requests()[-1]
    assert logged["encrypted"] is False
    assert logged["body"]["bizId"] == "trans-test-1234"
    assert logged["body"]["face1"] == {"content": f"<{len(body['face1']['content'])} chars>"}
    assert body["face1"]["content"][:40] not in json.dumps(logged)


def test_the_echo_api_answers_the_request_json_signed_for_its_path(zoloz):
    response = post(zoloz, {"hello": "zoloz"}, path=ECHO_PATH)
    assert json.loads(verified(zoloz, response, ECHO_PATH)) == {"hello": "zoloz"}


def test_an_undefined_api_is_no_interface_def(zoloz):
    path = "/api/v1/zoloz/facecompare/nothing"
    response = post(zoloz, compare_body(), path=path)
    assert result_of(zoloz, response, path)["resultCode"] == "NO_INTERFACE_DEF"


# --- encryption (§3.5) -------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [128, 256])
def test_an_encrypted_request_gets_an_encrypted_answer_readable_both_ways(zoloz, bits):
    zoloz.script({"score": 77.7})
    key = auth.new_aes_key(bits)
    response = post(zoloz, compare_body(), aes_key=key)
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    ciphertext = verified(zoloz, response)  # the signature covers the ciphertext (§3.4.2)
    # The Python sample reuses its own key; the Java SDK unwraps the Encrypt header (§3.5.5).
    with_request_key = json.loads(auth.aes_decrypt(key, ciphertext))
    unwrapped = signer_for(zoloz).response_key(response.headers["Encrypt"])
    assert unwrapped == key
    assert with_request_key["score"] == 77.7
    assert with_request_key["result"]["resultCode"] == "SUCCESS"
    logged = zoloz.requests()[-1]
    assert logged["encrypted"] is True
    assert logged["body"]["bizId"] == "trans-test-1234"


def test_an_encrypted_round_trip_through_the_adapter(zoloz):
    result = adapter(zoloz).compare(face_request(encrypt=True))
    assert result.status == ResultStatus.COMPLETED
    assert result.score is not None and result.score >= 70
    assert result.same_person is True
    logged = zoloz.requests()[-1]
    assert logged["encrypted"] is True
    assert logged["content_type"] == "text/plain; charset=UTF-8"
    assert logged["body"]["bizId"] == "0b6f3c1e5f0a4c8e9d557d1f1f0c2a11"


def test_an_encrypt_header_the_sandbox_cannot_unwrap_is_a_parse_error(zoloz):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    header = auth.encrypt_header(stranger, bytes(16))
    response = post(zoloz, compare_body(), aes_key=bytes(16), headers={"Encrypt": header})
    assert result_of(zoloz, response)["resultCode"] == "MSG_PARSE_ERROR"


# --- scripted answers and faults ---------------------------------------------------------------


def test_the_bad_signature_fault_is_a_protocol_error_never_a_result(zoloz):
    zoloz.script({"score": 99, "fault": "bad_signature"})
    with pytest.raises(VendorError) as caught:
        adapter(zoloz).compare(face_request())
    assert caught.value.code == ErrorCode.PROTOCOL_ERROR
    assert caught.value.retryable is False


def test_an_unsigned_answer_is_a_protocol_error(zoloz):
    zoloz.script({"score": 99, "fault": "unsigned"})
    with pytest.raises(VendorError) as caught:
        adapter(zoloz).compare(face_request())
    assert caught.value.code == ErrorCode.PROTOCOL_ERROR


@pytest.mark.parametrize(
    ("source", "sent"),
    [(ReferenceSource.SELFIE, "SELFIE"), (ReferenceSource.ID_PHOTO, "00000001007")],
)
def test_source_of_face2_follows_the_reference_source(zoloz, source, sent):
    zoloz.script({"score": 80})
    adapter(zoloz).compare(face_request(source))
    assert zoloz.requests()[-1]["body"]["sourceOfFace2"] == sent


@pytest.mark.parametrize(
    ("code", "taxonomy", "retryable"),
    [
        ("PRODUCT_QUOTA_LIMIT", ErrorCode.QUOTA_EXCEEDED, False),
        ("SYSTEM_ERROR", ErrorCode.VENDOR_ERROR, True),
        ("PROCESS_TIMEOUT", ErrorCode.TIMEOUT, True),
        ("ACCESS_DENIED", ErrorCode.PERMISSION_DENIED, False),
    ],
)
def test_scripted_documented_codes_reach_the_adapter_signed(zoloz, code, taxonomy, retryable):
    zoloz.script({"error": code})
    with pytest.raises(VendorError) as caught:
        adapter(zoloz).compare(face_request())
    assert caught.value.code == taxonomy
    assert caught.value.retryable is retryable
    assert caught.value.vendor_code == code
    assert caught.value.vendor_request_id.startswith("G000000005FID")


def test_a_forced_verdict_flag_is_sent_as_scripted(zoloz):
    zoloz.script({"score": 95, "same_person": False})
    result = adapter(zoloz).compare(face_request())
    assert result.score == 95
    assert result.same_person is False


@pytest.mark.parametrize(("fault", "status"), [("http_500", 500), ("http_503", 503)])
def test_server_errors_are_signed_system_errors(zoloz, fault, status):
    zoloz.script({"fault": fault})
    response = post(zoloz, compare_body())
    assert response.status_code == status
    assert result_of(zoloz, response) == {
        "resultCode": "SYSTEM_ERROR",
        "resultStatus": "U",
        "resultMessage": "A system error has occurred.",
    }


def test_rate_limiting_is_a_signed_429_with_retry_after(zoloz):
    zoloz.script({"fault": "rate_limit", "retry_after": 7})
    response = post(zoloz, compare_body())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert result_of(zoloz, response)["resultCode"] == "REQUEST_TRAFFIC_EXCEED_LIMIT"


def test_a_key_version_in_the_response_signature_is_accepted_by_the_adapter(zoloz):
    zoloz.configure(key_version="v1")
    zoloz.script({"score": 66}, {"score": 66})
    assert adapter(zoloz).compare(face_request()).score == 66
    response = post(zoloz, compare_body())
    assert result_of(zoloz, response)["resultCode"] == "SUCCESS"
    assert ", keyVersion=v1, signature=" in response.headers["Signature"]


def test_fresh_credentials_are_two_rsa_2048_pairs_and_a_16_character_client_id(zoloz):
    from vendors.sandboxes.zoloz import ZolozSandbox

    credentials = ZolozSandbox.generate_credentials()
    assert re.fullmatch(r"\d{16}", credentials["client_id"])
    merchant = auth.load_private_key(credentials["merchant_private_key"])
    zoloz_key = auth.load_private_key(credentials["zoloz_private_key"])
    assert merchant.key_size == zoloz_key.key_size == 2048
    assert merchant.private_numbers() != zoloz_key.private_numbers()
    settings = ZolozSandbox(credentials).client_settings("http://127.0.0.1:8103")
    assert settings == {
        "ZOLOZ_BASE_URL": "http://127.0.0.1:8103",
        "ZOLOZ_CLIENT_ID": credentials["client_id"],
        "ZOLOZ_MERCHANT_PRIVATE_KEY": credentials["merchant_private_key"],
        "ZOLOZ_PUBLIC_KEY": credentials["zoloz_public_key"],
    }
