"""Celery tasks: thin wrappers that hand straight over to services."""

from __future__ import annotations

from celery import Task, shared_task

from kyc.ops.tasks import purge_expired_images_task
from kyc.services import pipeline
from kyc.webhook_tasks import deliver_webhook, sweep_due_webhooks

__all__ = [
    "comparison_attempt_run",
    "deliver_webhook",
    "ping",
    "purge_expired_images_task",
    "sweep_due_webhooks",
    "sweep_stuck_attempts",
]


@shared_task(bind=True, name=pipeline.TASK_NAME, max_retries=None)
def comparison_attempt_run(self: Task, attempt_id: int) -> None:
    busy_for = pipeline.run_attempt(attempt_id)
    if busy_for is not None:
        raise self.retry(countdown=busy_for)


@shared_task(name="kyc.sweep_stuck_attempts")
def sweep_stuck_attempts() -> int:
    return pipeline.sweep_stuck_attempts()


@shared_task(ignore_result=False)
def ping(value: str = "pong") -> str:
    """Answered by any live worker: lets operators and tests prove the queue is consumed."""
    return value
