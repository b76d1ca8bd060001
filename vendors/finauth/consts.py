"""FinAuth v5 compare: endpoints, field names and the error table (VENDOR-PROTOCOLS.md §1)."""

from __future__ import annotations

from typing import Final

from vendors.base import ErrorCode

# §1.1: production hosts. Singapore is the default; Indonesia is the other documented region.
SINGAPORE_BASE_URL: Final = "https://api-sgp.yljz.com"
INDONESIA_BASE_URL: Final = "https://api-idn.yljz.com"
COMPARE_PATH: Final = "/finauth/v5/compare"

# §1.2 / §1.4: the only documented signature algorithm for compare.
SIGN_VERSION: Final = "hmac_sha1"
#: §1.2 step 2: `random` is an unsigned decimal of at most 10 digits.
SIGN_RANDOM_LIMIT: Final = 10**10

# §1.3: 0 = no encryption, 2 = RSA (UNVERIFIED framing, see auth.encrypt_rsa_chunks).
ENCRYPTION_NONE: Final = 0
ENCRYPTION_RSA: Final = 2

# §1.4: multipart field names. The two images are File parts, everything else text parts.
FIELD_SELFIE: Final = "image"
FIELD_REFERENCE: Final = "image_ref1"
#: Which of our images a vendor `<param>` names (NO_FACE_FOUND:<param> and friends, §1.6).
WHICH_IMAGE: Final[dict[str, str]] = {FIELD_SELFIE: "selfie", FIELD_REFERENCE: "reference"}

# §1.5: result codes. Both are billed (§1.6 "Billing"); other codes are reserved.
RESULT_SAME_PERSON: Final = 1000
RESULT_NOT_SAME_PERSON: Final = 2000
BILLED_RESULT_CODES: Final = frozenset({RESULT_SAME_PERSON, RESULT_NOT_SAME_PERSON})

#: §1.5: false-accept levels of `verification.ref1.thresholds`, loose to very strict.
THRESHOLD_KEYS: Final = ("1e-3", "1e-4", "1e-5", "1e-6")
#: §1.5: `verify_risk_info.verify_info_tags` the documentation names.
RISK_TAGS: Final = ("is_age_risk", "is_gender_risk")
#: §1.5: `visual_attributes` genders.
GENDERS: Final[dict[int, str]] = {0: "male", 1: "female"}

#: §1.6: the 413 answer is plain text (the body is over 10 MB), not JSON; this is its vendor_code.
REQUEST_TOO_LARGE: Final = "Request Entity Too Large"

#: §1.6, every row: vendor code -> (taxonomy code, retryable, billable).
#: Keys are either the bare code (`MISSING_ARGUMENTS`, whose detail is a parameter name) or
#: `AUTHORIZATION_ERROR:<reason>`, whose reason *is* the code. AUTH_FAILED rows are retried once
#: inside the adapter with a fresh sign, so they say retryable=False to the caller.
ERROR_CODES: Final[dict[str, tuple[ErrorCode, bool, bool]]] = {
    "MISSING_ARGUMENTS": (ErrorCode.BAD_REQUEST, False, False),
    # Not in the FinAuth table; the FaceID sister API documents it (§1.6, [I] F5).
    "BAD_ARGUMENTS": (ErrorCode.BAD_REQUEST, False, False),
    "IMAGE_ERROR_UNSUPPORTED_FORMAT": (ErrorCode.INVALID_IMAGE, False, False),
    "NO_FACE_FOUND": (ErrorCode.NO_FACE, False, False),
    "INVALID_IMAGE_SIZE": (ErrorCode.IMAGE_TOO_LARGE, False, False),
    "LOW_QUALITY": (ErrorCode.LOW_QUALITY, False, False),
    "MULTIPLE_FACES": (ErrorCode.MULTIPLE_FACES, False, False),
    "KEY_NOT_FOUND": (ErrorCode.BAD_REQUEST, False, False),
    "AUTHENTICATION_ERROR": (ErrorCode.AUTH_FAILED, False, False),
    "AUTHORIZATION_ERROR:INVALID_SIGN": (ErrorCode.AUTH_FAILED, False, False),
    "AUTHORIZATION_ERROR:EXPIRED_SIGN": (ErrorCode.AUTH_FAILED, False, False),
    "AUTHORIZATION_ERROR:API_KEY_BE_DISCONTINUED": (ErrorCode.PERMISSION_DENIED, False, False),
    "AUTHORIZATION_ERROR:IP_NOT_ALLOWED": (ErrorCode.PERMISSION_DENIED, False, False),
    "AUTHORIZATION_ERROR:DENIED": (ErrorCode.PERMISSION_DENIED, False, False),
    "AUTHORIZATION_ERROR:LIMIT_REACHED": (ErrorCode.QUOTA_EXCEEDED, False, False),
    "AUTHORIZATION_ERROR:MORE_RETRY_TIMES": (ErrorCode.QUOTA_EXCEEDED, False, False),
    # Documented as 403 by FinAuth; FaceID China sends 429 for the same code (§1.6, §8.3).
    "CONCURRENCY_LIMIT_EXCEEDED": (ErrorCode.RATE_LIMITED, True, False),
    "API_NOT_FOUND": (ErrorCode.BAD_REQUEST, False, False),
    REQUEST_TOO_LARGE: (ErrorCode.IMAGE_TOO_LARGE, False, False),
    "INTERNAL_ERROR": (ErrorCode.VENDOR_ERROR, True, False),
}

#: Codes whose detail after the colon is the reason itself, not a parameter name.
REASON_PREFIXES: Final = frozenset({"AUTHORIZATION_ERROR"})
