"""Reads of the kyc domain, shaped for the API and webhooks. Never any image data."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from kyc.models import ApiClient, ComparisonAttempt, ImagePair


def pairs_for_client(client: ApiClient) -> QuerySet[ImagePair]:
    return (
        ImagePair.objects.filter(client=client)
        .select_related("applicant", "deciding_attempt")
        .prefetch_related(
            Prefetch("attempts", queryset=ComparisonAttempt.objects.order_by("number"))
        )
    )


def pair_representation(pair: ImagePair) -> dict[str, Any]:
    deciding = pair.deciding_attempt
    decided = pair.status in {"approved", "rejected", "resubmit", "failed"}
    return {
        "id": str(pair.public_id),
        "applicant_ref": pair.applicant.external_ref,
        "status": pair.status,
        "status_reason": pair.status_reason or None,
        "decision": {
            "outcome": pair.status,
            "source": pair.decision_source or None,
            "decided_at": pair.decided_at.isoformat() if pair.decided_at else None,
        }
        if decided
        else None,
        "result": _result(deciding) if deciding else None,
        "reference_source": pair.reference_source,
        "requested_vendor": pair.requested_vendor or None,
        "callback_url": pair.callback_url or None,
        "metadata": pair.metadata,
        "images": {
            "selfie": _image(pair, "selfie"),
            "reference": _image(pair, "reference"),
            "purged_at": pair.images_purged_at.isoformat() if pair.images_purged_at else None,
        },
        "attempts": [_attempt(a) for a in pair.attempts.all()],
        "created_at": pair.created_at.isoformat(),
        "updated_at": pair.updated_at.isoformat(),
    }


def _result(attempt: ComparisonAttempt) -> dict[str, Any]:
    band = attempt.thresholds.get("band") or {
        key: attempt.thresholds.get(key) for key in ("approve_at", "reject_below")
    }
    return {
        "vendor": attempt.vendor,
        "score": attempt.score,
        "verdict": attempt.verdict or None,
        "reasons": list(attempt.verdict_reasons),
        "thresholds": {
            "approve_at": band.get("approve_at"),
            "reject_below": band.get("reject_below"),
        },
        "error_code": attempt.error_code or None,
    }


def _attempt(attempt: ComparisonAttempt) -> dict[str, Any]:
    return {
        "vendor": attempt.vendor,
        "number": attempt.number,
        "purpose": attempt.purpose,
        "status": attempt.status,
        "score": attempt.score,
        "error_code": attempt.error_code or None,
        "latency_ms": attempt.latency_ms,
    }


def _image(pair: ImagePair, which: str) -> dict[str, Any]:
    return {
        "sha256": getattr(pair, f"{which}_sha256"),
        "size": getattr(pair, f"{which}_size"),
        "width": getattr(pair, f"{which}_width"),
        "height": getattr(pair, f"{which}_height"),
        "format": getattr(pair, f"{which}_format"),
    }
