"""Claiming a comparison attempt for one worker (DESIGN §5 step 2): one statement on PostgreSQL.

A claim reads the attempt with what running it needs (its pair, the pair's client and applicant,
its vendor's config), takes it with a conditional UPDATE (pending, or running past the deadline
of a worker that died) and moves a received pair to comparing. On PostgreSQL that is one
statement: data-modifying CTEs claim and move the pair, and the statement's SELECT reads the
rows as they were when it started, which is what deciding "held by another worker until …"
needs. Elsewhere (SQLite, the tests' second database) it is the same four steps one by one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Model, Q

from kyc import raw_rows
from kyc.models import (
    ApiClient,
    Applicant,
    AttemptPurpose,
    AttemptStatus,
    ComparisonAttempt,
    ImagePair,
    PairStatus,
)
from vendors.models import VendorConfig

#: What running and recording an attempt read (the audit event names the attempt's score, code,
#: verdict and billing; an answer stored before its worker died is settled on its verdict);
#: recording locks and re-reads the pair in full.
ATTEMPT_FIELDS = (
    *("public_id", "pair_id", "vendor", "number", "purpose", "status", "deadline_at", "details"),
    *("score", "error_code", "verdict", "verdict_reasons", "billable", "answered_at"),
)
PAIR_FIELDS = (
    *("public_id", "client_id", "applicant_id", "status", "selfie", "reference"),
    *("reference_source", "images_purged_at"),
)
_PARTY_FIELDS = ("public_id",)
_PARTY_KEYS = ("client_id", "applicant_id")


@dataclass(frozen=True)
class Claim:
    """(attempt, config, None) when claimed; (None, None, seconds) when another worker holds
    the attempt until its deadline; (None, None, None) when nothing is left to do."""

    attempt: ComparisonAttempt | None
    config: VendorConfig | None
    busy_for: float | None


def claim(attempt_id: int, now: datetime) -> Claim:
    if connection.vendor == "postgresql":
        return _claim_in_one_statement(attempt_id, now)
    return _claim_step_by_step(attempt_id, now)


def _deadline(config: VendorConfig, now: datetime) -> datetime:
    """A claim lasts two vendor timeouts and a grace: then the attempt's worker is assumed dead."""
    return now + timedelta(seconds=config.timeout_seconds * 2 + settings.KYC_ATTEMPT_GRACE_SECONDS)


def _not_claimed(attempt: ComparisonAttempt, now: datetime) -> Claim:
    deadline = attempt.deadline_at
    if attempt.status == AttemptStatus.RUNNING and deadline and deadline >= now:
        return Claim(None, None, (deadline - now).total_seconds() + 1)
    return Claim(None, None, None)


def _claimed(attempt: ComparisonAttempt, config: VendorConfig, now: datetime) -> Claim:
    """The claim taken: `attempt` as this worker now holds it."""
    attempt.status, attempt.started_at = AttemptStatus.RUNNING, now
    attempt.deadline_at = _deadline(config, now)
    return Claim(attempt, config, None)


def _claim_step_by_step(attempt_id: int, now: datetime) -> Claim:
    attempt = (
        ComparisonAttempt.objects.select_related("pair__client", "pair__applicant")
        .only(
            *ATTEMPT_FIELDS,
            *(f"pair__{name}" for name in PAIR_FIELDS if name not in _PARTY_KEYS),
            "pair__client__public_id",
            "pair__applicant__public_id",
        )
        .filter(pk=attempt_id)
        .first()
    )
    if attempt is None:
        return Claim(None, None, None)
    config = VendorConfig.objects.get(backend=attempt.vendor)
    claimed = (
        ComparisonAttempt.objects.filter(pk=attempt_id)
        .filter(
            Q(status=AttemptStatus.PENDING) | Q(status=AttemptStatus.RUNNING, deadline_at__lt=now)
        )
        .update(status=AttemptStatus.RUNNING, started_at=now, deadline_at=_deadline(config, now))
    )
    if not claimed:
        return _not_claimed(attempt, now)
    pair = attempt.pair
    if attempt.purpose == AttemptPurpose.DECIDE and pair.status == PairStatus.RECEIVED:
        ImagePair.objects.filter(pk=pair.pk, status=PairStatus.RECEIVED).update(
            status=PairStatus.COMPARING
        )
    return _claimed(attempt, config, now)


