"""The vendor boundary: one request shape, one result shape, one error taxonomy (DESIGN §10).

Adapters translate a vendor's protocol into `CompareResult`; they never decide. A vendor answer
about the images (a score, or "no face") is a result; getting no usable answer is a
`VendorError` carrying a taxonomy code and whether trying again can help.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, ClassVar

import httpx

from vendors.http_clients import ClientStack


class ErrorCode(StrEnum):
    """Common error taxonomy, VENDOR-PROTOCOLS.md §0."""

    NO_FACE = "NO_FACE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    LOW_QUALITY = "LOW_QUALITY"
    FACE_TOO_SMALL = "FACE_TOO_SMALL"
    INVALID_IMAGE = "INVALID_IMAGE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    # Below a backend's minimum size, found by our own check before the call (kyc.images). An
    # extension to §0: ADVANCE folds its own "too small" answer into IMAGE_TOO_LARGE (§2.4), but
    # a client told "too large" about a small photo would send a smaller one.
    IMAGE_TOO_SMALL = "IMAGE_TOO_SMALL"
    BAD_REQUEST = "BAD_REQUEST"
    AUTH_FAILED = "AUTH_FAILED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    RATE_LIMITED = "RATE_LIMITED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    TIMEOUT = "TIMEOUT"
    VENDOR_ERROR = "VENDOR_ERROR"
    PROTOCOL_ERROR = "PROTOCOL_ERROR"


#: Codes that describe the images themselves: the vendor answered, the pair needs new photos.
IMAGE_PROBLEMS = frozenset(
    {
        ErrorCode.NO_FACE,
        ErrorCode.MULTIPLE_FACES,
        ErrorCode.LOW_QUALITY,
        ErrorCode.FACE_TOO_SMALL,
        ErrorCode.INVALID_IMAGE,
        ErrorCode.IMAGE_TOO_LARGE,
        ErrorCode.IMAGE_TOO_SMALL,
    }
)


class ResultStatus(StrEnum):
    COMPLETED = "completed"
    INVALID_INPUT = "invalid_input"


class ReferenceSource(StrEnum):
    ID_PHOTO = "ID_PHOTO"
    SELFIE = "SELFIE"


@dataclass(frozen=True)
class PreparedImage:
    """An image re-encoded to one vendor's limits.

    `source_width`/`source_height` are the upright (EXIF-applied) dimensions of the image the
    client submitted; face boxes are reported in those pixels so the reviewer UI can draw them.
    """

    data: bytes = field(repr=False)
    content_type: str  # "image/jpeg" or "image/png"
    width: int
    height: int
    source_width: int
    source_height: int

    @property
    def extension(self) -> str:
        return "png" if self.content_type == "image/png" else "jpg"


@dataclass(frozen=True)
class CompareRequest:
    selfie: PreparedImage
    reference: PreparedImage
    reference_id: str  # our id for this call (the attempt's public id), sent as the vendor's biz id
    user_ref: str = ""  # an opaque, hashed applicant reference (never the client's raw user id)
    reference_source: ReferenceSource = ReferenceSource.ID_PHOTO
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FaceBox:
    left: int
    top: int
    width: int
    height: int

    def as_dict(self) -> dict[str, int]:
        return {"left": self.left, "top": self.top, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class CompareResult:
    vendor: str
    status: ResultStatus
    score: float | None = None  # normalized 0–100; judged only against this vendor's config
    vendor_score: Any = None  # the vendor's own score exactly as sent
    error_code: ErrorCode | None = None  # set for INVALID_INPUT
    vendor_code: str = ""
    vendor_message: str = ""
    vendor_request_id: str = ""
    billable: bool = False
    same_person: bool | None = None  # the vendor's own verdict flag, where it gives one
    risk_tags: tuple[str, ...] = ()
    selfie_face: FaceBox | None = None  # in pixels of the submitted (upright) image
    reference_face: FaceBox | None = None
    latency_ms: int = 0
    # Vendor specifics worth showing a reviewer: FinAuth thresholds, ages and genders, face
    # counts, which image had no face ("which": "selfie" | "reference" | "unknown").
    details: Mapping[str, Any] = field(default_factory=dict)
    raw_response: Any = None  # redacted: nothing image-like is ever kept

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of DESIGN §10 (`manage.py compare --json`)."""
        return {
            "vendor": self.vendor,
            "status": str(self.status),
            "score": self.score,
            "vendor_score": self.vendor_score,
            "error_code": str(self.error_code) if self.error_code else None,
            "vendor_code": self.vendor_code,
            "vendor_message": self.vendor_message,
            "vendor_request_id": self.vendor_request_id,
            "billable": self.billable,
            "same_person": self.same_person,
            "risk_tags": list(self.risk_tags),
            "faces": {
                "selfie": self.selfie_face.as_dict() if self.selfie_face else None,
                "reference": self.reference_face.as_dict() if self.reference_face else None,
            },
            "latency_ms": self.latency_ms,
        }


class VendorNotConfigured(Exception):
    """A configuration error on our side (missing variable), never a vendor error."""


