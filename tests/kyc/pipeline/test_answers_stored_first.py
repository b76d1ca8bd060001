"""A vendor's answer is committed on its own before it is settled (issue 19: store first, crash
cost): a worker that dies after that leaves the answer, and the attempt's next run settles it
without calling (and paying) the vendor again.

Transactional tests: the point is what is committed when the worker dies, which a test wrapped
in one transaction could not tell."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kyc.audit.models import AuditEvent
from kyc.models import AttemptStatus, ComparisonAttempt, PairStatus
from kyc.services import attempt_outcomes, pipeline
from reviews.models import ReviewCase

pytestmark = pytest.mark.django_db(transaction=True)


class WorkerDied(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs."""


def compare_calls(harness, vendor: str) -> int:
    """Comparisons the vendor answered (ADVANCE's token requests are not comparisons)."""
    requests = harness.sandboxes[vendor].requests()
    return len([r for r in requests if r["method"] == "POST" and "token" not in r["path"]])


def die_at(harness, monkeypatch, owner, name: str) -> ComparisonAttempt:
    """Run the pair's queued attempt until `owner.name` is called, then stop the worker dead."""

    def killed(*args, **kwargs):
        raise WorkerDied

    with monkeypatch.context() as patched:
        patched.setattr(owner, name, killed)
        task = harness.tasks.sent.pop(0)
        with pytest.raises(WorkerDied):
            pipeline.run_attempt(*task.args)
    return ComparisonAttempt.objects.get(pk=task.args[0])


def run_again_after_its_deadline(harness, attempt: ComparisonAttempt):
    ComparisonAttempt.objects.filter(pk=attempt.pk).update(
        deadline_at=timezone.now() - timedelta(seconds=1)
    )
    assert pipeline.sweep_stuck_attempts() == 1
    return harness.run(attempt.pair)


def test_an_answer_is_committed_before_it_is_settled_and_the_next_run_settles_it_unpaid(
    harness, monkeypatch
):
    harness.enable("finauth")
    harness.sandboxes["finauth"].script({"score": 96, "risk_tags": ["is_age_risk"]})
    harness.submit()
    attempt = die_at(harness, monkeypatch, pipeline, "_settle_answer")

    # Committed: the answer and its verdict, the attempt still running and the pair undecided.
    assert attempt.answered_at is not None
    assert (attempt.status, attempt.score, attempt.risk_tags) == ("running", 96.0, ["is_age_risk"])
    assert (attempt.verdict, attempt.verdict_reasons) == ("review", ["age_risk"])
    assert attempt.finished_at is None
    assert attempt.pair.status == PairStatus.COMPARING
    assert not AuditEvent.objects.filter(event_type="comparison.recorded").exists()
    assert compare_calls(harness, "finauth") == 1

    pair = run_again_after_its_deadline(harness, attempt)

    assert compare_calls(harness, "finauth") == 1  # paid once
    assert pair.status == PairStatus.NEEDS_REVIEW
    assert ReviewCase.objects.get(pair=pair).reasons == ["age_risk"]
    settled = pair.deciding_attempt
    assert (settled.pk, settled.status, settled.score) == (attempt.pk, "completed", 96.0)
    assert settled.answered_at == attempt.answered_at  # stored once, by the first run
    assert settled.finished_at >= settled.answered_at
    assert settled.vendor_request_id  # the first call's, as the vendor billed it
    assert AuditEvent.objects.filter(event_type="comparison.recorded").count() == 1


def test_a_stored_refusal_of_the_images_settles_as_invalid_input(harness, monkeypatch):
    """The stored answer's final status comes back from what was stored (its error code)."""
    harness.enable("advance")
    harness.sandboxes["advance"].script({"error": "NO_FACE_DETECTED_FROM_FIRST_IMAGE"})
    harness.submit()
    attempt = die_at(harness, monkeypatch, pipeline, "_settle_answer")
    assert (attempt.status, attempt.error_code) == ("running", "NO_FACE")

    pair = run_again_after_its_deadline(harness, attempt)

    settled = ComparisonAttempt.objects.get(pk=attempt.pk)
    assert (settled.status, settled.verdict) == (AttemptStatus.INVALID_INPUT, "resubmit")
    assert pair.status == PairStatus.RESUBMIT
    assert compare_calls(harness, "advance") == 1


def test_a_worker_killed_before_the_answer_is_stored_costs_a_second_call(harness, monkeypatch):
    """The window left: between the vendor's answer and its statement, nothing is stored, so
    the next run must call again rather than settle an answer it does not have."""
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 92}, {"score": 40})
    harness.submit()
    attempt = die_at(harness, monkeypatch, attempt_outcomes, "store_answer")
    assert (attempt.status, attempt.answered_at, attempt.score) == ("running", None, None)

    pair = run_again_after_its_deadline(harness, attempt)

    assert compare_calls(harness, "advance") == 2
    assert pair.status == PairStatus.REJECTED
    assert pair.deciding_attempt.score == 40.0
