"""ZOLOZ facecompare (`POST /api/v1/zoloz/facecompare/compare`), VENDOR-PROTOCOLS.md §3.

Every request is signed with the merchant's RSA key and every answer must carry ZOLOZ's RSA
signature (§3.3, §3.4): an answer that does not verify is never turned into a result, because
its score could have been written by anyone on the path. The body can also travel encrypted
(RSA_AES, §3.5) when a call passes `options={"encrypt": True}`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
from cryptography.exceptions import UnsupportedAlgorithm

from vendors.base import (
    IMAGE_PROBLEMS,
    BaseVendorAdapter,
    CompareRequest,
    CompareResult,
    ErrorCode,
    ReferenceSource,
    ResultStatus,
    VendorError,
    VendorNotConfigured,
    parse_retry_after,
)
from vendors.zoloz import auth, consts

#: `UNABLE_GET_IMAGE` also means "no face detected" (S3); only the message tells them apart.
#: [I] ZOLOZ does not document the message text, so this matches the usual phrasings and the
#: zh doc's own words; anything else stays INVALID_IMAGE (§3.7: "keep resultMessage").
_NO_FACE_MESSAGE = re.compile(
    r"no\s+face|face\s+(?:is\s+|was\s+)?not\s+(?:be\s+)?(?:detected|found)|未检测到人脸",
    re.IGNORECASE,
)


class ZolozAdapter(BaseVendorAdapter):
    name = "zoloz"
    label = "ZOLOZ"
    required_settings = ("ZOLOZ_CLIENT_ID", "ZOLOZ_MERCHANT_PRIVATE_KEY", "ZOLOZ_PUBLIC_KEY")
    default_base_url = consts.PRODUCTION_BASE_URL

    def __init__(self, settings: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        # Load the keys once: a key that cannot be read is our configuration error, named
        # without its value, and never a vendor error (DESIGN §10).
        try:
            private_key = auth.load_private_key(settings["ZOLOZ_MERCHANT_PRIVATE_KEY"])
        except (ValueError, TypeError, UnsupportedAlgorithm) as error:
            raise VendorNotConfigured(
                "ZOLOZ_MERCHANT_PRIVATE_KEY is not an RSA private key (PEM or base64 DER)."
            ) from error
        try:
            public_key = auth.load_public_key(settings["ZOLOZ_PUBLIC_KEY"])
        except (ValueError, TypeError, UnsupportedAlgorithm) as error:
            raise VendorNotConfigured(
                "ZOLOZ_PUBLIC_KEY is not an RSA public key (PEM or base64 DER)."
            ) from error
        self.signer = auth.ZolozSigner(settings["ZOLOZ_CLIENT_ID"].strip(), private_key, public_key)

    # --- request ---------------------------------------------------------------------------

    def _compare(self, request: CompareRequest) -> CompareResult:
        plain = json.dumps(self.build_body(request), separators=(",", ":"))
        headers: dict[str, str] = {}
        aes_key: bytes | None = None
        if request.options.get("encrypt"):
            bits = int(request.options.get("aes_key_bits", consts.DEFAULT_AES_KEY_BITS))
            aes_key = auth.new_aes_key(bits)
            body, headers["Encrypt"] = self.signer.encrypt_body(plain, aes_key)
            headers["Content-Type"] = consts.ENCRYPTED_CONTENT_TYPE
        else:
            body = plain
            headers["Content-Type"] = consts.JSON_CONTENT_TYPE
        # The signature covers the exact text sent: the ciphertext when encrypted (§3.3.1).
        request_time = auth.format_time(self.clock())
        headers.update(self.signer.request_headers(consts.COMPARE_PATH, body, request_time))
        response = self.http.post(
            self.base_url + consts.COMPARE_PATH, content=body.encode("utf-8"), headers=headers
        )
        return self.parse_response(response, aes_key=aes_key)

    def build_body(self, request: CompareRequest) -> dict[str, Any]:
        """The §3.6 JSON: face1 is the live selfie (S3 says face1 is assumed to be one)."""
        body: dict[str, Any] = {
            "bizId": biz_id(request.reference_id),
            "face1": {"content": base64.b64encode(request.selfie.data).decode("ascii")},
            "face2": {"content": base64.b64encode(request.reference.data).decode("ascii")},
            "sourceOfFace2": source_of_face2(request),
        }
        if request.user_ref:
            body["userId"] = user_id(request.user_ref)
        return body

    # --- response --------------------------------------------------------------------------

    def parse_response(self, response: httpx.Response, *, aes_key: bytes | None) -> CompareResult:
        raw_text = response.content.decode("utf-8", errors="replace")
        signature = response.headers.get("Signature")
        if signature is None:
            if response.is_success:
                raise self._protocol_error(response, "answered without a Signature header")
            # Not ZOLOZ's gateway speaking (a proxy or load balancer): judge by status only,
            # since an unsigned body cannot be trusted to say what happened.
            raise self._unsigned_http_error(response, raw_text)
        response_time = response.headers.get("Response-Time", "")
        if not response_time or not self.signer.verify_response(
            consts.COMPARE_PATH, response_time, raw_text, signature
        ):
            raise self._protocol_error(response, "answered with a signature that does not verify")
        payload = self._decode(response, raw_text, aes_key)
        result = payload.get("result") if isinstance(payload, dict) else None
        if not isinstance(result, dict):
            raise VendorError(
                ErrorCode.VENDOR_ERROR,
                f"{self.label} answered HTTP {response.status_code} without a result object.",
                retryable=True,
                http_status=response.status_code,
                raw_response=payload,
            )
        code = str(result.get("resultCode") or "")
        status = str(result.get("resultStatus") or "")
        message = str(result.get("resultMessage") or "")
        # The seed sample echoes transactionId inside `result` too, with a placeholder (S3).
        transaction_id = str(payload.get("transactionId") or result.get("transactionId") or "")
        if code == consts.SUCCESS and status == consts.STATUS_SUCCESS:
            return self._completed(payload, message, transaction_id, response)
        return self._failed(payload, code, status, message, transaction_id, response)

    def _completed(
        self, payload: dict[str, Any], message: str, transaction_id: str, response: httpx.Response
    ) -> CompareResult:
        score = payload.get("score")
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 100:
            # Charged all the same: ZOLOZ bills on resultCode SUCCESS (§6, Z8).
            raise VendorError(
                ErrorCode.VENDOR_ERROR,
                f"{self.label} reported SUCCESS without a 0–100 score.",
                retryable=False,
                vendor_code=consts.SUCCESS,
                http_status=response.status_code,
                billable=True,
                vendor_request_id=transaction_id,
                raw_response=payload,
            )
        same_person = payload.get("samePerson")
        return CompareResult(
            vendor=self.name,
            status=ResultStatus.COMPLETED,
            score=float(score),  # already 0–100 similarity (§3.7)
            vendor_score=score,
            vendor_code=consts.SUCCESS,
            vendor_message=message,
            vendor_request_id=transaction_id,
            billable=True,
            same_person=same_person if isinstance(same_person, bool) else None,
            # The compare response carries no face rectangles (§3.7), so there is nothing to
            # scale_box(); the reviewer UI shows the photos without boxes.
            selfie_face=None,
            reference_face=None,
            details={"result_status": consts.STATUS_SUCCESS},
            raw_response=payload,
        )

    def _failed(
        self,
        payload: dict[str, Any],
        code: str,
        status: str,
        message: str,
        transaction_id: str,
        response: httpx.Response,
    ) -> CompareResult:
        mapped = consts.ERROR_CODES.get(code)
        if mapped is None:
            # An undocumented code: keep it, and retry only when ZOLOZ itself says the outcome
            # is unknown (`U`, §3.7 "retry or query").
            error_code, retryable, billable = ErrorCode.VENDOR_ERROR, False, False
        else:
            error_code, retryable, billable = mapped
        if status == consts.STATUS_UNKNOWN:
            retryable = True
        billable = billable or code == consts.SUCCESS  # charged on resultCode SUCCESS (Z8)
        details: dict[str, Any] = {"result_status": status}
        if code == consts.UNABLE_GET_IMAGE and _NO_FACE_MESSAGE.search(message):
            error_code = ErrorCode.NO_FACE
            details["which"] = _which_face(message)
        if error_code in IMAGE_PROBLEMS:
            return self.image_problem(
                error_code,
                vendor_code=code,
                message=message,
                request_id=transaction_id,
                billable=billable,
                details=details,
                raw_response=payload,
            )
        raise VendorError(
            error_code,
            f"{self.label} answered {code or '(no resultCode)'}/{status or '-'}: {message}",
            retryable=retryable,
            vendor_code=code,
            http_status=response.status_code,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            billable=billable,
            vendor_request_id=transaction_id,
            raw_response=payload,
        )

    def _decode(self, response: httpx.Response, raw_text: str, aes_key: bytes | None) -> Any:
        """The JSON answer, decrypted first when it came encrypted (§3.5.5)."""
        keys: list[bytes] = []
        encrypt_header = response.headers.get("Encrypt")
        if encrypt_header:
            # ZOLOZ wraps the response key with the merchant's public key (§3.5.5) ...
            with contextlib.suppress(ValueError):
                keys.append(self.signer.response_key(encrypt_header))
        content_type = response.headers.get("Content-Type", "")
        if aes_key is not None and (encrypt_header or content_type.startswith("text/plain")):
            # ... but gateways serving the Python sample reuse the request key (§3.5.5 [I]).
            keys.append(aes_key)
        if not keys:
            if encrypt_header:
                raise self._protocol_error(response, "sent an Encrypt key we cannot unwrap")
            return self.decode_json(response)
        for key in keys:
            try:
                return json.loads(auth.aes_decrypt(key, raw_text).decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
        raise self._protocol_error(response, "sent an encrypted body we cannot decrypt")

    def _protocol_error(self, response: httpx.Response, what: str) -> VendorError:
        """§0/§3.7: the answer cannot be trusted; alert, do not retry, never use it."""
        return VendorError(
            ErrorCode.PROTOCOL_ERROR,
            f"{self.label} {what} (HTTP {response.status_code}); the answer was discarded.",
            retryable=False,
            http_status=response.status_code,
        )

    def _unsigned_http_error(self, response: httpx.Response, raw_text: str) -> VendorError:
        status = response.status_code
        if status == 429:
            code, retryable = ErrorCode.RATE_LIMITED, True
        elif status in {408, 504}:
            code, retryable = ErrorCode.TIMEOUT, True
        else:
            code, retryable = ErrorCode.VENDOR_ERROR, status >= 500
        return VendorError(
            code,
            f"{self.label} answered HTTP {status} without a signature.",
            retryable=retryable,
            http_status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            raw_response={"body_prefix": raw_text[:200]},
        )


def biz_id(reference_id: str) -> str:
    """Our reference id within bizId's 32 bytes (§3.6).

    Attempt ids are UUIDs, 36 characters with hyphens: the 32 hex digits carry the same id.
    Anything else too long is hashed, so it stays stable and unique enough to trace.
    """
    if len(reference_id.encode("utf-8")) <= consts.BIZ_ID_MAX_BYTES:
        return reference_id
    try:
        return uuid.UUID(reference_id).hex
    except ValueError:
        return hashlib.sha256(reference_id.encode("utf-8")).hexdigest()[: consts.BIZ_ID_MAX_BYTES]


def user_id(user_ref: str) -> str:
    """The caller's hashed applicant reference within userId's 64 bytes (§3.6)."""
    if len(user_ref.encode("utf-8")) <= consts.USER_ID_MAX_BYTES:
        return user_ref
    return hashlib.sha256(user_ref.encode("utf-8")).hexdigest()


def source_of_face2(request: CompareRequest) -> str:
    """`SELFIE` for an earlier selfie, else the document-face value (§3.6, Z7).

    A caller that knows the exact docType may pass it as `options["source_of_face2"]`.
    """
    if request.reference_source == ReferenceSource.SELFIE:
        return consts.SOURCE_SELFIE
    return str(request.options.get("source_of_face2") or consts.SOURCE_ID_PHOTO)


def _which_face(message: str) -> str:
    lowered = message.lower()
    if "face1" in lowered and "face2" not in lowered:
        return "selfie"
    if "face2" in lowered and "face1" not in lowered:
        return "reference"
    return "unknown"
