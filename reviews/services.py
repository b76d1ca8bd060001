"""Writes of the reviews domain: opening, claiming and deciding review cases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from kyc.models import ImagePair
from reviews import events
from reviews.models import ReviewCase


def open_case(pair: ImagePair, reasons: list[str], priority: int = 0) -> ReviewCase:
    """One case per pair; opened inside the pipeline's transaction."""
    case, created = ReviewCase.objects.get_or_create(
        pair=pair,
        defaults={
            "reasons": reasons,
            "priority": priority,
            "due_at": timezone.now() + timedelta(hours=settings.KYC_REVIEW_SLA_HOURS),
        },
    )
    if created:
        events.review_case_opened(case)
    return case


def on_pair_needs_review(
    sender: Any, pair: ImagePair, reasons: list[str], priority: int, **kwargs: Any
) -> None:
    open_case(pair, reasons, priority)
