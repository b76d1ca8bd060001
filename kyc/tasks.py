"""Celery tasks: thin wrappers that hand straight over to services."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=False)
def ping(value: str = "pong") -> str:
    """Answered by any live worker: lets operators and tests prove the queue is consumed."""
    return value
