"""A local imitation of ZOLOZ's gateway and facecompare API (VENDOR-PROTOCOLS.md §3).

It plays ZOLOZ's side of the "2-way" RSA protocol: it checks the merchant's request signature
(§3.3) with the merchant public key, signs every answer, errors included, with ZOLOZ's private
key (§3.4), and understands RSA_AES encrypted requests (§3.5). The signing code here is written
independently of `vendors.zoloz.auth` on purpose, so a mistake on one side is not mirrored on
the other. Facts tagged [I] in §3 (undocumented by ZOLOZ) are marked [I] here as well.

Served paths: `POST /api/v1/zoloz/facecompare/compare` and the gateway echo test
`POST /api/v1/zoloz/authentication/test` (§3.1). Every answer is HTTP 200 with the outcome in
`result.resultStatus`/`resultCode` ([I] §3.7: ZOLOZ documents no HTTP status for errors), except
the scripted faults below.

Script keys (besides the shared ones in `vendors.sandboxes.base`):
    "score": 88.2              answer SUCCESS with this score (the images are still validated)
    "same_person": false       the `samePerson` flag (default: score >= same_person_threshold)
    "error": "<resultCode>"    answer this code with its documented resultStatus and message;
                               undocumented codes are answered with status F
    "no_face": "face1"         with "error": "UNABLE_GET_IMAGE": the "no face detected" message
    "message": "..."           override the resultMessage
    "result_status": "U"       override the resultStatus
    "fault": "bad_signature"   sign the answer so that it does not verify
    "fault": "unsigned"        answer without a Signature header
    "fault": "rate_limit"      HTTP 429 + Retry-After with REQUEST_TRAFFIC_EXCEED_LIMIT [I]
    "fault": "http_5xx"        that HTTP status with SYSTEM_ERROR / U [I]

Config keys: "engine" (score with the local engine, default true), "same_person_threshold"
(default 80: ZOLOZ judges samePerson at a 1e-5 false-accept rate, Z7, which is the local engine's
"strict" level or above, LOCAL-ENGINE.md §7), "max_skew_seconds" (refuse a Request-Time further
than this from the sandbox clock; ZOLOZ documents no tolerance, so off by default), "key_version"
(add `keyVersion=<v>` to the response Signature header, as the PHP sample expects, §3.2).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from PIL import Image, UnidentifiedImageError
from werkzeug.wrappers import Request, Response

from vendors.sandboxes.base import SandboxApp
from vendors.sandboxes.scoring import analyze_pair
from vendors.zoloz.consts import (
    COMPARE_PATH,
    ECHO_PATH,
    MAX_TOTAL_CONTENT_BYTES,
    RESULT_MESSAGES,
    RESULT_STATUS,
)

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain"
#: ZOLOZ answers with its Singapore offset in samples; any offset works, the format is fixed.
SERVER_TZ = timezone(timedelta(hours=8))
REQUEST_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:?\d{2}$")
PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
#: §3.6 sourceOfFace2: "SELFIE or 00000001007 or valid docType" (docTypes are 11 digits, Z7).
SOURCE_OF_FACE2 = re.compile(r"^(SELFIE|\d{11})$")
RECT = re.compile(r"^\d+,\d+,\d+,\d+$")
IMAGE_FORMATS = {"JPEG", "PNG", "BMP"}  # S3: JPG, JPEG, PNG, BMP
DEFAULT_SAME_PERSON_THRESHOLD = 80.0


class Refusal(Exception):
    """ZOLOZ refuses the call with a documented resultCode."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.message = message or RESULT_MESSAGES.get(code, code)


@dataclass(frozen=True)
class Call:
    """An authenticated request, decrypted and parsed."""

    client_id: str
    payload: dict[str, Any]
    aes_key: bytes | None  # set when the request came encrypted (§3.5)


@dataclass(frozen=True)
class Faces:
    first: bytes
    second: bytes


# --- crypto, ZOLOZ's side ------------------------------------------------------------------------


