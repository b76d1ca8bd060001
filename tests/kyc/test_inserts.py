"""`insert_unless_present` stores a row as the ORM's create would, or nothing (kyc/inserts.py)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kyc.inserts import insert_unless_present
from kyc.models import ImagePair, WebhookDelivery
from tests.factories import ImagePairFactory

pytestmark = pytest.mark.django_db


def _delivery(pair: ImagePair, event_id: str) -> WebhookDelivery:
    return WebhookDelivery(
        event_id=event_id,
        client=pair.client,
        pair=pair,
        event_type="pair.approved",
        url="https://hooks.example/kyc",
        payload={"type": "pair.approved", "data": {"score": 91.5, "tags": ["a"]}},
        next_attempt_at=timezone.now(),
    )


def test_a_new_row_goes_in_with_every_field_as_the_orm_stores_it():
    pair = ImagePairFactory()
    before = timezone.now()
    delivery = _delivery(pair, "msg_first")
    assert insert_unless_present(delivery) is True

    assert delivery.pk is not None and not delivery._state.adding
    stored = WebhookDelivery.objects.get(pk=delivery.pk)
    assert stored.payload == {"type": "pair.approved", "data": {"score": 91.5, "tags": ["a"]}}
    assert (stored.client_id, stored.pair_id) == (pair.client_id, pair.pk)
    assert (stored.event_type, stored.url, stored.attempts) == (
        "pair.approved",
        "https://hooks.example/kyc",
        0,
    )
    assert stored.status == WebhookDelivery._meta.get_field("status").default
    assert stored.created_at == delivery.created_at and stored.created_at >= before
    assert stored.next_attempt_at == delivery.next_attempt_at


def test_a_row_the_unique_constraint_already_holds_leaves_everything_as_it_was():
    pair = ImagePairFactory()
    first = _delivery(pair, "msg_first")
    insert_unless_present(first)
    second = _delivery(pair, "msg_second")  # same pair and event type

    assert insert_unless_present(second) is False
    assert second.pk is None and second._state.adding
    assert list(WebhookDelivery.objects.values_list("event_id", flat=True)) == ["msg_first"]
