"""`manage.py rerun`: past pairs compared again on another vendor, decisions untouched."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from kyc.audit.chain import Actor, verify_chain
from kyc.audit.models import AuditEvent
from kyc.models import AttemptPurpose, ComparisonAttempt, ImagePair
from kyc.services.erasure import purge_pair_images


def decided_pairs(harness, scores):
    harness.enable("advance")
    pairs = []
    for n, score in enumerate(scores):
        harness.sandboxes["advance"].script({"score": score, "risk_tags": []})
        pairs.append(harness.run(harness.submit(applicant_ref=f"rerun-{n}")))
    return pairs


def snapshot(pairs):
    return [
        ImagePair.objects.filter(pk=p.pk)
        .values_list(
            "status", "decision_source", "decided_at", "deciding_attempt_id", "status_reason"
        )
        .get()
        for p in pairs
    ]


def test_a_rerun_with_wait_reports_what_the_other_vendor_would_decide(harness):
    pairs = decided_pairs(harness, [97, 95, 8])
    assert [p.status for p in pairs] == ["approved", "approved", "rejected"]
    before = snapshot(pairs)
    # ZOLOZ agrees on the first approval, sends the second to review, agrees on the rejection.
    zoloz = harness.sandboxes["zoloz"]
    zoloz.script(
        {"score": 96, "risk_tags": []},
        {"score": 60, "risk_tags": []},
        {"score": 5, "risk_tags": []},
    )
    out = StringIO()

    call_command(
        "rerun", vendor="zoloz", since=timezone.localdate().isoformat(), wait=True, stdout=out
    )

    assert snapshot(pairs) == before  # no decision changed
    reruns = ComparisonAttempt.objects.filter(purpose=AttemptPurpose.RERUN).order_by("pair_id")
    assert [(a.vendor, a.status) for a in reruns] == [("zoloz", "completed")] * 3
    assert [a.verdict for a in reruns] == ["approve", "review", "reject"]
    assert reruns[0].details["rerun_of"]["status"] == "approved"
    text = out.getvalue()
    assert "Re-running 3 pairs on zoloz" in text
    assert "original outcome" in text and "would approve" in text
    lines = {
        line.split()[0]: line.split()
        for line in text.splitlines()
        if line[:8] in ("approved", "rejected")
    }
    # columns: pairs, would approve, review, reject, new photos, failed, not run yet
    assert lines["approved"][1:] == ["2", "1", "1", "0", "0", "0", "0"]
    assert lines["rejected"][1:] == ["1", "0", "0", "1", "0", "0", "0"]
    assert "Same outcome as decided: 2 of 3" in text
    assert AuditEvent.objects.filter(event_type="comparison.rerun_requested").count() == 3
    assert verify_chain().ok


def test_without_wait_the_attempts_go_to_the_workers(harness):
    pairs = decided_pairs(harness, [97])
    harness.tasks.sent.clear()
    out = StringIO()
    call_command("rerun", vendor="zoloz", since="2000-01-01", stdout=out)
    attempt = ComparisonAttempt.objects.get(purpose=AttemptPurpose.RERUN)
    assert attempt.status == "pending"
    assert [t.args for t in harness.tasks.sent] == [(attempt.pk,)]
    assert "Enqueued for the workers" in out.getvalue()
    # When a worker runs it later, the decision still does not move.
    before = snapshot(pairs)
    harness.sandboxes["zoloz"].script({"score": 3, "risk_tags": []})
    harness.tasks.run_all()
    attempt.refresh_from_db()
    assert attempt.verdict == "reject"
    assert snapshot(pairs) == before


def test_pairs_without_images_or_decided_by_that_vendor_are_left_out(harness):
    kept, purged = decided_pairs(harness, [97, 96])
    with __import__("django.db").db.transaction.atomic():
        purge_pair_images(
            ImagePair.objects.select_for_update().get(pk=purged.pk), Actor.system("t"), why="test"
        )
    out = StringIO()
    call_command("rerun", vendor="advance", since="2000-01-01", stdout=out)  # advance decided both
    assert "No pairs to re-run" in out.getvalue()
    call_command("rerun", vendor="zoloz", since="2000-01-01", stdout=StringIO())
    assert list(
        ComparisonAttempt.objects.filter(purpose="rerun").values_list("pair_id", flat=True)
    ) == [kept.pk]


def test_status_filter_and_limit(harness):
    decided_pairs(harness, [97, 8, 9])
    call_command(
        "rerun", vendor="zoloz", since="2000-01-01", status="rejected", limit=1, stdout=StringIO()
    )
    rerun = ComparisonAttempt.objects.get(purpose="rerun")
    assert rerun.pair.status == "rejected"


@pytest.mark.django_db
def test_bad_arguments_are_explained():
    with pytest.raises(CommandError, match="Unknown status"):
        call_command("rerun", vendor="zoloz", since="2026-01-01", status="approved,maybe")
    with pytest.raises(CommandError):
        call_command("rerun", vendor="nobody", since="2026-01-01")
