"""Reads of the kyc domain: which rows the API and the webhooks load. Never any image data.

What they show of those rows is `kyc.representation.PairSerializer`'s business; what it reads
is loaded here, together, so a page of pairs costs the same few queries whatever its size.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet, prefetch_related_objects

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
    """`pair` with its attempts read as its JSON lists them, in one query, unless they already
    are: for a webhook's `data`, whose pair the worker holds with its applicant and attempt."""
    prefetch_related_objects([pair], _attempt_summaries())
    return pair


def _attempt_summaries() -> Prefetch:
    return Prefetch(
        "attempts", queryset=ComparisonAttempt.objects.order_by("number").only(*_ATTEMPT_SUMMARY)
    )
