"""ADVANCE.AI face comparison (face-recognition v4 check), VENDOR-PROTOCOLS.md §2.

One comparison is a multipart POST of the selfie (`firstImage`) and the reference photo
(`secondImage`) with an access token in `X-ACCESS-TOKEN`. Every answer is an envelope
`{code, message, data, extra, transactionId, pricingStrategy}`; the envelope `code`, not the HTTP
status, carries the outcome (§2.4, §8 question 4).

ADVANCE's check request has no business or reference id field (§2.3 lists only the token header
and the two images), so our reference id never travels; it is logged next to ADVANCE's
`transactionId`, which is what ties our attempt to their records.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar, TypeGuard

import httpx

from vendors.advance.auth import AccessToken, AccessTokenAuth, TokenStore, token_request_body
from vendors.advance.consts import (
    ACCEPTED_PART_TYPES,
    CHECK_CODES,
    CHECK_PATH,
    DEFAULT_BASE_URL,
    FIRST_IMAGE_PART,
    IAM_FAILED,
    PARAMETER_ERROR,
    PAY,
    SECOND_IMAGE_PART,
    SERVICE_BUSY,
    SUCCESS,
    TOKEN_AUTH_MESSAGES,
    TOKEN_CODES,
    TOKEN_PATH,
    TOKEN_PERIOD_SECONDS,
    WHICH_IMAGE,
    Outcome,
)
from vendors.base import (
    IMAGE_PROBLEMS,
    BaseVendorAdapter,
    CompareRequest,
    CompareResult,
    ErrorCode,
    PreparedImage,
    ResultStatus,
    VendorError,
    parse_retry_after,
    scale_box,
)

logger = logging.getLogger(__name__)

Envelope = dict[str, Any]
Box = tuple[float, float, float, float]


class AdvanceAdapter(BaseVendorAdapter):
    name = "advance"
    label = "ADVANCE.AI"
    required_settings = ("ADVANCE_ACCESS_KEY", "ADVANCE_SECRET_KEY")
    default_base_url = DEFAULT_BASE_URL
    token_period_seconds: ClassVar[int] = TOKEN_PERIOD_SECONDS

    def __init__(self, settings: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.access_key = settings["ADVANCE_ACCESS_KEY"]
        self._secret_key = settings["ADVANCE_SECRET_KEY"]
        self.tokens = TokenStore(
            cache=self.cache,
            base_url=self.base_url,
            access_key=self.access_key,
            secret_key=self._secret_key,
            fetch=self._fetch_token,
            clock=self.clock,
        )

    # --- comparison -------------------------------------------------------------------------

    def _compare(self, request: CompareRequest) -> CompareResult:
        files = {
            FIRST_IMAGE_PART: self._part("selfie", request.selfie),
            SECOND_IMAGE_PART: self._part("reference", request.reference),
        }
        token = self.tokens.get()
        response = self._post_check(files, token)
        if _is_token_rejection(response):
            # §2.2 step 6: the token expired or was revoked before its expiredTime. Refresh once
            # and retry once; a second refusal is final, so this can never loop.
            token = self.tokens.replace(token)
            response = self._post_check(files, token)
        # Our reference id has no field on the wire (§2.3): the log ties it to the transactionId.
        try:
            if _is_token_rejection(response):
                raise self._error(
                    Outcome(ErrorCode.AUTH_FAILED, False, False),
                    self._envelope(response),
                    response,
                    f"{self.label} refused a freshly issued access token",
                )
            result = self._interpret(response, request)
        except VendorError as error:
            logger.warning(
                "ADVANCE check for %s failed: %s %s (transactionId %s)",
                request.reference_id,
                error.code,
                error.vendor_code,
                error.vendor_request_id,
            )
            raise
        logger.info(
            "ADVANCE check for %s answered %s (transactionId %s)",
            request.reference_id,
            result.vendor_code,
            result.vendor_request_id,
        )
        return result

    def _part(self, which: str, image: PreparedImage) -> tuple[str, bytes, str]:
        # IMAGE_INVALID_FORMAT: "request content type should be image/jpeg or image/png" (§2.3);
        # httpx would otherwise label a part application/octet-stream.
        if image.content_type not in ACCEPTED_PART_TYPES:
            raise VendorError(
                ErrorCode.BAD_REQUEST,
                f"The {which} image is {image.content_type}; {self.label} accepts only "
                "image/jpeg or image/png.",
                retryable=False,
            )
        return (f"{which}.{image.extension}", image.data, image.content_type)

    def _post_check(
        self, files: dict[str, tuple[str, bytes, str]], token: AccessToken
    ) -> httpx.Response:
        return self.http.post(
            self.base_url + CHECK_PATH,
            files=files,
            auth=AccessTokenAuth(token),
            timeout=self.timeout,
        )

    def _interpret(self, response: httpx.Response, request: CompareRequest) -> CompareResult:
        envelope = self._envelope(response)
        code = envelope["code"]
        if response.status_code >= 500:
            raise self._error(Outcome(ErrorCode.VENDOR_ERROR, True, False), envelope, response)
        if code == SUCCESS:
            return self._success(envelope, request)
        outcome = _outcome(code, _message(envelope), CHECK_CODES)
        if outcome is None:
            raise self._undocumented(envelope, response)
        if outcome.code in IMAGE_PROBLEMS:
            which = WHICH_IMAGE.get(code)
            return self.image_problem(
                outcome.code,
                vendor_code=code,
                message=_message(envelope),
                request_id=_transaction_id(envelope),
                billable=_billable(envelope, outcome),
                details={"which": which} if which else {},
                raw_response=envelope,
            )
        raise self._error(outcome, envelope, response)

    def _success(self, envelope: Envelope, request: CompareRequest) -> CompareResult:
        data = envelope.get("data")
        data = data if isinstance(data, dict) else {}
        similarity = data.get("similarity")
        if not _is_number(similarity) or not 0 <= float(similarity) <= 100:
            raise VendorError(
                ErrorCode.PROTOCOL_ERROR,
                f"{self.label} answered SUCCESS without a similarity between 0 and 100.",
                retryable=False,
                vendor_code=SUCCESS,
                vendor_request_id=_transaction_id(envelope),
                billable=envelope.get("pricingStrategy") == PAY,
                raw_response=envelope,
            )
        return CompareResult(
            vendor=self.name,
            status=ResultStatus.COMPLETED,
            # ADVANCE's similarity is already 0-100 (§2.4), so the score is the vendor's number.
            score=float(similarity),
            vendor_score=similarity,
            vendor_code=SUCCESS,
            vendor_message=_message(envelope),
            vendor_request_id=_transaction_id(envelope),
            # "SUCCESS may not be charged" on some APIs: trust pricingStrategy (§2.4).
            billable=envelope.get("pricingStrategy") == PAY,
            same_person=None,  # ADVANCE gives a similarity only, no verdict flag (§2.4)
            selfie_face=scale_box(_box(data.get("firstFace")), request.selfie),
            reference_face=scale_box(_box(data.get("secondFace")), request.reference),
            raw_response=envelope,
        )

    # --- token -------------------------------------------------------------------------------

    def _fetch_token(self) -> AccessToken:
        """Ask ADVANCE for a new token (§2.2); any refusal is a `VendorError`."""
        timestamp_ms = round(self.clock() * 1000)
        body = token_request_body(
            self.access_key, self._secret_key, timestamp_ms, self.token_period_seconds
        )
        # Inside a comparison this is the call's own client; outside one, a lease of its own.
        with self.lease_client() as http:
            response = http.post(self.base_url + TOKEN_PATH, json=body, timeout=self.timeout)
        envelope = self._envelope(response)
        code = envelope["code"]
        if response.status_code >= 500:
            raise self._error(Outcome(ErrorCode.VENDOR_ERROR, True, False), envelope, response)
        if code == SUCCESS:
            data = envelope.get("data")
            token = data.get("token") if isinstance(data, dict) else None
            expired = data.get("expiredTime") if isinstance(data, dict) else None
            if isinstance(token, str) and token and _is_number(expired):
                # expiredTime is a Unix time in milliseconds (§2.2 step 4).
                return AccessToken(token, float(expired) / 1000)
            raise VendorError(
                ErrorCode.PROTOCOL_ERROR,
                f"{self.label} issued no usable token (token or expiredTime missing).",
                retryable=False,
                vendor_code=code,
                http_status=response.status_code,
                vendor_request_id=_transaction_id(envelope),
                raw_response=_without_token(envelope),
            )
        message = _message(envelope)
        outcome = _outcome(code, message, TOKEN_CODES)
        if code == PARAMETER_ERROR and message.strip().lower() in TOKEN_AUTH_MESSAGES:
            # "Timestamp error" / "Signature error" (§2.2 table): wrong secret or a skewed clock;
            # another attempt with the same settings fails the same way.
            outcome = Outcome(ErrorCode.AUTH_FAILED, False, False)
        if outcome is None:
            raise self._undocumented(envelope, response, during="the token request")
        hint = " (is this server's clock right?)" if "timestamp" in message.lower() else ""
        raise self._error(
            outcome, envelope, response, f"{self.label} refused the token request{hint}"
        )

    # --- envelope helpers --------------------------------------------------------------------

    def _envelope(self, response: httpx.Response) -> Envelope:
        """The `{code, message, …}` envelope, or the error its absence means (by HTTP status)."""
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("code"), str) and body["code"]:
            return body
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        code, retryable = ErrorCode.PROTOCOL_ERROR, False
        if status == 429:
            # SERVICE_BUSY "may migrate to HTTP 429" (S2 glossary), perhaps without the envelope.
            code, retryable = ErrorCode.RATE_LIMITED, True
        elif status >= 500:
            code, retryable = ErrorCode.VENDOR_ERROR, True
        elif status == 408:
            code, retryable = ErrorCode.TIMEOUT, True
        elif status in {401, 403}:
            code = ErrorCode.AUTH_FAILED
        elif status >= 400:
            code = ErrorCode.BAD_REQUEST  # a proxy's 404/405: most likely a wrong ADVANCE_BASE_URL
        elif body is None:
            self.decode_json(response)  # raises the shared "not JSON" vendor error
        raise VendorError(
            code,
            f"{self.label} answered HTTP {status} without its response envelope.",
            retryable=retryable,
            http_status=status,
            retry_after=retry_after if code == ErrorCode.RATE_LIMITED else None,
            raw_response=body if body is not None else {"body_prefix": response.text[:200]},
        )

    def _error(
        self,
        outcome: Outcome,
        envelope: Envelope,
        response: httpx.Response,
        context: str = "",
    ) -> VendorError:
        code = envelope["code"]
        message = _message(envelope)
        retry_after = None
        if outcome.code == ErrorCode.RATE_LIMITED:
            # The documented header is literally "Retry-After: 10s" (§2.4); parsed leniently.
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return VendorError(
            outcome.code,
            f"{context or self.label + ' answered'}: {code} {message}".strip(),
            retryable=outcome.retryable,
            vendor_code=code,
            http_status=response.status_code,
            retry_after=retry_after,
            billable=_billable(envelope, outcome),
            vendor_request_id=_transaction_id(envelope),
            raw_response=_without_token(envelope),
        )

    def _undocumented(
        self, envelope: Envelope, response: httpx.Response, during: str = "the comparison"
    ) -> VendorError:
        # An unknown code is not retried (§0: keep it for a human), unless HTTP itself says 429.
        limited = response.status_code == 429
        code = ErrorCode.RATE_LIMITED if limited else ErrorCode.VENDOR_ERROR
        return self._error(
            Outcome(code, limited, False),
            envelope,
            response,
            f"{self.label} answered {during} with an undocumented code",
        )


def _outcome(code: str, message: str, table: Mapping[str, Outcome]) -> Outcome | None:
    """The table row for `code`, refined by the message where §2.4 says the message decides."""
    outcome = table.get(code)
    lowered = message.lower()
    if code == SERVICE_BUSY and "quota" in lowered:
        # "Quota exceeded: You have exceeded the daily quota for free queries" (§2.4).
        return Outcome(ErrorCode.QUOTA_EXCEEDED, False, False)
    if code == IAM_FAILED and "account" in lowered:
        # "Account not authorized for this country/domain", "Account is expired/disabled" (§2.4).
        return Outcome(ErrorCode.PERMISSION_DENIED, False, False)
    return outcome


def _is_token_rejection(response: httpx.Response) -> bool:
    """IAM_FAILED with a token message, e.g. "Access denied: Token not found or expired" (§2.2)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return (
        isinstance(body, dict)
        and body.get("code") == IAM_FAILED
        and "token" in str(body.get("message") or "").lower()
    )


def _message(envelope: Envelope) -> str:
    return str(envelope.get("message") or "")


def _transaction_id(envelope: Envelope) -> str:
    return str(envelope.get("transactionId") or "")


def _billable(envelope: Envelope, outcome: Outcome) -> bool:
    """pricingStrategy as sent (§2.4); the documented free/pay tag only when it is missing."""
    pricing = envelope.get("pricingStrategy")
    return pricing == PAY if pricing is not None else outcome.billable


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _box(face: Any) -> Box | None:
    """ADVANCE's {left, top, right, bottom} in px of the image we sent -> (left, top, w, h)."""
    if not isinstance(face, dict):
        return None
    edges: list[float] = []
    for key in ("left", "top", "right", "bottom"):
        edge = face.get(key)
        if not _is_number(edge):
            return None
        edges.append(float(edge))
    left, top, right, bottom = edges
    if right <= left or bottom <= top:
        return None
    return (left, top, right - left, bottom - top)


def _without_token(envelope: Envelope) -> Envelope:
    """The envelope minus any issued token: a bearer secret never goes into a raw response."""
    data = envelope.get("data")
    if isinstance(data, dict) and "token" in data:
        return {**envelope, "data": {**data, "token": "[redacted]"}}
    return envelope
