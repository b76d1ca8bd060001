"""What the admin tells an operator about each backend's settings (DESIGN §4, §6).

The numbers come from the vendors' own documents (VENDOR-PROTOCOLS.md §1.5, §2.4) and from the
local engine's calibration (LOCAL-ENGINE.md §7). Which options apply to which backend lives here
too, so the admin form only shows what means something for that backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Options every backend has, in the order the form shows them.
ROUTING = ("enabled", "priority")
CALLS = ("timeout_seconds", "retry_budget", "rate_limit_per_minute")


@dataclass(frozen=True)
class BackendGuidance:
    #: One paragraph above the thresholds: where the numbers come from.
    summary: str
    #: Help text per field, replacing the model's generic one.
    help: dict[str, str] = field(default_factory=dict)
    #: Field names per form section (the sections are fixed: see `sections`).
    thresholds: tuple[str, ...] = ("approve_at", "reject_below")
    input_checks: tuple[str, ...] = ("preflight", "image_problems_to_review")
    calls: tuple[str, ...] = CALLS
    #: Documented defaults, for the "documented default" hint next to a field.
    defaults: dict[str, float] = field(default_factory=dict)

    def fields(self) -> tuple[str, ...]:
        return ROUTING + self.thresholds + self.input_checks + self.calls


COMMON_HELP = {
    "enabled": "Send pairs to this backend. It can only be switched on when every required "
    "environment variable below is set.",
    "priority": "Lower runs first. When a backend fails or its retries are spent, the pair "
    "fails over to the next enabled backend; two enabled backends cannot share a number.",
    "preflight": "Run the local face detector first and answer no-face and several-face pairs "
    "without paying for a vendor call.",
    "image_problems_to_review": "Send no-face / low-quality / several-face answers to a "
    "reviewer instead of asking the client for new photos.",
    "timeout_seconds": "Seconds to wait for one answer, 2–120. Vendors document none; their "
    "SDKs read for 10 s (ZOLOZ, Alibaba). A worker gives up on an attempt after twice this "
    "plus a grace period.",
    "retry_budget": "Retries of a retryable failure (timeout, 5xx, rate limit) on this backend "
    "before failing over, 0–10.",
    "rate_limit_per_minute": "Calls per minute across all workers; empty = no limit. No vendor "
    "publishes a number: use the one in your contract.",
}

_CONSERVATIVE = (
    "{vendor} publishes no score guidance for its 0–100 score. {flag} Until you have calibrated "
    "on your own traffic, keep the conservative start: approve at <b>80</b> and above, reject "
    "below <b>50</b>, everything between goes to a reviewer. Use <i>Preview impact</i> on your "
    "own recent decisions before loosening."
)

GUIDANCE: dict[str, BackendGuidance] = {
    "advance": BackendGuidance(
        summary=(
            "ADVANCE.AI's own guidance (VENDOR-PROTOCOLS §2.4): <b>above 70 pass, 55–70 manual "
            "check, below 55 reject</b>. The defaults follow it: approve at 70, reject below 55; "
            "the 55–70 band goes to a reviewer."
        ),
        help={
            "approve_at": "ADVANCE guidance: above 70 pass. Documented default 70.",
            "reject_below": "ADVANCE guidance: below 55 reject; 55–70 is its manual-check band. "
            "Documented default 55.",
        },
        defaults={"approve_at": 70, "reject_below": 55},
    ),
    "finauth": BackendGuidance(
        summary=(
            "FinAuth sends, in every answer, its own calibrated score thresholds for four "
            "false-accept levels (VENDOR-PROTOCOLS §1.5): <b>1e-3</b> loose, <b>1e-4</b> default, "
            "<b>1e-5</b> strict, <b>1e-6</b> very strict. A pair is approved at or above the "
            "threshold of the level chosen here and rejected below the 1e-3 threshold; in "
            "between goes to a reviewer. <i>Approve at</i> and <i>reject below</i> are only a "
            "fallback for an answer that carries no thresholds."
        ),
        help={
            "finauth_strictness": "The false-accept level whose threshold (from each answer) "
            "approves. 1e-3 loose … 1e-6 very strict; FinAuth's default is 1e-4. Stricter "
            "approves fewer pairs automatically and sends more to review.",
            "approve_at": "Fallback only: used when an answer carries no thresholds.",
            "reject_below": "Fallback only: used when an answer carries no thresholds.",
            "review_risk_tags": "FinAuth's risk flags (present when risk detection is on in "
            "the FinAuth console) that send a pair to a reviewer whatever its score.",
            "age_gap_years": "FinAuth estimates an age for each photo: when the two differ by "
            "more than this many years, send the pair to review. Empty = off.",
        },
        thresholds=(
            "finauth_strictness",
            "approve_at",
            "reject_below",
            "review_risk_tags",
            "age_gap_years",
        ),
        defaults={"approve_at": 80, "reject_below": 60},
    ),
    "zoloz": BackendGuidance(
        summary=_CONSERVATIVE.format(
            vendor="ZOLOZ",
            flag="Its own <i>samePerson</i> flag is judged at a false-accept rate of 1e-5 "
            "(VENDOR-PROTOCOLS §3.7); when it disagrees with our band the pair goes to review.",
        ),
        help={
            "approve_at": "Conservative start 80 until calibrated on your own traffic.",
            "reject_below": "Conservative start 50 until calibrated on your own traffic.",
        },
        defaults={"approve_at": 80, "reject_below": 50},
    ),
    "alibaba": BackendGuidance(
        summary=_CONSERVATIVE.format(
            vendor="Alibaba Cloud",
            flag="Its own <i>Passed</i> Y/N flag uses a threshold it does not document "
            "(VENDOR-PROTOCOLS §4.5); when it disagrees with our band the pair goes to review.",
        ),
        help={
            "approve_at": "Conservative start 80 until calibrated on your own traffic.",
            "reject_below": "Conservative start 50 until calibrated on your own traffic.",
        },
        defaults={"approve_at": 80, "reject_below": 50},
    ),
    "local": BackendGuidance(
        summary=(
            "The built-in dlib engine turns face distance into 0–100 (LOCAL-ENGINE.md §7). "
            "<b>60</b> = dlib's published 0.6 operating point (0.26&nbsp;% false accepts on the "
            "calibration set); <b>70</b> default ≈ a false-accept rate of 1e-3; <b>80</b> "
            "strict ≈ 1e-4, extrapolated, not measured; <b>85</b> very strict. Calibrated on "
            "<b>19 people</b>: well-lit, mostly frontal portraits of adults. The real "
            "false-accept rate is higher at every threshold for webcam, ID-card or low-light "
            "photos; the model is less accurate for children and may vary between ethnic groups."
        ),
        help={
            "approve_at": "60 loose (dlib's default), 70 default (≈ FAR 1e-3), 80 strict "
            "(≈ 1e-4, extrapolated), 85 very strict.",
            "reject_below": "Default 60: below dlib's own 0.6 operating point.",
            "multiple_faces": "The engine compares the largest face and reports how many it "
            "found. 'Refuse' asks the client for new photos when an image holds several.",
        },
        input_checks=("multiple_faces", "image_problems_to_review"),
        calls=("timeout_seconds", "retry_budget"),
        defaults={"approve_at": 70, "reject_below": 60},
    ),
}


def guidance_for(backend: str) -> BackendGuidance:
    return GUIDANCE[backend]


def help_text(backend: str, name: str) -> str | None:
    return GUIDANCE[backend].help.get(name) or COMMON_HELP.get(name)
