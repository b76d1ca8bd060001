"""Alibaba Cloud POP request signatures, independent of any HTTP library.

Two schemes, both described in VENDOR-PROTOCOLS.md:

* §4.2 `ACS3-HMAC-SHA256` (signature V3, the official SDK's default): an `Authorization` header
  over a canonical request built from the method, path, query, the signed headers and the
  SHA-256 of the body bytes exactly as sent. This is what our adapter sends.
* §4.3 the legacy RPC `HMAC-SHA1` signature (`SignatureVersion=1.0`, which Alibaba's current docs
  call "V2"; SDK `Config.signature_algorithm="v2"`): a `Signature` query parameter over the union
  of query and form parameters. Our adapter never sends it; the sandbox verifies it because the
  official SDK can.

The sandbox verifies with the same primitives; `tests/vendors/test_alibaba_signing.py` pins them
to the published vector and to the official SDK's output, so both sides cannot drift together.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
RPC_SIGNATURE_METHOD = "HMAC-SHA1"
RPC_SIGNATURE_VERSION = "1.0"
#: §4.2 step 1 and §4.3 step 1: UTC, seconds, literal `Z`.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()

_AUTHORIZATION = re.compile(
    r"^(?P<algorithm>\S+) Credential=(?P<credential>[^,]*),"
    r"SignedHeaders=(?P<signed_headers>[^,]*),Signature=(?P<signature>[0-9a-fA-F]*)$"
)


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    access_key_secret: str = field(repr=False)


@dataclass(frozen=True)
class ParsedAuthorization:
    """The three parts of an `ACS3-HMAC-SHA256` `Authorization` header (§4.2 step 7)."""

    algorithm: str
    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Alibaba canonicalises it: space -> %20, `*` -> %2A, `~` kept (§4.2)."""
    return quote(value, safe="~", encoding="utf-8")


def timestamp(epoch: float) -> str:
    return time.strftime(TIMESTAMP_FORMAT, time.gmtime(epoch))


def new_nonce() -> str:
    """A fresh `x-acs-signature-nonce`; reusing one within 15 min is refused (§4.2 step 1)."""
    return secrets.token_hex(16)


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_query_string(query: Mapping[str, str]) -> str:
    """Sorted `k=v` pairs, names and values RFC 3986-encoded, joined with `&` (§4.2 step 2)."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(query.items()))


def canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """(CanonicalHeaders, SignedHeaders): lowercase names, trimmed values, sorted (§4.2 step 3).

    Every header given is signed, as the official SDK does; callers pass only what they sign.
    """
    normalized = {name.lower(): str(value).strip() for name, value in headers.items()}
    names = sorted(normalized)
    return "".join(f"{name}:{normalized[name]}\n" for name in names), ";".join(names)


def canonical_request(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload_sha256: str,
) -> str:
    """§4.2 step 4; CanonicalHeaders ends in a newline, so a blank line precedes SignedHeaders."""
    header_block, signed = canonical_headers(headers)
    return "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query_string(query),
            header_block,
            signed,
            payload_sha256,
        ]
    )


def acs3_string_to_sign(canonical: str) -> str:
    return f"{ACS3_ALGORITHM}\n{sha256_hex(canonical.encode('utf-8'))}"


def acs3_signature(secret: str, string_to_sign: str) -> str:
    """§4.2 step 6: hex HMAC-SHA256 keyed with the AccessKey secret itself (no suffix)."""
    return hmac.new(
        secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def acs3_authorization(
    credentials: Credentials,
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
) -> str:
    """The `Authorization` value signing exactly `headers` (which must include every x-acs-*)."""
    canonical = canonical_request(method, path, query, headers, sha256_hex(body))
    _, signed = canonical_headers(headers)
    signature = acs3_signature(credentials.access_key_secret, acs3_string_to_sign(canonical))
    # §4.2 step 7: no spaces after the commas.
    return (
        f"{ACS3_ALGORITHM} Credential={credentials.access_key_id},"
        f"SignedHeaders={signed},Signature={signature}"
    )


def parse_authorization(value: str) -> ParsedAuthorization | None:
    match = _AUTHORIZATION.match(value.strip())
    if not match or not match["signed_headers"]:
        return None
    return ParsedAuthorization(
        algorithm=match["algorithm"],
        access_key_id=match["credential"],
        signed_headers=tuple(match["signed_headers"].split(";")),
        signature=match["signature"].lower(),
    )


@dataclass(frozen=True)
class SignedRequest:
    """Everything that goes on the wire for one signed call (the body is sent as is)."""

    headers: dict[str, str]
    query_string: str


class Acs3Signer:
    """Signs one RPC-style call with `ACS3-HMAC-SHA256` (§4.2), as the adapter sends it."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def sign(
        self,
        *,
        host: str,
        action: str,
        version: str,
        query: Mapping[str, str],
        body: bytes,
        content_type: str,
        date: str,
        nonce: str,
        method: str = "POST",
        path: str = "/",
    ) -> SignedRequest:
        # The docs require at least host, every x-acs-* header and content-type to be signed
        # (§4.2 step 3); accept is signed too, as the SDK does.
        headers = {
            "host": host,
            "x-acs-action": action,
            "x-acs-version": version,
            "x-acs-date": date,
            "x-acs-signature-nonce": nonce,
            "x-acs-content-sha256": sha256_hex(body),
            "accept": "application/json",
        }
        if body:
            headers["content-type"] = content_type
        headers["authorization"] = acs3_authorization(
            self.credentials, method=method, path=path, query=query, headers=headers, body=body
        )
        return SignedRequest(headers=headers, query_string=canonical_query_string(query))


def rpc_signature(params: Mapping[str, str], method: str, secret: str) -> str:
    """§4.3: base64 HMAC-SHA1 over `METHOD&%2F&rfc3986(CQS)`, keyed with `secret + "&"`.

    `params` is the union of query and form parameters; `Signature` itself is left out.
    """
    cqs = canonical_query_string({k: v for k, v in params.items() if k != "Signature"})
    string_to_sign = f"{method.upper()}&{percent_encode('/')}&{percent_encode(cqs)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