#: (table alias, columns) of each row the claim reads, in the order of the statement's columns.
_READS: tuple[tuple[str, tuple[type[Model], tuple[str, ...] | None]], ...] = (
    ("a", (ComparisonAttempt, ATTEMPT_FIELDS)),
    ("p", (ImagePair, PAIR_FIELDS)),
    ("cl", (ApiClient, _PARTY_FIELDS)),
    ("ap", (Applicant, _PARTY_FIELDS)),
    ("c", (VendorConfig, None)),
)


@functools.cache
def _one_statement_sql() -> tuple[str, list[raw_rows.Read]]:
    """The statement and the rows it reads, built once per process."""
    q = connection.ops.quote_name
    reads = [(alias, raw_rows.read(model, names)) for alias, (model, names) in _READS]
    select = raw_rows.select_list(reads)
    attempts, pairs = q(ComparisonAttempt._meta.db_table), q(ImagePair._meta.db_table)
    # Only table and column names from the models are formatted in; values are parameters.
    sql = f"""
        WITH claimed AS (
            UPDATE {attempts} AS a
            SET status = %(running)s, started_at = %(now)s,
                deadline_at = %(now)s
                    + make_interval(secs => (c.timeout_seconds * 2 + %(grace)s)::float8)
            FROM {q(VendorConfig._meta.db_table)} AS c
            WHERE a.id = %(id)s AND c.backend = a.vendor
              AND (a.status = %(pending)s OR (a.status = %(running)s AND a.deadline_at < %(now)s))
            RETURNING a.id, a.pair_id, a.purpose
        ), comparing AS (
            UPDATE {pairs} AS p SET status = %(comparing)s
            FROM claimed
            WHERE p.id = claimed.pair_id AND claimed.purpose = %(decide)s
              AND p.status = %(received)s
        )
        SELECT {select}, claimed.id IS NOT NULL
        FROM {attempts} AS a
        JOIN {pairs} AS p ON p.id = a.pair_id
        JOIN {q(ApiClient._meta.db_table)} AS cl ON cl.id = p.client_id
        JOIN {q(Applicant._meta.db_table)} AS ap ON ap.id = p.applicant_id
        LEFT JOIN {q(VendorConfig._meta.db_table)} AS c ON c.backend = a.vendor
        LEFT JOIN claimed ON claimed.id = a.id
        WHERE a.id = %(id)s
    """  # noqa: S608
    return sql, [read for _, read in reads]


def _claim_in_one_statement(attempt_id: int, now: datetime) -> Claim:
    sql, reads = _one_statement_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "id": attempt_id,
                "now": now,
                "grace": float(settings.KYC_ATTEMPT_GRACE_SECONDS),
                "running": AttemptStatus.RUNNING.value,
                "pending": AttemptStatus.PENDING.value,
                "comparing": PairStatus.COMPARING.value,
                "received": PairStatus.RECEIVED.value,
                "decide": AttemptPurpose.DECIDE.value,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return Claim(None, None, None)
    attempt, pair, client, applicant, config = raw_rows.instances(reads, row[:-1])
    claimed = bool(row[-1])
    if config.pk is None:  # the attempt names a backend without a config row
        raise VendorConfig.DoesNotExist(f"No configuration for backend {attempt.vendor!r}")
    ImagePair._meta.get_field("client").set_cached_value(pair, client)
    ImagePair._meta.get_field("applicant").set_cached_value(pair, applicant)
    ComparisonAttempt._meta.get_field("pair").set_cached_value(attempt, pair)
    if not claimed:
        return _not_claimed(attempt, now)
    return _claimed(attempt, config, now)
