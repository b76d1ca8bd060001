"""Retries, Retry-After, failover and 'every vendor failed': nothing ends silently."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from kyc.audit.models import AuditEvent
from kyc.models import AttemptStatus, ComparisonAttempt, PairStatus
from kyc.services import pipeline, routing
from reviews.models import ReviewCase
from tests.kyc.pipeline.harness import record_result
from vendors.base import CompareResult, ErrorCode, ResultStatus, VendorError


def test_a_5xx_then_success_leaves_two_attempts_and_an_approval(harness):
    harness.enable("advance", retry_budget=2)
    harness.sandboxes["advance"].script({"fault": "http_503"}, {"score": 91})
    pair = harness.run(harness.submit())
    assert pair.status == PairStatus.APPROVED
    attempts = list(pair.attempts.order_by("number"))
    assert [(a.vendor, a.status, a.error_code) for a in attempts] == [
        ("advance", AttemptStatus.FAILED, "VENDOR_ERROR"),
        ("advance", AttemptStatus.COMPLETED, ""),
    ]
    assert attempts[1].not_before is not None


def test_a_429_retry_waits_at_least_the_retry_after(harness):
    harness.enable("zoloz", retry_budget=2)
    harness.sandboxes["zoloz"].script({"fault": "rate_limit", "retry_after": 42}, {"score": 95})
    pair = harness.run(harness.submit())
    assert pair.status == PairStatus.APPROVED
    first_retry = harness.tasks.countdowns()[1]
    assert first_retry is not None and first_retry >= 42
    assert pair.attempts.order_by("number").first().error_code == "RATE_LIMITED"


def test_a_vendor_that_stays_down_fails_over_to_the_next_by_priority(harness):
    harness.enable("finauth", "alibaba", retry_budget=1)
    harness.sandboxes["finauth"].script({"fault": "http_500", "repeat": 5})
    harness.sandboxes["alibaba"].script({"score": 96})
    pair = harness.run(harness.submit())
    assert pair.status == PairStatus.APPROVED
    assert pair.deciding_attempt.vendor == "alibaba"
    assert [a.vendor for a in pair.attempts.order_by("number")] == ["finauth", "finauth", "alibaba"]


def test_a_non_retryable_error_fails_over_at_once(harness, settings):
    harness.enable("advance", "zoloz", retry_budget=3)
    settings.VENDOR_CREDENTIALS = {
        **settings.VENDOR_CREDENTIALS,
        "advance": {**settings.VENDOR_CREDENTIALS["advance"], "ADVANCE_SECRET_KEY": "wrong"},
    }
    harness.sandboxes["zoloz"].script({"score": 88})
    pair = harness.run(harness.submit())
    assert pair.status == PairStatus.APPROVED
    assert [(a.vendor, a.error_code) for a in pair.attempts.order_by("number")] == [
        ("advance", "AUTH_FAILED"),
        ("zoloz", ""),
    ]


def test_when_every_vendor_fails_the_pair_goes_to_review_as_vendor_failed(harness):
    harness.enable("advance", "alibaba", retry_budget=0)
    harness.sandboxes["advance"].script({"fault": "http_500", "repeat": 3})
    harness.sandboxes["alibaba"].script({"fault": "drop", "repeat": 3})
    pair = harness.run(harness.submit())
    assert pair.status == PairStatus.NEEDS_REVIEW
    assert pair.status_reason == "vendor_failed"
    case = ReviewCase.objects.get(pair=pair)
    assert case.reasons == ["vendor_failed"]
    assert case.priority == 1
    assert pair.attempts.filter(status=AttemptStatus.FAILED).count() == 2


def test_a_second_run_of_the_same_task_does_nothing(harness):
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 91})
    pair = harness.submit()
    attempt_id = harness.tasks.sent[0].args[0]
    harness.run(pair)
    pipeline.run_attempt(attempt_id)  # a redelivered message
    assert ComparisonAttempt.objects.filter(pair=pair).count() == 1
    assert len([r for r in harness.sandboxes["advance"].requests() if "check" in r["path"]]) == 1


def test_an_attempt_whose_worker_died_is_taken_again_after_its_deadline(harness):
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 92})
    pair = harness.submit()
    attempt = ComparisonAttempt.objects.get(pair=pair)
    ComparisonAttempt.objects.filter(pk=attempt.pk).update(
        status=AttemptStatus.RUNNING, deadline_at=timezone.now() - timedelta(seconds=1)
    )
    harness.tasks.sent.clear()
    assert pipeline.sweep_stuck_attempts() == 1
    pair = harness.run(pair)
    assert pair.status == PairStatus.APPROVED


def test_a_worker_that_lost_its_claim_cannot_record_over_the_new_one(harness):
    """A worker stalled past its deadline; the sweeper gave the attempt to another worker. The
    first one's late answer must not overwrite the second's, nor decide the pair."""
    harness.enable("advance")
    pair = harness.submit()
    attempt_id = harness.tasks.sent[0].args[0]
    first = pipeline._claim(attempt_id)
    stalled, config = first.attempt, first.config
    ComparisonAttempt.objects.filter(pk=attempt_id).update(
        deadline_at=timezone.now() - timedelta(seconds=1)
    )
    taken_over = pipeline._claim(attempt_id).attempt
    assert stalled is not None and taken_over is not None and config is not None

    late = CompareResult(vendor="advance", status=ResultStatus.COMPLETED, score=12.0)
    record_result(stalled, late, config)
    attempt = ComparisonAttempt.objects.get(pk=attempt_id)
    assert (attempt.status, attempt.score) == (AttemptStatus.RUNNING, None)
    assert not AuditEvent.objects.filter(event_type="comparison.recorded").exists()

    answer = CompareResult(vendor="advance", status=ResultStatus.COMPLETED, score=93.0)
    record_result(taken_over, answer, config)
    attempt.refresh_from_db()
    pair.refresh_from_db()
    assert (attempt.status, attempt.score) == (AttemptStatus.COMPLETED, 93.0)
    assert pair.status == PairStatus.APPROVED


def _claimed(harness):
    harness.enable("advance")
    harness.submit()
    taken = pipeline._claim(harness.tasks.sent[0].args[0])
    attempt, config = taken.attempt, taken.config
    assert attempt is not None and config is not None
    return attempt, config


def test_an_answer_with_overlong_vendor_texts_is_stored_cut_to_its_columns(harness):
    attempt, config = _claimed(harness)
    answer = CompareResult(
        vendor="advance",
        status=ResultStatus.COMPLETED,
        score=93.0,
        vendor_code="C" * 300,
        vendor_message="M" * 5000,
        vendor_request_id="R" * 500,
    )
    record_result(attempt, answer, config)

    stored = ComparisonAttempt.objects.get(pk=attempt.pk)
    assert (stored.status, stored.score) == (AttemptStatus.COMPLETED, 93.0)
    assert stored.vendor_code == "C" * 120  # the column's max_length
    assert stored.vendor_request_id == "R" * 200
    assert stored.vendor_message == "M" * 5000  # a text column keeps the vendor's words whole
    # What the worker holds afterwards is what a later read returns.
    assert (attempt.vendor_code, attempt.vendor_request_id) == (
        stored.vendor_code,
        stored.vendor_request_id,
    )


def test_a_failure_with_overlong_vendor_texts_is_stored_cut_to_its_columns(harness):
    attempt, config = _claimed(harness)
    error = VendorError(
        ErrorCode.VENDOR_ERROR,
        "<html>" + "E" * 5000,
        retryable=False,
        vendor_code="C" * 300,
        vendor_request_id="R" * 500,
        http_status=502,
    )
    pipeline._record_failure(attempt, error, config)

    stored = ComparisonAttempt.objects.get(pk=attempt.pk)
    assert (stored.status, stored.error_code, stored.http_status) == (
        AttemptStatus.FAILED,
        "VENDOR_ERROR",
        502,
    )
    assert stored.vendor_code == "C" * 120
    assert stored.vendor_request_id == "R" * 200
    assert stored.error_message == ("<html>" + "E" * 5000)[:2000]
    assert (attempt.vendor_code, attempt.error_message) == (
        stored.vendor_code,
        stored.error_message,
    )


def test_an_attempt_row_holds_what_the_vendor_said_and_no_timings_of_ours(harness):
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 91})
    attempt = harness.run(harness.submit()).deciding_attempt
    assert attempt.status == AttemptStatus.COMPLETED
    assert "timings" not in attempt.details


def test_over_the_vendors_rate_limit_an_attempt_waits_for_the_next_minute(harness, monkeypatch):
    harness.enable("advance", rate_limit_per_minute=1)
    harness.sandboxes["advance"].script({"score": 91}, {"score": 92})
    # 30 s into a minute, as the routing module sees the clock
    monkeypatch.setattr(routing, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))
    harness.submit(applicant_ref="first")
    harness.submit(applicant_ref="second")
    first_id, second_id = (task.args[0] for task in harness.tasks.sent)

    assert pipeline.run_attempt(first_id) is None
    wait = pipeline.run_attempt(second_id)

    assert wait is not None and 30 <= wait <= 32  # the rest of this minute, plus jitter
    postponed = ComparisonAttempt.objects.get(pk=second_id)
    assert postponed.status == AttemptStatus.PENDING
    assert postponed.not_before > timezone.now() + timedelta(seconds=29)
    assert len([r for r in harness.sandboxes["advance"].requests() if "check" in r["path"]]) == 1

    monkeypatch.setattr(routing, "time", SimpleNamespace(time=lambda: 1_800_000_061.0))
    assert pipeline.run_attempt(second_id) is None
    assert ComparisonAttempt.objects.get(pk=second_id).status == AttemptStatus.COMPLETED


def test_a_vendor_error_raised_while_settling_is_not_taken_for_the_vendor_call_failing(
    harness, monkeypatch
):
    """The answer is stored before settling: an error in settling must not record the attempt as
    a failed call (over its stored answer) nor count against the vendor's circuit breaker."""
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 95})
    pair = harness.submit()

    def settling_fails(*args, **kwargs):
        raise VendorError(ErrorCode.VENDOR_ERROR, "raised while settling", retryable=True)

    monkeypatch.setattr(pipeline, "_settle_answer", settling_fails)
    monkeypatch.setattr(routing, "record_failure", lambda vendor: pytest.fail("breaker counted"))
    with pytest.raises(VendorError, match="raised while settling"):
        harness.run(pair)

    (attempt,) = pair.attempts.all()
    assert attempt.status == AttemptStatus.RUNNING  # left for the sweeper, answer kept
    assert attempt.answered_at is not None and attempt.score == 95.0
    assert attempt.error_code == ""
