"""FinAuth authentication (the `sign` form field) and the optional RSA image encryption.

The sign is Megvii's FaceID "App-Authentication" scheme (VENDOR-PROTOCOLS.md §1.2):

    raw  = "a=<api_key>&b=<expire_time>&c=<current_time>&d=<random>"
    sign = base64(HMAC-SHA1(api_secret, raw) || raw)

`expire_time = 0` makes a single-use sign, which we send by default: a leaked request cannot be
replayed. A positive TTL makes a sign reusable until `current_time + ttl`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from vendors.finauth.consts import SIGN_RANDOM_LIMIT

_RAW = re.compile(r"a=(?P<a>[^&]*)&b=(?P<b>\d+)&c=(?P<c>\d+)&d=(?P<d>\d{1,10})")
_MAC_BYTES = 20  # SHA-1


def build_raw(api_key: str, *, expire_time: int, current_time: int, random: str) -> str:
    """§1.2 step 3: fixed key order a, b, c, d; nothing is URL-encoded."""
    if not (random.isdigit() and len(random) <= 10):
        raise ValueError("FinAuth `random` must be an unsigned decimal of at most 10 digits.")
    return f"a={api_key}&b={expire_time}&c={current_time}&d={random}"


def sign_raw(api_secret: str, raw: str) -> str:
    """§1.2 steps 4-5: standard base64 (with padding, no line breaks) of MAC followed by raw."""
    mac = hmac.new(api_secret.encode(), raw.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac + raw.encode()).decode("ascii")


@dataclass(frozen=True)
class ParsedSign:
    mac: bytes
    raw: str
    api_key: str
    expire_time: int
    current_time: int
    random: str

    @property
    def single_use(self) -> bool:
        return self.expire_time == 0


def parse_sign(sign: str) -> ParsedSign:
    """Split a sign into its MAC and raw parts (ValueError if it is not one)."""
    blob = base64.b64decode(sign, validate=True)
    if len(blob) <= _MAC_BYTES:
        raise ValueError("sign too short")
    raw = blob[_MAC_BYTES:].decode("utf-8")
    match = _RAW.fullmatch(raw)
    if match is None:
        raise ValueError("sign raw part is not a=…&b=…&c=…&d=…")
    return ParsedSign(
        mac=blob[:_MAC_BYTES],
        raw=raw,
        api_key=match["a"],
        expire_time=int(match["b"]),
        current_time=int(match["c"]),
        random=match["d"],
    )


@dataclass(frozen=True)
class FinAuthSigner:
    api_key: str
    api_secret: str = field(repr=False)

    def sign(self, *, now: int, ttl: int | None = None, random: str | None = None) -> str:
        """A fresh sign at `now` (Unix seconds): single-use without a TTL, else expiring.

        A new `random` each call, so a retry after AUTH_FAILED never resends a used sign.
        """
        if ttl is not None and ttl <= 0:
            raise ValueError("A FinAuth sign TTL must be a positive number of seconds.")
        # §1.2 step 1: b = 0 is single-use; otherwise c must be lower than b.
        expire_time = 0 if ttl is None else now + ttl
        if random is None:
            random = str(secrets.randbelow(SIGN_RANDOM_LIMIT))
        raw = build_raw(self.api_key, expire_time=expire_time, current_time=now, random=random)
        return sign_raw(self.api_secret, raw)


# --- encryption_type=2 -------------------------------------------------------------------------
#
# UNVERIFIED FRAMING (VENDOR-PROTOCOLS.md §1.3 and open question §8.1). FinAuth documents RSA-1024
# with PKCS#1 v1.5 and its own public key (console, PEM), but the part of the Lite Encryption Guide
# that says how an image larger than one RSA block is framed could not be read. We follow the
# common Megvii/Chinese-SDK convention: split the plaintext into (key bytes - 11) = 117-byte
# chunks, encrypt each into one 128-byte block, concatenate the blocks and send them as the File
# part's bytes (no base64). Do not enable against production until someone confirms it.


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """FinAuth's public key as PEM: SPKI `BEGIN PUBLIC KEY` or PKCS#1 `BEGIN RSA PUBLIC KEY`."""
    key = serialization.load_pem_public_key(pem.strip().encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("The FinAuth encryption key must be an RSA public key.")
    return key


def encrypt_rsa_chunks(public_key: rsa.RSAPublicKey, data: bytes) -> bytes:
    """PKCS#1 v1.5 over consecutive (k - 11)-byte chunks, blocks concatenated. UNVERIFIED (§1.3)."""
    block = public_key.key_size // 8
    chunk = block - 11  # PKCS#1 v1.5 needs 11 bytes of padding: 117 for the documented RSA-1024
    return b"".join(
        public_key.encrypt(data[start : start + chunk], padding.PKCS1v15())
        for start in range(0, len(data), chunk)
    )
