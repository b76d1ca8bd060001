"""Reads of the kyc domain: which rows the API and the webhooks load. Never any image data.

What they show of those rows is `kyc.representation.PairSerializer`'s business; what it reads
is loaded here, together, so a page of pairs costs the same few queries whatever its size.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from django.db import connection
from django.db.models import Field, Prefetch, QuerySet

from kyc import raw_rows
from kyc.models import ApiClient, ComparisonAttempt, ImagePair

#: The columns of an attempt that a pair's JSON lists (`AttemptSummarySerializer`), and its pair
#: (which the prefetch matches on). Not the vendor's answer, details or thresholds: JSON that the
#: list never shows, and decoding it for every attempt of every pair costs the worker CPU.
_ATTEMPT_SUMMARY = (
    "pair",
    "vendor",
    "number",
    "purpose",
    "status",
    "score",
    "error_code",
    "latency_ms",
)


def pairs_for_client(client: ApiClient) -> QuerySet[ImagePair]:
    """The client's pairs with what their JSON shows: applicant, deciding attempt, attempts."""
    return (
        ImagePair.objects.filter(client=client)
        .select_related("applicant", "deciding_attempt")
        .prefetch_related(_attempt_summaries())
    )


def with_attempt_summaries(pair: ImagePair) -> ImagePair:
    """`pair` with its attempts read as its JSON lists them, unless they already are: for a
    webhook's `data`, whose pair the worker holds with its applicant and attempt.

    One hand-written statement built once per process, left where `prefetch_related` leaves
    what it reads (the related manager's queryset, evaluated). Through `prefetch_related`, its
    query was compiled for every webhook: an attempt took 19.0 M instructions that way and
    16.8 M this way (bench/attempt_cost.py under callgrind)."""
    cache: dict[str, Any] = pair.__dict__.setdefault("_prefetched_objects_cache", {})
    if "attempts" in cache:
        return pair
    sql, read = _attempt_summaries_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [pair.pk])
        rows = cursor.fetchall()
    listed = pair.attempts.all()
    listed._result_cache = [raw_rows.instances([read], row)[0] for row in rows]
    cache["attempts"] = listed
    return pair


def _attempt_summaries() -> Prefetch:
    return Prefetch(
        "attempts", queryset=ComparisonAttempt.objects.order_by("number").only(*_ATTEMPT_SUMMARY)
    )


@functools.cache
def _attempt_summaries_sql() -> tuple[str, raw_rows.Read]:
    q, meta = connection.ops.quote_name, ComparisonAttempt._meta

    def field(name: str) -> Field[Any, Any]:
        return cast("Field[Any, Any]", meta.get_field(name))

    read = raw_rows.read(ComparisonAttempt, tuple(field(name).attname for name in _ATTEMPT_SUMMARY))
    pair, number = (q(field(name).column) for name in ("pair", "number"))
    # Only table and column names from the model are formatted in; values are parameters.
    sql = (
        f"SELECT {raw_rows.select_list([('a', read)])} "  # noqa: S608
        f"FROM {q(meta.db_table)} AS a WHERE a.{pair} = %s ORDER BY a.{number}"
    )
    return sql, read
