"""Every Celery task of the kyc app: thin wrappers that hand straight over to services.

Names are explicit and come from `kyc.dispatch`, the one place that sends them, so messages
already in the broker stay valid when code moves.
"""

from __future__ import annotations

from celery import Task, shared_task

from kyc import dispatch, webhooks
from kyc.known_faces import services as known_faces
from kyc.services import faces, pipeline
from kyc.services.retention import purge_expired_images


@shared_task(bind=True, name=dispatch.COMPARE, max_retries=None)
def comparison_attempt_run(self: Task, attempt_id: int) -> None:
    busy_for = pipeline.run_attempt(attempt_id)
    if busy_for is not None:
        raise self.retry(countdown=busy_for)


@shared_task(name=dispatch.SWEEP_STUCK_ATTEMPTS)
def sweep_stuck_attempts() -> int:
    return pipeline.sweep_stuck_attempts()


@shared_task(name=dispatch.DELIVER_WEBHOOK)
def deliver_webhook(delivery_id: int, leased_attempt: int | None = None) -> None:
    """One attempt at one delivery; a duplicate message finds it claimed and does nothing.
    `leased_attempt`: the first attempt of an event the pipeline recorded leased for it."""
    webhooks.deliver(delivery_id, leased_attempt)


@shared_task(name=dispatch.SWEEP_DUE_WEBHOOKS)
def sweep_due_webhooks() -> int:
    """Beat: re-enqueue deliveries whose message was lost, and long retries that are due."""
    return webhooks.sweep_due()


@shared_task(name=dispatch.PURGE_EXPIRED_IMAGES)
def purge_expired_images_task() -> int:
    """Beat, hourly: delete images past the retention period; returns how many pairs."""
    return purge_expired_images().purged


@shared_task(name=dispatch.LOCATE_FACES)
def locate_faces(pair_id: int) -> None:
    """Face boxes and eye points of a pair that went to review, for the reviewer's crops."""
    faces.locate_faces(pair_id)


@shared_task(name=dispatch.CHECK_KNOWN_FACE)
def check_known_face(pair_id: int) -> None:
    """The known-face check of a pair whose client enabled it (kyc.known_faces)."""
    known_faces.check_pair(pair_id)


@shared_task(ignore_result=False)
def ping(value: str = "pong") -> str:
    """Answered by any live worker: lets operators and tests prove the queue is consumed."""
    return value
