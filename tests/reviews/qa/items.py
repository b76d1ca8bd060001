"""Automatically decided pairs drawn for QA, as the sampler leaves them."""

from __future__ import annotations

from kyc.models import DecisionSource, PairStatus
from reviews.models import QaItem
from tests.factories import ApplicantFactory, AttemptFactory, ImagePairFactory, store_images


def sampled(
    status: str = PairStatus.APPROVED,
    *,
    score: float = 93.0,
    probability: float = 0.02,
    webhook_url: str = "",
    images: tuple[bytes, bytes] | None = None,
) -> QaItem:
    applicant = ApplicantFactory(client__webhook_url=webhook_url)
    pair = ImagePairFactory(applicant=applicant, status=status, decision_source=DecisionSource.AUTO)
    if images is not None:
        store_images(pair, *images)
    verdict = "approve" if status == PairStatus.APPROVED else "reject"
    pair.deciding_attempt = AttemptFactory(
        pair=pair,
        number=1,
        in_band=True,
        score=score,
        verdict=verdict,
        verdict_reasons=[],
        same_person=status == PairStatus.APPROVED,
        risk_tags=["is_age_risk"],
    )
    pair.save(update_fields=["deciding_attempt"])
    return QaItem.objects.create(
        pair=pair, backend="advance", auto_outcome=status, probability=probability
    )
