"""The Alibaba sandbox plays the vendor's side faithfully, over real HTTP on loopback.

Requests are signed by hand here (VENDOR-PROTOCOLS.md §4.2, §4.3) so each check of the POP
gateway and of FaceCompare (§4.4, §4.5) can be provoked one at a time. Expiry tests run a
sandbox of their own with a clock the test moves.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from PIL import Image

from kyc.images import prepare_for_backend
from tests.conftest import face_bytes
from tests.sandboxes import SandboxHandle
from vendors.alibaba.auth import (
    Acs3Signer,
    Credentials,
    acs3_authorization,
    canonical_query_string,
    new_nonce,
    rpc_signature,
    timestamp,
)
from vendors.sandboxes.alibaba import AlibabaSandbox
from vendors.sandboxes.base import RunningSandbox

BIZ_ID = "0b6f3c1e5f0a4c8e9d557d1f1f0c2a11"
ERROR_KEYS = {"RequestId", "HostId", "Code", "Message", "Recommend"}


@pytest.fixture(scope="module")
def pictures() -> dict[str, str]:
    """Base64 pictures within Alibaba's limits, prepared the way the application prepares them."""

    def b64(name: str) -> str:
        return base64.b64encode(prepare_for_backend(face_bytes(name), "alibaba").data).decode()

    return {
        "selfie": b64("df_img1.jpg"),
        "reference": b64("df_img2.jpg"),
        "no_face": b64("bad/no_face_landscape.jpg"),
    }


def encoded_image(width: int, height: int, fmt: str = "JPEG") -> str:
    buffer = io.BytesIO()
    # 8-bit grey keeps an uncompressed BMP under the 1 MB base64 limit, so only its format counts.
    mode, colour = ("L", 150) if fmt == "BMP" else ("RGB", (180, 150, 120))
    Image.new(mode, (width, height), colour).save(buffer, format=fmt)
    return base64.b64encode(buffer.getvalue()).decode()


#: Small valid pictures for calls whose faces do not matter (scripted scores, refusals).
PLAIN_A = encoded_image(640, 480)
PLAIN_B = encoded_image(480, 640)


class Caller:
    """Signs and sends FaceCompare calls to one sandbox, as a client library would."""

    def __init__(self, url: str, access_key_id: str, secret: str, clock: Any = None) -> None:
        self.url = url
        self.credentials = Credentials(access_key_id, secret)
        self.clock = clock

    def now(self) -> float:
        import time

        return self.clock() if self.clock else time.time()

    def form(self, **fields: str) -> bytes:
        return urlencode(sorted(fields.items())).encode()

    def acs3(
        self,
        body: bytes,
        *,
        query: dict[str, str] | None = None,
        date: str | None = None,
        nonce: str | None = None,
        action: str = "FaceCompare",
        secret: str | None = None,
        access_key_id: str | None = None,
        send_body: bytes | None = None,
        mutate: Any = None,
    ) -> httpx.Response:
        query = {"MerchantBizId": BIZ_ID} if query is None else query
        credentials = Credentials(
            access_key_id or self.credentials.access_key_id,
            secret or self.credentials.access_key_secret,
        )
        signed = Acs3Signer(credentials).sign(
            host=urlsplit(self.url).netloc,
            action=action,
            version="2022-08-09",
            query=query,
            body=body,
            content_type="application/x-www-form-urlencoded",
            date=date or timestamp(self.now()),
            nonce=nonce or new_nonce(),
        )
        headers = dict(signed.headers)
        if mutate:
            mutate(headers)
        return httpx.post(
            f"{self.url}/?{signed.query_string}",
            content=body if send_body is None else send_body,
            headers=headers,
        )

    def rpc(
        self,
        form: dict[str, str],
        *,
        query: dict[str, str] | None = None,
        timestamp_value: str | None = None,
        nonce: str | None = None,
        tamper: bool = False,
    ) -> httpx.Response:
        params = {
            "Action": "FaceCompare",
            "Format": "json",
            "Version": "2022-08-09",
            "Timestamp": timestamp_value or timestamp(self.now()),
            "SignatureNonce": nonce or new_nonce(),
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "AccessKeyId": self.credentials.access_key_id,
            **({"MerchantBizId": BIZ_ID} if query is None else query),
        }
        signature = rpc_signature({**params, **form}, "POST", self.credentials.access_key_secret)
        if tamper:
            signature = ("A" if signature[0] != "A" else "B") + signature[1:]
        params["Signature"] = signature
        return httpx.post(
            f"{self.url}/?{canonical_query_string(params)}",
            content=self.form(**form),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )


