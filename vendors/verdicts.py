"""Turning one backend's result into a verdict (DESIGN §6). Pure functions, no I/O.

Adapters translate; this module decides. A score is judged only against its own backend's
thresholds (snapshotted on the attempt), never compared across vendors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vendors.base import CompareResult, ErrorCode, ResultStatus

APPROVE, REJECT, REVIEW, RESUBMIT = "approve", "reject", "review", "resubmit"

#: FinAuth risk tags and the review reason each one raises (VENDOR-PROTOCOLS §1.5).
RISK_TAG_REASONS = {"is_age_risk": "age_risk", "is_gender_risk": "gender_risk"}
#: FinAuth's loosest level: below its threshold the vendor itself would not call it a match.
FINAUTH_REJECT_LEVEL = "1e-3"


@dataclass(frozen=True)
class Band:
    """One backend's approve / reject lines on the 0–100 scale; review lies between them."""

    approve_at: float
    reject_below: float

    def place(self, score: float) -> str:
        """The zone of `score`: the one place that decides it, for the verdict and for everything
        that shows or second-guesses one (the reviewers' score bars, the four-eyes rule)."""
        if score >= self.approve_at:
            return APPROVE
        if score < self.reject_below:
            return REJECT
        return REVIEW


@dataclass(frozen=True)
class Verdict:
    outcome: str  # approve | reject | review | resubmit
    reasons: tuple[str, ...] = ()
    band: Band | None = None


def band_for(
    vendor: str, thresholds: Mapping[str, Any], result: CompareResult | None = None
) -> Band:
    """The approve / reject lines this result is judged against.

    FinAuth returns its own calibrated thresholds per false-accept level in each response: we
    approve at the configured strictness level and reject below the loosest one (DESIGN §6).
    Every other backend uses the admin's numbers.
    """
    if vendor == "finauth" and result is not None:
        levels = result.details.get("thresholds") or {}
        strictness = str(thresholds.get("finauth_strictness") or "1e-4")
        if strictness in levels and FINAUTH_REJECT_LEVEL in levels:
            approve_at = float(levels[strictness])
            return Band(approve_at, min(float(levels[FINAUTH_REJECT_LEVEL]), approve_at))
    return Band(float(thresholds["approve_at"]), float(thresholds["reject_below"]))


def judged_lines(thresholds: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Where a stored attempt's `approve_at` and `reject_below` are, as recorded.

    The pipeline records the band it judged a result with under "band" (for FinAuth that is the
    answer's own thresholds, not the admin's numbers); a result judged without one (invalid
    input) has only the configuration it was judged under.
    """
    thresholds = thresholds or {}
    return thresholds.get("band") or thresholds


def judged_band(thresholds: Mapping[str, Any] | None) -> Band | None:
    """The band a stored attempt was judged with, or None when its snapshot holds no band."""
    lines = judged_lines(thresholds)
    try:
        return Band(float(lines["approve_at"]), float(lines["reject_below"]))
    except (KeyError, TypeError, ValueError):
        return None


def judge(vendor: str, result: CompareResult, thresholds: Mapping[str, Any]) -> Verdict:
    if result.status == ResultStatus.INVALID_INPUT:
        reason = str(result.error_code or ErrorCode.INVALID_IMAGE).lower()
        outcome = REVIEW if thresholds.get("image_problems_to_review") else RESUBMIT
        return Verdict(outcome, (reason,))

    if result.score is None:  # a completed answer always carries a score; be safe anyway
        return Verdict(REVIEW, ("score_missing",))
    band = band_for(vendor, thresholds, result)
    placed = band.place(result.score)
    reasons: list[str] = []
    if placed == REVIEW:
        reasons.append("score_in_band")

    review_tags = set(thresholds.get("review_risk_tags") or ())
    for tag in result.risk_tags:
        if tag in review_tags:
            reasons.append(RISK_TAG_REASONS.get(tag, tag))

    age_gap = thresholds.get("age_gap_years")
    selfie_age, reference_age = (
        result.details.get("selfie_age"),
        result.details.get("reference_age"),
    )
    if (
        age_gap is not None
        and selfie_age is not None
        and reference_age is not None
        and abs(float(selfie_age) - float(reference_age)) > age_gap
    ):
        reasons.append("age_gap")

    # The vendor's own verdict flag contradicting our band means one of the two is miscalibrated.
    if result.same_person is not None and (
        (placed == APPROVE and result.same_person is False)
        or (placed == REJECT and result.same_person is True)
    ):
        reasons.append("vendor_disagreement")

    if reasons:
        return Verdict(REVIEW, tuple(dict.fromkeys(reasons)), band)
    return Verdict(placed, (), band)
