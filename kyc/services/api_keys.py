"""API keys: shown once, stored as a hash, several per client for rotation."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from kyc.models import ApiClient, ApiKey
from reviews import events
from reviews.events import Actor

KEY_PREFIX = "kyc"


def _hash(secret: str) -> str:
    # Keys are 256-bit random values: a plain SHA-256 is enough (no dictionary to guess from).
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_api_key(client: ApiClient, actor: Actor, name: str = "") -> tuple[ApiKey, str]:
    """A new key for `client`; the returned plaintext is never stored or shown again."""
    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        client=client, name=name, prefix=prefix, hashed_secret=_hash(secret)
    )
    events.api_key_created(key, actor)
    return key, secret


@transaction.atomic
def revoke_api_key(key: ApiKey, actor: Actor) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        events.api_key_revoked(key, actor)


def authenticate_key(presented: str) -> ApiKey | None:
    """The active key matching `presented`, or None (constant-time comparison)."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = (
        ApiKey.objects.select_related("client")
        .filter(prefix=parts[1], revoked_at__isnull=True, client__is_active=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.hashed_secret, _hash(presented)):
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key
