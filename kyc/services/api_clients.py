"""API clients as an admin manages them, and their secrets: create and change a client, create,
revoke and check API keys, rotate and retire webhook signing secrets.

Every write is audited in the same transaction. Secrets never reach an audit event, and a webhook
URL is recorded without its user-info, query or fragment (a URL may embed credentials). API keys
are shown once and stored as a hash, several per client for rotation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kyc import webhooks
from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.models import ApiClient, ApiKey, new_webhook_secret

#: What an admin may change on a client (secrets change only through rotation).
EDITABLE_FIELDS = ("name", "is_active", "webhook_url", "throttle_rate")
#: DRF's rate format: requests per second, minute, hour or day (only the first letter counts).
THROTTLE_RATE = re.compile(r"^[1-9]\d{0,6}/(s|sec|second|m|min|minute|h|hour|d|day)$")


def redact_url(url: str) -> str:
    """scheme://host[:port]/path: what an audit event may say about a webhook URL."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def snapshot(client: ApiClient) -> dict[str, Any]:
    return {
        "name": client.name,
        "is_active": client.is_active,
        "webhook_url": redact_url(client.webhook_url),
        "throttle_rate": client.throttle_rate,
    }


def webhook_url_problem(url: str) -> str | None:
    """Why webhooks may not go to `url` (wrong scheme, private address, no DNS), or None."""
    if not url:
        return None
    try:
        webhooks.check_target_url(url)
    except webhooks.WebhookTargetRefused as refused:
        return f"Webhooks cannot be sent to this URL: {refused.reason}."
    return None


def throttle_rate_problem(rate: str) -> str | None:
    if THROTTLE_RATE.match(rate):
        return None
    return "Use requests per period, e.g. 600/min, 20/s, 10000/hour or 50000/day."


def _validate(client: ApiClient, changed: set[str]) -> None:
    errors: dict[str, list[str]] = {}
    try:
        client.full_clean(exclude=["webhook_secret", "webhook_secret_previous"])
    except ValidationError as error:
        errors.update(error.message_dict)
    if "webhook_url" in changed and "webhook_url" not in errors:
        problem = webhook_url_problem(client.webhook_url)
        if problem:
            errors["webhook_url"] = [problem]
    if "throttle_rate" not in errors:
        problem = throttle_rate_problem(client.throttle_rate)
        if problem:
            errors["throttle_rate"] = [problem]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_client(client: ApiClient, actor: Actor) -> ApiClient:
    """Save a new (unsaved) client; it gets a fresh webhook signing secret, no API key yet."""
    _validate(client, set(EDITABLE_FIELDS))
    client.save()
    events.api_client_created(client, actor, values=snapshot(client))
    return client


@transaction.atomic
def update_client(client: ApiClient, changes: Mapping[str, Any], actor: Actor) -> ApiClient:
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(f"Not editable here: {', '.join(unknown)}.")
    locked = ApiClient.objects.select_for_update(no_key=True).get(pk=client.pk)
    before = snapshot(locked)
    raw_before = {name: getattr(locked, name) for name in EDITABLE_FIELDS}
    for name, value in changes.items():
        setattr(locked, name, value)
    changed = {name for name in EDITABLE_FIELDS if getattr(locked, name) != raw_before[name]}
    if not changed:
        return client
    _validate(locked, changed)
    locked.save(update_fields=sorted(changed))
    events.api_client_changed(locked, actor, before=before, after=snapshot(locked))
    for name in EDITABLE_FIELDS:
        setattr(client, name, getattr(locked, name))
    return client


@transaction.atomic
def rotate_webhook_secret(client: ApiClient, actor: Actor) -> str:
    """Start signing with a new secret, keep the current one active as the previous one.

    Returns the new secret (to show once to whoever rotated it). Call `retire_webhook_secret`
    once the client confirms its receivers use the new one (SW "Secret rotation").
    """
    locked = ApiClient.objects.select_for_update(no_key=True).get(pk=client.pk)
    if locked.webhook_secret:
        locked.webhook_secret_previous = locked.webhook_secret
    locked.webhook_secret = new_webhook_secret()
    locked.save(update_fields=["webhook_secret", "webhook_secret_previous"])
    events.webhook_secret_rotated(locked, actor)
    client.webhook_secret = locked.webhook_secret
    client.webhook_secret_previous = locked.webhook_secret_previous
    return locked.webhook_secret


@transaction.atomic
def retire_webhook_secret(client: ApiClient, actor: Actor) -> bool:
    """End a rotation: sign with the new secret only. False when nothing was being rotated."""
    locked = ApiClient.objects.select_for_update(no_key=True).get(pk=client.pk)
    if not locked.webhook_secret_previous:
        return False
    locked.webhook_secret_previous = ""
    locked.save(update_fields=["webhook_secret_previous"])
    events.webhook_secret_retired(locked, actor)
    client.webhook_secret_previous = ""
    return True


# --- API keys ------------------------------------------------------------------------------------

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
