"""FinAuth (Megvii overseas) v5 compare as a `BaseVendorAdapter` (VENDOR-PROTOCOLS.md §1).

One multipart POST to `/finauth/v5/compare` carries both images as File parts and a fresh `sign`
(§1.2) among the text parts. The answer is either HTTP 200 with `result_code` 1000/2000 and a
0–100 `confidence`, or `{"error": "CODE[:detail]"}` with a 4xx/5xx status (§1.6), except 413,
which is plain text.

Request options (`CompareRequest.options`):
    "sign_ttl": 100        send an expiring sign valid this many seconds instead of the default
                           single-use one (`expire_time = 0`, §1.2 step 1)
    "encryption_type": 2   encrypt both images with FinAuth's RSA public key from
                           FINAUTH_ENCRYPTION_PUBLIC_KEY. UNVERIFIED framing (§1.3, §8.1): see
                           `vendors.finauth.auth.encrypt_rsa_chunks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from vendors.base import (
    IMAGE_PROBLEMS,
    BaseVendorAdapter,
    CompareRequest,
    CompareResult,
    ErrorCode,
    FaceBox,
    PreparedImage,
    ResultStatus,
    VendorError,
    VendorNotConfigured,
    parse_retry_after,
    scale_box,
)
from vendors.finauth.auth import FinAuthSigner, encrypt_rsa_chunks, load_public_key
from vendors.finauth.consts import (
    BILLED_RESULT_CODES,
    COMPARE_PATH,
    ENCRYPTION_NONE,
    ENCRYPTION_RSA,
    ERROR_CODES,
    FIELD_REFERENCE,
    FIELD_SELFIE,
    GENDERS,
    REASON_PREFIXES,
    REQUEST_TOO_LARGE,
    RESULT_SAME_PERSON,
    SIGN_VERSION,
    SINGAPORE_BASE_URL,
    THRESHOLD_KEYS,
    WHICH_IMAGE,
)

_AUTH_ATTEMPTS = 2  # §1.6: AUTH_FAILED is worth exactly one retry with a fresh sign


class FinAuthAdapter(BaseVendorAdapter):
    name = "finauth"
    label = "FinAuth"
    required_settings = ("FINAUTH_API_KEY", "FINAUTH_API_SECRET", "FINAUTH_COMPARE_ID")
    default_base_url = SINGAPORE_BASE_URL

    @cached_property
    def signer(self) -> FinAuthSigner:
        return FinAuthSigner(self.settings["FINAUTH_API_KEY"], self.settings["FINAUTH_API_SECRET"])

    @cached_property
    def encryption_key(self) -> rsa.RSAPublicKey:
        pem = self.settings.get("FINAUTH_ENCRYPTION_PUBLIC_KEY", "")
        if not pem:
            raise VendorNotConfigured(
                "FinAuth encryption_type=2 needs FINAUTH_ENCRYPTION_PUBLIC_KEY (the RSA public key "
                "from the FinAuth console) in the environment."
            )
        return load_public_key(pem)

    # --- request ----------------------------------------------------------------------------

    def _compare(self, request: CompareRequest) -> CompareResult:
        encryption = _encryption_type(request.options)
        files = {
            FIELD_SELFIE: self._file_part(FIELD_SELFIE, request.selfie, encryption),
            FIELD_REFERENCE: self._file_part(FIELD_REFERENCE, request.reference, encryption),
        }
        url = f"{self.base_url}{COMPARE_PATH}"
        for attempt in range(1, _AUTH_ATTEMPTS + 1):
            # A new sign per attempt: a single-use sign is spent even when the call fails.
            response = self.http.post(url, data=self._form(request, encryption), files=files)
            try:
                return self._parse(response, request)
            except VendorError as error:
                if error.code is ErrorCode.AUTH_FAILED and attempt < _AUTH_ATTEMPTS:
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _form(self, request: CompareRequest, encryption: int) -> dict[str, str]:
        form = {
            "sign": self.signer.sign(now=int(self.clock()), ttl=_sign_ttl(request.options)),
            "sign_version": SIGN_VERSION,
            "compare_id": self.settings["FINAUTH_COMPARE_ID"],
            "encryption_type": str(encryption),
        }
        # §1.4: biz_no is echoed back and is where our attempt id belongs; uuid traces a user.
        if request.reference_id:
            form["biz_no"] = request.reference_id
        if request.user_ref:
            form["uuid"] = request.user_ref
        return form

    def _file_part(
        self, field: str, image: PreparedImage, encryption: int
    ) -> tuple[str, bytes, str]:
        if encryption == ENCRYPTION_RSA:
            # UNVERIFIED (§1.3, §8.1): concatenated PKCS#1 v1.5 blocks as the file's bytes.
            data = encrypt_rsa_chunks(self.encryption_key, image.data)
            return f"{field}.bin", data, "application/octet-stream"
        return f"{field}.{image.extension}", image.data, image.content_type

    # --- response ---------------------------------------------------------------------------

    def _parse(self, response: httpx.Response, request: CompareRequest) -> CompareResult:
        status = response.status_code
        if status == 413:
            return self._too_large(response)
        body = self._body(response)
        if isinstance(body, Mapping) and body.get("error"):
            return self._error(body, response)
        if status != 200 or not isinstance(body, Mapping):
            raise VendorError(
                ErrorCode.VENDOR_ERROR,
                f"FinAuth answered HTTP {status} without a result or an error code.",
                retryable=status >= 500,
                http_status=status,
                raw_response=body,
            )
        return self._success(body, request)

    def _body(self, response: httpx.Response) -> Any:
        try:
            return self.decode_json(response)
        except VendorError as error:
            status = response.status_code
            if status == 429:
                # §1.6/§8.3: FaceID China sends 429 for CONCURRENCY_LIMIT_EXCEEDED; a proxy
                # in front may answer it without a JSON body.
                error.code = ErrorCode.RATE_LIMITED
                error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
            elif 400 <= status < 500:
                error.retryable = False  # a non-JSON 4xx will not change by itself
            raise

    def _too_large(self, response: httpx.Response) -> CompareResult:
        # §1.6: over 10 MB the server answers plain text, not JSON; it is still about the images.
        taxonomy, _, billable = ERROR_CODES[REQUEST_TOO_LARGE]
        return CompareResult(
            vendor=self.name,
            status=ResultStatus.INVALID_INPUT,
            error_code=taxonomy,
            vendor_code=REQUEST_TOO_LARGE,
            vendor_message=response.text.strip()[:200],
            billable=billable,
            details={"which": "unknown"},
            raw_response={"http_status": 413, "body_prefix": response.text.strip()[:200]},
        )

    def _error(self, body: Mapping[str, Any], response: httpx.Response) -> CompareResult:
        status = response.status_code
        sent = str(body["error"])
        # §1.6: split on the first ':' and strip, because the seed writes
        # "AUTHORIZATION_ERROR: INVALID_SIGN" with a space.
        code, _, detail = (part.strip() for part in sent.partition(":"))
        vendor_code = f"{code}:{detail}" if code in REASON_PREFIXES and detail else code
        request_id = str(body.get("request_id") or "")
        row = ERROR_CODES.get(vendor_code)
        if row is None:
            full_code = f"{code}:{detail}" if detail else code
            raise VendorError(
                ErrorCode.VENDOR_ERROR,
                f"FinAuth answered an undocumented error {full_code!r} (HTTP {status}).",
                retryable=status >= 500,
                vendor_code=full_code,
                http_status=status,
                vendor_request_id=request_id,
                raw_response=body,
            )
        taxonomy, retryable, billable = row
        if taxonomy in IMAGE_PROBLEMS:
            details: dict[str, Any] = {"which": WHICH_IMAGE.get(detail, "unknown")}
            if detail:
                details["param"] = detail
            return self.image_problem(
                taxonomy,
                vendor_code=vendor_code,
                message=sent,
                request_id=request_id,
                billable=billable,
                details=details,
                raw_response=body,
            )
        retry_after = None
        if taxonomy is ErrorCode.RATE_LIMITED:
            # FinAuth documents no Retry-After; honour one when a gateway adds it.
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise VendorError(
            taxonomy,
            f"FinAuth refused the call: {sent} (HTTP {status}).",
            retryable=retryable or (status >= 500 and taxonomy is ErrorCode.VENDOR_ERROR),
            vendor_code=vendor_code,
            http_status=status,
            retry_after=retry_after,
            billable=billable,
            vendor_request_id=request_id,
            raw_response=body,
        )

    def _success(self, body: Mapping[str, Any], request: CompareRequest) -> CompareResult:
        request_id = str(body.get("request_id") or "")
        result_code = _as_int(body.get("result_code"))
        if result_code not in BILLED_RESULT_CODES:
            # §1.5: other result codes are reserved; we cannot read them as a verdict.
            raise VendorError(
                ErrorCode.VENDOR_ERROR,
                f"FinAuth answered an undocumented result_code {body.get('result_code')!r}.",
                retryable=False,
                vendor_code=str(body.get("result_code")),
                http_status=200,
                vendor_request_id=request_id,
                raw_response=body,
            )
        ref1 = _mapping(_mapping(body.get("verification")).get("ref1"))
        confidence = ref1.get("confidence")
        score = _as_float(confidence)
        if score is None:
            raise VendorError(
                ErrorCode.PROTOCOL_ERROR,
                "FinAuth answered a result_code without verification.ref1.confidence.",
                retryable=False,
                vendor_code=str(result_code),
                http_status=200,
                billable=True,  # §1.6: result codes 1000 and 2000 are billed
                vendor_request_id=request_id,
                raw_response=body,
            )
        details: dict[str, Any] = {
            "thresholds": {
                key: value
                for key in THRESHOLD_KEYS
                if (value := _as_float(_mapping(ref1.get("thresholds")).get(key))) is not None
            },
            **_visual_attributes(_mapping(body.get("visual_attributes"))),
        }
        face = _mapping(body.get("face"))
        for key, name in (
            ("quality", "face_quality"),
            ("quality_threshold", "face_quality_threshold"),
        ):
            if (value := _as_float(face.get(key))) is not None:
                details[name] = value
        if (time_used := _as_int(body.get("time_used"))) is not None:
            details["time_used_ms"] = time_used
        tags = _mapping(body.get("verify_risk_info")).get("verify_info_tags")
        # §1.5: risk tags exist only when "comparison risk detection" is on for the scene.
        details["risk_checked"] = isinstance(tags, Mapping)
        return CompareResult(
            vendor=self.name,
            status=ResultStatus.COMPLETED,
            score=score,  # §1.5: confidence is already 0–100
            vendor_score=confidence,
            vendor_code=str(result_code),
            vendor_message=str(body.get("result_message") or ""),
            vendor_request_id=request_id,
            billable=True,
            same_person=result_code == RESULT_SAME_PERSON,
            risk_tags=_risk_tags(tags),
            # §1.5: `face` describes only the verification image (`image`, our selfie), and only
            # in rawimage mode; FinAuth reports no box for the reference.
            selfie_face=_face_box(face.get("rect"), request.selfie),
            reference_face=None,
            details=details,
            raw_response=body,
        )


# --- helpers ---------------------------------------------------------------------------------


def _encryption_type(options: Mapping[str, Any]) -> int:
    value = options.get("encryption_type", ENCRYPTION_NONE)
    try:
        encryption = int(value)
    except (TypeError, ValueError):
        encryption = -1
    if encryption not in (ENCRYPTION_NONE, ENCRYPTION_RSA):
        raise VendorNotConfigured(f"FinAuth encryption_type must be 0 or 2, not {value!r} (§1.3).")
    return encryption


def _sign_ttl(options: Mapping[str, Any]) -> int | None:
    ttl = options.get("sign_ttl")
    if not ttl:
        return None  # §1.2: expire_time = 0, a single-use sign
    return int(ttl)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _gender(value: Any) -> str | None:
    code = _as_int(value)
    return GENDERS.get(code) if code is not None else None


def _visual_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """§1.5 `visual_attributes`: 0 = male, 1 = female; ages are whole years."""
    # The seed's sample writes `gender_image_ref`; the documented name is `gender_image_ref1`.
    reference_gender = attributes.get("gender_image_ref1", attributes.get("gender_image_ref"))
    found = {
        "selfie_age": _as_int(attributes.get("age")),
        "selfie_gender": _gender(attributes.get("gender")),
        "reference_age": _as_int(attributes.get("age_image_ref1")),
        "reference_gender": _gender(reference_gender),
    }
    return {key: value for key, value in found.items() if value is not None}


def _risk_tags(tags: Any) -> tuple[str, ...]:
    """§1.5: documented as strings "0"/"1" but sampled as numbers, so both count."""
    if not isinstance(tags, Mapping):
        return ()
    return tuple(sorted(str(name) for name, value in tags.items() if _is_set(value)))


def _is_set(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return value in (1, "1") or (isinstance(value, str) and value.strip() == "1")


def _face_box(rect: Any, sent: PreparedImage) -> FaceBox | None:
    """§1.5: `rect` is fractions of the image we sent; scale to its pixels, then to the source."""
    rect = _mapping(rect)
    values = [_as_float(rect.get(key)) for key in ("left", "top", "width", "height")]
    if any(value is None for value in values):
        return None
    left, top, width, height = (float(value or 0.0) for value in values)
    box = (left * sent.width, top * sent.height, width * sent.width, height * sent.height)
    return scale_box(box, sent)
