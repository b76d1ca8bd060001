"""Recording, sending and retrying webhook deliveries (one `WebhookDelivery` row each)."""

from __future__ import annotations

import functools
import json
import logging
import os
import ssl
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from kyc import dispatch, raw_rows
from kyc.db_pool import release_connection
from kyc.inserts import insert_unless_present
from kyc.models import ApiClient, DeliveryStatus, ImagePair, WebhookDelivery
from kyc.services.answers_first import answers
from kyc.webhooks.signing import NoSecret, signature_header
from kyc.webhooks.targets import Target, TargetUnresolved, WebhookTargetRefused, resolve

logger = logging.getLogger(__name__)

#: Delay before each attempt, counted from the failure of the one before (SW "Retry schedule").
RETRY_SCHEDULE: tuple[int, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE)

#: One attempt ends within this many seconds, whatever the receiver does: each request's
#: timeouts are cut to what is left of it, and the receiver's body is never read.
SEND_LIMIT = 25.0
#: How long a claimed delivery belongs to the worker sending it: one attempt and a margin for
#: recording it. When the worker dies, the sweeper (beat, every 15 s, kyc/settings.py) sends the
#: delivery again once the lease and SWEEP_GRACE have passed: within a minute of the claim.
#: A worker alive but stalled past its lease (a long pause) may overlap the next attempt: the
#: receiver then gets the same event twice with the same webhook-id, which it deduplicates on,
#: and the attempt number fences the stalled worker's result out (`_finish`).
LEASE = timedelta(seconds=SEND_LIMIT + 5)
#: A Celery countdown fires on the worker's clock, the due time was written with ours: accept a
#: message that arrives this much early rather than leave it to the sweeper.
CLOCK_SKEW = timedelta(seconds=2)
#: Pending deliveries overdue by more than this are assumed lost (a dead worker's lease, a
#: message lost by the broker) and re-enqueued. Short, so a lost attempt is retried within a
#: minute; a message merely slow to arrive is then sent twice, and the second copy finds the
#: delivery claimed and does nothing (`_claim`).
SWEEP_GRACE = timedelta(seconds=15)
SWEEP_BATCH = 500
#: Longer retries are left to the sweeper instead of a Celery countdown: Redis and SQS redeliver
#: an unacknowledged message after the visibility timeout (600 s by default, kyc/settings.py),
#: so a message held for hours by a worker would be multiplied.
LONGEST_COUNTDOWN = 5 * 60

#: Per request, each cut to what is left of SEND_LIMIT.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
USER_AGENT = "kyc-face-review-webhooks/1.0"
#: How many first attempts one worker process makes at once to one receiving host from the
#: threads that decided the pairs (`send_here`); the events beyond wait on the webhooks queue.
#: A host that hangs holds at most this many of a worker's threads (a fifth of the README's 150)
#: for up to SEND_LIMIT each, as its queued deliveries would hold threads of the same pool. Not
#: fewer: when a burst's answers come back together, so do its webhooks, and at 4 nearly two
#: thirds of them went to the queue (bench/pipeline.py, 566 of 900) against a third at 32.
SENT_HERE_PER_RECEIVER = 32


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def enqueue_pair_event(
    pair: ImagePair,
    event_type: str,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
    *,
    send_here: bool = False,
) -> WebhookDelivery | None:
    """Record one event of `pair` for its client and send it once the caller's transaction commits.

    The first attempt goes through the webhooks queue, or with `send_here` (the comparison
    worker, which has just decided the pair) is made by this thread right after the commit:
    that spares a broker message and a task per decided pair (bench/pipeline.py, alternating
    runs: 15.0-17.6 ms of worker CPU per pair queued, 14.0-14.8 sent here). It waits on the
    queue all the same when this process already sends SENT_HERE_PER_RECEIVER events to that
    host. Retries always use the queue.

    With `send_here` the delivery is recorded already leased for its first attempt, as `_claim`
    would lease it, so that attempt needs no claim statement; when it goes to the queue instead,
    its message carries the lease (`deliver`'s `leased_attempt`). If the process dies before
    the attempt is recorded, the sweeper sends the event once the lease and SWEEP_GRACE pass,
    as for any claimed delivery.

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
    now = timezone.now()
    delivery = WebhookDelivery(
        event_id=f"msg_{uuid.uuid4().hex}",
        client=client,
        pair=pair,
        event_type=event_type,
        url=url,
        payload={"type": event_type, "timestamp": _iso_utc(now), "data": data},
        next_attempt_at=now + LEASE if send_here else now,
        attempts=1 if send_here else 0,
    )
    # One statement; the unique (pair, event_type) constraint may already hold the event.
    if not insert_unless_present(delivery):
        return WebhookDelivery.objects.get(pair=pair, event_type=event_type)
    if send_here:
        host = urlsplit(url).hostname or ""

        def send_webhook_here() -> None:  # named: Django logs a robust callback's failure by it
            _send_here_or_queue(delivery, host)

        # robust: a failure here is logged and leaves the delivery to the sweeper (SWEEP_GRACE
        # after it was due), never undoes or holds up what the transaction committed.
        transaction.on_commit(send_webhook_here, robust=True)
    else:
        dispatch.send_on_commit(dispatch.DELIVER_WEBHOOK, delivery.pk)
    return delivery


class _ReceiverSlots:
    """First attempts being made by this process's threads, counted per receiver."""

    def __init__(self, per_receiver: int) -> None:
        self.per_receiver = per_receiver
        self._lock = threading.Lock()
        self._busy: Counter[str] = Counter()

    def take(self, receiver: str) -> bool:
        with self._lock:
            if self._busy[receiver] >= self.per_receiver:
                return False
            self._busy[receiver] += 1
            return True

    def give_back(self, receiver: str) -> None:
        with self._lock:
            self._busy[receiver] -= 1
            if not self._busy[receiver]:
                del self._busy[receiver]


