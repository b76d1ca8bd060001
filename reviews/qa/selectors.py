"""Reads of blind QA review. Nothing here that a page shows before the answer may carry the
score, the verdicts or the tags: the blind page is built from `blind_item` alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from kyc.models import ComparisonAttempt
from kyc.users import StaffUser
from reviews.models import QaItem


def open_items() -> QuerySet[QaItem]:
    """Samples waiting for an answer, oldest first."""
    return QaItem.objects.filter(answered_at__isnull=True).order_by("created_at", "pk")


def recent_answers(user: StaffUser, limit: int = 20) -> list[QaItem]:
    return list(
        QaItem.objects.filter(answered_by=user)
        .select_related("case")
        .order_by("-answered_at")[:limit]
    )


def blind_item(item_id: Any) -> QaItem:
    """The item with its pair's image facts only: no attempt is loaded for the blind page."""
    return (
        QaItem.objects.select_related("pair")
        .only(
            "public_id",
            "answered_at",
            "answer",
            "answered_by",
            "created_at",
            "pair__public_id",
            "pair__applicant",
            "pair__images_purged_at",
            "pair__selfie_width",
            "pair__selfie_height",
            "pair__reference_width",
            "pair__reference_height",
        )
        .get(public_id=item_id)
    )


@dataclass(frozen=True)
class Revealed:
    """What the answer page shows once the answer is in: the automatic decision and its why."""

    item: QaItem
    attempt: ComparisonAttempt | None


def revealed(item_id: Any) -> Revealed:
    item = QaItem.objects.select_related("pair__deciding_attempt", "answered_by", "case").get(
        public_id=item_id
    )
    return Revealed(item, item.pair.deciding_attempt)
