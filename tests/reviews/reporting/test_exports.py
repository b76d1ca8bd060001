"""The decisions CSV (streamed, constant memory) and the evidence pack of one pair."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from kyc.audit.chain import compute_hash, verify_chain
from kyc.audit.models import AuditEvent
from kyc.models import ComparisonAttempt, ImagePair
from reviews.events import Actor, evidence_exported
from reviews.models import ReasonCode, ReviewCase
from reviews.reporting.exports import CSV_COLUMNS
from tests.factories import (
    ApplicantFactory,
    AttemptFactory,
    DecisionFactory,
    ImagePairFactory,
    ReviewCaseFactory,
    UserFactory,
    store_images,
)

pytestmark = pytest.mark.django_db


def many_decided_pairs(count: int, day: datetime) -> None:
    """`count` decided pairs with their deciding attempts (factory rows), inserted in bulk."""
    applicant = ApplicantFactory(client__name="acme-mobile", external_ref="=HYPERLINK(evil)")
    pairs = ImagePair.objects.bulk_create(
        [
            ImagePairFactory.build(
                applicant=applicant,
                status="approved" if n % 3 else "rejected",
                decision_source="auto",
                decided_at=day,
            )
            for n in range(count)
        ],
        batch_size=1000,
    )
    attempts = ComparisonAttempt.objects.bulk_create(
        [
            AttemptFactory.build(
                pair=pair,
                number=1,
                status="completed",
                score=91.5,
                verdict="approve",
                thresholds={"approve_at": 70, "reject_below": 55},
            )
            for pair in pairs
        ],
        batch_size=1000,
    )
    for pair, attempt in zip(pairs, attempts, strict=True):
        pair.deciding_attempt = attempt
    ImagePair.objects.bulk_update(pairs, ["deciding_attempt"], batch_size=1000)


def test_the_decisions_csv_streams_thousands_of_rows(client):
    yesterday = timezone.now() - timedelta(days=1)
    many_decided_pairs(5000, yesterday)
    client.force_login(UserFactory(permissions=["kyc.export_decisions"]))

    response = client.get("/stats/decisions.csv")

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="decisions-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == CSV_COLUMNS
    assert len(rows) == 5001
    row = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert row["client"] == "acme-mobile"
    assert row["applicant_ref"] == "'=HYPERLINK(evil)"  # never a live spreadsheet formula
    assert (row["vendor"], row["score"], row["approve_at"], row["reject_below"]) == (
        "advance",
        "91.5",
        "70",
        "55",
    )
    assert row["decided_at"].endswith("Z")
    event = AuditEvent.objects.get(event_type="decisions.exported")
    assert event.params["rows"] == 5000
    assert verify_chain().ok


def test_the_csv_carries_the_reviewer_decision(client):
    reviewer = UserFactory(username="rita")
    pair = store_images(
        ImagePairFactory(status="rejected", decision_source="reviewer", decided_at=timezone.now())
    )
    case = ReviewCaseFactory(
        pair=pair, reasons=["score_in_band"], due_at=timezone.now(), status="decided"
    )
    DecisionFactory(
        case=case,
        reviewer=reviewer,
        outcome="reject",
        reason_code=ReasonCode.objects.filter(outcome="reject").first(),
    )
    client.force_login(UserFactory(permissions=["kyc.export_decisions"]))
    rows = list(
        csv.DictReader(
            io.StringIO(b"".join(client.get("/stats/decisions.csv").streaming_content).decode())
        )
    )
    assert len(rows) == 1
    assert rows[0]["review_reasons"] == "score_in_band"
    assert (rows[0]["review_outcome"], rows[0]["reviewer"]) == ("reject", "rita")
    assert rows[0]["second_review_outcome"] == ""


def test_the_csv_covers_only_the_chosen_period(client):
    many_decided_pairs(3, datetime(2026, 1, 5, 12, tzinfo=UTC))
    client.force_login(UserFactory(permissions=["kyc.export_decisions"]))
    body = b"".join(
        client.get(
            "/stats/decisions.csv", {"start": "2026-01-06", "end": "2026-01-31"}
        ).streaming_content
    )
    assert body.decode().count("\n") == 1  # the header only


def test_exports_need_the_export_permission(client, db):
    pair = store_images(ImagePairFactory())
    client.force_login(UserFactory(permissions=["kyc.view_dashboard"]))
    assert client.get("/stats/decisions.csv").status_code == 403
    assert client.get(f"/stats/pairs/{pair.public_id}/evidence.json").status_code == 403
    assert not AuditEvent.objects.filter(event_type__in=["decisions.exported", "evidence.exported"])


# --- evidence pack --------------------------------------------------------------------------------


def test_the_evidence_pack_has_everything_a_regulator_needs(client, harness):
    harness.enable("advance", approve_at=90, reject_below=40)
    harness.sandboxes["advance"].script({"score": 66, "risk_tags": []})
    pair = harness.run(harness.submit(applicant_ref="cust-1234"))
    assert pair.status == "needs_review"
    case = ReviewCase.objects.get(pair=pair)
    reviewer = UserFactory(username="rita")
    DecisionFactory(case=case, reviewer=reviewer, outcome="approve", note="Same person.")
    user = UserFactory(permissions=["kyc.export_decisions"], username="auditor-al")
    client.force_login(user)

    response = client.get(f"/stats/pairs/{pair.public_id}/evidence.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    pack = json.loads(response.content)
    assert pack["pair"]["id"] == str(pair.public_id)
    assert pack["pair"]["status"] == "needs_review"
    assert pack["generated_by"] == "auditor-al"
    selfie = pack["images"]["selfie"]
    assert selfie["sha256"] == pair.selfie_sha256 and selfie["size_bytes"] == pair.selfie_size
    assert selfie["format"] in {"JPEG", "PNG"} and selfie["stored"] is True
    [attempt] = pack["attempts"]
    assert (attempt["vendor"], attempt["score"], attempt["verdict"]) == ("advance", 66, "review")
    assert attempt["thresholds"]["approve_at"] == 90
    assert attempt["raw_response"] is not None
    assert pack["review_case"]["reasons"] == ["score_in_band"]
    assert pack["review_case"]["decisions"][0]["outcome"] == "approve"
    assert pack["review_case"]["decisions"][0]["reviewer"] == "rita"
    types = [event["event_type"] for event in pack["audit_events"]]
    assert types[0] == "pair.submitted"
    assert {"comparison.recorded", "review.opened", "evidence.exported"} <= set(types)
    for event in pack["audit_events"]:
        assert event["hash_matches"] is True
        stored = AuditEvent.objects.get(seq=event["seq"])
        assert (event["prev_hash"], event["hash"]) == (stored.prev_hash, stored.hash)
        assert compute_hash(event["prev_hash"], stored) == event["hash"]
    seqs = [event["seq"] for event in pack["audit_events"]]
    assert seqs == sorted(seqs)
    # No image data anywhere: nothing base64-like longer than a hash.
    assert max(len(token) for token in response.content.decode().split('"')) < 2000
    assert verify_chain().ok


def test_an_evidence_pack_for_an_unknown_pair_is_404(client, db):
    client.force_login(UserFactory(permissions=["kyc.export_decisions"]))
    assert (
        client.get("/stats/pairs/7d1f1e8e-8c1c-4b59-8d7f-2f4a0c0d1e2f/evidence.json").status_code
        == 404
    )


def test_exporting_evidence_is_an_audit_event_of_the_pair(db):
    pair = store_images(ImagePairFactory())
    event = evidence_exported(pair, Actor.system("test"))
    assert (event.event_type, event.subject_id) == ("evidence.exported", str(pair.public_id))