@pytest.fixture
def sandbox(sandboxes: dict[str, SandboxHandle]) -> SandboxHandle:
    return sandboxes["alibaba"]


@pytest.fixture
def caller(sandbox: SandboxHandle) -> Caller:
    settings = sandbox.settings
    return Caller(
        settings["ALIBABA_BASE_URL"],
        settings["ALIBABA_ACCESS_KEY_ID"],
        settings["ALIBABA_ACCESS_KEY_SECRET"],
    )


class MovableClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clocked() -> Iterator[tuple[Caller, MovableClock, AlibabaSandbox]]:
    """A sandbox of our own whose clock the test sets (1 Jan 2027 00:00 UTC to start)."""
    clock = MovableClock(1798761600.0)
    app = AlibabaSandbox(AlibabaSandbox.generate_credentials(), clock=clock)
    running = RunningSandbox(app).start()
    settings = app.client_settings(running.url)
    caller = Caller(
        running.url, settings["ALIBABA_ACCESS_KEY_ID"], settings["ALIBABA_ACCESS_KEY_SECRET"], clock
    )
    try:
        yield caller, clock, app
    finally:
        running.stop()


def assert_refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    body = response.json()
    assert (response.status_code, body["Code"]) == (status, code), body
    assert set(body) == ERROR_KEYS
    assert body["RequestId"]
    return body


# --- the documented success body ---------------------------------------------------------------


def test_a_correctly_signed_call_gets_the_documented_success_body(sandbox, caller, pictures):
    sandbox.script({"score": 62.5})
    response = caller.acs3(caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"RequestId", "Code", "Message", "Result"}
    assert (body["Code"], body["Message"]) == ("Success", "success")
    assert set(body["Result"]) == {"TransactionId", "Passed", "FaceComparisonScore"}
    # A string on the vendor page (§4.5); below the pass threshold, so not passed.
    assert body["Result"]["FaceComparisonScore"] == "62.50"
    assert body["Result"]["Passed"] == "N"
    assert len(body["Result"]["TransactionId"]) == 32
    assert response.headers["x-acs-request-id"] == body["RequestId"]


def test_the_same_person_is_passed_by_the_local_engine(sandbox, caller, pictures):
    response = caller.acs3(
        caller.form(SourceFacePicture=pictures["selfie"], TargetFacePicture=pictures["reference"])
    )
    result = response.json()["Result"]
    assert result["Passed"] == "Y"
    assert float(result["FaceComparisonScore"]) >= 70


def test_the_request_log_keeps_no_picture(sandbox, caller, pictures):
    sandbox.script({"score": 50})
    caller.acs3(caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B))
    logged = sandbox.requests()[-1]
    assert logged["fields"] == {
        "SourceFacePicture": f"<{len(PLAIN_A)} chars>",
        "TargetFacePicture": f"<{len(PLAIN_B)} chars>",
    }
    assert logged["query"] == {"MerchantBizId": BIZ_ID}
    assert logged["signature_scheme"] == "ACS3-HMAC-SHA256"
    assert PLAIN_A[:64] not in json.dumps(logged)


def test_the_client_settings_are_the_four_design_variables(sandbox):
    assert set(sandbox.settings) == {
        "ALIBABA_BASE_URL",
        "ALIBABA_ACCESS_KEY_ID",
        "ALIBABA_ACCESS_KEY_SECRET",
        "ALIBABA_REGION",
    }
    assert sandbox.settings["ALIBABA_BASE_URL"] == sandbox.url
    assert sandbox.settings["ALIBABA_REGION"] == "ap-southeast-1"


# --- ACS3-HMAC-SHA256 refusals (§4.5, A5 rows) -------------------------------------------------


def test_a_tampered_signature_is_refused_as_signature_does_not_match(caller, pictures):
    def flip_last_hex_digit(headers: dict[str, str]) -> None:
        auth = headers["authorization"]
        headers["authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")

    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    assert_refused(caller.acs3(body, mutate=flip_last_hex_digit), 400, "SignatureDoesNotMatch")


def test_a_wrong_secret_is_refused_as_signature_does_not_match(caller, pictures):
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    assert_refused(caller.acs3(body, secret="not-the-secret"), 400, "SignatureDoesNotMatch")


