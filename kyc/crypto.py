"""AES-GCM envelope encryption for images at rest (DESIGN §9).

Each file gets its own random 256-bit data key. The data key is wrapped (AES-GCM) by the newest
master key and stored in the file's header with that key's id, so rotating master keys only
rewrites headers' wrapped keys, never requires more than the key list, and a file encrypted under
an old key stays readable while that key is listed.

File layout (all lengths fixed except the key id):

    b"KYC1" | len(kid) (1 byte) | kid | wrap nonce (12) | wrapped data key (32 + 16 tag)
            | data nonce (12) | ciphertext + tag (16)

The header is authenticated as associated data of the payload, so a flipped byte anywhere is
refused on read.
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MAGIC = b"KYC1"
NONCE = 12
WRAPPED_KEY = 32 + 16


class DecryptionError(Exception):
    """The stored bytes are not ours, were altered, or need a master key we no longer have."""


@dataclass(frozen=True)
class MasterKey:
    kid: str
    key: bytes


def parse_master_keys(value: str) -> list[MasterKey]:
    """`kid:base64key,kid:base64key`, newest first."""
    return list(_parsed_master_keys(value))


@functools.lru_cache(maxsize=8)
def _parsed_master_keys(value: str) -> tuple[MasterKey, ...]:
    """Parsed once per process and value: every image read needs the list. Keyed by the value
    itself, so a changed setting is parsed afresh; a bad value raises, and exceptions are not
    cached, so it raises on every read until it is fixed."""
    keys = []
    for entry in filter(None, (part.strip() for part in value.split(","))):
        kid, sep, encoded = entry.partition(":")
        if not sep or not kid or len(kid.encode()) > 255:
            raise ImproperlyConfigured(
                "KYC_ENCRYPTION_KEYS entries must look like 'kid:base64key'."
            )
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError as error:
            raise ImproperlyConfigured(f"KYC_ENCRYPTION_KEYS key {kid!r} is not base64.") from error
        if len(key) != 32:
            raise ImproperlyConfigured(f"KYC_ENCRYPTION_KEYS key {kid!r} must be 32 bytes.")
        keys.append(MasterKey(kid, key))
    return tuple(keys)


def generate_master_key_entry(kid: str | None = None) -> str:
    kid = kid or f"k{secrets.token_hex(4)}"
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


def master_keys() -> list[MasterKey]:
    configured: str = settings.KYC_ENCRYPTION_KEYS
    if configured:
        keys = parse_master_keys(configured)
        if not keys:  # e.g. "," : set, but names no key to encrypt with
            raise ImproperlyConfigured("KYC_ENCRYPTION_KEYS lists no key.")
        return keys
    # Development only (production refuses to start without the variable): one key kept in
    # var/ so images stay readable across restarts of the demo.
    path = Path(settings.VAR_DIR) / "dev-encryption-key"
    if not path.exists():
        path.write_text(generate_master_key_entry("dev"))
        path.chmod(0o600)
    return parse_master_keys(path.read_text().strip())


def encrypt(plaintext: bytes, keys: list[MasterKey] | None = None) -> bytes:
    master = (keys or master_keys())[0]
    data_key = AESGCM.generate_key(bit_length=256)
    header = _header(master, data_key)
    nonce = os.urandom(NONCE)
    return header + nonce + AESGCM(data_key).encrypt(nonce, plaintext, header)


def decrypt(blob: bytes, keys: list[MasterKey] | None = None) -> bytes:
    header, kid, data_key = _open_header(blob, keys or master_keys())
    # A view, not a slice: slicing copied the whole ciphertext twice (an image is hundreds of
    # KB), and each copy lands in freshly faulted-in pages on a busy worker.
    body = memoryview(blob)[len(header) :]
    try:
        return AESGCM(data_key).decrypt(body[:NONCE], body[NONCE:], header)
    except InvalidTag as error:
        raise DecryptionError(f"Stored file failed its integrity check (key {kid}).") from error


def key_id(blob: bytes) -> str:
    if len(blob) < 5 or blob[:4] != MAGIC:
        raise DecryptionError("Not an encrypted image file.")
    try:
        return blob[5 : 5 + blob[4]].decode()
    except UnicodeDecodeError as error:
        # A damaged length byte makes the key id run into the nonce: refuse it like any other
        # altered byte instead of surfacing a UnicodeDecodeError.
        raise DecryptionError("Encrypted image file has a damaged key id.") from error


def rewrap(blob: bytes, keys: list[MasterKey] | None = None) -> bytes:
    """The same file with its data key wrapped by the newest master key (payload unchanged)."""
    keys = keys or master_keys()
    old_header, _kid, data_key = _open_header(blob, keys)
    body = blob[len(old_header) :]
    try:
        plaintext = AESGCM(data_key).decrypt(body[:NONCE], body[NONCE:], old_header)
    except InvalidTag as error:
        raise DecryptionError("Stored file failed its integrity check.") from error
    # The header is the payload's associated data, so a new header means a new seal.
    header = _header(keys[0], data_key)
    nonce = os.urandom(NONCE)
    return header + nonce + AESGCM(data_key).encrypt(nonce, plaintext, header)


def _header(master: MasterKey, data_key: bytes) -> bytes:
    kid = master.kid.encode()
    prefix = MAGIC + bytes([len(kid)]) + kid
    wrap_nonce = os.urandom(NONCE)
    wrapped = AESGCM(master.key).encrypt(wrap_nonce, data_key, prefix)
    return prefix + wrap_nonce + wrapped


def _open_header(blob: bytes, keys: list[MasterKey]) -> tuple[bytes, str, bytes]:
    kid = key_id(blob)
    prefix_len = 5 + len(kid.encode())
    header_len = prefix_len + NONCE + WRAPPED_KEY
    if len(blob) < header_len + NONCE + 16:
        raise DecryptionError("Encrypted image file is cut short.")
    master = next((k for k in keys if k.kid == kid), None)
    if master is None:
        raise DecryptionError(f"Master key {kid!r} is not in KYC_ENCRYPTION_KEYS.")
    prefix = blob[:prefix_len]
    wrap_nonce = blob[prefix_len : prefix_len + NONCE]
    wrapped = blob[prefix_len + NONCE : header_len]
    try:
        data_key = AESGCM(master.key).decrypt(wrap_nonce, wrapped, prefix)
    except InvalidTag as error:
        raise DecryptionError(
            f"Wrapped data key failed its integrity check (key {kid})."
        ) from error
    return blob[:header_len], kid, data_key
