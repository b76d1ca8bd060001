"""FinAuth v5 compare, the vendor's side (VENDOR-PROTOCOLS.md §1, vendor-docs/finauth-compare-v5).

`POST /finauth/v5/compare`, multipart: text parts `sign`, `sign_version=hmac_sha1`, `compare_id`,
`encryption_type`, optional `biz_no`/`uuid`, and File parts `image` and `image_ref1`. The checks
run in this order, each answering exactly as §1.6 documents:

1. another path or method                     404 {"error":"API_NOT_FOUND"}
2. a body over 10 MB                          413 text/plain "Request Entity Too Large"
3. a missing mandatory parameter              400 {"error":"MISSING_ARGUMENTS:<key>"}
4. the sign (§1.2 server side): undecodable, unknown key `a`, MAC mismatch (constant time), or a
   single-use sign (`b=0`) seen before        403 {"error":"AUTHORIZATION_ERROR:INVALID_SIGN"}
   `b != 0` and now (`self.clock`) > b        403 {"error":"AUTHORIZATION_ERROR:EXPIRED_SIGN"}
5. sign_version, compare_id, encryption_type, biz_no/uuid length
                                              400 {"error":"BAD_ARGUMENTS:<key>"} ([I] F5)
   encryption_type=2 without console keys     400 {"error":"KEY_NOT_FOUND"}
6. image bytes that are not JPEG/PNG/BMP (sniffed from the bytes, never the file name) or do
   not decode                                 400 {"error":"IMAGE_ERROR_UNSUPPORTED_FORMAT:<param>"}
   a side over 4096 px                        400 {"error":"INVALID_IMAGE_SIZE:<param>"}
   no face                                    400 {"error":"NO_FACE_FOUND:<param>"}
   (`<param>` is the first of image, image_ref1 that meets the condition.)

Otherwise HTTP 200 with the §1.5 body: `request_id` "<unix seconds>,<uuid4>", `biz_no` echoed,
`time_used`, `result_code` 1000 iff confidence > the scene threshold (`1e-4` unless configured),
`verification.ref1` (confidence and constant thresholds), `face` (the selfie's box as fractions),
`visual_attributes` (ages and genders derived from each image's hash; a same-person pair gets one
gender and ages a few years apart) and `verify_risk_info.verify_info_tags` (`is_age_risk` when the
ages differ by more than 10 years, `is_gender_risk` when the genders differ; strings "0"/"1" as
documented). Error bodies also carry `request_id` and `time_used`, as FaceID sister APIs do [I] F5.

Script keys besides the common ones (`score`, `error`, `same_person`, `risk_tags`). A scripted
"error" is answered before any check, so a client's mapping can be tested in isolation:
    "error": "NO_FACE_FOUND:image_ref1"   any code, rendered with its documented status (unknown
                                          codes 400, or "status": N); "Request Entity Too Large"
                                          gives the plain-text 413
    "risk_tags": ["is_age_risk"]          exactly these tags are "1", the others "0"
    "ages": [25, 41]                      selfie and reference ages
    "genders": [0, 1]                     selfie and reference genders (0/1 or "male"/"female")
    "return_images": true                 add `images.image_best` (base64 of the selfie)
Config keys: "strictness" ("1e-3".."1e-6", the scene's level), "risk_detection" (default true),
"risk_tags_as_numbers" (the seed sample's form), "encryption_keys" (false = none configured in
the console, so encryption_type=2 is KEY_NOT_FOUND), "multiple_faces" ("largest" as documented
for image_ref1, or "error" to refuse a selfie with several faces), "clock_offset" (seconds added
to the clock, for clients testing expiry over the control API).

encryption_type=2 follows the adapter's UNVERIFIED framing (§1.3, §8.1): concatenated RSA-1024
PKCS#1 v1.5 blocks of 117-byte chunks, decrypted with the key pair generated per sandbox run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import re
import secrets
import threading
import time
import uuid
from typing import Any, ClassVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Request, Response

from vendors.sandboxes.base import SandboxApp, json_response
from vendors.sandboxes.scoring import ImageFaces, analyze_pair

COMPARE_PATH = "/finauth/v5/compare"
MAX_BODY_BYTES = 10 * 1024 * 1024  # §1.6: 413 over 10 MB
MAX_SIDE = 4096  # §1.6: INVALID_IMAGE_SIZE beyond this
MAX_TEXT_BYTES = 128  # §1.4: biz_no and uuid
MANDATORY = ("sign", "sign_version", "compare_id", "encryption_type", "image", "image_ref1")
FILE_PARAMS = ("image", "image_ref1")
#: §1.5: constant thresholds in the shape of the seed's sample.
THRESHOLDS = {"1e-3": 62.169, "1e-4": 69.315, "1e-5": 74.399, "1e-6": 78.038}
DEFAULT_STRICTNESS = "1e-4"
#: §1.6: status per error code (the part before the first ':').
ERROR_STATUS = {
    "MISSING_ARGUMENTS": 400,
    "BAD_ARGUMENTS": 400,
    "IMAGE_ERROR_UNSUPPORTED_FORMAT": 400,
    "NO_FACE_FOUND": 400,
    "INVALID_IMAGE_SIZE": 400,
    "LOW_QUALITY": 400,
    "MULTIPLE_FACES": 400,
    "KEY_NOT_FOUND": 400,
    "AUTHENTICATION_ERROR": 403,
    "AUTHORIZATION_ERROR": 403,
    "CONCURRENCY_LIMIT_EXCEEDED": 403,
    "API_NOT_FOUND": 404,
    "INTERNAL_ERROR": 500,
}
TOO_LARGE_TEXT = "Request Entity Too Large"
RESULT_MESSAGES = {1000: "SUCCESS", 2000: "PASS_LIVING_NOT_THE_SAME"}
RISK_TAGS = ("is_age_risk", "is_gender_risk")
AGE_RISK_YEARS = 10  # §1.5: "usually an age gap of 10 years or more"
_SIGN_RAW = re.compile(r"a=(?P<a>[^&]*)&b=(?P<b>\d+)&c=(?P<c>\d+)&d=(?P<d>\d{1,10})")
_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"BM", "BMP"))


class FinAuthError(Exception):
    """One documented error answer; `handle` renders it."""

    def __init__(self, error: str, status: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


class FinAuthSandbox(SandboxApp):
    vendor: ClassVar[str] = "finauth"

    def __init__(self, credentials: dict[str, str], **kwargs: Any) -> None:
        super().__init__(credentials, **kwargs)
        self._used_signs: set[str] = set()
        self._signs_lock = threading.Lock()
        self._private_key = serialization.load_pem_private_key(
            credentials["encryption_private_key"].encode(), password=None
        )

    # --- credentials ---------------------------------------------------------------------

    @classmethod
    def generate_credentials(cls) -> dict[str, str]:
        # §1.3: FinAuth generates an RSA-1024 pair and shows the public key in its console.
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the documented size
        return {
            "api_key": secrets.token_urlsafe(24),
            "api_secret": secrets.token_urlsafe(24),
            "compare_id": secrets.token_hex(16),
            "encryption_private_key": key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ).decode(),
            "encryption_public_key": key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode(),
        }

    def client_settings(self, base_url: str) -> dict[str, str]:
        return {
            "FINAUTH_BASE_URL": base_url,
            "FINAUTH_API_KEY": self.credentials["api_key"],
            "FINAUTH_API_SECRET": self.credentials["api_secret"],
            "FINAUTH_COMPARE_ID": self.credentials["compare_id"],
            "FINAUTH_ENCRYPTION_PUBLIC_KEY": self.credentials["encryption_public_key"],
        }

    def on_reset(self) -> None:
        with self._signs_lock:
            self._used_signs.clear()

    def now(self) -> float:
        return self.clock() + float(self.config.get("clock_offset", 0))

    def describe_request(self, request: Request) -> dict[str, Any]:
        """The decoded `raw` of the sign (key, expiry, time, random; never the secret)."""
        try:
            blob = base64.b64decode(request.form.get("sign", ""), validate=True)
            return {"sign_raw": blob[20:].decode()}
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return {}

    # --- vendor-shaped faults -------------------------------------------------------------

    def server_error(self, status: int) -> Response:
        return self.error_response("INTERNAL_ERROR", status)

    def rate_limited(self, retry_after: float) -> Response:
        # §1.6: FinAuth answers 403 CONCURRENCY_LIMIT_EXCEEDED. It documents no Retry-After;
        # the sandbox adds one so clients can be tested honouring it.
        response = self.error_response("CONCURRENCY_LIMIT_EXCEEDED", 403)
        response.headers["Retry-After"] = str(int(retry_after))
        return response

    def error_response(self, error: str, status: int | None = None) -> Response:
        code = error.partition(":")[0].strip()
        if error in (TOO_LARGE_TEXT, "REQUEST_ENTITY_TOO_LARGE"):
            return too_large()
        body = {"error": error, "request_id": self.request_id(), "time_used": 0}
        return json_response(body, status=status or ERROR_STATUS.get(code, 400))

    def request_id(self) -> str:
        return f"{int(self.now())},{uuid.uuid4()}"

    # --- the call -------------------------------------------------------------------------

    def handle(self, request: Request, entry: dict[str, Any]) -> Response:
        started = time.monotonic()
        try:
            if request.path.rstrip("/") != COMPARE_PATH or request.method != "POST":
                raise FinAuthError("API_NOT_FOUND")
            if "error" in entry:
                status = entry.get("status")
                return self.error_response(str(entry["error"]), int(status) if status else None)
            if (request.content_length or 0) > MAX_BODY_BYTES:
                return too_large()
            form, files = request.form, request.files
            for key in MANDATORY:
                present = key in files if key in FILE_PARAMS else bool(form.get(key))
                if not present:
                    raise FinAuthError(f"MISSING_ARGUMENTS:{key}")
            self.verify_sign(form["sign"])
            self.check_arguments(form)
            images = [
                self.read_image(files[param], param, form["encryption_type"])
                for param in FILE_PARAMS
            ]
            for data, param in zip(images, FILE_PARAMS, strict=True):
                check_format(data, param)
            for data, param in zip(images, FILE_PARAMS, strict=True):
                check_size(data, param)
            body = self.compare(images[0], images[1], form, entry)
        except FinAuthError as error:
            return self.error_response(error.error, error.status)
        body["time_used"] = max(1, round((time.monotonic() - started) * 1000))
        return json_response(body)

    def verify_sign(self, sign: str) -> None:
        """§1.2 "Server-side verification", steps 1-5."""
        invalid = FinAuthError("AUTHORIZATION_ERROR:INVALID_SIGN")
        try:
            blob = base64.b64decode(sign, validate=True)
            raw = blob[20:].decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise invalid from None
        match = _SIGN_RAW.fullmatch(raw)
        if len(blob) <= 20 or match is None:
            raise invalid
        if not hmac.compare_digest(match["a"].encode(), self.credentials["api_key"].encode()):
            raise invalid
        expected = hmac.new(self.credentials["api_secret"].encode(), raw.encode(), hashlib.sha1)
        if not hmac.compare_digest(blob[:20], expected.digest()):
            raise invalid
        expire_time, current_time = int(match["b"]), int(match["c"])
        if expire_time != 0:
            if current_time >= expire_time:  # §1.2 step 1: c must be lower than b
                raise invalid
            if self.now() > expire_time:
                raise FinAuthError("AUTHORIZATION_ERROR:EXPIRED_SIGN")
            return
        # b = 0: single-use. The sign is spent now, whatever happens to the rest of the call.
        # A replay is refused as INVALID_SIGN [I]: the docs name no separate code for it.
        with self._signs_lock:
            if raw in self._used_signs:
                raise invalid
            self._used_signs.add(raw)

    def check_arguments(self, form: Any) -> None:
        # Values the FinAuth table does not cover: BAD_ARGUMENTS as the FaceID sister API does [I].
        if form["sign_version"] != "hmac_sha1":
            raise FinAuthError("BAD_ARGUMENTS:sign_version")
        if form["compare_id"] != self.credentials["compare_id"]:
            raise FinAuthError("BAD_ARGUMENTS:compare_id")
        if form["encryption_type"] not in ("0", "2"):
            raise FinAuthError("BAD_ARGUMENTS:encryption_type")
        if form["encryption_type"] == "2" and not self.config.get("encryption_keys", True):
            raise FinAuthError("KEY_NOT_FOUND")
        for key in ("biz_no", "uuid"):
            if len(form.get(key, "").encode()) > MAX_TEXT_BYTES:
                raise FinAuthError(f"BAD_ARGUMENTS:{key}")

    def read_image(self, file: FileStorage, param: str, encryption_type: str) -> bytes:
        data = file.read()
        if encryption_type != "2":
            return data
        # UNVERIFIED framing (§1.3): 128-byte PKCS#1 v1.5 blocks, concatenated.
        key = self._private_key
        assert isinstance(key, rsa.RSAPrivateKey)
        block = key.key_size // 8
        if not data or len(data) % block:
            raise FinAuthError(f"IMAGE_ERROR_UNSUPPORTED_FORMAT:{param}")
        try:
            return b"".join(
                key.decrypt(data[start : start + block], padding.PKCS1v15())
                for start in range(0, len(data), block)
            )
        except ValueError:
            raise FinAuthError(f"IMAGE_ERROR_UNSUPPORTED_FORMAT:{param}") from None

    # --- the answer ----------------------------------------------------------------------

    def compare(
        self, selfie: bytes, reference: bytes, form: Any, entry: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            analysis = analyze_pair(selfie, reference, use_engine=self.use_engine())
        except (ValueError, OSError):
            raise FinAuthError("IMAGE_ERROR_UNSUPPORTED_FORMAT:image") from None
        scripted = entry.get("score")
        if scripted is None:
            for faces, param in ((analysis.first, "image"), (analysis.second, "image_ref1")):
                if not faces.boxes:
                    raise FinAuthError(f"NO_FACE_FOUND:{param}")
            if len(analysis.first.boxes) > 1 and self.config.get("multiple_faces") == "error":
                raise FinAuthError("MULTIPLE_FACES")
        confidence = round(
            float(scripted if scripted is not None else analysis.similarity or 0.0), 5
        )
        strictness = str(self.config.get("strictness", DEFAULT_STRICTNESS))
        same = bool(entry.get("same_person", confidence > THRESHOLDS[strictness]))
        result_code = 1000 if same else 2000
        body: dict[str, Any] = {
            "request_id": self.request_id(),
            "biz_no": form.get("biz_no", ""),
            "time_used": 0,
            "result_code": result_code,
            "result_message": RESULT_MESSAGES[result_code],
            "verification": {"ref1": {"confidence": confidence, "thresholds": dict(THRESHOLDS)}},
            "face": face_block(analysis.first, selfie),
        }
        ages, genders = visual_attributes(selfie, reference, same, entry)
        body["visual_attributes"] = {
            "age": ages[0],
            "gender": genders[0],
            "age_image_ref1": ages[1],
            "gender_image_ref1": genders[1],
        }
        if self.config.get("risk_detection", True):
            body["verify_risk_info"] = {"verify_info_tags": self.risk_tags(ages, genders, entry)}
        if entry.get("return_images"):
            body["images"] = {"image_best": base64.b64encode(selfie).decode()}
        return body

    def risk_tags(
        self, ages: tuple[int, int], genders: tuple[int, int], entry: dict[str, Any]
    ) -> dict[str, Any]:
        if "risk_tags" in entry:
            chosen = set(entry["risk_tags"])
            flags = {tag: tag in chosen for tag in RISK_TAGS}
        else:
            flags = {
                "is_age_risk": abs(ages[0] - ages[1]) > AGE_RISK_YEARS,
                "is_gender_risk": genders[0] != genders[1],
            }
        # §1.5: documented as strings; the seed's sample shows numbers (config to reproduce it).
        as_numbers = bool(self.config.get("risk_tags_as_numbers"))
        return {tag: (int(flag) if as_numbers else str(int(flag))) for tag, flag in flags.items()}


# --- helpers ---------------------------------------------------------------------------------


def too_large() -> Response:
    # §1.6: "The return for this error will be plain text, not in json format."
    return Response(TOO_LARGE_TEXT, status=413, content_type="text/plain")


def sniff(data: bytes) -> str | None:
    return next((name for magic, name in _MAGIC if data.startswith(magic)), None)


def check_format(data: bytes, param: str) -> None:
    """§1.6: not an image we can analyse, judged by the bytes (the file name is never trusted)."""
    kind = sniff(data)
    if kind is None:
        raise FinAuthError(f"IMAGE_ERROR_UNSUPPORTED_FORMAT:{param}")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != kind:
                raise FinAuthError(f"IMAGE_ERROR_UNSUPPORTED_FORMAT:{param}")
            if max(image.size) <= MAX_SIDE:
                if kind == "JPEG":
                    image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()  # "relevant data is damaged" (truncated files)
    except FinAuthError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise FinAuthError(f"IMAGE_ERROR_UNSUPPORTED_FORMAT:{param}") from None


def check_size(data: bytes, param: str) -> None:
    """§1.6: INVALID_IMAGE_SIZE when the width or the height exceeds 4096 px."""
    with Image.open(io.BytesIO(data)) as image:
        if max(image.size) > MAX_SIDE:
            raise FinAuthError(f"INVALID_IMAGE_SIZE:{param}")


def face_block(faces: ImageFaces, data: bytes) -> dict[str, Any]:
    """§1.5 `face` (rawimage mode): the selfie's largest face as fractions of the image."""
    left, top, width, height = faces.largest or (0, 0, faces.width, faces.height)
    digest = hashlib.sha256(data).digest()
    return {
        "quality": round(40 + digest[5] % 5000 / 100, 3),
        "quality_threshold": 30.1,
        "rect": {
            "left": round(left / faces.width, 4),
            "top": round(top / faces.height, 4),
            "width": round(width / faces.width, 4),
            "height": round(height / faces.height, 4),
        },
        "orientation": 0,
    }


def visual_attributes(
    selfie: bytes, reference: bytes, same_person: bool, entry: dict[str, Any]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Ages and genders from each image's hash; one person gets one gender and close ages."""
    a, b = hashlib.sha256(selfie).digest(), hashlib.sha256(reference).digest()
    age_a, gender_a = 18 + a[0] % 55, a[1] % 2
    if same_person:
        age_b, gender_b = max(16, age_a + b[0] % 7 - 3), gender_a
    else:
        age_b, gender_b = 18 + b[0] % 55, b[1] % 2
    ages = entry.get("ages") or (age_a, age_b)
    genders = entry.get("genders") or (gender_a, gender_b)
    return (int(ages[0]), int(ages[1])), (_gender_code(genders[0]), _gender_code(genders[1]))


def _gender_code(value: Any) -> int:
    if isinstance(value, str) and not value.isdigit():
        return {"male": 0, "female": 1}[value.lower()]
    return int(value)
