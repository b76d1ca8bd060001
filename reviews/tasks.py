"""Celery tasks of the reviews app: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from reviews import services
from reviews.calibration import data as calibration
from reviews.drift.checks import check_last_week
from vendors.models import VendorConfig


@shared_task(name="reviews.release_expired_claims")
def release_expired_claims() -> int:
    """Beat, every minute: cases whose claim ran out go back to the queue (with an event)."""
    return services.release_expired_claims()


@shared_task(name="reviews.check_score_drift")
def check_score_drift() -> int:
    """Beat, every six hours: each backend's last full week against the four before; the first
    run after a week ends records it, later runs find it recorded. Returns the weeks flagged."""
    return sum(check.flagged for check in check_last_week())


@shared_task(name="reviews.refresh_calibration")
def refresh_calibration() -> int:
    """Beat, every ten minutes: each backend's labels and population summed into the cache, so
    the calibration pages never wait for them (reviews.calibration.data). Returns the backends."""
    backends = list(VendorConfig.objects.values_list("backend", flat=True))
    for backend in backends:
        calibration.refresh(backend)
    return len(backends)
