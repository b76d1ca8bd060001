"""ZOLOZ's "2-way" RSA gateway protocol: request signing, response verification, RSA_AES.

Everything here follows VENDOR-PROTOCOLS.md §3.3–§3.5, which was checked against ZOLOZ's Java SDK
(`TwoWayAuthProtocol`, `GenSignUtil`, `AESUtil`, `RSAUtil`), its Python sample and `zoloz.sh`.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from urllib.parse import quote, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from vendors.zoloz import consts

# --- keys ----------------------------------------------------------------------------------------


def _key_bytes(text: str) -> tuple[bytes, bool]:
    """The key as bytes and whether it is PEM; env files often carry `\\n` escapes."""
    cleaned = text.strip().replace("\\n", "\n")
    if cleaned.startswith("-----BEGIN"):
        return cleaned.encode("ascii"), True
    # The SDKs take the bare base64 of the DER form (PKCS#8 `MIIEv…`, SPKI `MIIBIj…`), §3.3/§3.4.
    try:
        return base64.b64decode("".join(cleaned.split()), validate=True), False
    except (binascii.Error, ValueError) as error:
        raise ValueError("The key is neither PEM nor base64 DER.") from error


def load_private_key(text: str) -> RSAPrivateKey:
    """An RSA private key from PEM (PKCS#8 or PKCS#1) or the SDK's bare base64 PKCS#8 DER."""
    data, is_pem = _key_bytes(text)
    loader = serialization.load_pem_private_key if is_pem else serialization.load_der_private_key
    key = loader(data, password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("The key is not an RSA private key.")
    return key


def load_public_key(text: str) -> RSAPublicKey:
    """An RSA public key from PEM or the SDK's bare base64 SPKI DER (`MIIBIj…`)."""
    data, is_pem = _key_bytes(text)
    loader = serialization.load_pem_public_key if is_pem else serialization.load_der_public_key
    key = loader(data)
    if not isinstance(key, RSAPublicKey):
        raise ValueError("The key is not an RSA public key.")
    return key


def private_key_pem(key: RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


# --- time ----------------------------------------------------------------------------------------


def format_time(timestamp: float, tz: tzinfo | None = None) -> str:
    """`2019-04-04T12:08:56+0530`: local time with an RFC 822 offset *without* a colon (§3.2).

    Older pages show `+05:30`; servers accept both, and clients should send `+0530` as the
    SDKs (Java `ssZ`, PHP `O`, Python `%z`) do.
    """
    return datetime.fromtimestamp(timestamp, tz).astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S%z")


# --- signatures (§3.3, §3.4) -------------------------------------------------------------------


def signing_content(api_path: str, client_id: str, time_str: str, body: str) -> bytes:
    """`POST <path>\\n<client id>.<time>.<body>`, the same for requests and responses (§3.3.2).

    `body` is the transmitted text: the JSON, or the base64 ciphertext when encrypted (§3.3.1).
    """
    return f"POST {api_path}\n{client_id}.{time_str}.{body}".encode()


def encode_signature(signature: bytes) -> str:
    """Standard base64, then percent-encoded: `+` `/` `=` become `%2B` `%2F` `%3D` (§3.3.4).

    The docs call this "base64urlsafe" but every official SDK percent-encodes standard base64;
    the Java SDK's `URLDecoder` would turn a bare `+` into a space and break verification.
    """
    return quote(base64.b64encode(signature).decode("ascii"), safe="")


def decode_signature(value: str) -> bytes:
    """Undo `encode_signature`; hex case does not matter and `+` is never a space (§3.3.4)."""
    return base64.b64decode(unquote(value.strip()), validate=True)


def parse_header_pairs(value: str) -> dict[str, str]:
    """`algorithm=RSA256, keyVersion=v1, signature=...` as a dict; extra pairs are fine (§3.2).

    Split on the first `=` only, so base64 padding that arrives unencoded survives (§3.4).
    """
    pairs: dict[str, str] = {}
    for part in value.split(","):
        key, sep, item = part.partition("=")
        if sep:
            pairs[key.strip()] = item.strip()
    return pairs


def sign(private_key: RSAPrivateKey, content: bytes) -> str:
    """The `Signature` header value: RSASSA-PKCS1-v1_5 with SHA-256 over `content` (§3.3.3)."""
    raw = private_key.sign(content, padding.PKCS1v15(), hashes.SHA256())
    return f"algorithm={consts.SIGNATURE_ALGORITHM}, signature={encode_signature(raw)}"


def verify(public_key: RSAPublicKey, content: bytes, header_value: str) -> bool:
    """Does the `Signature` header verify over `content` with `public_key` (§3.4.3)?"""
    pairs = parse_header_pairs(header_value)
    if pairs.get("algorithm", consts.SIGNATURE_ALGORITHM) != consts.SIGNATURE_ALGORITHM:
        return False
    try:
        signature = decode_signature(pairs["signature"])
        public_key.verify(signature, content, padding.PKCS1v15(), hashes.SHA256())
    except (KeyError, ValueError, binascii.Error, InvalidSignature):
        return False
    return True


# --- RSA_AES payload encryption (§3.5) -----------------------------------------------------------


def new_aes_key(bits: int = consts.DEFAULT_AES_KEY_BITS) -> bytes:
    if bits not in consts.AES_KEY_BITS:
        raise ValueError(f"ZOLOZ AES keys are 128 or 256 bits, not {bits}.")
    return os.urandom(bits // 8)


def _aes_ecb(key: bytes) -> Cipher[modes.ECB]:
    # ECB is what the protocol mandates: Java's `Cipher.getInstance("AES")` is AES/ECB/PKCS5
    # (§3.5.2). Confidentiality of the images in transit also rests on TLS.
    return Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305


def aes_encrypt(key: bytes, plaintext: bytes) -> str:
    """`base64_std(AES-ECB-PKCS7(key, plaintext))`, the encrypted body (§3.5.2)."""
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = _aes_ecb(key).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def aes_decrypt(key: bytes, ciphertext: str) -> bytes:
    """Undo `aes_encrypt`; ValueError if the text is not base64 or the padding is wrong."""
    try:
        data = base64.b64decode("".join(ciphertext.split()), validate=True)
    except binascii.Error as error:
        raise ValueError("The encrypted body is not base64.") from error
    if not data or len(data) % 16:
        raise ValueError("The encrypted body is not a whole number of AES blocks.")
    decryptor = _aes_ecb(key).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def encrypt_header(public_key: RSAPublicKey, aes_key: bytes) -> str:
    """`algorithm=RSA_AES, symmetricKey=<pct(b64(RSA-PKCS1v15(key)))>` (§3.5.3)."""
    wrapped = public_key.encrypt(aes_key, padding.PKCS1v15())
    encoded = quote(base64.b64encode(wrapped).decode("ascii"), safe="")
    return f"algorithm={consts.ENCRYPT_ALGORITHM}, symmetricKey={encoded}"


def unwrap_key(private_key: RSAPrivateKey, header_value: str) -> bytes:
    """The AES key from an `Encrypt` header; ValueError if it cannot be unwrapped."""
    pairs = parse_header_pairs(header_value)
    if pairs.get("algorithm") != consts.ENCRYPT_ALGORITHM or "symmetricKey" not in pairs:
        raise ValueError("The Encrypt header is not algorithm=RSA_AES with a symmetricKey.")
    try:
        wrapped = base64.b64decode(unquote(pairs["symmetricKey"]), validate=True)
    except binascii.Error as error:
        raise ValueError("The wrapped key is not base64.") from error
    key = private_key.decrypt(wrapped, padding.PKCS1v15())
    if len(key) * 8 not in consts.AES_KEY_BITS:
        raise ValueError(f"The unwrapped AES key is {len(key) * 8} bits.")
    return key


# --- the merchant side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ZolozSigner:
    """The merchant's keys: signs requests, verifies and decrypts ZOLOZ's answers."""

    client_id: str
    merchant_private_key: RSAPrivateKey = field(repr=False)
    zoloz_public_key: RSAPublicKey = field(repr=False)

    @classmethod
    def from_settings(cls, client_id: str, private_key: str, public_key: str) -> ZolozSigner:
        return cls(client_id, load_private_key(private_key), load_public_key(public_key))

    def request_headers(self, api_path: str, body: str, request_time: str) -> dict[str, str]:
        """`Client-Id`, `Request-Time` and `Signature` over the exact body sent (§3.2, §3.3)."""
        content = signing_content(api_path, self.client_id, request_time, body)
        return {
            "Client-Id": self.client_id,
            "Request-Time": request_time,
            "Signature": sign(self.merchant_private_key, content),
        }

    def verify_response(
        self, api_path: str, response_time: str, body: str, signature_header: str
    ) -> bool:
        """§3.4: the path and client id come from the *request*, the body is the raw text."""
        content = signing_content(api_path, self.client_id, response_time, body)
        return verify(self.zoloz_public_key, content, signature_header)

    def encrypt_body(self, plaintext: str, aes_key: bytes) -> tuple[str, str]:
        """The base64 ciphertext body and the `Encrypt` header wrapping `aes_key` for ZOLOZ."""
        return (
            aes_encrypt(aes_key, plaintext.encode("utf-8")),
            encrypt_header(self.zoloz_public_key, aes_key),
        )

    def response_key(self, encrypt_header_value: str) -> bytes:
        """ZOLOZ wraps the response key with the merchant's public key (§3.5.5)."""
        return unwrap_key(self.merchant_private_key, encrypt_header_value)
