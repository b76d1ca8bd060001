"""Pairs in each state a client meets, with fixed ids and times, built straight as rows.

One of each: approved automatically; in review for FinAuth risk tags; failed with every vendor
down; resubmit for no face (thresholds recorded as whole numbers, no judged band); rejected by a
reviewer after a second opinion; received with its images purged.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from kyc.models import ApiClient, ImagePair
from tests.factories import ApplicantFactory, AttemptFactory, ImagePairFactory

CREATED = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
UPDATED = datetime(2025, 3, 14, 9, 27, 1, tzinfo=UTC)  # no microseconds: isoformat drops them
DECIDED = datetime(2025, 3, 14, 9, 27, 0, 120000, tzinfo=UTC)
PURGED = datetime(2025, 4, 13, 2, 0, tzinfo=UTC)

ADVANCE_BAND = {"approve_at": 70.0, "reject_below": 55.0}
FINAUTH_CONFIG = {"approve_at": 80.0, "reject_below": 60.0, "finauth_strictness": "1e-4"}
FINAUTH_BAND = {"approve_at": 73.88, "reject_below": 62.15}


def _pair(applicant: Any, public_id: str, attempts: list[dict[str, Any]], **fields: Any) -> None:
    """A pair with its attempts; the last attempt marked `deciding` decides it."""
    pair = ImagePairFactory(
        applicant=applicant,
        public_id=uuid.UUID(public_id),
        selfie_sha256="a" * 64,
        reference_sha256="b" * 64,
        **fields,
    )
    deciding = None
    for number, attempt in enumerate(attempts, start=1):
        is_deciding = attempt.pop("deciding", False)
        row = AttemptFactory(pair=pair, number=number, **attempt)
        deciding = row if is_deciding else deciding
    ImagePair.objects.filter(pk=pair.pk).update(
        deciding_attempt=deciding, created_at=CREATED, updated_at=UPDATED
    )


def make_representative_pairs(client: ApiClient) -> None:
    """Six pairs of applicant "user-42", ids ...0001 to ...0006 in the order below."""
    applicant = ApplicantFactory(client=client, external_ref="user-42")
    _pair(
        applicant,
        "00000000-0000-4000-8000-000000000001",
        [
            {
                "vendor": "advance",
                "status": "completed",
                "score": 82.5,
                "verdict": "approve",
                "thresholds": {**ADVANCE_BAND, "band": ADVANCE_BAND},
                "latency_ms": 412,
                "deciding": True,
            }
        ],
        status="approved",
        decision_source="auto",
        decided_at=DECIDED,
        requested_vendor="advance",
        callback_url="https://hooks.example.com/kyc",
        metadata={"nested": {"n": 1, "ok": True}, "session": "s-1"},
    )
    _pair(
        applicant,
        "00000000-0000-4000-8000-000000000002",
        [
            {
                "vendor": "finauth",
                "status": "completed",
                "score": 91.0,
                "verdict": "review",
                "verdict_reasons": ["age_risk", "gender_risk"],
                "risk_tags": ["is_age_risk", "is_gender_risk"],
                "thresholds": {**FINAUTH_CONFIG, "band": FINAUTH_BAND},
                "latency_ms": 880,
                "deciding": True,
            }
        ],
        status="needs_review",
        status_reason="age_risk",
        reference_source="SELFIE",
    )
    _pair(
        applicant,
        "00000000-0000-4000-8000-000000000003",
        [
            {"vendor": "advance", "status": "failed", "error_code": "TIMEOUT", "latency_ms": 10000},
            {"vendor": "zoloz", "status": "failed", "error_code": "VENDOR_ERROR"},
        ],
        status="failed",
        status_reason="vendor_failed",
        decision_source="auto",
        decided_at=DECIDED,
    )
    _pair(
        applicant,
        "00000000-0000-4000-8000-000000000004",
        [
            {
                "vendor": "local",
                "purpose": "preflight",
                "status": "invalid_input",
                "error_code": "NO_FACE",
                "verdict": "resubmit",
                "verdict_reasons": ["no_face"],
                # Thresholds as some rows hold them: whole numbers, and no judged band.
                "thresholds": {"approve_at": 70, "reject_below": 60},
                "latency_ms": 35,
                "deciding": True,
            }
        ],
        status="resubmit",
        status_reason="no_face",
        decision_source="auto",
        decided_at=DECIDED,
    )
    _pair(
        applicant,
        "00000000-0000-4000-8000-000000000005",
        [
            {
                "vendor": "advance",
                "status": "completed",
                "score": 61.25,
                "verdict": "review",
                "verdict_reasons": ["score_in_band"],
                "thresholds": {**ADVANCE_BAND, "band": ADVANCE_BAND},
                "deciding": True,
            },
            {
                "vendor": "zoloz",
                "purpose": "second_opinion",
                "status": "completed",
                "score": 48.0,
                "verdict": "reject",
                "thresholds": {"approve_at": 80.0, "reject_below": 50.0},
            },
        ],
        status="rejected",
        status_reason="reviewer_decision",
        decision_source="reviewer",
        decided_at=DECIDED,
    )
    _pair(
        applicant,
        "00000000-0000-4000-8000-000000000006",
        [{"vendor": "advance"}],
        status="received",
        images_purged_at=PURGED,
        selfie_format="PNG",
        reference_width=1200,
    )
