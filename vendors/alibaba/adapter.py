"""Alibaba Cloud ID Verification (international) FaceCompare, VENDOR-PROTOCOLS.md §4.

One RPC call, `Action=FaceCompare`, `Version=2022-08-09`, POST `/`, signed with
`ACS3-HMAC-SHA256` (§4.2). The selfie travels as `SourceFacePicture` and the reference as
`TargetFacePicture`, both base64 in the form body; our reference id goes in the query as
`MerchantBizId` (§4.4). The answer is the HTTP status plus `Code` (§4.5): a 200 `Success` (or
`200`) carries `Result.Passed` (Y/N) and `Result.FaceComparisonScore` (0-100, a string in the
vendor page, a float in the SDK model). FaceCompare reports no face boxes.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from vendors.alibaba import consts
from vendors.alibaba.auth import Acs3Signer, Credentials, new_nonce, timestamp
from vendors.base import (
    IMAGE_PROBLEMS,
    BaseVendorAdapter,
    CompareRequest,
    CompareResult,
    ErrorCode,
    ResultStatus,
    VendorError,
    VendorNotConfigured,
    parse_retry_after,
)

_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")


def merchant_biz_id(reference_id: str) -> str:
    """Our reference id as a `MerchantBizId`: at most 32 letters and digits (§4.4).

    A UUID becomes its 32 hex digits (reversible, so Alibaba's logs can be searched by it);
    anything longer is replaced by a stable digest prefix.
    """
    compact = _NOT_ALPHANUMERIC.sub("", reference_id)
    if compact and len(compact) <= consts.MERCHANT_BIZ_ID_MAX:
        return compact
    return hashlib.sha256(reference_id.encode("utf-8")).hexdigest()[: consts.MERCHANT_BIZ_ID_MAX]


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on", "vpc"}
    return bool(value)


class AlibabaAdapter(BaseVendorAdapter):
    name = "alibaba"
    label = "Alibaba Cloud ID Verification"
    required_settings = ("ALIBABA_ACCESS_KEY_ID", "ALIBABA_ACCESS_KEY_SECRET", "ALIBABA_REGION")
    default_base_url = f"https://{consts.ENDPOINTS[consts.DEFAULT_REGION].public}"

    #: Where a fresh `x-acs-signature-nonce` comes from (tests pin it to compare with the SDK).
    nonce_factory: Callable[[], str] = staticmethod(new_nonce)

    def __init__(self, settings: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.region = settings["ALIBABA_REGION"].strip()
        if not settings.get("ALIBABA_BASE_URL") and self.region not in consts.ENDPOINTS:
            raise VendorNotConfigured(
                f"ALIBABA_REGION is {self.region!r}; FaceCompare is offered in "
                f"{', '.join(consts.ENDPOINTS)} (or set ALIBABA_BASE_URL)."
            )
        self.signer = Acs3Signer(
            Credentials(settings["ALIBABA_ACCESS_KEY_ID"], settings["ALIBABA_ACCESS_KEY_SECRET"])
        )

    # --- endpoint -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.endpoint()

    def endpoint(self, options: Mapping[str, Any] | None = None) -> str:
        """ALIBABA_BASE_URL if set (e.g. the sandbox over http), else the regional host.

        The VPC ("internal network") host is chosen by `options["vpc"]` or, failing that, by
        `ALIBABA_NETWORK=vpc`; it only answers from inside the same Alibaba Cloud region (§4.1).
        """
        override = self.settings.get("ALIBABA_BASE_URL")
        if override:
            return override.rstrip("/")
        options = options or {}
        vpc = (
            _truthy(options["vpc"])
            if "vpc" in options
            else _truthy(self.settings.get("ALIBABA_NETWORK", ""))
        )
        hosts = consts.ENDPOINTS[self.region]
        return f"https://{hosts.vpc if vpc else hosts.public}"

    # --- the call -----------------------------------------------------------------------

    def _compare(self, request: CompareRequest) -> CompareResult:
        biz_id = merchant_biz_id(request.reference_id)
        query = {consts.PARAM_MERCHANT_BIZ_ID: biz_id}
        # §4.1: the SDK form-encodes with sorted keys and quote_plus; the signature covers the
        # exact bytes through x-acs-content-sha256, so any faithful encoding verifies.
        body = urlencode(
            sorted(
                {
                    consts.PARAM_SOURCE_PICTURE: base64.b64encode(request.selfie.data).decode(),
                    consts.PARAM_TARGET_PICTURE: base64.b64encode(request.reference.data).decode(),
                }.items()
            )
        ).encode("ascii")
        base = self.endpoint(request.options)
        signed = self.signer.sign(
            host=urlsplit(base).netloc,
            action=consts.ACTION,
            version=consts.VERSION,
            query=query,
            body=body,
            content_type=consts.FORM_CONTENT_TYPE,
            date=timestamp(self.clock()),
            nonce=type(self).nonce_factory(),
            method=consts.METHOD,
            path=consts.PATH,
        )
        response = self.http.post(
            f"{base}{consts.PATH}?{signed.query_string}",
            content=body,
            headers=signed.headers,
            timeout=self.timeout,
        )
        return self.parse_response(response, merchant_biz_id=biz_id)

    # --- the answer ---------------------------------------------------------------------

    def parse_response(
        self, response: httpx.Response, *, merchant_biz_id: str = ""
    ) -> CompareResult:
        data = self.decode_json(response)
        status = response.status_code
        if not isinstance(data, dict):
            raise self._error(
                ErrorCode.PROTOCOL_ERROR,
                f"{self.label} answered HTTP {status} with JSON that is not an object.",
                response,
                retryable=False,
            )
        code = str(data.get("Code") or "")
        message = str(data.get("Message") or "")
        request_id = str(
            data.get("RequestId") or response.headers.get(consts.REQUEST_ID_HEADER, "")
        )

        if status == 200 and code in consts.SUCCESS_CODES:
            return self._completed(data, code, message, request_id, merchant_biz_id, response)
        if not code:
            raise self._error(
                ErrorCode.PROTOCOL_ERROR if status < 400 else ErrorCode.VENDOR_ERROR,
                f"{self.label} answered HTTP {status} without a Code.",
                response,
                retryable=status >= 500,
                data=data,
            )

        mapped = consts.ERROR_CODES.get(code)
        if mapped is None:
            # Undocumented: keep the code for the operator; a 5xx is still worth a bounded retry.
            error_code, retryable, billable = ErrorCode.VENDOR_ERROR, status >= 500, False
        else:
            error_code, retryable, billable = mapped
        if error_code in IMAGE_PROBLEMS:
            details: dict[str, Any] = {"http_status": status, "merchant_biz_id": merchant_biz_id}
            if error_code == ErrorCode.NO_FACE:
                details["which"] = self._no_face_side(message)
            return self.image_problem(
                error_code,
                vendor_code=code,
                message=message,
                request_id=request_id,
                billable=billable,
                details=details,
                raw_response=data,
            )
        raise self._error(
            error_code,
            f"{self.label} answered HTTP {status} {code}: {message or 'no message'}",
            response,
            retryable=retryable,
            data=data,
            vendor_code=code,
            billable=billable,
            request_id=request_id,
        )

    def _completed(
        self,
        data: dict[str, Any],
        code: str,
        message: str,
        request_id: str,
        biz_id: str,
        response: httpx.Response,
    ) -> CompareResult:
        result = data.get("Result")
        if not isinstance(result, dict):
            raise self._error(
                ErrorCode.PROTOCOL_ERROR,
                f"{self.label} answered {code} without a Result object.",
                response,
                retryable=False,
                data=data,
                vendor_code=code,
                request_id=request_id,
            )
        vendor_score = result.get("FaceComparisonScore")
        score = _score(vendor_score)
        passed = result.get("Passed")
        if score is None or passed not in {consts.PASSED_YES, consts.PASSED_NO, None}:
            raise self._error(
                ErrorCode.PROTOCOL_ERROR,
                f"{self.label} answered {code} with FaceComparisonScore={vendor_score!r}, "
                f"Passed={passed!r}; expected a 0-100 score and Y or N (§4.5).",
                response,
                retryable=False,
                data=data,
                vendor_code=code,
                request_id=request_id,
            )
        details: dict[str, Any] = {
            "transaction_id": str(result.get("TransactionId") or ""),
            "merchant_biz_id": biz_id,
        }
        if isinstance(result.get("ExtFaceInfo"), dict):
            details["ext_face_info"] = result["ExtFaceInfo"]
        return CompareResult(
            vendor=self.name,
            status=ResultStatus.COMPLETED,
            score=score,
            vendor_score=vendor_score,
            vendor_code=code,
            vendor_message=message,
            vendor_request_id=request_id,
            # §4.5 / A6: billed per successful call, whether Passed is Y or N.
            billable=True,
            same_person=None if passed is None else passed == consts.PASSED_YES,
            details=details,
            raw_response=data,
        )

    def _error(
        self,
        code: ErrorCode,
        message: str,
        response: httpx.Response,
        *,
        retryable: bool,
        data: Any = None,
        vendor_code: str = "",
        billable: bool = False,
        request_id: str = "",
    ) -> VendorError:
        return VendorError(
            code,
            message,
            retryable=retryable,
            vendor_code=vendor_code,
            http_status=response.status_code,
            retry_after=_retry_after(response.headers),
            billable=billable,
            vendor_request_id=request_id,
            raw_response=data,
        )

    @staticmethod
    def _no_face_side(message: str) -> str:
        lowered = message.lower()
        for word, side in consts.NO_FACE_SIDES:
            if word in lowered:
                return side
        return "unknown"


def _score(value: Any) -> float | None:
    """FaceComparisonScore as a float: a string in the vendor page, a number in the SDK (§4.5)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(score) or not 0.0 <= score <= 100.0:
        return None
    return score


def _retry_after(headers: httpx.Headers) -> float | None:
    """`x-acs-retry-after` (milliseconds, as the SDK reads it) or `Retry-After` (seconds)."""
    raw_ms = headers.get(consts.RETRY_AFTER_MS_HEADER)
    if raw_ms:
        try:
            milliseconds = int(raw_ms.strip())
        except ValueError:
            milliseconds = 0
        if milliseconds > 0:
            return milliseconds / 1000
    return parse_retry_after(headers.get("Retry-After"))