def test_a_body_changed_after_signing_is_refused(caller, pictures):
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    swapped = caller.form(SourceFacePicture=PLAIN_B, TargetFacePicture=PLAIN_A)
    assert_refused(caller.acs3(body, send_body=swapped), 400, "SignatureDoesNotMatch")


def test_a_query_changed_after_signing_is_refused(sandbox, caller, pictures):
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    signed = Acs3Signer(caller.credentials).sign(
        host=urlsplit(caller.url).netloc,
        action="FaceCompare",
        version="2022-08-09",
        query={"MerchantBizId": BIZ_ID},
        body=body,
        content_type="application/x-www-form-urlencoded",
        date=timestamp(caller.now()),
        nonce=new_nonce(),
    )
    response = httpx.post(
        f"{caller.url}/?MerchantBizId=someoneelse", content=body, headers=signed.headers
    )
    assert_refused(response, 400, "SignatureDoesNotMatch")


def test_an_unknown_access_key_is_refused_as_not_found(caller, pictures):
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    response = caller.acs3(body, access_key_id="LTAI5tUnknownKeyUnknownK")
    assert_refused(response, 404, "InvalidAccessKeyId.NotFound")


def test_a_reused_nonce_is_refused(sandbox, caller, pictures):
    sandbox.script({"score": 80, "repeat": 2})
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    nonce = new_nonce()
    assert caller.acs3(body, nonce=nonce).status_code == 200
    assert_refused(caller.acs3(body, nonce=nonce), 400, "SignatureNonceUsed")


def test_a_refused_signature_does_not_spend_its_nonce(sandbox, caller, pictures):
    sandbox.script({"score": 80, "repeat": 2})  # every call, refused or not, uses an entry
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    nonce = new_nonce()
    assert_refused(caller.acs3(body, nonce=nonce, secret="wrong"), 400, "SignatureDoesNotMatch")
    assert caller.acs3(body, nonce=nonce).status_code == 200


def test_a_malformed_date_is_refused_as_invalid_timestamp_format(caller, pictures):
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    response = caller.acs3(body, date="Thu, 01 Jan 2027 00:00:00 GMT")
    assert_refused(response, 400, "InvalidTimeStamp.Format")


def test_leaving_content_type_unsigned_is_an_incomplete_signature(caller, pictures):
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)

    def unsign_content_type(headers: dict[str, str]) -> None:
        signed = {k: v for k, v in headers.items() if k not in {"authorization", "content-type"}}
        headers["authorization"] = acs3_authorization(
            caller.credentials,
            method="POST",
            path="/",
            query={"MerchantBizId": BIZ_ID},
            headers=signed,
            body=body,
        )

    assert_refused(caller.acs3(body, mutate=unsign_content_type), 400, "IncompleteSignature")


def test_a_call_without_any_signature_is_an_incomplete_signature(caller, pictures):
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    response = httpx.post(
        f"{caller.url}/?MerchantBizId={BIZ_ID}",
        content=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-acs-action": "FaceCompare",
        },
    )
    assert_refused(response, 400, "IncompleteSignature")


def test_another_action_is_an_unknown_api(caller, pictures):
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    assert_refused(caller.acs3(body, action="DescribeRegions"), 404, "InvalidApi.NotFound")


# --- the date window, on a sandbox with a movable clock ---------------------------------------


def test_a_date_16_minutes_old_is_refused_as_expired(clocked, pictures):
    caller, clock, _ = clocked
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    response = caller.acs3(body, date=timestamp(clock.now - 16 * 60))
    assert_refused(response, 400, "InvalidTimeStamp.Expired")


def test_a_date_16_minutes_ahead_is_refused_as_expired(clocked, pictures):
    caller, clock, _ = clocked
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    response = caller.acs3(body, date=timestamp(clock.now + 16 * 60))
    assert_refused(response, 400, "InvalidTimeStamp.Expired")


def test_a_date_14_minutes_old_is_still_accepted(clocked, pictures):
    caller, clock, app = clocked
    app.push({"score": 75})
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    response = caller.acs3(body, date=timestamp(clock.now - 14 * 60))
    assert response.status_code == 200
    assert response.json()["Result"]["Passed"] == "Y"


def test_a_nonce_may_come_back_once_the_15_minute_window_has_passed(clocked, pictures):
    caller, clock, app = clocked
    app.push({"score": 75, "repeat": 3})
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    nonce = new_nonce()
    assert caller.acs3(body, nonce=nonce).status_code == 200
    clock.now += 10 * 60
    assert_refused(caller.acs3(body, nonce=nonce), 400, "SignatureNonceUsed")
    clock.now += 6 * 60
    assert caller.acs3(body, nonce=nonce).status_code == 200


