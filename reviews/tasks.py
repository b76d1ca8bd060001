"""Celery tasks of the reviews app: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from reviews import services


@shared_task(name="reviews.release_expired_claims")
def release_expired_claims() -> int:
    """Beat, every minute: cases whose claim ran out go back to the queue (with an event)."""
    return services.release_expired_claims()
