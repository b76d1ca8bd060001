"""A worker thread borrows a pooled connection only while it talks to the database (kyc.db_pool):
none is held through the image work, the vendor's call, the wait between storing an answer and
settling it, or a webhook receiver's answer."""

from __future__ import annotations

from typing import Any

import pytest

from kyc import db_pool
from kyc.models import PairStatus
from kyc.services import attempt_outcomes, pipeline
from kyc.webhooks import delivery, enqueue_pair_event
from kyc.webhooks.delivery import deliver
from kyc.webhooks.signing import generate_secret
from tests.kyc.test_webhooks import pair_of_client, receiver  # noqa: F401 (a fixture)


class _PooledConnection:
    """What kyc.db_pool sees of Django's connection when DB_POOL_MAX_SIZE is set."""

    settings_dict: dict[str, Any] = {"OPTIONS": {"pool": {"max_size": 20}}}

    def __init__(self, steps: list[str], *, in_atomic_block: bool = False) -> None:
        self.steps = steps
        self.in_atomic_block = in_atomic_block

    def close(self) -> None:
        self.steps.append("connection released")


def _recorded(steps: list[str], step: str, function: Any) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        steps.append(step)
        return function(*args, **kwargs)

    return run


def test_an_attempt_holds_no_connection_while_it_reads_its_images_and_calls_the_vendor(
    harness, monkeypatch
):
    steps: list[str] = []
    monkeypatch.setattr(db_pool, "connection", _PooledConnection(steps))
    monkeypatch.setattr(
        pipeline, "_read_images", _recorded(steps, "images read", pipeline._read_images)
    )
    monkeypatch.setattr(
        pipeline, "vendor_call", _recorded(steps, "vendor called", pipeline.vendor_call)
    )
    monkeypatch.setattr(
        attempt_outcomes,
        "store_answer",
        _recorded(steps, "answer stored", attempt_outcomes.store_answer),
    )
    monkeypatch.setattr(
        pipeline, "_settle_answer", _recorded(steps, "answer settled", pipeline._settle_answer)
    )
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 97, "risk_tags": []})

    assert harness.run(harness.submit()).status == PairStatus.APPROVED
    # Between storing and settling the thread may wait for other threads' answers to be stored
    # (kyc.services.answers_first): it holds no connection they could be waiting for.
    assert steps == [
        "connection released",
        "images read",
        "vendor called",
        "answer stored",
        "connection released",
        "answer settled",
    ]


def test_inside_a_transaction_the_connection_is_kept(monkeypatch):
    steps: list[str] = []
    monkeypatch.setattr(db_pool, "connection", _PooledConnection(steps, in_atomic_block=True))
    db_pool.release_connection()
    assert steps == []


def test_without_a_pool_the_connection_is_kept(monkeypatch):
    steps: list[str] = []
    unpooled = _PooledConnection(steps)
    unpooled.settings_dict = {"OPTIONS": {}}
    monkeypatch.setattr(db_pool, "connection", unpooled)
    db_pool.release_connection()
    assert steps == []


@pytest.mark.django_db
def test_a_webhook_delivery_holds_no_connection_while_the_receiver_answers(
    receiver,  # noqa: F811 (the fixture)
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = True
    steps: list[str] = []
    monkeypatch.setattr(db_pool, "connection", _PooledConnection(steps))
    monkeypatch.setattr(delivery, "_post", _recorded(steps, "posted", delivery._post))
    monkeypatch.setattr("kyc.dispatch.send", lambda *args, **kwargs: None)
    pair = pair_of_client(webhook_url=receiver.url, secret=generate_secret())
    with django_capture_on_commit_callbacks(execute=True):
        sent = enqueue_pair_event(pair, "pair.approved", {})

    deliver(sent.pk)
    assert steps == ["connection released", "posted"]
    assert len(receiver.requests) == 1
