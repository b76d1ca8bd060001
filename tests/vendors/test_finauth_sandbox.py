"""The FinAuth sandbox plays the vendor's side faithfully, and the adapter copes, over real HTTP."""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import httpx
import pytest
from PIL import Image

from kyc.images import prepare_for_backend
from tests.conftest import face_bytes
from tests.sandboxes import SandboxHandle
from vendors.base import (
    CompareRequest,
    ErrorCode,
    PreparedImage,
    ResultStatus,
    VendorError,
)
from vendors.finauth.adapter import FinAuthAdapter
from vendors.finauth.auth import FinAuthSigner, build_raw, parse_sign, sign_raw

NOW = 1_700_000_000
DOCUMENTED_THRESHOLD_KEYS = {"1e-3", "1e-4", "1e-5", "1e-6"}


def jpeg(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (120, 90, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def prepared(data: bytes, width: int = 64, height: int = 48) -> PreparedImage:
    return PreparedImage(data, "image/jpeg", width, height, width, height)


@pytest.fixture
def sandbox(sandboxes: dict[str, SandboxHandle]) -> SandboxHandle:
    return sandboxes["finauth"]


@pytest.fixture
def fast(sandbox: SandboxHandle) -> SandboxHandle:
    """The sandbox scoring from image hashes (the protocol is under test, not the faces)."""
    sandbox.configure(engine=False)
    return sandbox


def adapter_for(
    sandbox: SandboxHandle, clock: float | None = None, **overrides: str
) -> FinAuthAdapter:
    settings = {**sandbox.settings, **overrides}
    if clock is None:
        return FinAuthAdapter(settings, timeout=10)
    return FinAuthAdapter(settings, timeout=10, clock=lambda: clock)


def compare_request(
    selfie: PreparedImage | None = None, reference: PreparedImage | None = None, **options: Any
) -> CompareRequest:
    return CompareRequest(
        selfie=selfie or prepared(jpeg(colour=(200, 150, 120))),
        reference=reference or prepared(jpeg(colour=(90, 60, 40))),
        reference_id="attempt-42",
        user_ref="u-abc",
        options=options,
    )


def post(
    sandbox: SandboxHandle,
    *,
    sign: str | None = None,
    drop: tuple[str, ...] = (),
    files: dict[str, tuple[str, bytes, str]] | None = None,
    **fields: str,
) -> httpx.Response:
    """A hand-built call, as any client would send it (sign defaults to a fresh single-use one)."""
    settings = sandbox.settings
    signer = FinAuthSigner(settings["FINAUTH_API_KEY"], settings["FINAUTH_API_SECRET"])
    data = {
        "sign": sign if sign is not None else signer.sign(now=NOW),
        "sign_version": "hmac_sha1",
        "compare_id": settings["FINAUTH_COMPARE_ID"],
        "encryption_type": "0",
        "biz_no": "biz-1",
        **fields,
    }
    parts = files or {
        "image": ("image.jpg", jpeg(colour=(10, 20, 30)), "image/jpeg"),
        "image_ref1": ("image_ref1.jpg", jpeg(colour=(30, 20, 10)), "image/jpeg"),
    }
    data = {k: v for k, v in data.items() if k not in drop}
    parts = {k: v for k, v in parts.items() if k not in drop}
    return httpx.post(f"{sandbox.url}/finauth/v5/compare", data=data, files=parts, timeout=30)


@pytest.fixture
def frozen(sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch):
    """Set the sandbox's clock (its injectable `clock`) to a given Unix time."""

    def freeze(at: float) -> None:
        monkeypatch.setattr(sandbox.running.app, "clock", lambda: at)

    freeze(NOW)
    return freeze


# --- the documented success body -------------------------------------------------------------


def test_a_well_signed_call_gets_the_documented_success_body(fast, frozen):
    response = post(fast)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert re.fullmatch(rf"{NOW},[0-9a-f]{{8}}-[0-9a-f-]{{27}}", body["request_id"])
    assert body["biz_no"] == "biz-1"
    assert isinstance(body["time_used"], int)
    assert (body["result_code"], body["result_message"]) in {
        (1000, "SUCCESS"),
        (2000, "PASS_LIVING_NOT_THE_SAME"),
    }
    ref1 = body["verification"]["ref1"]
    assert 0 <= ref1["confidence"] <= 100
    assert set(ref1["thresholds"]) == DOCUMENTED_THRESHOLD_KEYS
    assert set(body["visual_attributes"]) == {
        "age",
        "gender",
        "age_image_ref1",
        "gender_image_ref1",
    }
    assert set(body["face"]["rect"]) == {"left", "top", "width", "height"}
    assert all(0 <= v <= 1 for v in body["face"]["rect"].values())
    tags = body["verify_risk_info"]["verify_info_tags"]
    assert set(tags) == {"is_age_risk", "is_gender_risk"}
    assert all(v in {"0", "1"} for v in tags.values())  # documented as strings


def test_result_code_is_1000_only_above_the_scene_threshold(fast):
    fast.script({"score": 69.315}, {"score": 69.316})
    adapter = adapter_for(fast)
    at_threshold = adapter.compare(compare_request())
    above = adapter.compare(compare_request())
    assert (at_threshold.vendor_code, at_threshold.same_person) == ("2000", False)
    assert (above.vendor_code, above.same_person) == ("1000", True)
    assert at_threshold.details["thresholds"]["1e-4"] == 69.315


def test_a_stricter_scene_raises_the_bar_for_1000(fast):
    fast.configure(engine=False, strictness="1e-5")
    fast.script({"score": 72})
    result = adapter_for(fast).compare(compare_request())
    assert (result.score, result.same_person) == (72, False)


def test_a_scripted_verdict_can_disagree_with_the_score(fast):
    fast.script({"score": 90, "same_person": False})
    result = adapter_for(fast).compare(compare_request())
    assert (result.score, result.same_person, result.billable) == (90, False, True)


# --- the sign, server side (§1.2) ------------------------------------------------------------


def test_a_tampered_mac_is_refused_as_invalid_sign(fast, frozen):
    settings = fast.settings
    sign = FinAuthSigner(settings["FINAUTH_API_KEY"], settings["FINAUTH_API_SECRET"]).sign(now=NOW)
    blob = bytearray(base64.b64decode(sign))
    blob[0] ^= 0x01
    response = post(fast, sign=base64.b64encode(bytes(blob)).decode())
    assert response.status_code == 403
    assert response.json()["error"] == "AUTHORIZATION_ERROR:INVALID_SIGN"


def test_a_tampered_raw_part_is_refused_as_invalid_sign(fast, frozen):
    settings = fast.settings
    sign = FinAuthSigner(settings["FINAUTH_API_KEY"], settings["FINAUTH_API_SECRET"]).sign(
        now=NOW, ttl=100
    )
    blob = base64.b64decode(sign)
    forged = blob[:20] + blob[20:].replace(f"b={NOW + 100}".encode(), f"b={NOW + 999}".encode())
    response = post(fast, sign=base64.b64encode(forged).decode())
    assert (response.status_code, response.json()["error"]) == (
        403,
        "AUTHORIZATION_ERROR:INVALID_SIGN",
    )


@pytest.mark.parametrize(
    "sign",
    [
        "not base64 at all!",
        base64.b64encode(b"short").decode(),
        FinAuthSigner("unknown-key", "whatever").sign(now=NOW),
    ],
    ids=["garbage", "too-short", "unknown-key"],
)
def test_a_sign_that_cannot_be_verified_is_invalid_sign(fast, frozen, sign):
    response = post(fast, sign=sign)
    assert (response.status_code, response.json()["error"]) == (
        403,
        "AUTHORIZATION_ERROR:INVALID_SIGN",
    )


def test_an_expired_sign_is_refused_as_expired_sign(fast, frozen):
    settings = fast.settings
    sign = FinAuthSigner(settings["FINAUTH_API_KEY"], settings["FINAUTH_API_SECRET"]).sign(
        now=NOW, ttl=100
    )
    frozen(NOW + 101)
    response = post(fast, sign=sign)
    assert response.status_code == 403
    assert response.json()["error"] == "AUTHORIZATION_ERROR:EXPIRED_SIGN"


def test_an_expiring_sign_is_still_good_at_its_expire_time_and_can_be_reused(fast, frozen):
    settings = fast.settings
    sign = FinAuthSigner(settings["FINAUTH_API_KEY"], settings["FINAUTH_API_SECRET"]).sign(
        now=NOW, ttl=100
    )
    frozen(NOW + 100)  # §1.2 step 4: refused only when now > b
    assert post(fast, sign=sign).status_code == 200
    assert post(fast, sign=sign).status_code == 200


def test_the_control_api_clock_offset_expires_signs_too(fast, frozen):
    settings = fast.settings
    sign = FinAuthSigner(settings["FINAUTH_API_KEY"], settings["FINAUTH_API_SECRET"]).sign(
        now=NOW, ttl=100
    )
    fast.configure(engine=False, clock_offset=3600)
    assert post(fast, sign=sign).json()["error"] == "AUTHORIZATION_ERROR:EXPIRED_SIGN"


def test_an_expiring_sign_whose_time_is_not_before_its_expiry_is_invalid(fast, frozen):
    settings = fast.settings
    raw = build_raw(settings["FINAUTH_API_KEY"], expire_time=NOW, current_time=NOW, random="1")
    response = post(fast, sign=sign_raw(settings["FINAUTH_API_SECRET"], raw))
    assert response.json()["error"] == "AUTHORIZATION_ERROR:INVALID_SIGN"


def test_a_replayed_single_use_sign_is_refused(fast, frozen):
    settings = fast.settings
    sign = FinAuthSigner(settings["FINAUTH_API_KEY"], settings["FINAUTH_API_SECRET"]).sign(now=NOW)
    assert parse_sign(sign).single_use
    first = post(fast, sign=sign)
    replay = post(fast, sign=sign)
    assert first.status_code == 200
    assert replay.status_code == 403
    assert replay.json()["error"] == "AUTHORIZATION_ERROR:INVALID_SIGN"


def test_the_adapter_sends_single_use_signs_that_the_sandbox_accepts_every_time(fast):
    adapter = adapter_for(fast)
    for _ in range(3):
        assert adapter.compare(compare_request()).status == ResultStatus.COMPLETED
    raws = [r["sign_raw"] for r in fast.requests()]
    assert len(set(raws)) == 3
    assert all(re.fullmatch(r"a=[^&]+&b=0&c=\d+&d=\d{1,10}", raw) for raw in raws)


# --- one fresh sign, then give up ------------------------------------------------------------


def test_wrong_secret_is_tried_exactly_twice_with_two_different_signs(fast):
    adapter = adapter_for(fast, FINAUTH_API_SECRET="not-the-secret")
    with pytest.raises(VendorError) as caught:
        adapter.compare(compare_request())
    assert (caught.value.code, caught.value.retryable) == (ErrorCode.AUTH_FAILED, False)
    assert caught.value.vendor_code == "AUTHORIZATION_ERROR:INVALID_SIGN"
    assert caught.value.http_status == 403
    calls = fast.requests()
    assert len(calls) == 2
    assert calls[0]["fields"]["sign"] != calls[1]["fields"]["sign"]


def test_an_expired_sign_is_refreshed_once_and_then_given_up(fast, frozen):
    frozen(NOW + 3600)
    adapter = adapter_for(fast, clock=NOW)  # our clock is an hour behind the vendor's
    with pytest.raises(VendorError) as caught:
        adapter.compare(compare_request(sign_ttl=60))
    assert caught.value.code == ErrorCode.AUTH_FAILED
    assert caught.value.vendor_code == "AUTHORIZATION_ERROR:EXPIRED_SIGN"
    assert caught.value.retryable is False
    assert len(fast.requests()) == 2


def test_one_auth_error_then_success_completes_after_one_refresh(fast):
    fast.script({"error": "AUTHORIZATION_ERROR:EXPIRED_SIGN"})
    result = adapter_for(fast).compare(compare_request())
    assert result.status == ResultStatus.COMPLETED
    assert len(fast.requests()) == 2


def test_repeated_authentication_errors_stop_after_the_second_call(fast):
    fast.script({"error": "AUTHENTICATION_ERROR", "repeat": 3})
    with pytest.raises(VendorError) as caught:
        adapter_for(fast).compare(compare_request())
    assert (caught.value.code, caught.value.retryable) == (ErrorCode.AUTH_FAILED, False)
    assert len(fast.requests()) == 2


# --- arguments and limits --------------------------------------------------------------------


@pytest.mark.parametrize(
    "missing", ["sign", "sign_version", "compare_id", "encryption_type", "image_ref1"]
)
def test_a_missing_argument_is_named_in_the_error(fast, frozen, missing):
    response = post(fast, drop=(missing,))
    assert response.status_code == 400
    assert response.json()["error"] == f"MISSING_ARGUMENTS:{missing}"


def test_an_image_sent_as_a_text_part_is_missing_as_a_file(fast, frozen):
    files = {"image_ref1": ("r.jpg", jpeg(), "image/jpeg")}
    response = post(fast, files=files, image="a text value")
    assert response.json()["error"] == "MISSING_ARGUMENTS:image"


def test_an_unknown_compare_id_is_a_bad_request(fast):
    adapter = adapter_for(fast, FINAUTH_COMPARE_ID="no-such-scene")
    with pytest.raises(VendorError) as caught:
        adapter.compare(compare_request())
    assert caught.value.code == ErrorCode.BAD_REQUEST
    assert caught.value.vendor_code == "BAD_ARGUMENTS"
    assert caught.value.http_status == 400


def test_a_body_over_10_mb_gets_the_plain_text_413(fast, frozen):
    big = jpeg() + b"\0" * (10 * 1024 * 1024)  # bytes after the JPEG end marker
    response = post(
        fast,
        files={
            "image": ("i.jpg", big, "image/jpeg"),
            "image_ref1": ("r.jpg", jpeg(), "image/jpeg"),
        },
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Request Entity Too Large"


def test_the_adapter_reads_the_413_as_an_image_too_large_answer(fast):
    big = prepared(jpeg() + b"\0" * (10 * 1024 * 1024 + 1))
    result = adapter_for(fast).compare(compare_request(selfie=big))
    assert result.status == ResultStatus.INVALID_INPUT
    assert result.error_code == ErrorCode.IMAGE_TOO_LARGE
    assert result.vendor_code == "Request Entity Too Large"


def test_a_side_over_4096_pixels_is_invalid_image_size_for_that_image(fast, frozen):
    wide = jpeg(4097, 8)
    response = post(
        fast,
        files={
            "image": ("i.jpg", jpeg(), "image/jpeg"),
            "image_ref1": ("r.jpg", wide, "image/jpeg"),
        },
    )
    assert (response.status_code, response.json()["error"]) == (
        400,
        "INVALID_IMAGE_SIZE:image_ref1",
    )
    result = adapter_for(fast).compare(compare_request(reference=prepared(wide, 4097, 8)))
    assert (result.error_code, result.details["which"]) == (ErrorCode.IMAGE_TOO_LARGE, "reference")


def test_exactly_4096_pixels_is_accepted(fast):
    result = adapter_for(fast).compare(compare_request(reference=prepared(jpeg(4096, 8), 4096, 8)))
    assert result.status == ResultStatus.COMPLETED


@pytest.mark.parametrize(
    "data",
    [
        face_bytes("bad/not_an_image.jpg"),
        b"GIF89a" + b"\0" * 64,
        face_bytes("bad/truncated.jpg"),
    ],
    ids=["not-an-image", "gif-named-jpg", "truncated"],
)
def test_bytes_that_are_not_a_usable_image_are_unsupported_format_whatever_the_name(
    fast, frozen, data
):
    response = post(
        fast,
        files={
            "image": ("selfie.jpg", data, "image/jpeg"),
            "image_ref1": ("r.jpg", jpeg(), "image/jpeg"),
        },
    )
    assert (response.status_code, response.json()["error"]) == (
        400,
        "IMAGE_ERROR_UNSUPPORTED_FORMAT:image",
    )


def test_a_png_named_jpg_is_judged_by_its_bytes_and_accepted(fast, frozen):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (1, 2, 3)).save(buffer, format="PNG")
    response = post(
        fast,
        files={
            "image": ("s.jpg", buffer.getvalue(), "image/jpeg"),
            "image_ref1": ("r.jpg", jpeg(), "image/jpeg"),
        },
    )
    assert response.status_code == 200


def test_a_reference_without_a_face_is_no_face_found_for_image_ref1(sandbox):
    request = CompareRequest(
        selfie=prepare_for_backend(face_bytes("df_img1.jpg"), "finauth"),
        reference=prepare_for_backend(face_bytes("bad/no_face_landscape.jpg"), "finauth"),
        reference_id="attempt-43",
    )
    result = adapter_for(sandbox).compare(request)
    assert result.status == ResultStatus.INVALID_INPUT
    assert (result.error_code, result.vendor_code) == (ErrorCode.NO_FACE, "NO_FACE_FOUND")
    assert result.details["which"] == "reference"
    assert result.vendor_message == "NO_FACE_FOUND:image_ref1"


# --- risk tags and visual attributes ---------------------------------------------------------


def test_scripted_risk_tags_ages_and_genders_flow_into_the_result(fast):
    fast.script(
        {
            "score": 88,
            "risk_tags": ["is_age_risk"],
            "ages": [25, 41],
            "genders": ["female", "female"],
        }
    )
    result = adapter_for(fast).compare(compare_request())
    assert result.risk_tags == ("is_age_risk",)
    assert (result.details["selfie_age"], result.details["reference_age"]) == (25, 41)
    assert (result.details["selfie_gender"], result.details["reference_gender"]) == (
        "female",
        "female",
    )


def test_risk_tags_follow_from_an_age_gap_over_ten_years_and_differing_genders(fast):
    fast.script(
        {"score": 30, "ages": [20, 45], "genders": [0, 1]},
        {"score": 30, "ages": [30, 40], "genders": [1, 1]},
    )
    adapter = adapter_for(fast)
    assert adapter.compare(compare_request()).risk_tags == ("is_age_risk", "is_gender_risk")
    assert adapter.compare(compare_request()).risk_tags == ()  # exactly 10 years is no risk


def test_a_same_person_pair_gets_one_gender_and_close_ages_so_no_risk(fast):
    image = prepared(jpeg(colour=(50, 60, 70)))
    result = adapter_for(fast).compare(compare_request(selfie=image, reference=image))
    assert result.same_person is True  # identical bytes score 99 from hashes
    assert result.details["selfie_gender"] == result.details["reference_gender"]
    assert abs(result.details["selfie_age"] - result.details["reference_age"]) <= 3
    assert result.risk_tags == ()


def test_ages_and_genders_are_the_same_for_the_same_images_every_time(fast):
    adapter = adapter_for(fast)
    first = adapter.compare(compare_request())
    second = adapter.compare(compare_request())
    keys = ("selfie_age", "selfie_gender", "reference_age", "reference_gender")
    assert [first.details[k] for k in keys] == [second.details[k] for k in keys]


def test_risk_tags_sent_as_numbers_like_the_seed_sample_are_read_too(fast):
    fast.configure(engine=False, risk_tags_as_numbers=True)
    fast.script({"score": 50, "risk_tags": ["is_gender_risk"]})
    result = adapter_for(fast).compare(compare_request())
    assert result.raw_response["verify_risk_info"]["verify_info_tags"] == {
        "is_age_risk": 0,
        "is_gender_risk": 1,
    }
    assert result.risk_tags == ("is_gender_risk",)


def test_without_risk_detection_there_are_no_tags_and_the_result_says_so(fast):
    fast.configure(engine=False, risk_detection=False)
    result = adapter_for(fast).compare(compare_request())
    assert "verify_risk_info" not in result.raw_response
    assert (result.risk_tags, result.details["risk_checked"]) == ((), False)


def test_returned_images_never_reach_the_kept_raw_response(fast):
    fast.script({"score": 80, "return_images": True})
    request = compare_request()
    result = adapter_for(fast).compare(request)
    kept = json.dumps(result.raw_response)
    assert base64.b64encode(request.selfie.data).decode()[:40] not in kept
    assert "redacted" in result.raw_response["images"]["image_best"]


# --- encryption_type=2 (UNVERIFIED framing, §1.3) --------------------------------------------


def test_rsa_encrypted_images_are_decrypted_and_compared(fast):
    image = prepared(jpeg(colour=(5, 6, 7)))
    result = adapter_for(fast).compare(compare_request(image, image, encryption_type=2))
    assert result.status == ResultStatus.COMPLETED
    assert result.score == 99.0  # the sandbox saw the same plaintext twice
    assert fast.requests()[-1]["fields"]["encryption_type"] == "2"


def test_encryption_without_console_keys_is_key_not_found(fast):
    fast.configure(engine=False, encryption_keys=False)
    with pytest.raises(VendorError) as caught:
        adapter_for(fast).compare(compare_request(encryption_type=2))
    assert (caught.value.code, caught.value.vendor_code) == (ErrorCode.BAD_REQUEST, "KEY_NOT_FOUND")
    assert caught.value.retryable is False


# --- vendor-shaped faults --------------------------------------------------------------------


def test_rate_limiting_is_the_documented_403_with_a_retry_after(fast):
    fast.script({"fault": "rate_limit", "retry_after": 9})
    response = post(fast)
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "CONCURRENCY_LIMIT_EXCEEDED"
    assert set(body) == {"error", "request_id", "time_used"}
    assert response.headers["Retry-After"] == "9"


@pytest.mark.parametrize("fault", ["http_500", "http_503"])
def test_server_errors_are_internal_error_bodies(fast, fault):
    fast.script({"fault": fault})
    response = post(fast)
    assert response.status_code == int(fault[5:])
    assert response.json()["error"] == "INTERNAL_ERROR"


def test_an_unknown_path_is_api_not_found(fast):
    response = httpx.post(f"{fast.url}/finauth/v4/compare", data={"sign": "x"})
    assert (response.status_code, response.json()["error"]) == (404, "API_NOT_FOUND")


def test_the_request_log_keeps_field_names_but_no_image_bytes(fast):
    request = compare_request()
    adapter_for(fast).compare(request)
    logged = fast.requests()[-1]
    assert logged["path"] == "/finauth/v5/compare"
    assert logged["fields"]["biz_no"] == "attempt-42"
    assert logged["fields"]["uuid"] == "u-abc"
    assert logged["fields"]["image"].startswith("<file image/jpeg")
    assert base64.b64encode(request.selfie.data).decode()[:40] not in json.dumps(logged)