class VendorError(Exception):
    """No usable answer from the vendor."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        retryable: bool,
        vendor_code: str = "",
        http_status: int | None = None,
        retry_after: float | None = None,
        billable: bool = False,
        vendor_request_id: str = "",
        raw_response: Any = None,
        latency_ms: int = 0,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.vendor_code = vendor_code
        self.http_status = http_status
        self.retry_after = retry_after
        self.billable = billable
        self.vendor_request_id = vendor_request_id
        self.raw_response = raw_response
        self.latency_ms = latency_ms

    def __repr__(self) -> str:
        return f"VendorError({self.code}, {self.message!r}, retryable={self.retryable})"


# --- Redaction ---------------------------------------------------------------------------------

_IMAGE_KEY = re.compile(r"image|img|face(shot)?\d?$|photo|picture|pic$|base64", re.IGNORECASE)
_BASE64ISH = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")
_LONG_STRING = 256


def _redacted(value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"[redacted {len(value)} chars sha256:{digest}]"


def redact(value: Any, key: str = "") -> Any:
    """Replace anything image-like in a decoded response with a short marker.

    An image-named key holding a long string, or any long base64-looking string, is dropped:
    raw responses are kept for evidence and must never hold biometric data.
    """
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        if len(value) > 64 and _IMAGE_KEY.search(key):
            return _redacted(value)
        if len(value) > _LONG_STRING and _BASE64ISH.match(value):
            return _redacted(value)
    if isinstance(value, bytes):
        return _redacted(base64.b64encode(value).decode())
    return value


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: `10`, ADVANCE's `10s` (VENDOR-PROTOCOLS §2.4) or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*s?", value, re.IGNORECASE)
    if match:
        return float(match.group(1))
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def scale_box(
    box: tuple[float, float, float, float] | None, image: PreparedImage
) -> FaceBox | None:
    """Map a (left, top, width, height) box from prepared-image pixels to submitted-image pixels."""
    if box is None:
        return None
    sx = image.source_width / image.width
    sy = image.source_height / image.height
    left, top, width, height = box
    return FaceBox(round(left * sx), round(top * sy), round(width * sx), round(height * sy))


# --- Adapter base ------------------------------------------------------------------------------


class BaseVendorAdapter(ABC):
    """Template method around one comparison call.

    Subclasses implement `_compare` (build the request, send it with `self.http`, parse the
    answer) and raise `VendorError` for anything that is not an answer about the images. This
    class owns timeouts, connection reuse, transport error wrapping, latency and redaction.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    #: Environment variables (DESIGN §9) this backend cannot work without.
    required_settings: ClassVar[tuple[str, ...]] = ()
    default_base_url: ClassVar[str] = ""
    #: False for a backend that calls nobody (the local engine): its calls lease no HTTP client.
    over_http: ClassVar[bool] = True

    def __init__(
        self,
        settings: Mapping[str, str],
        *,
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
        http_client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        cache: Any = None,
    ) -> None:
        missing = [name for name in self.required_settings if not settings.get(name)]
        if missing:
            raise VendorNotConfigured(
                f"{self.label} is enabled but {', '.join(missing)} is not set in the environment."
            )
        self.settings = settings
        self.clock = clock
        self.cache = cache
        self.timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._http_client = http_client
        self._clients = ClientStack(self.timeout)

    @property
    def http(self) -> httpx.Client:
        """The client to call the vendor with: the one given (tests), else the one this call
        leased (`compare`; vendors.http_clients says why not one for all threads)."""
        if self._http_client is not None:
            return self._http_client
        leased = self._clients.leased()
        if leased is None:
            raise RuntimeError("adapter.http is for calls inside compare() or lease_client()")
        return leased

    def lease_client(self) -> AbstractContextManager[httpx.Client]:
        """The client `http` gives the calling thread until the block ends."""
        if self._http_client is not None:
            return nullcontext(self._http_client)
        return self._clients.lease()

    @property
    def base_url(self) -> str:
        prefix = self.name.upper()
        return (self.settings.get(f"{prefix}_BASE_URL") or self.default_base_url).rstrip("/")

    def compare(self, request: CompareRequest) -> CompareResult:
        started = time.monotonic()
        try:
            with self.lease_client() if self.over_http else nullcontext():
                result = self._compare(request)
        except VendorError as error:
            error.latency_ms = error.latency_ms or _elapsed_ms(started)
            error.raw_response = redact(error.raw_response)
            raise
        except httpx.TimeoutException as error:
            raise VendorError(
                ErrorCode.TIMEOUT,
                f"{self.label} did not answer in time ({type(error).__name__}).",
                retryable=True,
                latency_ms=_elapsed_ms(started),
            ) from error
        except httpx.TransportError as error:
            raise VendorError(
                ErrorCode.VENDOR_ERROR,
                f"Connection to {self.label} failed ({type(error).__name__}).",
                retryable=True,
                latency_ms=_elapsed_ms(started),
            ) from error
        return replace(
            result,
            latency_ms=result.latency_ms or _elapsed_ms(started),
            raw_response=redact(result.raw_response),
        )

    @abstractmethod
    def _compare(self, request: CompareRequest) -> CompareResult:
        """Send one comparison and translate the answer."""

    # Shared helpers for subclasses ---------------------------------------------------------

    def image_problem(
        self,
        code: ErrorCode,
        *,
        vendor_code: str,
        message: str,
        request_id: str = "",
        billable: bool = False,
        details: Mapping[str, Any] | None = None,
        raw_response: Any = None,
        **extra: Any,
    ) -> CompareResult:
        """The vendor's answer that these images cannot be compared (a result, not an error)."""
        return CompareResult(
            vendor=self.name,
            status=ResultStatus.INVALID_INPUT,
            error_code=code,
            vendor_code=vendor_code,
            vendor_message=message,
            vendor_request_id=request_id,
            billable=billable,
            details=details or {},
            raw_response=raw_response,
            **extra,
        )

    def decode_json(self, response: httpx.Response) -> Any:
        """The body as JSON; an unparseable body is a vendor fault worth one more try."""
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise VendorError(
                ErrorCode.VENDOR_ERROR,
                f"{self.label} answered HTTP {response.status_code} with a body that is not JSON.",
                retryable=True,
                http_status=response.status_code,
                raw_response={"body_prefix": response.text[:200]},
            ) from error

    def close(self) -> None:
        if self._http_client is not None:
            self._http_client.close()
        self._clients.close()


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
