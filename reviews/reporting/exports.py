"""Exports for compliance: decisions as CSV, and an evidence pack per pair as JSON.

Neither carries image data or personal data beyond the client's own applicant reference; the
evidence pack is what a regulator needs to re-check one decision: image hashes, every attempt
with its redacted vendor answer and the thresholds it was judged with, the review, and the pair's
audit events with their hashes so each link can be recomputed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from kyc.audit.chain import canonical_json, compute_hash, hashed_fields
from kyc.audit.models import AuditEvent
from kyc.known_faces.models import FaceTemplate
from kyc.models import FINAL_PAIR_STATUSES, ComparisonAttempt, ImagePair
from reviews.models import Decision, DecisionStage, ReviewCase
from reviews.reporting.csv_stream import csv_lines
from reviews.reporting.stats import DateRange
from vendors.verdicts import judged_lines

CSV_CHUNK = 2000

CSV_COLUMNS = [
    "pair_id",
    "client",
    "applicant_ref",
    "created_at",
    "decided_at",
    "status",
    "status_reason",
    "decision_source",
    "vendor",
    "score",
    "approve_at",
    "reject_below",
    "vendor_verdict",
    "verdict_reasons",
    "review_reasons",
    "review_outcome",
    "review_reason_code",
    "second_review_outcome",
    "reviewer",
    "images_purged_at",
]


def decided_pairs(r: DateRange) -> QuerySet[ImagePair]:
    return ImagePair.objects.filter(
        status__in=FINAL_PAIR_STATUSES, decided_at__gte=r.since, decided_at__lt=r.until
    )


def decisions_queryset(r: DateRange) -> QuerySet[ImagePair, dict[str, Any]]:
    """Pairs decided in the range, as flat rows: one query, joined and sub-selected."""

    def stage(name: str, value: str) -> Subquery:
        return Subquery(
            Decision.objects.filter(case__pair=OuterRef("pk"), stage=name).values(value)[:1]
        )

    return (
        decided_pairs(r)
        .annotate(
            review_outcome=stage(DecisionStage.FIRST, "outcome"),
            review_reason_code=stage(DecisionStage.FIRST, "reason_code__code"),
            second_review_outcome=stage(DecisionStage.SECOND, "outcome"),
            reviewer=stage(DecisionStage.FIRST, "reviewer__username"),
        )
        .order_by("decided_at", "id")
        .values(
            "public_id",
            "client__name",
            "applicant__external_ref",
            "created_at",
            "decided_at",
            "status",
            "status_reason",
            "decision_source",
            "deciding_attempt__vendor",
            "deciding_attempt__score",
            "deciding_attempt__thresholds",
            "deciding_attempt__verdict",
            "deciding_attempt__verdict_reasons",
            "review_case__reasons",
            "review_outcome",
            "review_reason_code",
            "second_review_outcome",
            "reviewer",
            "images_purged_at",
        )
    )


def _row(pair: dict[str, Any]) -> list[Any]:
    band = judged_lines(pair["deciding_attempt__thresholds"])
    return [
        pair["public_id"],
        pair["client__name"],
        pair["applicant__external_ref"],
        pair["created_at"],
        pair["decided_at"],
        pair["status"],
        pair["status_reason"],
        pair["decision_source"],
        pair["deciding_attempt__vendor"],
        pair["deciding_attempt__score"],
        band.get("approve_at"),
        band.get("reject_below"),
        pair["deciding_attempt__verdict"],
        pair["deciding_attempt__verdict_reasons"],
        pair["review_case__reasons"],
        pair["review_outcome"],
        pair["review_reason_code"],
        pair["second_review_outcome"],
        pair["reviewer"],
        pair["images_purged_at"],
    ]


def decision_csv_lines(r: DateRange) -> Iterator[str]:
    """The CSV, one line at a time; rows come from the database in chunks (constant memory)."""
    # Inside a transaction PostgreSQL's server-side cursor fetches as the download goes (and
    # the whole file comes from one snapshot); outside one, Django opens it WITH HOLD, which
    # makes the server compute every row before the first is sent.
    with transaction.atomic():
        rows = (_row(pair) for pair in decisions_queryset(r).iterator(chunk_size=CSV_CHUNK))
        yield from csv_lines(CSV_COLUMNS, rows)


# --- evidence pack --------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _image(pair: ImagePair, which: str) -> dict[str, Any]:
    return {
        "sha256": getattr(pair, f"{which}_sha256"),
        "size_bytes": getattr(pair, f"{which}_size"),
        "width": getattr(pair, f"{which}_width"),
        "height": getattr(pair, f"{which}_height"),
        "format": getattr(pair, f"{which}_format"),
        "stored": bool(getattr(pair, which).name),
    }


def _attempt(attempt: ComparisonAttempt) -> dict[str, Any]:
    return {
        "id": str(attempt.public_id),
        "number": attempt.number,
        "vendor": attempt.vendor,
        "purpose": attempt.purpose,
        "status": attempt.status,
        "score": attempt.score,
        "vendor_score": attempt.vendor_score,
        "error_code": attempt.error_code or None,
        "error_message": attempt.error_message or None,
        "retryable": attempt.retryable,
        "vendor_code": attempt.vendor_code or None,
        "vendor_message": attempt.vendor_message or None,
        "vendor_request_id": attempt.vendor_request_id or None,
        "http_status": attempt.http_status,
        "billable": attempt.billable,
        "same_person": attempt.same_person,
        "risk_tags": attempt.risk_tags,
        "faces": attempt.faces,
        "thresholds": attempt.thresholds,
        "verdict": attempt.verdict or None,
        "verdict_reasons": attempt.verdict_reasons,
        "latency_ms": attempt.latency_ms,
        "details": attempt.details,
        "raw_response": attempt.raw_response,  # redacted by the adapter: no image data
        "created_at": _iso(attempt.created_at),
        "started_at": _iso(attempt.started_at),
        "finished_at": _iso(attempt.finished_at),
    }


def _review(pair: ImagePair) -> dict[str, Any] | None:
    case = ReviewCase.objects.filter(pair=pair).select_related("assignee").first()
    if case is None:
        return None
    decisions = Decision.objects.filter(case=case).select_related("reviewer", "reason_code")
    return {
        "id": str(case.public_id),
        "reasons": case.reasons,
        "status": case.status,
        "queue": case.queue,
        "priority": case.priority,
        "created_at": _iso(case.created_at),
        "due_at": _iso(case.due_at),
        "decided_at": _iso(case.decided_at),
        "decided_late": bool(case.decided_at and case.decided_at > case.due_at),
        "decisions": [
            {
                "id": str(decision.public_id),
                "stage": decision.stage,
                "reviewer": decision.reviewer.get_username(),
                "outcome": decision.outcome,
                "reason_code": decision.reason_code.code if decision.reason_code else None,
                "reason": decision.reason_code.label if decision.reason_code else None,
                "note": decision.note,
                "confirms": decision.confirms,
                "created_at": _iso(decision.created_at),
            }
            for decision in decisions
        ],
    }


def _audit(pair: ImagePair) -> list[dict[str, Any]]:
    events = AuditEvent.objects.filter(
        subject_type="image_pair", subject_id=str(pair.public_id)
    ) | AuditEvent.objects.filter(
        subject_type="applicant", subject_id=str(pair.applicant.public_id)
    )
    return [
        {
            **hashed_fields(event),  # as hashed, so the pack alone lets anyone recompute it
            "prev_hash": event.prev_hash,
            "hash": event.hash,
            "canonical_json": canonical_json(event),
            "hash_matches": compute_hash(event.prev_hash, event) == event.hash,
        }
        for event in events.order_by("seq")
    ]


def evidence_pack(pair: ImagePair, *, exported_by: str) -> dict[str, Any]:
    pair = ImagePair.objects.select_related("client", "applicant", "deciding_attempt").get(
        pk=pair.pk
    )
    return {
        "format": "kyc-evidence-pack/1",
        "generated_at": timezone.now().isoformat(),
        "generated_by": exported_by,
        "pair": {
            "id": str(pair.public_id),
            "client": pair.client.name,
            "applicant": str(pair.applicant.public_id),
            "applicant_ref": pair.applicant.external_ref,
            "applicant_erased_at": _iso(pair.applicant.erased_at),
            "legal_hold": pair.applicant.legal_hold,
            "reference_source": pair.reference_source,
            "requested_vendor": pair.requested_vendor or None,
            "status": pair.status,
            "status_reason": pair.status_reason or None,
            "decision_source": pair.decision_source or None,
            "deciding_attempt": str(pair.deciding_attempt.public_id)
            if pair.deciding_attempt
            else None,
            "created_at": _iso(pair.created_at),
            "decided_at": _iso(pair.decided_at),
        },
        "images": {
            "selfie": _image(pair, "selfie"),
            "reference": _image(pair, "reference"),
            "purged_at": _iso(pair.images_purged_at),
        },
        "face_template": _face_template(pair),
        "attempts": [_attempt(a) for a in pair.attempts.order_by("number")],
        "review_case": _review(pair),
        "audit_events": _audit(pair),
        "audit_chain": {
            "algorithm": "hash = sha256(prev_hash + canonical_json), hex; "
            "canonical_json = JSON of seq, created_at, actor_type, actor_id, actor_label, "
            "event_type, subject_type, subject_id and params, keys sorted, no spaces",
            "note": "Each event's prev_hash is the hash of the event before it in the whole "
            "trail (seq - 1); `manage.py audit_verify` checks every link.",
        },
    }


def _face_template(pair: ImagePair) -> dict[str, Any] | None:
    """The known-face template only as a fact (it existed, it was purged): never its values.
    None when the client had not enabled the check."""
    if pair.known_face is None:
        return None
    template = FaceTemplate.objects.filter(pair=pair).values_list("purged_at", flat=True)
    existed = template.exists()
    return {
        "check": pair.known_face.get("status"),
        "existed": existed,
        "purged_at": _iso(template.first()) if existed else None,
    }