def _pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _pem_public(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _percent_decode(value: str) -> str:
    """Case-insensitive %XX decoding that never turns `+` into a space (§3.3.4)."""
    return PERCENT.sub(lambda match: chr(int(match.group(1), 16)), value)


def _header_pairs(value: str) -> dict[str, str]:
    """`k=v, k=v` pairs; extra ones such as keyVersion are allowed (§3.2)."""
    pairs = {}
    for part in value.split(","):
        key, sep, item = part.partition("=")
        if sep:
            pairs[key.strip()] = item.strip()
    return pairs


def _content(path: str, client_id: str, time_str: str, body: bytes) -> bytes:
    return b"POST " + path.encode() + b"\n" + f"{client_id}.{time_str}.".encode() + body


def _ecb(key: bytes) -> Cipher[modes.ECB]:
    return Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305 - the protocol's mode (§3.5.2)


def _aes_encrypt(key: bytes, data: bytes) -> bytes:
    padder = sym_padding.PKCS7(128).padder()
    encryptor = _ecb(key).encryptor()
    padded = padder.update(data) + padder.finalize()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize())


def _aes_decrypt(key: bytes, body: bytes) -> bytes:
    data = base64.b64decode(body, validate=True)
    decryptor = _ecb(key).decryptor()
    unpadder = sym_padding.PKCS7(128).unpadder()
    padded = decryptor.update(data) + decryptor.finalize()
    return unpadder.update(padded) + unpadder.finalize()


