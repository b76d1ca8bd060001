"""Alibaba Cloud ID Verification (cloudauth-intl 2022-08-09) FaceCompare: endpoints and codes.

Everything here is quoted from VENDOR-PROTOCOLS.md §4 (and the vendor's page,
shared/vendor-docs/alibaba-cloud-facecompare.txt); each entry names its row.
"""

from __future__ import annotations

from dataclasses import dataclass

from vendors.base import ErrorCode

PRODUCT = "cloudauth-intl"
ACTION = "FaceCompare"
VERSION = "2022-08-09"
# §4.1: RPC style, POST to "/", business parameters in the query, pictures as form data.
METHOD = "POST"
PATH = "/"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

# §4.4 request fields.
PARAM_MERCHANT_BIZ_ID = "MerchantBizId"
PARAM_SOURCE_PICTURE = "SourceFacePicture"
PARAM_TARGET_PICTURE = "TargetFacePicture"
PARAM_SOURCE_URL = "SourceFacePictureUrl"
PARAM_TARGET_URL = "TargetFacePictureUrl"
#: §4.4: "up to 32 letters and digits", unique per request.
MERCHANT_BIZ_ID_MAX = 32

#: §4.5: the seed says "Success", the SDK docstring "200: Success"; both mean success [I].
SUCCESS_CODES = frozenset({"Success", "200"})
PASSED_YES = "Y"
PASSED_NO = "N"


@dataclass(frozen=True)
class RegionEndpoints:
    label: str
    public: str
    vpc: str  # "internal network" endpoint, only reachable from the same Alibaba Cloud region


#: §4.1 and the vendor page: public and VPC ("internal network") hosts per region id.
ENDPOINTS: dict[str, RegionEndpoints] = {
    "ap-southeast-1": RegionEndpoints(
        "Singapore",
        "cloudauth-intl.ap-southeast-1.aliyuncs.com",
        "cloudauth-intl-vpc.ap-southeast-1.aliyuncs.com",
    ),
    "ap-southeast-5": RegionEndpoints(
        "Indonesia",
        "cloudauth-intl.ap-southeast-5.aliyuncs.com",
        "cloudauth-intl-vpc.ap-southeast-5.aliyuncs.com",
    ),
    "ap-southeast-3": RegionEndpoints(
        "Malaysia (Kuala Lumpur)",
        "cloudauth-intl.ap-southeast-3.aliyuncs.com",
        "cloudauth-intl-vpc.ap-southeast-3.aliyuncs.com",
    ),
    "cn-hongkong": RegionEndpoints(
        "China (Hong Kong)",
        "cloudauth-intl.cn-hongkong.aliyuncs.com",
        "cloudauth-intl-vpc.cn-hongkong.aliyuncs.com",
    ),
}
DEFAULT_REGION = "ap-southeast-1"

#: vendor Code -> (taxonomy code, retryable, billable). §4.5 error table: rows from the vendor
#: page (S4) and the POP gateway's common errors (A5). Only a 200 `Success` is billed (A6).
ERROR_CODES: dict[str, tuple[ErrorCode, bool, bool]] = {
    # S4 rows.
    "MissingParameter": (ErrorCode.BAD_REQUEST, False, False),  # 400
    "InvalidParameter": (ErrorCode.BAD_REQUEST, False, False),  # 400
    "NoFaceDetected": (ErrorCode.NO_FACE, False, False),  # 401
    # 401 "unreadable or does not meet resolution requirements": §4.5 maps it to LOW_QUALITY.
    "UnqualifiedPhoto": (ErrorCode.LOW_QUALITY, False, False),
    "ToolargeImage": (ErrorCode.IMAGE_TOO_LARGE, False, False),  # 401, spelt so by the vendor
    "DataDuplication": (ErrorCode.BAD_REQUEST, False, False),  # 401, picture and URL both given
    "DownloadTimeout": (ErrorCode.TIMEOUT, True, False),  # 401, URL mode only
    "Forbidden.RAMUserAccessDenied": (ErrorCode.PERMISSION_DENIED, False, False),  # 403
    "Forbidden.AccountAccessDenied": (ErrorCode.PERMISSION_DENIED, False, False),  # 403
    "Throttling.Api": (ErrorCode.RATE_LIMITED, True, False),  # 403
    "InternalError": (ErrorCode.VENDOR_ERROR, True, False),  # 500
    # A5 rows (POP gateway). A wrong secret or a bug in our signer does not heal on a retry.
    "SignatureDoesNotMatch": (ErrorCode.AUTH_FAILED, False, False),  # 400
    "IncompleteSignature": (ErrorCode.AUTH_FAILED, False, False),  # 400
    "InvalidTimeStamp.Format": (ErrorCode.AUTH_FAILED, False, False),  # 400
    # A retry is signed afresh with a new date and nonce, which is what these two ask for (§4.5).
    "InvalidTimeStamp.Expired": (ErrorCode.AUTH_FAILED, True, False),  # 400, > 15 min skew
    "SignatureNonceUsed": (ErrorCode.AUTH_FAILED, True, False),  # 400
    "InvalidAccessKeyId.NotFound": (ErrorCode.AUTH_FAILED, False, False),  # 404
    "InvalidAccessKeyId.Inactive": (ErrorCode.PERMISSION_DENIED, False, False),  # 400
    "Throttling.User": (ErrorCode.RATE_LIMITED, True, False),  # 400
    "InvalidApi.NotFound": (ErrorCode.BAD_REQUEST, False, False),  # 404
    # The POP gateway's generic throttling and 503 codes [I] (A5 family, not on the S4 page).
    "Throttling": (ErrorCode.RATE_LIMITED, True, False),
    "ServiceUnavailable": (ErrorCode.VENDOR_ERROR, True, False),
}

#: Which picture `NoFaceDetected` is about, read from its message. The vendor page documents
#: only "...from the source image" (S4); a message naming the target is an inference [I].
NO_FACE_SIDES = (("source", "selfie"), ("target", "reference"))

#: Throttling delays: the SDK reads `x-acs-retry-after` in milliseconds (A2
#: `get_throttling_time_left`, fed to `DaraCore.sleep(ms)`); `Retry-After` is plain seconds.
RETRY_AFTER_MS_HEADER = "x-acs-retry-after"
REQUEST_ID_HEADER = "x-acs-request-id"
