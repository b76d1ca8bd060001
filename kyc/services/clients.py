"""API clients as an admin manages them: create, change, end a webhook secret rotation.

Keys (`kyc.services.api_keys`) and secret rotation (`kyc.webhooks.rotate_secret`) have their
own services; this module adds what the admin needs around them. Every write is audited in the
same transaction. Secrets never reach an audit event, and a webhook URL is recorded without its
user-info, query or fragment (a URL may embed credentials).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import transaction

from kyc import webhooks
from kyc.models import ApiClient
from reviews import events
from reviews.events import Actor

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
def retire_webhook_secret(client: ApiClient, actor: Actor) -> bool:
    """End a rotation: sign with the new secret only. False when nothing was being rotated."""
    locked = ApiClient.objects.select_for_update(no_key=True).get(pk=client.pk)
    if not locked.webhook_secret_previous:
        return False
    webhooks.retire_previous_secret(locked)
    events.webhook_secret_retired(locked, actor)
    client.webhook_secret_previous = ""
    return True