# --- the legacy RPC HMAC-SHA1 signature (§4.3) -------------------------------------------------


def test_a_correct_rpc_signature_is_accepted(sandbox, caller, pictures):
    sandbox.script({"score": 88})
    response = caller.rpc({"SourceFacePicture": PLAIN_A, "TargetFacePicture": PLAIN_B})
    assert response.status_code == 200
    assert response.json()["Result"]["FaceComparisonScore"] == "88.00"
    assert sandbox.requests()[-1]["signature_scheme"] == "RPC-HMAC-SHA1"


def test_a_tampered_rpc_signature_is_refused(caller, pictures):
    form = {"SourceFacePicture": PLAIN_A, "TargetFacePicture": PLAIN_B}
    assert_refused(caller.rpc(form, tamper=True), 400, "SignatureDoesNotMatch")


def test_a_reused_rpc_nonce_is_refused(sandbox, caller, pictures):
    sandbox.script({"score": 88})
    form = {"SourceFacePicture": PLAIN_A, "TargetFacePicture": PLAIN_B}
    nonce = new_nonce()
    assert caller.rpc(form, nonce=nonce).status_code == 200
    assert_refused(caller.rpc(form, nonce=nonce), 400, "SignatureNonceUsed")


def test_a_stale_rpc_timestamp_is_refused_as_expired(clocked, pictures):
    caller, clock, _ = clocked
    form = {"SourceFacePicture": PLAIN_A, "TargetFacePicture": PLAIN_B}
    response = caller.rpc(form, timestamp_value=timestamp(clock.now - 20 * 60))
    assert_refused(response, 400, "InvalidTimeStamp.Expired")


# --- request fields and image limits (§4.4, §4.5) ----------------------------------------------


def test_a_missing_merchant_biz_id_is_a_missing_parameter(caller, pictures):
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    body_json = assert_refused(caller.acs3(body, query={}), 400, "MissingParameter")
    assert "MerchantBizId" in body_json["Message"]


def test_a_merchant_biz_id_with_a_dash_is_an_invalid_parameter(caller, pictures):
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    response = caller.acs3(body, query={"MerchantBizId": "0b6f3c1e-5f0a-4c8e-9d55-7d1f1f0c2a11"})
    assert_refused(response, 400, "InvalidParameter")


def test_a_missing_target_picture_is_a_missing_parameter(caller, pictures):
    body_json = assert_refused(
        caller.acs3(caller.form(SourceFacePicture=PLAIN_A)), 400, "MissingParameter"
    )
    assert "TargetFacePicture" in body_json["Message"]


def test_a_picture_sent_both_as_base64_and_as_url_is_data_duplication(caller, pictures):
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    query = {"MerchantBizId": BIZ_ID, "TargetFacePictureUrl": "https://example.invalid/face.jpg"}
    assert_refused(caller.acs3(body, query=query), 401, "DataDuplication")


def test_a_picture_url_is_never_fetched_and_times_out(caller, pictures):
    body = caller.form(SourceFacePicture=PLAIN_A)
    query = {"MerchantBizId": BIZ_ID, "TargetFacePictureUrl": "https://example.invalid/face.jpg"}
    assert_refused(caller.acs3(body, query=query), 401, "DownloadTimeout")


def test_broken_base64_is_an_invalid_parameter(caller, pictures):
    body = caller.form(SourceFacePicture="not*base64!", TargetFacePicture=PLAIN_B)
    assert_refused(caller.acs3(body), 400, "InvalidParameter")


def test_a_picture_over_one_megabyte_of_base64_is_too_large(caller, pictures):
    oversized = base64.b64encode(b"\xff\xd8" + b"\x00" * 800_000).decode()
    assert len(oversized) > 1024 * 1024
    body = caller.form(SourceFacePicture=oversized, TargetFacePicture=PLAIN_B)
    assert_refused(caller.acs3(body), 401, "ToolargeImage")


