"""The one way the kyc domain hands work to a Celery worker: by task name, after the commit.

Services name tasks instead of importing them, so `kyc.tasks` (which calls the services) and the
services never import each other. A message is only sent once the transaction that made its work
commits: a worker never looks for a row it cannot see yet.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction

COMPARE = "kyc.comparison_attempt_run"
DELIVER_WEBHOOK = "kyc.deliver_webhook"
SWEEP_STUCK_ATTEMPTS = "kyc.sweep_stuck_attempts"
SWEEP_DUE_WEBHOOKS = "kyc.sweep_due_webhooks"
PURGE_EXPIRED_IMAGES = "kyc.purge_expired_images"
LOCATE_FACES = "kyc.locate_faces"  # on the faces queue (kyc.celery routes it)
CHECK_KNOWN_FACE = "kyc.known_faces.check_pair"  # faces queue too (kyc.known_faces)


def send(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Send now: for code that runs outside a transaction (sweepers, retries)."""
    current_app.send_task(task_name, args=args, countdown=countdown)


def send_on_commit(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Send when the current transaction commits (at once when there is none)."""
    transaction.on_commit(partial(send, task_name, *args, countdown=countdown))