_sending_here = _ReceiverSlots(SENT_HERE_PER_RECEIVER)


def _send_here_or_queue(delivery: WebhookDelivery, receiver: str) -> None:
    """The first attempt at a just-committed delivery, leased as it was recorded: made by this
    thread if a slot for its receiver (its host) is free, otherwise by a webhooks-queue worker
    that takes the lease over."""
    if not _sending_here.take(receiver):
        dispatch.send(dispatch.DELIVER_WEBHOOK, delivery.pk, delivery.attempts)
        return
    try:
        # The answers that came back with this one's wave are stored first: a crash before they
        # are costs second calls (issue 19), a webhook a few milliseconds later costs nothing.
        answers.let_answers_go_first()
        _attempt(delivery)
    finally:
        _sending_here.give_back(receiver)


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None = None
    error: str = ""
    final: bool = False

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _claim(delivery_id: int, leased_attempt: int | None = None) -> WebhookDelivery | None:
    """Take a due delivery for one attempt: the delivery with its client and its new attempt
    number (`attempts`), or None if it is not ours. One statement on PostgreSQL.

    With `leased_attempt`, take over that attempt's lease, which the delivery was recorded with
    (`enqueue_pair_event`): the lease is renewed from now, whenever the attempt was due, and the
    attempt number stays. None once the attempt was recorded or the sweeper started the next.
    """
    now = timezone.now()
    if connection.vendor == "postgresql":
        return _claim_in_one_statement(delivery_id, now, leased_attempt)
    # The same conditions as the statements' WHERE (`_statements`), step by step.
    pending = WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
    if leased_attempt is None:
        claimed = pending.filter(
            next_attempt_at__lte=now + CLOCK_SKEW, attempts__lt=MAX_ATTEMPTS
        ).update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    else:
        claimed = pending.filter(attempts=leased_attempt).update(next_attempt_at=now + LEASE)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("client").get(pk=delivery_id)


@dataclass(frozen=True)
class _Statements:
    claim: str  # PostgreSQL: parameters lease end, id, status, due by, attempts below
    take_over: str  # PostgreSQL: parameters lease end, id, status, leased attempt
    reads: list[raw_rows.Read]  # what either reads: the delivery and its client
    outcome: str  # any database


@functools.cache
def _statements() -> _Statements:
    """The claims (PostgreSQL) with the rows they read, and the outcome's UPDATE (any database),
    written once per process: building them with the ORM for every delivery was a third of a
    delivery's CPU (bench/webhook_cost.py --profile)."""
    q = connection.ops.quote_name
    table = q(WebhookDelivery._meta.db_table)
    reads = [("claimed", raw_rows.read(WebhookDelivery)), ("cl", raw_rows.read(ApiClient))]
    returning = ", ".join(q(field.column) for field in reads[0][1].fields)

    # Only table and column names from the models are formatted in; values are parameters. The
    # SELECT reads the claimed row from RETURNING: a plain read of the table in the same
    # statement would see it as it was before the UPDATE.
    def claiming(set_attempts: str, where: str) -> str:
        return f"""
            WITH claimed AS (
                UPDATE {table} SET {set_attempts}next_attempt_at = %s
                WHERE id = %s AND status = %s AND {where}
                RETURNING {returning}
            )
            SELECT {raw_rows.select_list(reads)}
            FROM claimed JOIN {q(ApiClient._meta.db_table)} AS cl ON cl.id = claimed.client_id
        """  # noqa: S608

    # The attempt number fences the update: if our lease ran out and another worker took the
    # delivery meanwhile, its result is the one that counts.
    outcome = f"""
        UPDATE {table}
        SET status = %s, delivered_at = %s, next_attempt_at = %s, last_status_code = %s,
            last_error = %s
        WHERE id = %s AND status = %s AND attempts = %s
    """  # noqa: S608
    return _Statements(
        claim=claiming("attempts = attempts + 1, ", "next_attempt_at <= %s AND attempts < %s"),
        take_over=claiming("", "attempts = %s"),
        reads=[read for _, read in reads],
        outcome=outcome,
    )


