"""`save_fields` writes what `save(update_fields=…)` writes, and only that (kyc/row_updates.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import DatabaseError
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from kyc.models import DecisionSource, ImagePair, PairStatus
from kyc.row_updates import save_fields
from tests.factories import AttemptFactory, ImagePairFactory

pytestmark = pytest.mark.django_db

DECIDED = ("status", "status_reason", "decision_source", "decided_at", "deciding_attempt")


def _decide(pair: ImagePair, at: datetime) -> None:
    pair.status = PairStatus.APPROVED
    pair.status_reason = "score_above_threshold"
    pair.decision_source = DecisionSource.AUTO
    pair.decided_at = at
    pair.deciding_attempt = AttemptFactory(pair=pair)


def _row(pair: ImagePair) -> dict[str, Any]:
    return ImagePair.objects.filter(pk=pair.pk).values(*DECIDED, "updated_at", "callback_url")[0]


def test_the_named_fields_are_written_as_save_writes_them():
    by_save, by_helper = ImagePairFactory(), ImagePairFactory()
    decided_at = timezone.now() - timedelta(seconds=5)
    for pair in (by_save, by_helper):
        _decide(pair, decided_at)
    by_save.save(update_fields=[*DECIDED, "updated_at"])
    save_fields(by_helper, (*DECIDED, "updated_at"))

    saved, written = _row(by_save), _row(by_helper)
    for name in DECIDED:
        if name == "deciding_attempt":
            assert written[name] == by_helper.deciding_attempt.pk
        else:
            assert written[name] == saved[name] == getattr(by_helper, name), name


def test_an_auto_now_field_takes_the_time_and_unnamed_fields_are_left_alone():
    pair = ImagePairFactory(callback_url="https://hooks.example/a")
    before = _row(pair)["updated_at"]
    pair.status = PairStatus.REJECTED
    pair.callback_url = "https://hooks.example/changed-in-memory-only"
    save_fields(pair, ("status", "updated_at"))

    row = _row(pair)
    assert row["status"] == PairStatus.REJECTED
    assert row["updated_at"] > before
    assert row["updated_at"] == pair.updated_at
    assert row["callback_url"] == "https://hooks.example/a"


def test_both_save_signals_are_sent_with_the_fields():
    pair = ImagePairFactory()
    heard: list[tuple[str, Any]] = []

    def on_pre(sender: Any, instance: Any, update_fields: Any, **kwargs: Any) -> None:
        heard.append(("pre", (sender, instance, update_fields, kwargs["raw"])))

    def on_post(sender: Any, instance: Any, update_fields: Any, **kwargs: Any) -> None:
        heard.append(("post", (sender, instance, update_fields, kwargs["created"])))

    pre_save.connect(on_pre, sender=ImagePair, weak=False)
    post_save.connect(on_post, sender=ImagePair, weak=False)
    try:
        save_fields(pair, ("status",))
    finally:
        pre_save.disconnect(on_pre, sender=ImagePair)
        post_save.disconnect(on_post, sender=ImagePair)
    assert heard == [
        ("pre", (ImagePair, pair, frozenset({"status"}), False)),
        ("post", (ImagePair, pair, frozenset({"status"}), False)),
    ]


def test_a_row_that_is_gone_raises_as_save_does():
    pair = ImagePairFactory()
    ImagePair.objects.filter(pk=pair.pk).delete()
    pair.status = PairStatus.FAILED
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        save_fields(pair, ("status",))
