"""A worker that dies after the vendor answered, before the answer is recorded: the attempt's
next run records the kept answer and does not call (and pay) the vendor again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from kyc.models import ComparisonAttempt, PairStatus
from kyc.services import kept_answers, pipeline
from reviews.models import ReviewCase
from vendors.base import CompareResult, ErrorCode, FaceBox, ResultStatus

pytestmark = pytest.mark.django_db


class WorkerDied(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs."""


def compare_calls(harness, vendor: str) -> int:
    return len([r for r in harness.sandboxes[vendor].requests() if r["method"] == "POST"])


def die_after_the_answer(harness, monkeypatch):
    """Run the pair's attempt until the vendor has answered, then stop the worker dead."""

    def killed(*args, **kwargs):
        raise WorkerDied

    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "_record_result", killed)
        task = harness.tasks.sent.pop(0)
        with pytest.raises(WorkerDied):
            pipeline.run_attempt(*task.args)
    attempt = ComparisonAttempt.objects.get(pk=task.args[0])
    assert attempt.status == "running"  # nothing recorded: the claim is all that is left
    return attempt


def past_its_deadline(attempt: ComparisonAttempt) -> None:
    ComparisonAttempt.objects.filter(pk=attempt.pk).update(
        deadline_at=timezone.now() - timedelta(seconds=1)
    )


def test_the_next_run_records_the_kept_answer_without_calling_the_vendor_again(
    harness, monkeypatch
):
    harness.enable("finauth")
    harness.sandboxes["finauth"].script({"score": 96, "risk_tags": ["is_age_risk"]})
    pair = harness.submit()
    attempt = die_after_the_answer(harness, monkeypatch)
    assert compare_calls(harness, "finauth") == 1

    past_its_deadline(attempt)
    assert pipeline.sweep_stuck_attempts() == 1
    pair = harness.run(pair)

    assert compare_calls(harness, "finauth") == 1
    assert pair.status == PairStatus.NEEDS_REVIEW
    assert ReviewCase.objects.get(pair=pair).reasons == ["age_risk"]
    recorded = pair.deciding_attempt
    assert (recorded.pk, recorded.status, recorded.score) == (attempt.pk, "completed", 96.0)
    assert recorded.risk_tags == ["is_age_risk"]
    assert recorded.vendor_request_id  # the first call's, as the vendor billed it


def test_an_unreadable_kept_answer_means_one_more_call_not_a_failed_attempt(harness, monkeypatch):
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 92}, {"score": 92})
    pair = harness.submit()
    attempt = die_after_the_answer(harness, monkeypatch)
    cache.set(f"kyc:vendor-answer:{attempt.pk}", b"not a sealed answer")

    past_its_deadline(attempt)
    pipeline.sweep_stuck_attempts()
    pair = harness.run(pair)

    checks = [r for r in harness.sandboxes["advance"].requests() if "check" in r["path"]]
    assert len(checks) == 2
    assert pair.status == PairStatus.APPROVED
    assert kept_answers.kept(attempt.pk) is not None  # the second answer is kept in its place


def test_a_fresh_claim_never_reads_a_kept_answer(harness):
    """Only a re-claim may skip the call: a pending attempt with an entry under its id (left by
    anything) is compared as usual."""
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 92})
    pair = harness.submit()
    attempt_id = harness.tasks.sent[0].args[0]
    kept_answers.keep(
        attempt_id, CompareResult(vendor="advance", status=ResultStatus.COMPLETED, score=10.0)
    )
    pair = harness.run(pair)
    assert pair.status == PairStatus.APPROVED
    assert pair.deciding_attempt.score == 92.0


def test_a_kept_answer_reads_back_as_the_answer_that_arrived():
    answer = CompareResult(
        vendor="finauth",
        status=ResultStatus.INVALID_INPUT,
        score=None,
        vendor_score="0.12",
        error_code=ErrorCode.NO_FACE,
        vendor_code="2001",
        vendor_message="NO_FACE_FOUND:image",
        vendor_request_id="req-1",
        billable=True,
        same_person=False,
        risk_tags=("is_age_risk", "is_gender_risk"),
        selfie_face=FaceBox(1, 2, 30, 40),
        reference_face=None,
        latency_ms=1500,
        details={"which": "selfie", "ages": [31, 58]},
        raw_response={"code": 2001, "data": {"score": "0.12"}},
    )
    kept_answers.keep(7, answer)
    assert kept_answers.kept(7) == answer
    sealed = cache.get("kyc:vendor-answer:7")
    assert b"NO_FACE_FOUND" not in sealed  # encrypted at rest
