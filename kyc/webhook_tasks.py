"""Celery tasks for outgoing webhooks: thin wrappers around kyc.webhooks.

Explicit names keep the messages already in the broker valid if these move to another module
(kyc/tasks.py imports them so that autodiscovery registers them).
"""

from __future__ import annotations

from celery import shared_task

from kyc import webhooks


@shared_task(name="kyc.deliver_webhook")
def deliver_webhook(delivery_id: int) -> None:
    """One attempt at one delivery; a duplicate message finds it claimed and does nothing."""
    webhooks.deliver(delivery_id)


@shared_task(name="kyc.sweep_due_webhooks")
def sweep_due_webhooks() -> int:
    """Beat: re-enqueue deliveries whose message was lost, and long retries that are due."""
    return webhooks.sweep_due()
