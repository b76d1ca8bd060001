"""Signing and verifying webhooks (Standard Webhooks, "SW": https://www.standardwebhooks.com)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from kyc.models import ApiClient, new_webhook_secret

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format marker, not a secret
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = 300


class WebhookVerificationError(Exception):
    """A received webhook failed verification (missing headers, stale, or bad signature)."""


class NoSecret(Exception):
    """The client has no signing secret yet. Retried: an admin can still set one."""


def generate_secret() -> str:
    """A new signing secret in the SW format: `whsec_` + base64 of 32 random bytes."""
    return new_webhook_secret()


def _key(secret: str) -> bytes:
    # SW: the key is the base64-decoded part after the prefix (libraries also accept it bare).
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("A webhook secret must be 'whsec_' followed by base64.") from None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">` (SW "Signature scheme")."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_header(client: ApiClient, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: the current secret first, then the previous one.

    During a rotation both are active, so a receiver that still holds the old secret keeps
    accepting our webhooks until the client has deployed the new one (SW "Secret rotation").
    """
    if not client.webhook_secret:
        raise NoSecret
    active = [client.webhook_secret]
    if client.webhook_secret_previous:
        active.append(client.webhook_secret_previous)
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in active)


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE,
) -> Any:
    """Check a received webhook as a client should, and return its decoded JSON payload.

    `headers` may be any mapping (Django's `request.headers`, httpx headers, a dict); names are
    matched case-insensitively. Raises `WebhookVerificationError`.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    raw_timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not (msg_id and raw_timestamp and signatures):
        raise WebhookVerificationError("Missing webhook-id, webhook-timestamp or signature.")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not unix seconds.") from None
    # Both directions: an old timestamp is a replay, a future one a forged attempt at one.
    if abs(int(time.time()) - timestamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance.")
    expected = sign(secret, msg_id, timestamp, body).encode()
    for candidate in signatures.split(" "):
        if hmac.compare_digest(candidate.encode(), expected):
            return json.loads(body)
    raise WebhookVerificationError("No signature matches.")
