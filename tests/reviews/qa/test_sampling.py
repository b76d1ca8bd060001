"""Drawing automatic decisions for blind QA: the rates, nearness to a threshold, and that the
client is told before (and whatever happens to) the draw."""

from __future__ import annotations

import math
import uuid

import pytest

from kyc import dispatch
from kyc.audit.models import AuditEvent
from kyc.models import ApiClient, PairStatus
from reviews.models import QaItem, QaSamplingRule
from reviews.qa import sampling
from vendors.verdicts import Band

BAND = Band(approve_at=70, reject_below=55)


def rule(rate: float, near: float = 0.0) -> QaSamplingRule:
    return QaSamplingRule(
        backend="advance", outcome="approved", rate=rate, near_threshold_points=near
    )


@pytest.mark.parametrize("rate", [0.02, 0.05, 0.5])
def test_the_hash_draws_each_rate_within_four_binomial_standard_deviations(rate):
    ids = [uuid.UUID(int=n * 7919 + 1) for n in range(10_000)]
    drawn = sum(sampling.draw(i, "approved", rule(rate), 99.0, BAND) is not None for i in ids)
    spread = 4 * math.sqrt(len(ids) * rate * (1 - rate))
    assert abs(drawn - len(ids) * rate) <= spread


def test_the_same_pair_is_always_drawn_the_same_way():
    pair_id = uuid.uuid4()
    assert sampling.sample_point(pair_id) == sampling.sample_point(pair_id)
    assert 0 <= sampling.sample_point(pair_id) < 1


def test_a_drawn_decision_records_the_rules_rate_as_its_probability():
    pair_id = next(i for i in (uuid.uuid4() for _ in range(1000)) if sampling.sample_point(i) < 0.3)
    assert sampling.draw(pair_id, "approved", rule(0.3), 99.0, BAND) == sampling.Draw(0.3, False)


@pytest.mark.parametrize(
    ("outcome", "score", "drawn"),
    [
        ("approved", 70.0, True),
        ("approved", 72.0, True),
        ("approved", 72.5, False),
        ("rejected", 54.9, True),
        ("rejected", 53.0, True),
        ("rejected", 52.9, False),
    ],
)
def test_every_decision_within_n_points_of_its_threshold_is_drawn_with_probability_one(
    outcome, score, drawn
):
    never_at_random = QaSamplingRule(outcome=outcome, rate=0, near_threshold_points=2)
    result = sampling.draw(uuid.uuid4(), outcome, never_at_random, score, BAND)
    assert result == (sampling.Draw(1.0, True) if drawn else None)


@pytest.mark.django_db
def test_a_backends_own_rule_wins_over_the_rule_for_every_backend():
    QaSamplingRule.objects.create(backend="zoloz", outcome="approved", rate=0.5)
    assert sampling.rule_for("zoloz", "approved").rate == 0.5
    default = sampling.rule_for("advance", "approved")
    assert (default.backend, default.rate, default.near_threshold_points) == ("", 0.02, 2.0)
    assert sampling.rule_for("advance", "rejected").rate == 0.05


@pytest.mark.django_db
def test_the_rules_are_read_once_per_process_not_once_per_decision(django_assert_num_queries):
    with django_assert_num_queries(1):
        sampling.rule_for("advance", "approved")
    with django_assert_num_queries(0):
        assert sampling.rule_for("zoloz", "rejected").rate == 0.05
        assert sampling.rule_for("advance", "approved").rate == 0.02


@pytest.mark.django_db
def test_saving_or_deleting_a_rule_is_seen_by_the_next_draw_in_this_process():
    assert sampling.rule_for("zoloz", "approved").backend == ""
    rule = QaSamplingRule.objects.create(backend="zoloz", outcome="approved", rate=0.5)
    assert sampling.rule_for("zoloz", "approved").rate == 0.5
    rule.rate = 0.25
    rule.save()
    assert sampling.rule_for("zoloz", "approved").rate == 0.25
    rule.delete()
    assert sampling.rule_for("zoloz", "approved").backend == ""


@pytest.mark.django_db
def test_a_change_made_by_another_process_is_read_once_the_copy_is_older_than_its_limit(
    monkeypatch,
):
    clock = [1000.0]
    monkeypatch.setattr(sampling.time, "monotonic", lambda: clock[0])
    assert sampling.rule_for("advance", "rejected").rate == 0.05
    # Another process's save sends no signal here: an UPDATE is what this process sees of it.
    QaSamplingRule.objects.filter(backend="", outcome="rejected").update(rate=0.5)
    clock[0] += sampling.RULES_MAX_AGE_SECONDS
    assert sampling.rule_for("advance", "rejected").rate == 0.05
    clock[0] += 0.001
    assert sampling.rule_for("advance", "rejected").rate == 0.5


@pytest.mark.django_db(transaction=True)
def test_a_draw_while_a_rule_change_is_uncommitted_does_not_keep_the_old_rule():
    from django.db import transaction

    with transaction.atomic():
        # Its signal forgets this process's copy now, and again once it commits.
        QaSamplingRule.objects.update_or_create(
            backend="", outcome="approved", defaults={"rate": 0.75}
        )
        # Meanwhile another thread draws, reading the rules as they were before.
        sampling._RulesRead.rules = {("", "approved"): QaSamplingRule(rate=0.02)}
        sampling._RulesRead.read_at = sampling.time.monotonic()
    assert sampling.rule_for("advance", "approved").rate == 0.75


@pytest.fixture
def everything_sampled(default_rows, settings):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = True
    QaSamplingRule.objects.update_or_create(
        backend="", outcome="approved", defaults={"rate": 1.0, "near_threshold_points": 0}
    )
    ApiClient.objects.update(webhook_url="http://127.0.0.1:9/hooks")


def test_an_automatic_approval_is_drawn_after_its_webhook_is_sent(harness, everything_sampled):
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 97, "risk_tags": []})
    pair = harness.run(harness.submit())

    assert pair.status == PairStatus.APPROVED
    item = QaItem.objects.get(pair=pair)
    assert (item.backend, item.auto_outcome, item.probability, item.near_threshold) == (
        "advance",
        "approved",
        1.0,
        False,
    )
    assert item.answered_at is None
    assert list(
        AuditEvent.objects.filter(subject_id=str(pair.public_id))
        .order_by("seq")
        .values_list("event_type", flat=True)
    )[-2:] == ["pair.decided", "qa.sampled"]


def test_a_failing_draw_neither_undoes_the_decision_nor_holds_back_the_webhook(
    harness, everything_sampled, monkeypatch
):
    seen_when_drawing: list[list[str]] = []

    def broken_draw(pair_pk: int, decided: object = None) -> None:
        seen_when_drawing.append([task.name for task in harness.tasks.history])
        raise RuntimeError("the QA tables are unavailable")

    monkeypatch.setattr(sampling, "sample_decision", broken_draw)
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 97, "risk_tags": []})
    pair = harness.run(harness.submit())

    assert pair.status == PairStatus.APPROVED
    assert seen_when_drawing and dispatch.DELIVER_WEBHOOK in seen_when_drawing[0]
    assert not QaItem.objects.filter(pair=pair).exists()


def test_a_pair_sent_to_review_is_not_drawn(harness, everything_sampled):
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 62, "risk_tags": []})
    pair = harness.run(harness.submit())
    assert pair.status == PairStatus.NEEDS_REVIEW
    assert not QaItem.objects.exists()
