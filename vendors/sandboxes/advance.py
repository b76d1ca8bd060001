"""ADVANCE.AI's side of face-recognition v4 check, faithful to VENDOR-PROTOCOLS.md §2.

Two endpoints, as documented (§2.1):

* `POST /openapi/auth/ticket/v1/generate-token` (JSON): checks for empty fields, the ±300 s
  timestamp window against `self.clock`, the access key and the SHA-256 signature, then issues an
  opaque token with `expiredTime` in ms (`periodSecond` default 3600, 60..86400) (§2.2).
* `POST /openapi/face-recognition/v4/check` (multipart): checks the `X-ACCESS-TOKEN` token and its
  expiry, that both parts are present, `image/jpeg` or `image/png` parts holding JPEG/PNG bytes,
  under 2 MB and between 256 and 4096 px a side, then scores the pair (§2.3, §2.4).

Every answer is the `{code, message, data, extra, transactionId, pricingStrategy}` envelope over
HTTP 200 (the status of non-SUCCESS envelopes is undocumented, §8 question 4), except the scripted
5xx faults.

Script entries (see vendors/sandboxes/base.py for the shared keys):
    "error": "<code>"          any code of §2.2/§2.4, rendered with its documented message and
                               pricing; an undocumented code is rendered as given, FREE
    "message": "..."           with "error": a different documented message, e.g. SERVICE_BUSY
                               "Quota exceeded: ..." or IAM_FAILED "Account is disabled. ..."
    "retry_after": 10          with "error": SERVICE_BUSY / RETRY_LATER, the Retry-After seconds
    "score": 62.5              the similarity to answer
    "expire_token": true       expire every issued token before this call
    "endpoint": "token"        this entry is for the token endpoint (default: the check endpoint;
                               token requests never use up entries meant for the check)
    "same_person", "risk_tags" ignored: ADVANCE reports neither (§2.4)
Config keys: {"expire_tokens": true} refuses every token as expired (a token that keeps failing),
{"account_disabled": true} answers the token request with ACCOUNT_DISABLED, and the shared
{"engine": false}.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

from PIL import Image, UnidentifiedImageError
from werkzeug.wrappers import Request, Response

from vendors.sandboxes.base import SandboxApp, json_response
from vendors.sandboxes.scoring import analyze_pair

# The vendor's side keeps its own copy of the protocol facts, so a typo in the adapter's
# constants cannot be mirrored here and go unnoticed.
TOKEN_PATH = "/openapi/auth/ticket/v1/generate-token"  # noqa: S105  (a path)
CHECK_PATH = "/openapi/face-recognition/v4/check"
TOKEN_HEADER = "X-ACCESS-TOKEN"  # noqa: S105  (a header name)
TIMESTAMP_WINDOW_SECONDS = 300  # "suggested 300 seconds before or after" (§2.2 step 1)
PERIOD_DEFAULT, PERIOD_MIN, PERIOD_MAX = 3600, 60, 86400  # §2.2 step 3
MAX_IMAGE_BYTES = 2 * 1024 * 1024  # "less than 2M" (§2.4)
MIN_SIDE, MAX_SIDE = 256, 4096  # "between 256 * 256 and 4096 * 4096" (§2.4)
PART_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png"})
DEFAULT_RETRY_AFTER = 10  # the glossary's example header is "Retry-After: 10s"

#: code -> (message, pricingStrategy), verbatim from the seed page S2 and its glossary.
DOCUMENTED: dict[str, tuple[str, str]] = {
    "SUCCESS": ("OK", "PAY"),
    "IMAGE_INVALID_FORMAT": (
        "Invalid image format, image format should be one of jpeg/jpg/png, and request content "
        "type should be image/jpeg or image/png",
        "FREE",
    ),
    "IMAGE_INVALID_SIZE": (
        "Invalid image size, max image size should be less than 2M, and image dimension should "
        "be between 256 * 256 and 4096 * 4096",
        "FREE",
    ),
    "NO_FACE_DETECTED_FROM_FIRST_IMAGE": (
        "No Face detected from the uploaded first picture",
        "PAY",
    ),
    "NO_FACE_DETECTED_FROM_SECOND_IMAGE": (
        "No Face detected from the uploaded second picture",
        "PAY",
    ),
    "FIRST_IMAGE_LOW_QUALITY_FACE": (
        "Face quality is too low of the uploaded first picture",
        "PAY",
    ),
    "SECOND_IMAGE_LOW_QUALITY_FACE": (
        "Face quality is too low of the uploaded second picture",
        "PAY",
    ),
    "ERROR": ("Server error", "FREE"),
    "EMPTY_PARAMETER_ERROR": ("Parameter should not be empty", "FREE"),
    "PARAMETER_ERROR": ("Parameter should not be empty", "FREE"),
    "INSUFFICIENT_BALANCE": (
        "Insufficient balance, please top up or contact your sales manager for help",
        "FREE",
    ),
    "SERVICE_BUSY": (
        "Rate limit is exceeded, please retry after the suggested time in HTTP Header.",
        "FREE",
    ),
    "IAM_FAILED": ("Access denied: Token not found or expired", "FREE"),
    "OVER_QUERY_LIMIT": (
        "Quota exceeded. you have exceeded free query quota, please contact your sales manager "
        "for help",
        "FREE",
    ),
    "CLIENT_ERROR": ("HTTP 400 - Bad Request", "FREE"),
    "RETRY_LATER": ("Query failed, please retry after the suggested time in HTTP Header.", "FREE"),
    "ACCOUNT_DISABLED": ("Account Disabled", "FREE"),
}
TOKEN_NOT_FOUND = "Access denied: Token not found or expired"  # noqa: S105  (a message)
RETRY_AFTER_CODES = frozenset({"SERVICE_BUSY", "RETRY_LATER"})


class AdvanceSandbox(SandboxApp):
    vendor = "advance"

    def __init__(
        self, credentials: dict[str, str], *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(credentials, clock=clock)
        self._tokens: dict[str, float] = {}  # token -> expiry (Unix seconds)
        self._tokens_lock = threading.Lock()

    # --- credentials ------------------------------------------------------------------------

    @classmethod
    def generate_credentials(cls) -> dict[str, str]:
        return {"access_key": secrets.token_hex(12), "secret_key": secrets.token_hex(16)}

    def client_settings(self, base_url: str) -> dict[str, str]:
        return {
            "ADVANCE_BASE_URL": base_url,
            "ADVANCE_ACCESS_KEY": self.credentials["access_key"],
            "ADVANCE_SECRET_KEY": self.credentials["secret_key"],
        }

    # --- script entries: token requests only take entries meant for them ---------------------

    def endpoint_of(self, request: Request) -> str:
        return "token" if request.path.rstrip("/") == TOKEN_PATH else "main"

    # --- the vendor's side ------------------------------------------------------------------

    def handle(self, request: Request, entry: dict[str, Any]) -> Response:
        path = request.path.rstrip("/")
        if path not in {TOKEN_PATH, CHECK_PATH}:
            return self.envelope("CLIENT_ERROR", message="HTTP 404 - Not Found")
        if request.method != "POST":
            return self.envelope("CLIENT_ERROR", message="HTTP 405 - Method Not Allowed")
        if path == TOKEN_PATH:
            return self.generate_token(request, entry)
        return self.check(request, entry)

    def generate_token(self, request: Request, entry: dict[str, Any]) -> Response:
        """§2.2: verify the signed request and issue a token."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return self.envelope("CLIENT_ERROR")
        access_key, signature, timestamp = (
            body.get("accessKey"),
            body.get("signature"),
            body.get("timestamp"),
        )
        if any(value in (None, "") for value in (access_key, signature, timestamp)):
            return self.envelope("PARAMETER_ERROR")
        # The seed types timestamp as a string but its example sends a number: accept both, and
        # sign it exactly as it was written (§2.2 step 3).
        if isinstance(timestamp, bool) or not isinstance(timestamp, int | str):
            return self.envelope("PARAMETER_ERROR", message="Timestamp error")
        written = str(timestamp)
        if not written.isdigit():
            return self.envelope("PARAMETER_ERROR", message="Timestamp error")
        if abs(int(written) / 1000 - self.clock()) > TIMESTAMP_WINDOW_SECONDS:
            return self.envelope("PARAMETER_ERROR", message="Timestamp error")
        if not hmac.compare_digest(str(access_key), self.credentials["access_key"]):
            return self.envelope("IAM_FAILED", message="Access Key not found")
        expected = hashlib.sha256(
            f"{access_key}{self.credentials['secret_key']}{written}".encode()
        ).hexdigest()
        if not hmac.compare_digest(str(signature), expected):
            return self.envelope("PARAMETER_ERROR", message="Signature error")
        raw_period = body.get("periodSecond")
        if raw_period in (None, ""):
            raw_period = PERIOD_DEFAULT
        if isinstance(raw_period, bool) or not str(raw_period).isdigit():
            return self.envelope("PARAMETER_ERROR", message="Invalid periodSecond")
        period = int(str(raw_period))
        if not PERIOD_MIN <= period <= PERIOD_MAX:
            # The limits are documented; the error for breaking them is not (an [I] choice).
            return self.envelope(
                "PARAMETER_ERROR",
                message=f"periodSecond should be between {PERIOD_MIN} and {PERIOD_MAX}",
            )
        if self.config.get("account_disabled"):
            return self.envelope("ACCOUNT_DISABLED")
        if entry.get("error"):
            return self.scripted_error(entry)
        token = secrets.token_urlsafe(32)
        expires_at = self.clock() + period
        with self._tokens_lock:
            self._tokens[token] = expires_at
        return self.envelope(
            "SUCCESS",
            data={"token": token, "expiredTime": int(expires_at * 1000)},
            pricing="FREE",  # the token endpoint is free (§2.2 table)
        )

    def check(self, request: Request, entry: dict[str, Any]) -> Response:
        """§2.3/§2.4: authenticate, validate both images, then score them."""
        if entry.get("expire_token"):
            self.expire_tokens()
        if not self.token_valid(request.headers.get(TOKEN_HEADER, "")):
            return self.envelope("IAM_FAILED", message=TOKEN_NOT_FOUND)
        first, second = request.files.get("firstImage"), request.files.get("secondImage")
        if first is None or second is None:
            return self.envelope("EMPTY_PARAMETER_ERROR")
        images: list[bytes] = []
        for part in (first, second):
            data = part.read()
            problem = self.image_problem(part.mimetype, data)
            if problem:
                return self.envelope(problem)
            images.append(data)
        if entry.get("error"):
            return self.scripted_error(entry)
        if "score" in entry:
            # A scripted score needs faces only for the boxes: assume centred ones (fast).
            analysis = analyze_pair(images[0], images[1], use_engine=False)
            similarity: float | None = float(entry["score"])
        else:
            analysis = analyze_pair(images[0], images[1], use_engine=self.use_engine())
            similarity = analysis.similarity
        if analysis.first.largest is None:
            return self.envelope("NO_FACE_DETECTED_FROM_FIRST_IMAGE")
        if analysis.second.largest is None or similarity is None:
            return self.envelope("NO_FACE_DETECTED_FROM_SECOND_IMAGE")
        return self.envelope(
            "SUCCESS",
            data={
                "similarity": similarity,
                "firstFace": _face("1", analysis.first.largest),
                "secondFace": _face("2", analysis.second.largest),
            },
        )

    def image_problem(self, content_type: str, data: bytes) -> str | None:
        """The documented code for an unacceptable part, or None (§2.3, §2.4 limits)."""
        if content_type.lower() not in PART_TYPES:
            return "IMAGE_INVALID_FORMAT"  # "request content type should be image/jpeg or png"
        if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
            return "IMAGE_INVALID_FORMAT"
        if len(data) >= MAX_IMAGE_BYTES:
            return "IMAGE_INVALID_SIZE"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as image:
                    width, height = image.size
        except Image.DecompressionBombError:
            return "IMAGE_INVALID_SIZE"
        except (UnidentifiedImageError, OSError, ValueError):
            return "IMAGE_INVALID_FORMAT"
        if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
            return "IMAGE_INVALID_SIZE"
        return None

    # --- tokens -----------------------------------------------------------------------------

    def token_valid(self, token: str) -> bool:
        if not token or self.config.get("expire_tokens"):
            return False
        with self._tokens_lock:
            expires_at = self._tokens.get(token)
        return expires_at is not None and self.clock() < expires_at

    def expire_tokens(self) -> None:
        now = self.clock()
        with self._tokens_lock:
            for token in self._tokens:
                self._tokens[token] = min(self._tokens[token], now)

    def on_reset(self) -> None:
        with self._tokens_lock:
            self._tokens.clear()

    # --- documented bodies ------------------------------------------------------------------

    def envelope(
        self,
        code: str,
        *,
        message: str | None = None,
        data: Any = None,
        pricing: str | None = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        documented_message, documented_pricing = DOCUMENTED.get(code, (code, "FREE"))
        return json_response(
            {
                "code": code,
                "message": documented_message if message is None else message,
                "data": data,
                "extra": None,
                "transactionId": secrets.token_hex(8),  # 16 hex chars, as in the samples
                "pricingStrategy": pricing or documented_pricing,
            },
            status=status,
            headers=headers,
        )

    def scripted_error(self, entry: dict[str, Any]) -> Response:
        code = str(entry["error"])
        headers = None
        if code in RETRY_AFTER_CODES:
            headers = {"Retry-After": _seconds(entry.get("retry_after", DEFAULT_RETRY_AFTER))}
        return self.envelope(code, message=entry.get("message"), headers=headers)

    def server_error(self, status: int) -> Response:
        return self.envelope("ERROR", status=status)

    def rate_limited(self, retry_after: float) -> Response:
        # Today SERVICE_BUSY comes over HTTP 200 with "Retry-After: 10s" (S2 glossary; it "may
        # migrate to HTTP 429 in the future").
        return self.envelope("SERVICE_BUSY", headers={"Retry-After": _seconds(retry_after)})

    def describe_request(self, request: Request) -> dict[str, Any]:
        # Tokens are bearer secrets even here: log a digest, enough to tell tokens apart.
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        token = headers.pop("X-Access-Token", "")
        facts: dict[str, Any] = {"headers": headers}
        if token:
            facts["token_digest"] = hashlib.sha256(token.encode()).hexdigest()[:16]
        if request.path.rstrip("/") == TOKEN_PATH:
            body = request.get_json(silent=True)
            if isinstance(body, dict):
                facts["json"] = {
                    key: ("<signature>" if key == "signature" else value)
                    for key, value in body.items()
                }
                facts["json_types"] = {key: type(value).__name__ for key, value in body.items()}
        return facts


def _face(face_id: str, box: tuple[int, int, int, int]) -> dict[str, Any]:
    """A face position as ADVANCE writes it: float px from the picture's edges (§2.4)."""
    left, top, width, height = box
    return {
        "id": face_id,
        "left": float(left),
        "top": float(top),
        "right": float(left + width),
        "bottom": float(top + height),
    }


def _seconds(value: Any) -> str:
    """The documented header form, e.g. "10s"."""
    return f"{float(value):g}s"