def _claim_in_one_statement(
    delivery_id: int, now: datetime, leased_attempt: int | None
) -> WebhookDelivery | None:
    statements = _statements()
    conditions: list[Any]
    if leased_attempt is None:
        sql, conditions = statements.claim, [now + CLOCK_SKEW, MAX_ATTEMPTS]
    else:
        sql, conditions = statements.take_over, [leased_attempt]
    with connection.cursor() as cursor:
        cursor.execute(sql, [now + LEASE, delivery_id, DeliveryStatus.PENDING, *conditions])
        row = cursor.fetchone()
    if row is None:
        return None
    delivery, client = raw_rows.instances(statements.reads, row)
    WebhookDelivery._meta.get_field("client").set_cached_value(delivery, client)
    return cast(WebhookDelivery, delivery)


def _body(payload: Any) -> bytes:
    # Sorted keys: PostgreSQL's jsonb does not keep key order, and the same event should be the
    # same bytes on every attempt.
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _short(exc: Exception) -> str:
    # The exception text only (httpx puts no request body in it), cut to fit last_error.
    return f"{type(exc).__name__}: {exc}"[:300]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context of every delivery, made once per process: loading the CA store
    costs ~10 ms of CPU, which, made per delivery, was a sixth of a busy worker's CPU (py-spy
    under bench/load.py). SSLContext is safe to share between threads."""
    return httpx.create_ssl_context(trust_env=False)


#: Idle connections to a receiver are kept this long: below the idle timeouts servers commonly
#: close them after (gunicorn 2 s, Node.js 5 s, nginx 75 s), so an event is seldom sent on a
#: connection just as the receiver closes it. When it is, the attempt fails and is retried.
KEEPALIVE_SECONDS = 1.0
#: Receivers' names with a client kept; beyond it the least recent one's is dropped.
KEPT_RECEIVERS = 256


@functools.lru_cache(maxsize=KEPT_RECEIVERS)
def receiver_transport(scheme: str, host: str, port: int | None) -> httpx.HTTPTransport:
    """The process's connections to one receiver name, so a busy receiver's connection is reused
    instead of set up for every event. Over https that spares a TLS handshake per event, about
    half of a delivery's CPU (bench/webhook_cost.py --tls: 4.2-4.4 ms before, 2.1-2.5 after).

    One transport per name, never shared between names: a connection was opened to an address
    checked for this name, with this name's SNI and certificate check. Within the name, httpx
    pools connections by the address each request goes to, which `resolve` checks again before
    every send. No limit on connections: one per delivery in flight, as before.

    A transport, not an `httpx.Client`: a delivery uses nothing a client adds (redirects are
    not followed, no cookies, no proxy: one from the environment would resolve the name itself
    and bypass the address check), and building and sending a request through one cost
    140 K instructions per event, of 16.8 M per pipeline attempt (bench/attempt_cost.py under
    callgrind). A dropped transport is not closed (another thread may be sending with it); its
    idle connections close when it is collected.
    """
    del scheme, host, port  # the key only
    return httpx.HTTPTransport(
        verify=tls_context(),
        limits=httpx.Limits(max_connections=None, keepalive_expiry=KEEPALIVE_SECONDS),
    )


# A forked child must not send on its parent's sockets.
os.register_at_fork(after_in_child=receiver_transport.cache_clear)


def _has_no_body(response: httpx.Response) -> bool:
    return response.status_code == 204 or response.headers.get("content-length") == "0"


def _post(target: Target, delivery: WebhookDelivery) -> _Outcome:
    body = _body(delivery.payload)
    timestamp = int(timezone.now().timestamp())
    try:
        signature = signature_header(delivery.client, delivery.event_id, timestamp, body)
    except NoSecret:
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
    started = time.monotonic()
    transport = receiver_transport(target.url.scheme, target.url.host, target.url.port)
    for address in target.addresses:
        left = SEND_LIMIT - (time.monotonic() - started)
        if left <= 0:
            break  # the lease must outlast the attempt: the other addresses wait for the next
        timeout = httpx.Timeout(min(READ_TIMEOUT, left), connect=min(CONNECT_TIMEOUT, left))
        request = httpx.Request(
            "POST",
            target.url.copy_with(host=address.split("%", 1)[0]),
            content=body,
            headers=headers,
            extensions={**extensions, "timeout": timeout.as_dict()},
        )
        try:
            # Only the status counts (a receiver's body is neither needed nor trusted), and a
            # body trickled slowly must not stretch the attempt past its limit. An empty body
            # is read, which costs no wait and keeps the connection for the next event; any
            # other is left unread, and closing the response closes its connection.
            response = transport.handle_request(request)
            try:
                status_code, success = response.status_code, response.is_success
                if _has_no_body(response):
                    response.read()
            finally:
                response.close()
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            last_error = exc  # this address is down; the host may have others
            continue
        except httpx.HTTPError as exc:
            return _Outcome(error=_short(exc))
        error = "" if success else f"HTTP {status_code}"
        return _Outcome(status_code=status_code, error=error)
    if last_error is None:
        return _Outcome(error="the send limit ran out before an address answered")
    return _Outcome(error=_short(last_error))


def _finish(delivery_id: int, attempt: int, outcome: _Outcome) -> None:
    now = timezone.now()
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = None
    retry_in: int | None = None
    if outcome.delivered:
        result, status, delivered_at = "delivered", DeliveryStatus.DELIVERED, now
    elif outcome.final or attempt >= MAX_ATTEMPTS:
        result, status = "failed", DeliveryStatus.FAILED
    else:
        retry_in = RETRY_SCHEDULE[attempt]
        result, status = "retry", DeliveryStatus.PENDING
        next_attempt_at = now + timedelta(seconds=retry_in)
    # One UPDATE, committed on its own: no transaction round trips around it.
    statement = _statements().outcome
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            statement,
            [
                *(status, adapt(delivered_at), adapt(next_attempt_at)),
                *(outcome.status_code, outcome.error),
                *(delivery_id, DeliveryStatus.PENDING, attempt),
            ],
        )
        updated = cursor.rowcount
    if updated and retry_in is not None and retry_in <= LONGEST_COUNTDOWN:
        # Sent only now that the UPDATE that schedules it has committed.
        dispatch.send_on_commit(dispatch.DELIVER_WEBHOOK, delivery_id, countdown=retry_in)
    logger.info(
        "webhook attempt",
        extra={
            "delivery": delivery_id,
            "attempt": attempt,
            "result": result if updated else "lease lost",
            "status_code": outcome.status_code,
        },
    )


def deliver(delivery_id: int, leased_attempt: int | None = None) -> None:
    """Make one attempt at a due delivery (the body of the `kyc.deliver_webhook` task), or with
    `leased_attempt` the attempt it was recorded leased for (`enqueue_pair_event`).

    Does nothing when the delivery is not due, already finished, or being sent by another
    worker. No database transaction is held while the receiver is called.
    """
    delivery = _claim(delivery_id, leased_attempt)
    if delivery is not None:
        _attempt(delivery)


def _attempt(delivery: WebhookDelivery) -> None:
    """Send a delivery this thread holds the lease of, and record the outcome."""
    attempt = delivery.attempts
    release_connection()  # none is held while the receiver answers (kyc.db_pool)
    try:
        target = resolve(delivery.url)
    except WebhookTargetRefused as exc:
        outcome = _Outcome(error=f"target refused: {exc.reason}", final=True)
    except TargetUnresolved:
        outcome = _Outcome(error="the host does not resolve")
    else:
        outcome = _post(target, delivery)
    _finish(delivery.pk, attempt, outcome)


def sweep_due() -> int:
    """Re-enqueue pending deliveries whose message was lost; returns how many.

    A delivery overdue by more than SWEEP_GRACE lost its Celery message (broker restart, a worker
    that died holding it or its lease) or is a long retry left to this sweep (see
    LONGEST_COUNTDOWN). One that already used its last attempt lost the worker making it and is
    given up.
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
        dispatch.send(dispatch.DELIVER_WEBHOOK, delivery_id)
    if due:
        logger.info("webhooks re-enqueued", extra={"count": len(due)})
    return len(due)
