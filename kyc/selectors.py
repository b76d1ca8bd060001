"""Reads of the kyc domain: which rows the API and the webhooks load. Never any image data.

What they show of those rows is `kyc.representation.PairSerializer`'s business; what it reads
is loaded here, together, so a page of pairs costs the same few queries whatever its size.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from kyc.models import ApiClient, ComparisonAttempt, ImagePair


def pairs_for_client(client: ApiClient) -> QuerySet[ImagePair]:
    """The client's pairs with what their JSON shows: applicant, deciding attempt, attempts."""
    return (
        ImagePair.objects.filter(client=client)
        .select_related("applicant", "deciding_attempt")
        .prefetch_related(
            Prefetch("attempts", queryset=ComparisonAttempt.objects.order_by("number"))
        )
    )
