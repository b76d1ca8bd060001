"""How many SQL statements one comparison attempt costs the worker (issue 19: CPU per pair).

Every statement is a round trip and CPU on both sides; these counts pin what bench/pipeline.py
prints, so a change that adds one per attempt fails here rather than showing up as a slower
benchmark. "claim" is everything before the vendor call (reading and claiming the attempt);
"record" is everything after it: the answer's own statement (stored first, committed on its
own), the transaction that settles it, the callbacks run when it commits (the QA draw, whose
rules the warm-up pair has read, and the first attempt at the webhook, which this thread makes:
only its outcome, as the delivery was recorded leased for it). BEGIN and COMMIT are not counted
(bench/pipeline.py does not see them either); savepoints are.

The counts differ by database: PostgreSQL writes the audit events (lock, head and every insert:
`audit_append`), the claim, the stored outcome with its pair's lock (kyc.services.
attempt_outcomes) and the webhook outbox row in fewer statements than SQLite's portable path,
which reads the chain's head and inserts the transaction's events in one statement more.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kyc import dispatch
from kyc.audit.chain import verify_chain
from kyc.models import ApiClient, PairStatus, WebhookDelivery
from kyc.services import pipeline
from reviews.models import QaSamplingRule

#: (claim, record) statements of one deciding attempt, per database and webhook setting.
EXPECTED = {
    ("postgresql", "approved", True): (1, 7),
    ("postgresql", "approved", False): (1, 4),
    ("postgresql", "needs_review", True): (1, 8),
    ("sqlite", "approved", True): (4, 9),
    ("sqlite", "approved", False): (4, 6),
    ("sqlite", "needs_review", True): (4, 10),
}


_TRANSACTION_CONTROL = {"COMMIT", "ROLLBACK"}


@dataclass
class Counted:
    claim: list[str]
    record: list[str]


def run_counted(harness, monkeypatch) -> Counted:
    """Run the one queued comparison, splitting its statements at the vendor call."""
    (task,) = [t for t in harness.tasks.sent if t.name == dispatch.COMPARE]
    harness.tasks.sent.clear()
    split: list[int] = []
    vendor_call = pipeline.vendor_call

    def marked(*args, **kwargs):
        split.append(len(queries.captured_queries))
        return vendor_call(*args, **kwargs)

    monkeypatch.setattr(pipeline, "vendor_call", marked)
    with CaptureQueriesContext(connection) as queries:
        pipeline.run_attempt(*task.args)
    (at,) = split
    statements = [
        (n, q["sql"])
        for n, q in enumerate(queries.captured_queries)
        if q["sql"] not in _TRANSACTION_CONTROL and not q["sql"].startswith("BEGIN")
    ]
    return Counted(
        [sql for n, sql in statements if n < at], [sql for n, sql in statements if n >= at]
    )


@pytest.mark.parametrize(
    ("outcome", "score", "webhooks"),
    [("approved", 97, True), ("approved", 97, False), ("needs_review", 60, True)],
)
def test_one_attempt_costs_a_pinned_number_of_statements(
    harness, monkeypatch, settings, outcome, score, webhooks
):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = True
    harness.enable("advance", approve_at=90, reject_below=40)
    # The QA draw is random per pair; a drawn pair writes its QA item too. Draw none.
    QaSamplingRule.objects.update(rate=0, near_threshold_points=0)
    if webhooks:
        # Nothing listens there: the attempt fails at once, in as many statements as a delivery.
        ApiClient.objects.update(webhook_url="http://127.0.0.1:9/kyc")
    harness.sandboxes["advance"].script({"score": score, "risk_tags": []})
    harness.submit()  # warms the process: vendor config and adapter are read once per process
    harness.tasks.run_all()
    harness.sandboxes["advance"].script({"score": score, "risk_tags": []})
    pair = harness.submit(applicant_ref="user-2")

    counted = run_counted(harness, monkeypatch)

    pair.refresh_from_db()
    assert pair.status == PairStatus(outcome)
    assert WebhookDelivery.objects.filter(pair=pair).count() == int(webhooks)
    assert verify_chain().ok
    got = (len(counted.claim), len(counted.record))
    expected = EXPECTED[(connection.vendor, outcome, webhooks)]
    assert got == expected, "\n".join(["claim:", *counted.claim, "record:", *counted.record])
