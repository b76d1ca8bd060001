"""ADVANCE.AI face-recognition v4: paths, token policy and the status-code table.

Every fact cites VENDOR-PROTOCOLS.md §2 (seed page S2: vendor-docs/advance-face-comparison-v4.txt).
"""

from __future__ import annotations

from typing import NamedTuple

from vendors.base import ErrorCode

DEFAULT_BASE_URL = "https://api.advance.ai"
TOKEN_PATH = "/openapi/auth/ticket/v1/generate-token"  # noqa: S105  (§2.1, a path; JSON body)
CHECK_PATH = "/openapi/face-recognition/v4/check"  # §2.1, multipart/form-data

ACCESS_TOKEN_HEADER = "X-ACCESS-TOKEN"  # noqa: S105  (§2.2 step 5, a header name)
FIRST_IMAGE_PART = "firstImage"  # our selfie (§2.3)
SECOND_IMAGE_PART = "secondImage"  # our reference photo (§2.3)
#: "request content type should be image/jpeg or image/png" (§2.3, IMAGE_INVALID_FORMAT text).
ACCEPTED_PART_TYPES = frozenset({"image/jpeg", "image/png"})

#: We ask for the documented default lifetime (§2.2 step 3: default 3600, min 60, max 86400).
TOKEN_PERIOD_SECONDS = 3600
#: Refresh this long before `expiredTime`, so a token never expires in flight (§2.2 step 6).
TOKEN_REFRESH_MARGIN_SECONDS = 60

SUCCESS = "SUCCESS"
PAY = "PAY"  # pricingStrategy: FREE | PAY (§2.4); the flag on the response is authoritative.

# Codes whose meaning depends on the message (§2.4: "decide by the message prefix").
SERVICE_BUSY = "SERVICE_BUSY"
IAM_FAILED = "IAM_FAILED"
PARAMETER_ERROR = "PARAMETER_ERROR"


class Outcome(NamedTuple):
    """What one documented status code means for us."""

    code: ErrorCode
    retryable: bool
    billable: bool  # the documented free/pay tag; a response's pricingStrategy wins over it


#: The glossary's common codes, which "could appear in all our API responses" (§2.4 table).
COMMON_CODES: dict[str, Outcome] = {
    "ERROR": Outcome(ErrorCode.VENDOR_ERROR, True, False),
    "EMPTY_PARAMETER_ERROR": Outcome(ErrorCode.BAD_REQUEST, False, False),
    PARAMETER_ERROR: Outcome(ErrorCode.BAD_REQUEST, False, False),
    "INSUFFICIENT_BALANCE": Outcome(ErrorCode.QUOTA_EXCEEDED, False, False),
    # Rate limit by default; a "Quota exceeded" message turns it into QUOTA_EXCEEDED.
    SERVICE_BUSY: Outcome(ErrorCode.RATE_LIMITED, True, False),
    # A token message means refresh once and retry (done inside the adapter, so never retryable
    # for the caller); account messages become PERMISSION_DENIED.
    IAM_FAILED: Outcome(ErrorCode.AUTH_FAILED, False, False),
    "OVER_QUERY_LIMIT": Outcome(ErrorCode.QUOTA_EXCEEDED, False, False),
    "CLIENT_ERROR": Outcome(ErrorCode.BAD_REQUEST, False, False),
    "RETRY_LATER": Outcome(ErrorCode.RATE_LIMITED, True, False),
}

#: The check endpoint: its own image codes (§2.4 table, every row) plus the common ones.
CHECK_CODES: dict[str, Outcome] = {
    "IMAGE_INVALID_FORMAT": Outcome(ErrorCode.INVALID_IMAGE, False, False),
    # "over 2 MB, or outside 256² to 4096²": too small is folded into IMAGE_TOO_LARGE (§0, §2.4).
    "IMAGE_INVALID_SIZE": Outcome(ErrorCode.IMAGE_TOO_LARGE, False, False),
    # ADVANCE bills its no-face and low-quality answers (tagged "pay" in S2).
    "NO_FACE_DETECTED_FROM_FIRST_IMAGE": Outcome(ErrorCode.NO_FACE, False, True),
    "NO_FACE_DETECTED_FROM_SECOND_IMAGE": Outcome(ErrorCode.NO_FACE, False, True),
    "FIRST_IMAGE_LOW_QUALITY_FACE": Outcome(ErrorCode.LOW_QUALITY, False, True),
    "SECOND_IMAGE_LOW_QUALITY_FACE": Outcome(ErrorCode.LOW_QUALITY, False, True),
    **COMMON_CODES,
}

#: The token endpoint adds ACCOUNT_DISABLED; its PARAMETER_ERROR "Timestamp error" and
#: "Signature error" are authentication failures, refined by message in the adapter (§2.2 table).
TOKEN_CODES: dict[str, Outcome] = {
    **COMMON_CODES,
    "ACCOUNT_DISABLED": Outcome(ErrorCode.PERMISSION_DENIED, False, False),
}
TOKEN_AUTH_MESSAGES = ("timestamp error", "signature error")

#: Which of our images a first/second-image code is about (firstImage is the selfie).
WHICH_IMAGE: dict[str, str] = {
    "NO_FACE_DETECTED_FROM_FIRST_IMAGE": "selfie",
    "FIRST_IMAGE_LOW_QUALITY_FACE": "selfie",
    "NO_FACE_DETECTED_FROM_SECOND_IMAGE": "reference",
    "SECOND_IMAGE_LOW_QUALITY_FACE": "reference",
}
