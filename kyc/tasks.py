"""Celery tasks: thin wrappers that hand straight over to services."""

from __future__ import annotations

from celery import shared_task

from kyc.services import pipeline
from kyc.webhook_tasks import deliver_webhook, sweep_due_webhooks

__all__ = [
    "comparison_attempt_run",
    "deliver_webhook",
    "ping",
    "sweep_due_webhooks",
    "sweep_stuck_attempts",
]


@shared_task(name=pipeline.TASK_NAME)
def comparison_attempt_run(attempt_id: int) -> None:
    pipeline.run_attempt(attempt_id)


@shared_task(name="kyc.sweep_stuck_attempts")
def sweep_stuck_attempts() -> int:
    return pipeline.sweep_stuck_attempts()


@shared_task(ignore_result=False)
def ping(value: str = "pong") -> str:
    """Answered by any live worker: lets operators and tests prove the queue is consumed."""
    return value