@pytest.mark.parametrize(
    ("width", "height", "fmt"),
    [
        (320, 240, "JPEG"),  # below 640x480
        (600, 460, "JPEG"),  # long side under 640
        (2000, 1000, "JPEG"),  # long side over 1920
        (1280, 1280, "JPEG"),  # short side over 1080
        (800, 600, "BMP"),  # neither JPG nor PNG
        (800, 600, "GIF"),
    ],
)
def test_a_picture_outside_the_documented_format_or_resolution_is_unqualified(
    sandbox, caller, pictures, width, height, fmt
):
    sandbox.script({"score": 80})
    body = caller.form(
        SourceFacePicture=encoded_image(width, height, fmt), TargetFacePicture=PLAIN_B
    )
    assert_refused(caller.acs3(body), 401, "UnqualifiedPhoto")


def test_bytes_that_are_no_image_are_unqualified(caller, pictures):
    body = caller.form(
        SourceFacePicture=base64.b64encode(b"%PDF-1.7 not a photo").decode(),
        TargetFacePicture=PLAIN_B,
    )
    assert_refused(caller.acs3(body), 401, "UnqualifiedPhoto")


@pytest.mark.parametrize(
    ("width", "height", "fmt"),
    [(800, 600, "PNG"), (1280, 960, "JPEG"), (1080, 1920, "JPEG"), (480, 640, "JPEG")],
)
def test_pictures_within_the_limits_either_way_round_are_accepted(
    sandbox, caller, width, height, fmt
):
    sandbox.script({"score": 40})
    picture = encoded_image(width, height, fmt)
    response = caller.acs3(caller.form(SourceFacePicture=picture, TargetFacePicture=picture))
    assert response.status_code == 200, response.json()


def test_a_selfie_without_a_face_is_no_face_detected_in_the_source_image(caller, pictures):
    body = caller.form(
        SourceFacePicture=pictures["no_face"], TargetFacePicture=pictures["reference"]
    )
    body_json = assert_refused(caller.acs3(body), 401, "NoFaceDetected")
    assert "source image" in body_json["Message"]


def test_a_reference_without_a_face_is_no_face_detected_in_the_target_image(caller, pictures):
    body = caller.form(SourceFacePicture=pictures["selfie"], TargetFacePicture=pictures["no_face"])
    body_json = assert_refused(caller.acs3(body), 401, "NoFaceDetected")
    assert "target image" in body_json["Message"]


# --- scripted answers and faults ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("Forbidden.AccountAccessDenied", 403),
        ("Forbidden.RAMUserAccessDenied", 403),
        ("InternalError", 500),
        ("UnqualifiedPhoto", 401),
        ("Throttling.User", 400),
        ("InvalidAccessKeyId.Inactive", 400),
    ],
)
def test_a_scripted_error_comes_with_its_documented_status(sandbox, caller, pictures, code, status):
    sandbox.script({"error": code})
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    assert_refused(caller.acs3(body), status, code)


def test_a_scripted_error_still_needs_a_valid_signature(sandbox, caller, pictures):
    sandbox.script({"error": "InternalError"})
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    assert_refused(caller.acs3(body, secret="wrong"), 400, "SignatureDoesNotMatch")


def test_code_200_and_a_numeric_score_can_be_scripted(sandbox, caller, pictures):
    sandbox.script({"score": 91.5, "score_as_number": True, "success_code": "200"})
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    answer = caller.acs3(body).json()
    assert answer["Code"] == "200"
    assert answer["Result"]["FaceComparisonScore"] == 91.5


def test_rate_limiting_is_throttling_api_with_a_retry_after_header(sandbox, caller, pictures):
    sandbox.script({"fault": "rate_limit", "retry_after": 7})
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    response = caller.acs3(body)
    assert_refused(response, 403, "Throttling.Api")
    assert response.headers["Retry-After"] == "7"
    assert "x-acs-retry-after" not in response.headers


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [("http_500", 500, "InternalError"), ("http_503", 503, "ServiceUnavailable")],
)
def test_server_errors_have_the_pop_error_body(sandbox, caller, pictures, fault, status, code):
    sandbox.script({"fault": fault})
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    assert_refused(caller.acs3(body), status, code)


def test_a_bad_signature_fault_refuses_a_correct_signature(sandbox, caller, pictures):
    sandbox.script({"fault": "bad_signature"})
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    assert_refused(caller.acs3(body), 400, "SignatureDoesNotMatch")


def test_a_pass_threshold_can_be_configured(sandbox, caller, pictures):
    sandbox.configure(pass_threshold=90)
    sandbox.script({"score": 85})
    body = caller.form(SourceFacePicture=PLAIN_A, TargetFacePicture=PLAIN_B)
    assert caller.acs3(body).json()["Result"]["Passed"] == "N"
