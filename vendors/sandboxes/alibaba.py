"""Alibaba Cloud's side of cloudauth-intl 2022-08-09 FaceCompare (VENDOR-PROTOCOLS.md §4).

One RPC-style endpoint, `POST /` (GET is accepted too, as the POP gateway does for RPC APIs),
checked in the gateway's order:

1. Authentication, in either scheme the official SDK speaks (§4.6):
   * `ACS3-HMAC-SHA256` (§4.2): the canonical request is rebuilt from the `SignedHeaders` list in
     `Authorization` (the SDK signs `user-agent` and `x-acs-credentials-provider` too), with the
     SHA-256 of the body bytes as received; `host`, every `x-acs-*` header sent and
     `content-type` (when there is a body) must be among the signed headers.
   * the legacy RPC `HMAC-SHA1` `Signature` query parameter (§4.3, SDK `signature_algorithm="v2"`)
     over the union of query and form parameters.
   Refusals use the POP gateway codes of the §4.5 A5 rows: `IncompleteSignature` (400, no or a
   garbled signature, a required header left unsigned), `InvalidAccessKeyId.NotFound` (404),
   `InvalidTimeStamp.Format` (400), `InvalidTimeStamp.Expired` (400, more than 15 min from
   `self.clock`, either way), `SignatureDoesNotMatch` (400) and `SignatureNonceUsed` (400, a nonce
   seen in the last 15 min for the same key; only validly signed requests spend a nonce).
2. The API: `x-acs-action`/`x-acs-version` (V3) or `Action`/`Version` (RPC) must be
   `FaceCompare`/`2022-08-09`, else `InvalidApi.NotFound` (404).
3. The request fields (§4.4): `MerchantBizId` required, at most 32 letters and digits
   (`MissingParameter` / `InvalidParameter`, 400); each picture as base64 or as URL
   (`MissingParameter` if neither, `DataDuplication` 401 if both). A URL is never fetched (no test
   leaves loopback): URL mode answers `DownloadTimeout` (401).
4. The image limits (§4.5, vendor page): base64 at most 1 MB (`ToolargeImage`, 401); broken base64
   is `InvalidParameter`; anything but a readable JPEG/PNG between 640x480 and 1920x1080 is
   `UnqualifiedPhoto` (401). The page writes the bounds as "height x width" but also accepts
   landscape photos ("detection accuracy may be reduced"), so the sandbox checks them either way
   round: long side 640..1920, short side 480..1080 [I].
5. Scoring with `analyze_pair` (the local engine, or image hashes with config engine=false);
   `NoFaceDetected` (401) when a side has no face. The page documents the source-image message;
   the target-image wording is ours [I].

Success is HTTP 200 with the body the SDK's `FaceCompareResponseBody` parses (§4.5):
`{"RequestId", "Code": "Success", "Message": "success", "Result": {"TransactionId",
"Passed": "Y"|"N", "FaceComparisonScore": "52.57"}}`, the score a string as on the vendor page.
Errors are `{"RequestId", "HostId", "Code", "Message", "Recommend"}` with the documented HTTP
status. `Passed` is `Y` at or above config `pass_threshold` (default 70; Alibaba's own threshold
is unpublished [I]).

Script entries (see vendors/sandboxes/base.py for the shared keys):
    "error": "<Code>"           any code of the §4.5 table, rendered with its documented HTTP status
                                and message after authentication; an undocumented code is
                                rendered with "status" (default 400) and a generic message
    "status": 400               with an undocumented "error", its HTTP status
    "score": 62.5               the FaceComparisonScore to answer (the images are not analysed)
    "same_person": false        force Passed (N), whatever the score
    "score_as_number": true     send FaceComparisonScore as a JSON number (the SDK model's float)
    "success_code": "200"       send Code "200" instead of "Success" (the SDK docstring's form)
    "fault": "bad_signature"    refuse the request's signature (Alibaba signs no responses)
    "risk_tags"                 ignored: FaceCompare reports none
Config keys: {"pass_threshold": 80} and the shared {"engine": false}.

`rate_limited` answers 403 `Throttling.Api` (§4.5) and `server_error` 500 `InternalError` (503
`ServiceUnavailable`, the POP gateway's common code [I]).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import io
import re
import secrets
import string
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

from PIL import Image, UnidentifiedImageError
from werkzeug.wrappers import Request, Response

from vendors.alibaba.auth import (
    ACS3_ALGORITHM,
    RPC_SIGNATURE_METHOD,
    RPC_SIGNATURE_VERSION,
    acs3_signature,
    acs3_string_to_sign,
    canonical_request,
    parse_authorization,
    rpc_signature,
    sha256_hex,
    signatures_match,
)
from vendors.sandboxes.base import SandboxApp, json_response
from vendors.sandboxes.scoring import analyze_pair

# The vendor's side keeps its own copy of the protocol facts (only the signing primitives are
# shared, and those are pinned to the published vector and to the official SDK by the tests).
ACTION = "FaceCompare"
VERSION = "2022-08-09"
PATH = "/"
REGION = "ap-southeast-1"
HOST_ID = f"cloudauth-intl.{REGION}.aliyuncs.com"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MAX_SKEW_SECONDS = 15 * 60  # x-acs-date "must be within 15 min of server time" (§4.2)
NONCE_WINDOW_SECONDS = 15 * 60
MAX_PICTURE_CHARS = 1024 * 1024  # "The maximum size is 1 MB", base64 included (§4.5)
LONG_SIDE = (640, 1920)
SHORT_SIDE = (480, 1080)
FORMATS = frozenset({"JPEG", "PNG"})
MERCHANT_BIZ_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
DEFAULT_PASS_THRESHOLD = 70.0

#: Code -> (HTTP status, message): the vendor page's table (S4) and the POP gateway's (A5).
DOCUMENTED_ERRORS: dict[str, tuple[int, str]] = {
    "MissingParameter": (400, "A required parameter is missing."),
    "InvalidParameter": (400, "An invalid parameter was specified."),
    "NoFaceDetected": (
        401,
        "Failed to extract facial features from the source image. Use a different image.",
    ),
    "UnqualifiedPhoto": (
        401,
        "The image is unreadable or does not meet resolution requirements. Use a clear, properly "
        "exposed, complete, and unobscured image with no significant head tilt.",
    ),
    "ToolargeImage": (
        401,
        "The image is too large. Compress the image or provide it by using a URL.",
    ),
    "DataDuplication": (
        401,
        "Both a base64 string and a URL were provided for the same image. Provide either the "
        "image content or its URL, but not both.",
    ),
    "DownloadTimeout": (401, "The image download from the URL timed out."),
    "Forbidden.RAMUserAccessDenied": (
        403,
        "The RAM user is not authorized to perform this operation. You must grant the "
        "AliyunAntCloudAuthFullAccess permission to the RAM user.",
    ),
    "Forbidden.AccountAccessDenied": (
        403,
        "Ensure that you have activated ID Verification and that your account has no overdue "
        "payments.",
    ),
    "Throttling.Api": (403, "The API call was rejected due to throttling."),
    "InternalError": (
        500,
        "An internal error occurred. Contact technical support for assistance.",
    ),
    "SignatureDoesNotMatch": (400, "Specified signature does not match our calculation."),
    "IncompleteSignature": (400, "The request signature does not conform to Aliyun standards."),
    "InvalidTimeStamp.Format": (400, "Specified time stamp or date value is not well formatted."),
    "InvalidTimeStamp.Expired": (400, "Specified time stamp or date value is expired."),
    "SignatureNonceUsed": (400, "Specified signature nonce was used already."),
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "InvalidAccessKeyId.Inactive": (400, "Specified access key is disabled."),
    "Throttling.User": (400, "Request was denied due to user flow control."),
    "InvalidApi.NotFound": (404, "Specified api is not found, please check your url and method."),
    "ServiceUnavailable": (
        503,
        "The request has failed due to a temporary failure of the server.",
    ),
}
TARGET_NO_FACE_MESSAGE = (
    "Failed to extract facial features from the target image. Use a different image."
)

_ALPHANUMERIC = string.ascii_letters + string.digits


class _Refusal(Exception):
    """A documented error answer, raised from deep inside the checks."""

    def __init__(self, code: str, detail: str = "", message: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.message = message


class AlibabaSandbox(SandboxApp):
    vendor = "alibaba"

    def __init__(self, credentials: dict[str, str], *, clock: Callable[[], float] = time.time):
        super().__init__(credentials, clock=clock)
        self._nonces: dict[tuple[str, str], float] = {}
        self._nonce_lock = threading.Lock()

    # --- credentials --------------------------------------------------------------------

    @classmethod
    def generate_credentials(cls) -> dict[str, str]:
        # Shaped like real keys: "LTAI" + 20 characters, a 30-character secret.
        return {
            "access_key_id": "LTAI" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(20)),
            "access_key_secret": "".join(secrets.choice(_ALPHANUMERIC) for _ in range(30)),
        }

    def client_settings(self, base_url: str) -> dict[str, str]:
        return {
            "ALIBABA_BASE_URL": base_url,
            "ALIBABA_ACCESS_KEY_ID": self.credentials["access_key_id"],
            "ALIBABA_ACCESS_KEY_SECRET": self.credentials["access_key_secret"],
            "ALIBABA_REGION": REGION,
        }

    def _secret_for(self, access_key_id: str) -> str:
        if access_key_id and access_key_id == self.credentials["access_key_id"]:
            return self.credentials["access_key_secret"]
        raise _Refusal("InvalidAccessKeyId.NotFound")

    # --- the vendor call ----------------------------------------------------------------

    def describe_request(self, request: Request) -> dict[str, Any]:
        scheme = "RPC-HMAC-SHA1" if "Signature" in request.args else ACS3_ALGORITHM
        return {"signature_scheme": scheme}

    def handle(self, request: Request, entry: dict[str, Any]) -> Response:
        try:
            if request.path != PATH or request.method not in {"POST", "GET"}:
                raise _Refusal("InvalidApi.NotFound")
            if entry.get("fault") == "bad_signature":
                raise _Refusal("SignatureDoesNotMatch")
            params = self._authenticate(request)
            if (params["action"], params["version"]) != (ACTION, VERSION):
                raise _Refusal("InvalidApi.NotFound")
            if entry.get("error"):
                return self._scripted_error(request, entry)
            return self._face_compare(request, entry)
        except _Refusal as refusal:
            return self.error_response(
                refusal.code, request=request, detail=refusal.detail, message=refusal.message
            )

    # --- authentication (§4.2, §4.3) ----------------------------------------------------

    def _authenticate(self, request: Request) -> dict[str, str]:
        if request.headers.get("Authorization"):
            return self._authenticate_acs3(request)
        if "Signature" in request.args:
            return self._authenticate_rpc(request)
        raise _Refusal("IncompleteSignature")

    def _authenticate_acs3(self, request: Request) -> dict[str, str]:
        parsed = parse_authorization(request.headers["Authorization"])
        if parsed is None or parsed.algorithm != ACS3_ALGORITHM:
            raise _Refusal("IncompleteSignature")
        signed = set(parsed.signed_headers)
        sent = {name.lower() for name, _ in request.headers.items()}
        must_sign = {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce"}
        must_sign |= {name for name in sent if name.startswith("x-acs-")}
        body = request.get_data(cache=True)
        if body:
            must_sign.add("content-type")
        if not must_sign <= signed or not signed <= sent:
            raise _Refusal("IncompleteSignature")
        secret = self._secret_for(parsed.access_key_id)
        self._check_date(request.headers.get("x-acs-date", ""))
        headers = {name: request.headers.get(name, "") for name in parsed.signed_headers}
        canonical = canonical_request(
            request.method, request.path, request.args.to_dict(), headers, sha256_hex(body)
        )
        expected = acs3_signature(secret, acs3_string_to_sign(canonical))
        if not signatures_match(expected, parsed.signature):
            raise _Refusal("SignatureDoesNotMatch")
        self._spend_nonce(parsed.access_key_id, request.headers.get("x-acs-signature-nonce", ""))
        return {
            "action": request.headers.get("x-acs-action", ""),
            "version": request.headers.get("x-acs-version", ""),
        }

    def _authenticate_rpc(self, request: Request) -> dict[str, str]:
        query = request.args.to_dict()
        required = ("AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce")
        if any(not query.get(name) for name in required):
            raise _Refusal("IncompleteSignature")
        if (query["SignatureMethod"], query["SignatureVersion"]) != (
            RPC_SIGNATURE_METHOD,
            RPC_SIGNATURE_VERSION,
        ):
            raise _Refusal("IncompleteSignature")
        secret = self._secret_for(query["AccessKeyId"])
        self._check_date(query.get("Timestamp", ""))
        # §4.3 step 2: the union of query and body parameters, Signature excluded.
        signed_params = {**request.form.to_dict(), **query}
        expected = rpc_signature(signed_params, request.method, secret)
        if not signatures_match(expected, query["Signature"]):
            raise _Refusal("SignatureDoesNotMatch")
        self._spend_nonce(query["AccessKeyId"], query["SignatureNonce"])
        return {"action": query.get("Action", ""), "version": query.get("Version", "")}

    def _check_date(self, value: str) -> None:
        try:
            when = calendar.timegm(time.strptime(value, TIMESTAMP_FORMAT))
        except ValueError:
            raise _Refusal("InvalidTimeStamp.Format") from None
        if abs(self.clock() - when) > MAX_SKEW_SECONDS:
            raise _Refusal("InvalidTimeStamp.Expired")

    def _spend_nonce(self, access_key_id: str, nonce: str) -> None:
        if not nonce:
            raise _Refusal("IncompleteSignature")
        now = self.clock()
        with self._nonce_lock:
            for key, seen in list(self._nonces.items()):
                if now - seen > NONCE_WINDOW_SECONDS:
                    del self._nonces[key]
            if (access_key_id, nonce) in self._nonces:
                raise _Refusal("SignatureNonceUsed")
            self._nonces[(access_key_id, nonce)] = now

    def on_reset(self) -> None:
        with self._nonce_lock:
            self._nonces.clear()

    # --- FaceCompare (§4.4, §4.5) -------------------------------------------------------

    def _face_compare(self, request: Request, entry: dict[str, Any]) -> Response:
        params = {**request.args.to_dict(), **request.form.to_dict()}
        biz_id = params.get("MerchantBizId", "")
        if not biz_id:
            raise _Refusal("MissingParameter", "MerchantBizId")
        if not MERCHANT_BIZ_ID.match(biz_id):
            raise _Refusal("InvalidParameter", "MerchantBizId")
        source = self._picture(params, "SourceFacePicture")
        target = self._picture(params, "TargetFacePicture")

        score = entry.get("score")
        if score is None:
            try:
                analysis = analyze_pair(source, target, use_engine=self.use_engine())
            except (ValueError, OSError):
                raise _Refusal("UnqualifiedPhoto") from None
            if analysis.first.largest is None:
                raise _Refusal("NoFaceDetected")
            if analysis.second.largest is None or analysis.similarity is None:
                raise _Refusal("NoFaceDetected", message=TARGET_NO_FACE_MESSAGE)
            score = analysis.similarity
        score = float(score)
        threshold = float(self.config.get("pass_threshold", DEFAULT_PASS_THRESHOLD))
        passed = bool(entry["same_person"]) if "same_person" in entry else score >= threshold
        request_id = _request_id()
        body = {
            "RequestId": request_id,
            "Code": str(entry.get("success_code", "Success")),
            "Message": "success",
            "Result": {
                "TransactionId": uuid.uuid4().hex,
                "Passed": "Y" if passed else "N",
                "FaceComparisonScore": score if entry.get("score_as_number") else f"{score:.2f}",
            },
        }
        return json_response(body, 200, headers={"x-acs-request-id": request_id})

    def _picture(self, params: dict[str, str], name: str) -> bytes:
        encoded, url = params.get(name, ""), params.get(f"{name}Url", "")
        if encoded and url:
            raise _Refusal("DataDuplication", name)
        if url:
            raise _Refusal("DownloadTimeout", f"{name}Url")
        if not encoded:
            raise _Refusal("MissingParameter", name)
        if len(encoded) > MAX_PICTURE_CHARS:
            raise _Refusal("ToolargeImage", name)
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _Refusal("InvalidParameter", name) from None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as image:
                    image_format, (width, height) = image.format, image.size
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
            raise _Refusal("UnqualifiedPhoto", name) from None
        long_side, short_side = max(width, height), min(width, height)
        if (
            image_format not in FORMATS
            or not LONG_SIDE[0] <= long_side <= LONG_SIDE[1]
            or not SHORT_SIDE[0] <= short_side <= SHORT_SIDE[1]
        ):
            raise _Refusal("UnqualifiedPhoto", name)
        return data

    # --- answers ------------------------------------------------------------------------

    def _scripted_error(self, request: Request, entry: dict[str, Any]) -> Response:
        code = str(entry["error"])
        status = int(entry.get("status", 400)) if code not in DOCUMENTED_ERRORS else None
        return self.error_response(code, request=request, status=status)

    def error_response(
        self,
        code: str,
        *,
        request: Request | None = None,
        status: int | None = None,
        detail: str = "",
        message: str = "",
        headers: dict[str, str] | None = None,
    ) -> Response:
        documented_status, documented_message = DOCUMENTED_ERRORS.get(
            code, (400, "The request could not be processed.")
        )
        text = message or documented_message
        if detail:
            text = f"{text} ({detail})"
        request_id = _request_id()
        body = {
            "RequestId": request_id,
            "HostId": request.host if request is not None else HOST_ID,
            "Code": code,
            "Message": text,
            "Recommend": f"https://api.alibabacloud.com/troubleshoot?q={code}&product=Cloudauth-intl",
        }
        return json_response(
            body,
            status or documented_status,
            headers={"x-acs-request-id": request_id, **(headers or {})},
        )

    def server_error(self, status: int) -> Response:
        code = "ServiceUnavailable" if status == 503 else "InternalError"
        return self.error_response(code, status=status)

    def rate_limited(self, retry_after: float) -> Response:
        # Alibaba documents no delay for Throttling.Api (§4.5); the Retry-After header is our
        # addition so the shared contract can check that a delay is honoured. It is not
        # x-acs-retry-after, which would make the official SDK raise ThrottlingException where
        # the real service (as far as documented) makes it raise ClientException (§4.6).
        return self.error_response(
            "Throttling.Api", headers={"Retry-After": str(max(0, round(retry_after)))}
        )


def _request_id() -> str:
    return str(uuid.uuid4()).upper()
