"""Celery tasks of the operations code (imported by kyc/tasks.py for autodiscovery)."""

from __future__ import annotations

from celery import shared_task

from kyc.services.purge import purge_expired_images


@shared_task(name="kyc.purge_expired_images")
def purge_expired_images_task() -> int:
    """Beat, hourly: delete images past the retention period; returns how many pairs."""
    return purge_expired_images().purged
