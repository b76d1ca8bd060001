"""A realistic month of activity, inserted in bulk, for the dashboard screenshot and benchmarks.

Not used by the figure tests (those use the small hand-checked set in conftest.py): this is
about what the page looks like with the volumes and shapes of real traffic.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from kyc.models import ApiClient, Applicant, ComparisonAttempt, ImagePair
from reviews.models import Decision, ReviewCase
from vendors.models import VendorConfig

# vendor: (share of traffic, median latency ms, latency spread, failure rate)
VENDORS = {
    "advance": (0.62, 850, 0.45, 0.025),
    "finauth": (0.2, 1300, 0.5, 0.015),
    "zoloz": (0.12, 600, 0.35, 0.04),
    "alibaba": (0.06, 1100, 0.55, 0.03),
}
FAILURES = ["TIMEOUT", "RATE_LIMITED", "VENDOR_ERROR", "TIMEOUT", "QUOTA_EXCEEDED"]
IMAGE_PROBLEMS = ["NO_FACE", "LOW_QUALITY", "MULTIPLE_FACES"]
BASE = {
    "selfie_size": 182_311,
    "selfie_width": 1080,
    "selfie_height": 1440,
    "selfie_format": "JPEG",
    "reference_size": 96_004,
    "reference_width": 640,
    "reference_height": 800,
    "reference_format": "JPEG",
}


@dataclass
class Seeded:
    pairs: int
    attempts: int
    cases: int


def _score(rng: random.Random) -> float:
    roll = rng.random()
    if roll < 0.82:
        value = rng.gauss(88, 6)
    elif roll < 0.92:
        value = rng.gauss(24, 12)
    else:
        value = rng.uniform(50, 75)
    return round(min(100.0, max(0.0, value)), 1)


def populate(days: int = 30, seed: int = 7, per_day: tuple[int, int] = (45, 95)) -> Seeded:
    rng = random.Random(seed)
    now = timezone.now()
    sla = timedelta(hours=24)
    configs = {c.backend: c for c in VendorConfig.objects.all()}
    client, _ = ApiClient.objects.get_or_create(name="acme-mobile")
    reviewers = [
        get_user_model().objects.get_or_create(username=name)[0]
        for name in ("rita", "omar", "lena")
    ]
    applicants = Applicant.objects.bulk_create(
        [
            Applicant(client=client, external_ref=f"seed-{seed}-{n}")
            for n in range(days * per_day[1])
        ]
    )
    pairs: list[ImagePair] = []
    plans: list[dict[str, Any]] = []
    for day in range(days, -1, -1):
        start = (now - timedelta(days=day)).replace(hour=0, minute=0, second=0, microsecond=0)
        weekend = start.weekday() >= 5
        volume = rng.randint(*per_day) // (2 if weekend else 1)
        for _ in range(volume):
            created = start + timedelta(seconds=rng.randint(6 * 3600, 22 * 3600))
            if created >= now:
                continue
            n = len(pairs)
            digest = hashlib.sha256(f"{seed}-{n}".encode()).hexdigest()
            pairs.append(
                ImagePair(
                    client=client,
                    applicant=applicants[n % len(applicants)],
                    selfie_sha256=digest,
                    reference_sha256=digest[::-1],
                    **BASE,
                )
            )
            plans.append({"created": created})
    pairs = ImagePair.objects.bulk_create(pairs, batch_size=2000)

    attempts: list[ComparisonAttempt] = []
    cases: list[ReviewCase] = []
    for pair, plan in zip(pairs, plans, strict=True):
        created: datetime = plan["created"]
        vendor = rng.choices(list(VENDORS), [v[0] for v in VENDORS.values()])[0]
        _share, median, spread, fail_rate = VENDORS[vendor]
        clock = created + timedelta(milliseconds=rng.randint(200, 900))
        number = 1
        if vendor == "advance":  # pre-flight on: a few pairs never reach the vendor
            preflight_ok = rng.random() > 0.04
            attempts.append(
                _attempt(
                    pair,
                    "local",
                    number,
                    clock,
                    rng.randint(40, 120),
                    purpose="preflight",
                    status="completed" if preflight_ok else "invalid_input",
                    error_code="" if preflight_ok else rng.choice(IMAGE_PROBLEMS[:2]),
                    details={
                        "target_vendor": "advance",
                        "vendor_called": None if preflight_ok else False,
                    },
                )
            )
            number += 1
            if not preflight_ok:
                plan.update(status="resubmit", source="auto", decided=clock, deciding=attempts[-1])
                continue
        while rng.random() < fail_rate:
            latency = 15000 if rng.random() < 0.6 else rng.randint(200, 3000)
            attempts.append(
                _attempt(
                    pair,
                    vendor,
                    number,
                    clock,
                    latency,
                    status="failed",
                    error_code=rng.choice(FAILURES),
                )
            )
            clock += timedelta(milliseconds=latency + 2000)
            number += 1
        latency = int(median * math.exp(rng.gauss(0, spread)))
        if rng.random() < 0.035:
            attempts.append(
                _attempt(
                    pair,
                    vendor,
                    number,
                    clock,
                    latency,
                    status="invalid_input",
                    error_code=rng.choice(IMAGE_PROBLEMS),
                    billable=True,
                    verdict="resubmit",
                )
            )
            plan.update(status="resubmit", source="auto", decided=clock, deciding=attempts[-1])
            continue
        score = _score(rng)
        config = configs[vendor]
        verdict = (
            "approve"
            if score >= config.approve_at
            else "reject"
            if score < config.reject_below
            else "review"
        )
        attempts.append(
            _attempt(
                pair,
                vendor,
                number,
                clock,
                latency,
                status="completed",
                score=score,
                billable=True,
                verdict=verdict,
                thresholds={"approve_at": config.approve_at, "reject_below": config.reject_below},
            )
        )
        decided = clock + timedelta(milliseconds=latency)
        if verdict != "review":
            plan.update(
                status=f"{verdict}d" if verdict == "approve" else "rejected",
                source="auto",
                decided=decided,
                deciding=attempts[-1],
            )
            continue
        wait = timedelta(hours=rng.lognormvariate(math.log(7), 0.8))
        closed = decided + wait
        plan.update(deciding=attempts[-1], case_opened=decided)
        if closed < now - timedelta(hours=2) or (rng.random() < 0.3 and closed < now):
            outcome = rng.choices(["approve", "reject", "resubmit"], [0.7, 0.2, 0.1])[0]
            status = {"approve": "approved", "reject": "rejected", "resubmit": "resubmit"}[outcome]
            plan.update(status=status, source="reviewer", decided=closed, outcome=outcome)
        else:
            plan.update(status="needs_review")

    attempts = ComparisonAttempt.objects.bulk_create(attempts, batch_size=2000)
    for pair, plan in zip(pairs, plans, strict=True):
        pair.created_at = plan["created"]
        pair.status = plan.get("status", "needs_review")
        pair.decision_source = plan.get("source", "") if pair.status != "needs_review" else ""
        pair.decided_at = plan.get("decided") if pair.status != "needs_review" else None
        pair.deciding_attempt = plan.get("deciding")
        if "case_opened" in plan:
            opened = plan["case_opened"]
            case = ReviewCase(
                pair=pair,
                reasons=["score_in_band"],
                due_at=opened + sla,
                status="decided" if pair.status != "needs_review" else "open",
                decided_at=pair.decided_at,
            )
            case.opened = opened  # type: ignore[attr-defined]
            case.outcome = plan.get("outcome")  # type: ignore[attr-defined]
            cases.append(case)
    ImagePair.objects.bulk_update(
        pairs,
        ["created_at", "status", "decision_source", "decided_at", "deciding_attempt"],
        batch_size=2000,
    )
    for attempt in attempts:
        attempt.created_at = attempt.started_at
    ComparisonAttempt.objects.bulk_update(attempts, ["created_at"], batch_size=2000)
    created_cases = ReviewCase.objects.bulk_create(cases, batch_size=2000)
    decisions = []
    for case, original in zip(created_cases, cases, strict=True):
        case.created_at = original.opened  # type: ignore[attr-defined]
        if original.outcome:  # type: ignore[attr-defined]
            decisions.append(
                Decision(case=case, reviewer=rng.choice(reviewers), outcome=original.outcome)  # type: ignore[attr-defined]
            )
    ReviewCase.objects.bulk_update(created_cases, ["created_at"], batch_size=2000)
    Decision.objects.bulk_create(decisions, batch_size=2000)
    return Seeded(len(pairs), len(attempts), len(created_cases))


def _attempt(
    pair: ImagePair, vendor: str, number: int, when: datetime, latency: int, **fields: Any
) -> ComparisonAttempt:
    return ComparisonAttempt(
        pair=pair,
        vendor=vendor,
        number=number,
        latency_ms=latency,
        started_at=when,
        finished_at=when + timedelta(milliseconds=latency),
        **fields,
    )
