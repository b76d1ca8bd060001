"""Claiming an attempt: one statement on PostgreSQL, four on SQLite, the same outcomes."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from kyc.models import AttemptStatus, ComparisonAttempt, ImagePair, PairStatus
from kyc.services import attempt_claims
from vendors.models import VendorConfig


def _submitted(harness) -> ComparisonAttempt:
    harness.enable("advance", timeout_seconds=7, review_risk_tags=["age_risk"])
    pair = harness.submit()
    return ComparisonAttempt.objects.get(pair=pair)


def test_a_claim_takes_a_pending_attempt_and_moves_its_pair_to_comparing(harness, settings):
    settings.KYC_ATTEMPT_GRACE_SECONDS = 30
    pending = _submitted(harness)
    now = timezone.now()

    taken = attempt_claims.claim(pending.pk, now)

    assert taken.busy_for is None and taken.config is not None
    assert (taken.config.backend, taken.config.timeout_seconds) == ("advance", 7)
    # Read with the claim, JSON columns included, as the ORM reads it.
    config = VendorConfig.objects.get(backend="advance")
    assert taken.config.thresholds_snapshot() == config.thresholds_snapshot()
    assert taken.config.review_risk_tags == ["age_risk"]
    attempt = taken.attempt
    assert attempt is not None
    assert (attempt.status, attempt.started_at) == (AttemptStatus.RUNNING, now)
    assert attempt.deadline_at == now + timedelta(seconds=7 * 2 + 30)
    stored = ComparisonAttempt.objects.get(pk=pending.pk)
    assert (stored.status, stored.started_at, stored.deadline_at) == (
        AttemptStatus.RUNNING,
        now,
        attempt.deadline_at,
    )
    assert ImagePair.objects.get(pk=pending.pair_id).status == PairStatus.COMPARING
    # What running it reads came with the claim: the pair, its client and applicant.
    pair = attempt.pair
    assert (pair.pk, pair.client.public_id, pair.applicant.public_id) == (
        pending.pair_id,
        pending.pair.client.public_id,
        pending.pair.applicant.public_id,
    )
    assert attempt.details == pending.details


def test_an_attempt_held_by_a_live_worker_is_left_and_retried_after_its_deadline(harness):
    pending = _submitted(harness)
    now = timezone.now()
    held_until = now + timedelta(seconds=20)
    ComparisonAttempt.objects.filter(pk=pending.pk).update(
        status=AttemptStatus.RUNNING, started_at=now, deadline_at=held_until
    )

    taken = attempt_claims.claim(pending.pk, now)

    assert (taken.attempt, taken.config) == (None, None)
    assert taken.busy_for == 21.0
    assert ComparisonAttempt.objects.get(pk=pending.pk).deadline_at == held_until


def test_a_finished_or_unknown_attempt_leaves_nothing_to_do(harness):
    pending = _submitted(harness)
    ComparisonAttempt.objects.filter(pk=pending.pk).update(status=AttemptStatus.COMPLETED)
    now = timezone.now()

    assert attempt_claims.claim(pending.pk, now) == attempt_claims.Claim(None, None, None)
    assert attempt_claims.claim(pending.pk + 1000, now) == attempt_claims.Claim(None, None, None)
    assert ComparisonAttempt.objects.get(pk=pending.pk).status == AttemptStatus.COMPLETED
