"""Outgoing webhooks, signed and retried as the Standard Webhooks specification describes.

Specification: https://www.standardwebhooks.com (referred to below as "SW").

What a client receives for every event of one of its image pairs::

    POST <pair.callback_url or client.webhook_url>
    webhook-id: msg_<32 hex>          same on every retry: deduplicate on it
    webhook-timestamp: <unix seconds> time of this attempt
    webhook-signature: v1,<base64>    one per active secret, separated by spaces
    content-type: application/json

    {"data": {...}, "timestamp": "2025-01-01T12:00:00.000Z", "type": "pair.approved"}

How a receiver checks it (what `verify` does): take the secret `whsec_<base64>`, base64-decode
the part after `whsec_` to get the HMAC key, compute
`base64(HMAC-SHA256(key, f"{webhook-id}.{webhook-timestamp}.{raw body}"))` and compare it in
constant time with each `v1,` entry of `webhook-signature`; refuse timestamps more than five
minutes away from the receiver's clock.

A delivery is one `WebhookDelivery` row. Attempts follow the SW schedule (immediately, 5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 10 h); a worker takes a delivery with a conditional UPDATE, so a Celery
message delivered twice, or the sweeper racing a scheduled retry, never sends an event twice at
the same time. Payload bodies, secrets and target URLs (which may embed credentials) are never
logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from kyc.models import ApiClient, DeliveryStatus, ImagePair, WebhookDelivery, new_webhook_secret
from reviews import events

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format marker, not a secret
SIGNATURE_VERSION = "v1"

#: Delay before each attempt, counted from the failure of the one before (SW "Retry schedule").
RETRY_SCHEDULE: tuple[int, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE)

#: How long a claimed delivery belongs to the worker sending it. It must outlast one send
#: (connect 5 s + read 15 s per address tried); when the worker dies, the sweeper picks the
#: delivery up once the lease has run out.
LEASE = timedelta(minutes=5)
#: A Celery countdown fires on the worker's clock, the due time was written with ours: accept a
#: message that arrives this much early rather than leave it to the sweeper.
CLOCK_SKEW = timedelta(seconds=2)
#: Pending deliveries overdue by more than this are assumed lost by the broker and re-enqueued.
SWEEP_GRACE = timedelta(minutes=1)
SWEEP_BATCH = 500
#: Longer retries are left to the sweeper instead of a Celery countdown: Redis and SQS redeliver
#: an unacknowledged message after the visibility timeout (600 s by default, kyc/settings.py),
#: so a message held for hours by a worker would be multiplied.
LONGEST_COUNTDOWN = 5 * 60

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
USER_AGENT = "kyc-face-review-webhooks/1.0"
DEFAULT_TOLERANCE = 300


class WebhookTargetRefused(Exception):
    """The URL must not receive webhooks: wrong scheme or a non-public address. Final."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WebhookVerificationError(Exception):
    """A received webhook failed verification (missing headers, stale, or bad signature)."""


class _TargetUnresolved(Exception):
    """DNS gave no answer. Transient at send time: the next attempt may resolve."""


class _NoSecret(Exception):
    """The client has no signing secret yet. Retried: an admin can still set one."""


# --- Signing and verifying ----------------------------------------------------------------


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
        raise _NoSecret
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


# --- Secrets ------------------------------------------------------------------------------


def rotate_secret(client: ApiClient, actor: events.Actor) -> str:
    """Start signing with a new secret, keep the current one active as the previous one.

    Returns the new secret (to show once to whoever rotated it). Call `retire_previous_secret`
    once the client confirms its receivers use the new one.
    """
    with transaction.atomic():
        locked = ApiClient.objects.select_for_update(no_key=True).get(pk=client.pk)
        if locked.webhook_secret:
            locked.webhook_secret_previous = locked.webhook_secret
        locked.webhook_secret = generate_secret()
        locked.save(update_fields=["webhook_secret", "webhook_secret_previous"])
        events.webhook_secret_rotated(locked, actor)
    client.webhook_secret = locked.webhook_secret
    client.webhook_secret_previous = locked.webhook_secret_previous
    return locked.webhook_secret


def retire_previous_secret(client: ApiClient) -> None:
    """Stop signing with the previous secret (the end of a rotation)."""
    ApiClient.objects.filter(pk=client.pk).update(webhook_secret_previous="")
    client.webhook_secret_previous = ""


