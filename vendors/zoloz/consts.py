"""ZOLOZ facecompare: paths, headers, limits and the resultCode table (VENDOR-PROTOCOLS.md §3)."""

from __future__ import annotations

from typing import Final

from vendors.base import ErrorCode

PRODUCTION_BASE_URL: Final = "https://sg-production-api.zoloz.com"  # §3.1 [C] Z2, Z3
SANDBOX_BASE_URL: Final = "https://sg-sandbox-api.zoloz.com"  # §3.1, ZOLOZ's own test host

#: The API name `v1.zoloz.facecompare.compare` maps to this path (§3.1, `"/api/" + name`).
COMPARE_PATH: Final = "/api/v1/zoloz/facecompare/compare"
#: The gateway echo API: it answers the request JSON (§3.1); the sandbox serves it too.
ECHO_PATH: Final = "/api/v1/zoloz/authentication/test"

# §3.2: the only two content types the gateway accepts.
JSON_CONTENT_TYPE: Final = "application/json; charset=UTF-8"
ENCRYPTED_CONTENT_TYPE: Final = "text/plain; charset=UTF-8"

SIGNATURE_ALGORITHM: Final = "RSA256"  # §3.2 `Signature: algorithm=RSA256, signature=...`
ENCRYPT_ALGORITHM: Final = "RSA_AES"  # §3.2/§3.5 `Encrypt: algorithm=RSA_AES, symmetricKey=...`
#: §3.5.1: the Java SDK uses 256-bit AES keys, the Python and shell samples 128; both work.
AES_KEY_BITS: Final = (128, 256)
DEFAULT_AES_KEY_BITS: Final = 256

# §3.6 field limits, in bytes of UTF-8.
BIZ_ID_MAX_BYTES: Final = 32
USER_ID_MAX_BYTES: Final = 64
SOURCE_OF_FACE2_MAX_BYTES: Final = 32
#: §3.7 "Limits": face1.content + face2.content together at most 5 MB (the current zh page, S3).
MAX_TOTAL_CONTENT_BYTES: Final = 5 * 1024 * 1024

#: §3.6 `sourceOfFace2`: "SELFIE or 00000001007 or valid docType" (Z7, compare/asynccompare).
#: `00000001007` is the docType-independent value for "a face cut from an identity document".
SOURCE_SELFIE: Final = "SELFIE"
SOURCE_ID_PHOTO: Final = "00000001007"

SUCCESS: Final = "SUCCESS"
#: The one code whose message tells "no face" apart from a broken image (§3.7, see adapter).
UNABLE_GET_IMAGE: Final = "UNABLE_GET_IMAGE"

# resultStatus values (§3.7, Z6).
STATUS_SUCCESS: Final = "S"
STATUS_FAILED: Final = "F"
STATUS_UNKNOWN: Final = "U"

#: resultCode -> (taxonomy code, retryable, billable). §3.7 table: [C] S3 for the compare API's
#: own codes, [C] Z6 for the gateway's common codes. Only SUCCESS is charged (§6, Z8).
ERROR_CODES: Final[dict[str, tuple[ErrorCode, bool, bool]]] = {
    # compare API codes (S3)
    "INVALID_ARGUMENT": (ErrorCode.BAD_REQUEST, False, False),
    # S3 lists null/corrupt base64, a format other than JPG *and* "no face detected" under one
    # code; the adapter narrows it to NO_FACE from the message where it can (§3.7).
    UNABLE_GET_IMAGE: (ErrorCode.INVALID_IMAGE, False, False),
    "SYSTEM_ERROR": (ErrorCode.VENDOR_ERROR, True, False),
    # gateway common codes (Z6)
    "PARAM_MISSING": (ErrorCode.BAD_REQUEST, False, False),
    "PARAM_ILLEGAL": (ErrorCode.BAD_REQUEST, False, False),
    "MSG_PARSE_ERROR": (ErrorCode.BAD_REQUEST, False, False),
    # A configuration problem: retrying with the same keys cannot help (§3.7 "Retry" column).
    "SIGNATURE_INVALID": (ErrorCode.AUTH_FAILED, False, False),
    "KEY_NOT_FOUND": (ErrorCode.AUTH_FAILED, False, False),
    "MERCHANT_NOT_FOUND": (ErrorCode.AUTH_FAILED, False, False),
    "OAUTH_FAIL": (ErrorCode.AUTH_FAILED, False, False),
    "OAUTH_RESOURCE_CODE_FAIL": (ErrorCode.AUTH_FAILED, False, False),
    "ACCESS_DENIED": (ErrorCode.PERMISSION_DENIED, False, False),
    "NO_INTERFACE_DEF": (ErrorCode.BAD_REQUEST, False, False),
    "REQUEST_TRAFFIC_EXCEED_LIMIT": (ErrorCode.RATE_LIMITED, True, False),
    "PRODUCT_QUOTA_LIMIT": (ErrorCode.QUOTA_EXCEEDED, False, False),
    "PROCESS_TIMEOUT": (ErrorCode.TIMEOUT, True, False),
}

#: The documented resultStatus of each code (S3, Z6); the sandbox answers with these.
RESULT_STATUS: Final[dict[str, str]] = {
    SUCCESS: STATUS_SUCCESS,
    "SYSTEM_ERROR": STATUS_UNKNOWN,
    **{code: STATUS_FAILED for code in ERROR_CODES if code != "SYSTEM_ERROR"},
}

#: The documented resultMessage of each code (S3 for compare's own codes, Z6 for the rest).
RESULT_MESSAGES: Final[dict[str, str]] = {
    SUCCESS: "success",
    "INVALID_ARGUMENT": "Invalid argument.",
    UNABLE_GET_IMAGE: "Unable to get the image.",
    "SYSTEM_ERROR": "A system error has occurred.",
    "PARAM_MISSING": "Bad request. The parameter is missing.",
    "PARAM_ILLEGAL": "Bad request. The parameter is illegal.",
    "MSG_PARSE_ERROR": "Bad request. The message format is invalid.",
    "SIGNATURE_INVALID": "Unauthorized. The signature is invalid.",
    "KEY_NOT_FOUND": "Key not found. Unauthorized. The ZOLOZ server is unable to find the key.",
    "MERCHANT_NOT_FOUND": "Merchant not found. The ZOLOZ server is unable to find the merchant.",
    "OAUTH_FAIL": "Unauthorized. The OAuth 2.0 authorization has failed.",
    "OAUTH_RESOURCE_CODE_FAIL": "Unauthorized. The resource code is blank.",
    "ACCESS_DENIED": "Unauthorized. No access to the API.",
    "NO_INTERFACE_DEF": "The requested API is not defined.",
    "REQUEST_TRAFFIC_EXCEED_LIMIT": "The request traffic has exceeded the limit.",
    "PRODUCT_QUOTA_LIMIT": "Product usage has exceeded the limit.",
    "PROCESS_TIMEOUT": "The processing of the API request has timed out.",
}