class ZolozSandbox(SandboxApp):
    vendor = "zoloz"

    def __init__(self, credentials: dict[str, str], *, clock: Callable[[], float] = time.time):
        super().__init__(credentials, clock=clock)
        merchant_public = serialization.load_pem_public_key(
            credentials["merchant_public_key"].encode()
        )
        zoloz_private = serialization.load_pem_private_key(
            credentials["zoloz_private_key"].encode(), password=None
        )
        if not isinstance(merchant_public, rsa.RSAPublicKey) or not isinstance(
            zoloz_private, rsa.RSAPrivateKey
        ):
            raise TypeError("The ZOLOZ sandbox needs RSA keys (§3.3.3).")
        self.merchant_public_key = merchant_public
        self.zoloz_private_key = zoloz_private
        self._current = threading.local()

    @classmethod
    def generate_credentials(cls) -> dict[str, str]:
        """Two RSA-2048 pairs (merchant, ZOLOZ) and a 16-character client id (§3.2, §3.3.3)."""
        merchant = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        zoloz = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return {
            "client_id": "".join(secrets.choice(string.digits) for _ in range(16)),
            "merchant_private_key": _pem_private(merchant),
            "merchant_public_key": _pem_public(merchant.public_key()),
            "zoloz_private_key": _pem_private(zoloz),
            "zoloz_public_key": _pem_public(zoloz.public_key()),
        }

    def client_settings(self, base_url: str) -> dict[str, str]:
        return {
            "ZOLOZ_BASE_URL": base_url,
            "ZOLOZ_CLIENT_ID": self.credentials["client_id"],
            "ZOLOZ_MERCHANT_PRIVATE_KEY": self.credentials["merchant_private_key"],
            "ZOLOZ_PUBLIC_KEY": self.credentials["zoloz_public_key"],
        }

    # --- the call --------------------------------------------------------------------------

    def _vendor_call(self, request: Request, environ: dict[str, Any]) -> Response:
        # Faults answered by the base class still need the request's path and client id to
        # be signed (§3.4.2), so remember them for this thread.
        self._current.request = request
        return super()._vendor_call(request, environ)

    def handle(self, request: Request, entry: dict[str, Any]) -> Response:
        fault = entry.get("fault")
        if request.method != "POST" or request.path not in {COMPARE_PATH, ECHO_PATH}:
            # [I] The gateway's code for an unknown API (Z6); the HTTP status is undocumented.
            return self.answer(request, self.result("NO_INTERFACE_DEF"), fault=fault)
        try:
            call = self.open(request)
        except Refusal as refusal:
            return self.answer(request, self.result(refusal.code, refusal.message), fault=fault)
        if request.path == ECHO_PATH:
            return self.answer(request, call.payload, aes_key=call.aes_key, fault=fault)
        transaction_id = self.transaction_id()
        try:
            body = self.compare(call.payload, entry)
        except Refusal as refusal:
            body = self.result(refusal.code, refusal.message)
        body = {"transactionId": transaction_id, **body}
        body["result"]["transactionId"] = transaction_id  # echoed as in the seed sample (S3)
        return self.answer(request, body, aes_key=call.aes_key, fault=fault)

    def open(self, request: Request) -> Call:
        """Gateway checks (§3.2–§3.5), cached so the request log and the handler agree."""
        cached = request.environ.get("zoloz.call")
        if cached is None:
            try:
                cached = self._open(request)
            except Refusal as refusal:
                cached = refusal
            request.environ["zoloz.call"] = cached
        if isinstance(cached, Refusal):
            raise cached
        assert isinstance(cached, Call)
        return cached

    def _open(self, request: Request) -> Call:
        # §3.2: only two content types; [I] MSG_PARSE_ERROR for anything else.
        mimetype = request.mimetype
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if mimetype not in {JSON_TYPE, TEXT_TYPE} or charset not in {"utf-8", "utf8"}:
            raise Refusal("MSG_PARSE_ERROR")
        client_id = request.headers.get("Client-Id", "")
        if not client_id:
            raise Refusal("PARAM_MISSING", "Bad request. The parameter is missing: Client-Id.")
        if client_id != self.credentials["client_id"]:
            raise Refusal("MERCHANT_NOT_FOUND")  # [I] an unknown client id is an unknown merchant
        request_time = request.headers.get("Request-Time", "")
        if not request_time:
            raise Refusal("PARAM_MISSING", "Bad request. The parameter is missing: Request-Time.")
        self._check_time(request_time)
        body = request.get_data(cache=True)
        self._check_signature(request, client_id, request_time, body)
        aes_key = self._symmetric_key(request, mimetype)
        if aes_key is not None:
            try:
                body = _aes_decrypt(aes_key, body)
            except (ValueError, binascii.Error) as error:
                raise Refusal("MSG_PARSE_ERROR") from error
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise Refusal("MSG_PARSE_ERROR") from error
        if not isinstance(payload, dict):
            raise Refusal("MSG_PARSE_ERROR")
        return Call(client_id, payload, aes_key)

    def _check_time(self, value: str) -> None:
        # §3.2: `+0530` is what clients send; older pages show `+05:30`; accept both.
        if not REQUEST_TIME.match(value):
            raise Refusal("PARAM_ILLEGAL", "Bad request. The parameter is illegal: Request-Time.")
        try:
            sent = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError as error:
            raise Refusal("PARAM_ILLEGAL", "Bad request. The parameter is illegal.") from error
        max_skew = self.config.get("max_skew_seconds")
        if max_skew is not None and abs(sent.timestamp() - self.clock()) > float(max_skew):
            # [I] ZOLOZ documents no skew tolerance (§3.7, §8.5); §3.7 names clock skew as a
            # cause of SIGNATURE_INVALID.
            raise Refusal("SIGNATURE_INVALID")

    def _check_signature(
        self, request: Request, client_id: str, request_time: str, body: bytes
    ) -> None:
        # [I] A missing, malformed or non-verifying signature is SIGNATURE_INVALID (Z6).
        pairs = _header_pairs(request.headers.get("Signature", ""))
        if pairs.get("algorithm") != "RSA256" or not pairs.get("signature"):
            raise Refusal("SIGNATURE_INVALID")
        try:
            signature = base64.b64decode(_percent_decode(pairs["signature"]), validate=True)
            self.merchant_public_key.verify(
                signature,
                _content(request.path, client_id, request_time, body),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (binascii.Error, ValueError, InvalidSignature) as error:
            raise Refusal("SIGNATURE_INVALID") from error

    def _symmetric_key(self, request: Request, mimetype: str) -> bytes | None:
        header = request.headers.get("Encrypt")
        if header is None:
            if mimetype == TEXT_TYPE:
                raise Refusal("MSG_PARSE_ERROR")  # [I] text/plain means an encrypted body
            return None
        pairs = _header_pairs(header)
        if mimetype != TEXT_TYPE or pairs.get("algorithm") != "RSA_AES":
            raise Refusal("MSG_PARSE_ERROR")  # [I]
        try:
            wrapped = base64.b64decode(
                _percent_decode(pairs.get("symmetricKey", "")), validate=True
            )
            key = self.zoloz_private_key.decrypt(wrapped, padding.PKCS1v15())
        except (binascii.Error, ValueError) as error:
            raise Refusal("MSG_PARSE_ERROR") from error
        if len(key) not in {16, 32}:  # §3.5.1: 128 or 256 bits, accept both
            raise Refusal("MSG_PARSE_ERROR")
        return key

    # --- the compare API -------------------------------------------------------------------

    def compare(self, payload: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
        faces = self.validate(payload)
        if "error" in entry:
            code = str(entry["error"])
            message = entry.get("message")
            if code == "UNABLE_GET_IMAGE" and entry.get("no_face"):
                message = message or f"No face detected in {entry['no_face']}."
            return self.result(code, message, entry.get("result_status"))
        score = float(entry["score"]) if "score" in entry else self.score(faces)
        threshold = float(self.config.get("same_person_threshold", DEFAULT_SAME_PERSON_THRESHOLD))
        same_person = bool(entry.get("same_person", score >= threshold))
        return {"score": score, "samePerson": same_person, **self.result("SUCCESS")}

    def validate(self, payload: dict[str, Any]) -> Faces:
        """The §3.6 field rules; S3 codes where documented, PARAM_ILLEGAL [I] elsewhere."""
        biz_id = payload.get("bizId")
        if not isinstance(biz_id, str) or not biz_id:
            raise Refusal("INVALID_ARGUMENT", "Invalid argument: bizId is null or empty.")
        if len(biz_id.encode()) > 32:
            raise Refusal("PARAM_ILLEGAL", "Bad request. The parameter is illegal: bizId.")
        user_id = payload.get("userId")
        if user_id is not None and (not isinstance(user_id, str) or len(user_id.encode()) > 64):
            raise Refusal("PARAM_ILLEGAL", "Bad request. The parameter is illegal: userId.")
        source = payload.get("sourceOfFace2")
        if source is not None and (
            not isinstance(source, str) or not SOURCE_OF_FACE2.match(source)
        ):
            raise Refusal("PARAM_ILLEGAL", "Bad request. The parameter is illegal: sourceOfFace2.")
        contents = [self._content_of(payload, name) for name in ("face1", "face2")]
        if sum(len(text) for text in contents) > MAX_TOTAL_CONTENT_BYTES:
            # [I] S3 only warns that images over 5 MB together may cause a system error; a
            # final, non-retryable code is what a merchant can act on.
            raise Refusal(
                "PARAM_ILLEGAL",
                "Bad request. The parameter is illegal: face1.content and face2.content "
                "exceed 5MB together.",
            )
        first, second = (
            self._image(text, name) for text, name in zip(contents, ("face1", "face2"), strict=True)
        )
        return Faces(first, second)

    def _content_of(self, payload: dict[str, Any], name: str) -> str:
        face = payload.get(name)
        if face is not None and not isinstance(face, dict):
            raise Refusal("PARAM_ILLEGAL", f"Bad request. The parameter is illegal: {name}.")
        face = face or {}
        rect = face.get("rect")
        if rect is not None and (
            not isinstance(rect, str) or len(rect) > 32 or not RECT.match(rect)
        ):
            raise Refusal("PARAM_ILLEGAL", f"Bad request. The parameter is illegal: {name}.rect.")
        content = face.get("content")
        if not isinstance(content, str) or not content:
            # S3: a null or empty base64 string is UNABLE_GET_IMAGE.
            raise Refusal("UNABLE_GET_IMAGE", f"Unable to get the image: {name}.content is empty.")
        return content

    def _image(self, content: str, name: str) -> bytes:
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError) as error:
            raise Refusal(
                "UNABLE_GET_IMAGE", f"Unable to get the image: {name}.content is not valid base64."
            ) from error
        try:
            with Image.open(io.BytesIO(data)) as image:
                image_format = image.format
                image.load()
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
            raise Refusal(
                "UNABLE_GET_IMAGE", f"Unable to get the image: {name}.content is not an image."
            ) from error
        if image_format not in IMAGE_FORMATS:
            raise Refusal(
                "UNABLE_GET_IMAGE",
                f"Unable to get the image: {name}.content is {image_format}, not JPG/PNG/BMP.",
            )
        return data

    def score(self, faces: Faces) -> float:
        try:
            analysis = analyze_pair(faces.first, faces.second, use_engine=self.use_engine())
        except ValueError as error:
            raise Refusal("UNABLE_GET_IMAGE", "Unable to get the image.") from error
        if analysis.similarity is None:
            # S3 lists "no face detected" under UNABLE_GET_IMAGE; the message names the side.
            side = "face1" if not analysis.first.boxes else "face2"
            raise Refusal("UNABLE_GET_IMAGE", f"No face detected in {side}.")
        return float(analysis.similarity)

    # --- answers ---------------------------------------------------------------------------

    def result(
        self, code: str, message: str | None = None, status: str | None = None
    ) -> dict[str, Any]:
        return {
            "result": {
                "resultCode": code,
                "resultStatus": status or RESULT_STATUS.get(code, "F"),
                "resultMessage": message or RESULT_MESSAGES.get(code, code),
            }
        }

    def transaction_id(self) -> str:
        """Shaped like the sample `G000000005FID20200304000000000001570702` (S3)."""
        day = datetime.fromtimestamp(self.clock(), SERVER_TZ).strftime("%Y%m%d")
        return f"G000000005FID{day}{secrets.randbelow(10**18):018d}"

    def answer(
        self,
        request: Request | None,
        body: dict[str, Any],
        *,
        status: int = 200,
        aes_key: bytes | None = None,
        fault: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """A signed answer (§3.4), encrypted when the request was (§3.5.5)."""
        text = json.dumps(body, separators=(",", ":")).encode()
        response_headers = dict(headers or {})
        content_type = "application/json; charset=UTF-8"
        if aes_key is not None:
            # [I] Reuse the request's key, so the official Python sample (which ignores the
            # Encrypt header) can read it, and still send it wrapped for the merchant (§3.5.5).
            text = _aes_encrypt(aes_key, text)
            wrapped = self.merchant_public_key.encrypt(aes_key, padding.PKCS1v15())
            response_headers["Encrypt"] = "algorithm=RSA_AES, symmetricKey=" + quote(
                base64.b64encode(wrapped).decode(), safe=""
            )
            content_type = "text/plain; charset=UTF-8"
        response_time = datetime.fromtimestamp(self.clock(), SERVER_TZ).strftime(
            "%Y-%m-%dT%H:%M:%S%z"
        )
        path = request.path if request is not None else COMPARE_PATH
        client_id = request.headers.get("Client-Id", "") if request is not None else ""
        content = _content(path, client_id, response_time, text)
        if fault == "bad_signature":
            content += b" "  # a well-formed signature over something else
        signature = self.zoloz_private_key.sign(content, padding.PKCS1v15(), hashes.SHA256())
        pairs = ["algorithm=RSA256"]
        if self.config.get("key_version"):
            pairs.append(f"keyVersion={self.config['key_version']}")
        pairs.append("signature=" + quote(base64.b64encode(signature).decode(), safe=""))
        response_headers["Response-Time"] = response_time
        if fault != "unsigned":
            response_headers["Signature"] = ", ".join(pairs)
        response = Response(text, status=status, content_type=content_type)
        for key, value in response_headers.items():
            response.headers[key] = value
        return response

    def server_error(self, status: int) -> Response:
        # [I] ZOLOZ documents no 5xx body; its gateway reports system trouble as SYSTEM_ERROR
        # with status U (Z6), signed like every answer.
        return self.answer(self._request(), self.result("SYSTEM_ERROR"), status=status)

    def rate_limited(self, retry_after: float) -> Response:
        # ZOLOZ documents the code REQUEST_TRAFFIC_EXCEED_LIMIT (Z6) but neither an HTTP status
        # nor a delay header; [I] HTTP 429 with Retry-After, as the sandbox brief asks.
        return self.answer(
            self._request(),
            self.result("REQUEST_TRAFFIC_EXCEED_LIMIT"),
            status=429,
            headers={"Retry-After": str(int(retry_after))},
        )

    def _request(self) -> Request | None:
        request = getattr(self._current, "request", None)
        return request if isinstance(request, Request) else None

    # --- request log -----------------------------------------------------------------------

    def describe_request(self, request: Request) -> dict[str, Any]:
        """The JSON fields without image content, and whether the gateway accepted the call."""
        try:
            call = self.open(request)
        except Refusal as refusal:
            return {"encrypted": "Encrypt" in request.headers, "refused": refusal.code}
        return {"encrypted": call.aes_key is not None, "body": _summary(call.payload)}


def _summary(payload: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, dict) and "content" in value:
            content = value["content"]
            size = len(content) if isinstance(content, str) else 0
            summary[key] = {**value, "content": f"<{size} chars>"}
        else:
            summary[key] = value
    return summary