# --- Where webhooks may go ------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    url: httpx.URL
    addresses: tuple[str, ...]


def _refusal(address: str) -> str | None:
    """Why an address must not receive webhooks, or None when it is a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    # ::ffff:127.0.0.1 reaches 127.0.0.1; Python 3.11 does not call it loopback.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, name in (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
    ):
        if flag:
            return name
    # Shared (100.64/10), benchmarking, documentation ranges and the like.
    if not ip.is_global:
        return "non-public"
    return None


def _resolve(url: str) -> _Target:
    """Parse `url`, resolve its host and check every address it resolves to."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise WebhookTargetRefused("not a valid URL") from None
    if parsed.scheme not in {"http", "https"}:
        raise WebhookTargetRefused(f"scheme {parsed.scheme or '(none)'!r} is not http or https")
    if not parsed.host:
        raise WebhookTargetRefused("the URL has no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parsed.raw_host.decode("ascii"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise _TargetUnresolved from None
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise _TargetUnresolved
    if not getattr(settings, "KYC_WEBHOOKS_ALLOW_PRIVATE", False):
        # Every address, not just the first: a host with one public and one internal record
        # could otherwise be used to reach the inside of our network (SSRF).
        for address in addresses:
            reason = _refusal(address)
            if reason:
                raise WebhookTargetRefused(f"the host resolves to a {reason} address")
    return _Target(parsed, addresses)


def check_target_url(url: str) -> None:
    """Refuse a webhook URL that is not http(s) or that reaches a non-public address.

    Used when a client sets its URL and again before every attempt (DNS may have changed).
    `KYC_WEBHOOKS_ALLOW_PRIVATE` lifts the address rule for development, tests and demos.
    """
    try:
        _resolve(url)
    except _TargetUnresolved:
        raise WebhookTargetRefused("the host does not resolve") from None


# --- Enqueueing -------------------------------------------------------------------------------


def _schedule(delivery_id: int, countdown: int | None) -> None:
    # Imported here: the task module imports this one.
    from kyc.webhook_tasks import deliver_webhook

    if countdown is None:
        deliver_webhook.delay(delivery_id)
    else:
        deliver_webhook.apply_async((delivery_id,), countdown=countdown)


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def enqueue_pair_event(
    pair: ImagePair, event_type: str, data: dict[str, Any] | Callable[[], dict[str, Any]]
) -> WebhookDelivery | None:
    """Record one event of `pair` for its client and send it once the caller's transaction commits.

    Returns None when neither the pair nor its client has a URL. An event type is sent at most
    once per pair: a second call (a redelivered Celery task re-running the pipeline) returns the
    delivery already recorded and schedules nothing. Callers hold the pair's row lock (they have
    just changed its status), which serializes them; the unique (pair, event_type) constraint
    settles any other race.
    """
    client = pair.client
    url = pair.callback_url or client.webhook_url
    if not url:
        return None
    if callable(data):  # built only when there is someone to send it to
        data = data()
    with transaction.atomic():
        existing = WebhookDelivery.objects.filter(pair=pair, event_type=event_type).first()
        if existing is not None:
            return existing
        now = timezone.now()
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    event_id=f"msg_{uuid.uuid4().hex}",
                    client=client,
                    pair=pair,
                    event_type=event_type,
                    url=url,
                    payload={"type": event_type, "timestamp": _iso_utc(now), "data": data},
                    next_attempt_at=now,
                )
        except IntegrityError:
            # A unique (pair, event_type) constraint, where the database has one, lost a race.
            return WebhookDelivery.objects.get(pair=pair, event_type=event_type)
        transaction.on_commit(partial(_schedule, delivery.pk, None))
    return delivery


# --- Delivering -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None = None
    error: str = ""
    final: bool = False

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _claim(delivery_id: int) -> int | None:
    """Take a due delivery for one attempt; its new attempt number, or None if not ours."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now + CLOCK_SKEW,
        attempts__lt=MAX_ATTEMPTS,
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    if not claimed:
        return None
    attempts: int = (
        WebhookDelivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True).get()
    )
    return attempts


def _body(payload: Any) -> bytes:
    # Sorted keys: PostgreSQL's jsonb does not keep key order, and the same event should be the
    # same bytes on every attempt.
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _short(exc: Exception) -> str:
    # The exception text only (httpx puts no request body in it), cut to fit last_error.
    return f"{type(exc).__name__}: {exc}"[:300]


def _post(target: _Target, delivery: WebhookDelivery) -> _Outcome:
    body = _body(delivery.payload)
    timestamp = int(timezone.now().timestamp())
    try:
        signature = signature_header(delivery.client, delivery.event_id, timestamp, body)
    except _NoSecret:
        return _Outcome(error="the client has no webhook secret")
    headers = {
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        # The request goes to the address we checked, not to whatever the name resolves to
        # a moment later (DNS rebinding), so the name travels in Host and, for TLS, in SNI.
        "host": target.url.netloc.decode("ascii"),
    }
    extensions = {"sni_hostname": target.url.host} if target.url.scheme == "https" else {}
    last_error: Exception | None = None
    # trust_env=False: a proxy from the environment would resolve the name itself and bypass
    # the address check.
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client:
        for address in target.addresses:
            try:
                response = client.post(
                    target.url.copy_with(host=address.split("%", 1)[0]),
                    content=body,
                    headers=headers,
                    extensions=extensions,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last_error = exc  # this address is down; the host may have others
                continue
            except httpx.HTTPError as exc:
                return _Outcome(error=_short(exc))
            # Only the status: a receiver's body is neither needed nor trusted.
            error = "" if response.is_success else f"HTTP {response.status_code}"
            return _Outcome(status_code=response.status_code, error=error)
    assert last_error is not None
    return _Outcome(error=_short(last_error))


def _finish(delivery_id: int, attempt: int, outcome: _Outcome) -> None:
    now = timezone.now()
    # The attempt number fences the update: if our lease ran out and another worker took the
    # delivery meanwhile, its result is the one that counts.
    mine = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, attempts=attempt
    )
    recorded = {"last_status_code": outcome.status_code, "last_error": outcome.error}
    with transaction.atomic():
        if outcome.delivered:
            updated = mine.update(
                status=DeliveryStatus.DELIVERED,
                delivered_at=now,
                next_attempt_at=None,
                **recorded,
            )
            result = "delivered"
        elif outcome.final or attempt >= MAX_ATTEMPTS:
            updated = mine.update(status=DeliveryStatus.FAILED, next_attempt_at=None, **recorded)
            result = "failed"
        else:
            delay = RETRY_SCHEDULE[attempt]
            updated = mine.update(next_attempt_at=now + timedelta(seconds=delay), **recorded)
            result = "retry"
            if updated and delay <= LONGEST_COUNTDOWN:
                transaction.on_commit(partial(_schedule, delivery_id, delay))
    logger.info(
        "webhook attempt",
        extra={
            "delivery": delivery_id,
            "attempt": attempt,
            "result": result if updated else "lease lost",
            "status_code": outcome.status_code,
        },
    )


def deliver(delivery_id: int) -> None:
    """Make one attempt at a due delivery (the body of the `kyc.deliver_webhook` task).

    Does nothing when the delivery is not due, already finished, or being sent by another
    worker. No database transaction is held while the receiver is called.
    """
    attempt = _claim(delivery_id)
    if attempt is None:
        return
    delivery = WebhookDelivery.objects.select_related("client").get(pk=delivery_id)
    try:
        target = _resolve(delivery.url)
    except WebhookTargetRefused as exc:
        outcome = _Outcome(error=f"target refused: {exc.reason}", final=True)
    except _TargetUnresolved:
        outcome = _Outcome(error="the host does not resolve")
    else:
        outcome = _post(target, delivery)
    _finish(delivery_id, attempt, outcome)


def sweep_due() -> int:
    """Re-enqueue pending deliveries whose message was lost; returns how many.

    A delivery overdue by more than a minute lost its Celery message (broker restart, a worker
    that died holding it) or is a long retry left to this sweep (see LONGEST_COUNTDOWN). One that
    already used its last attempt lost the worker making it and is given up.
    """
    cutoff = timezone.now() - SWEEP_GRACE
    overdue = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lt=cutoff
    )
    overdue.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
        last_status_code=None,
        last_error="the worker making the last attempt was lost",
    )
    due = list(
        overdue.filter(attempts__lt=MAX_ATTEMPTS)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for delivery_id in due:
        _schedule(delivery_id, None)
    if due:
        logger.info("webhooks re-enqueued", extra={"count": len(due)})
    return len(due)
