"""Calibration re-runs: past pairs compared again on another vendor, decisions untouched.

Each re-run is a ComparisonAttempt with purpose=rerun. The pipeline records it and judges it
against that vendor's own thresholds, but only purpose=decide attempts ever move a pair
(kyc/services/pipeline.py), so a re-run answers "what would this vendor have said?" and nothing
else. The pair's outcome at the time is copied onto the attempt (details.rerun_of) so the
comparison can be summarised later without guessing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.models import (
    AttemptPurpose,
    AttemptStatus,
    ComparisonAttempt,
    ImagePair,
    PairStatus,
)
from kyc.services.pipeline import enqueue_attempt

DEFAULT_STATUSES = (PairStatus.APPROVED, PairStatus.REJECTED, PairStatus.RESUBMIT)
#: The column a re-run's answer is counted in.
OUTCOMES = ("approve", "review", "reject", "resubmit", "failed", "pending")
_AGREES = {"approved": "approve", "rejected": "reject", "resubmit": "resubmit"}


def candidates(
    vendor: str, since: datetime, statuses: Sequence[str], limit: int | None = None
) -> QuerySet[ImagePair]:
    """Pairs created since `since` with one of `statuses`, images still stored, not decided by
    `vendor` itself, and without a re-run on `vendor` still waiting to run."""
    waiting = ComparisonAttempt.objects.filter(
        pair=OuterRef("pk"),
        vendor=vendor,
        purpose=AttemptPurpose.RERUN,
        status__in=[AttemptStatus.PENDING, AttemptStatus.RUNNING],
    )
    pairs = (
        ImagePair.objects.filter(
            created_at__gte=since, status__in=list(statuses), images_purged_at__isnull=True
        )
        .exclude(selfie="")
        .exclude(reference="")
        .exclude(deciding_attempt__vendor=vendor)
        .exclude(Exists(waiting))
        .order_by("created_at", "pk")
    )
    return pairs[:limit] if limit else pairs


@transaction.atomic
def request_rerun(pair_id: int, vendor: str, actor: Actor) -> ComparisonAttempt | None:
    """One purpose=rerun attempt on `vendor`, enqueued on commit; None if the images are gone."""
    pair = (
        ImagePair.objects.select_for_update(no_key=True, of=("self",))
        .select_related("deciding_attempt")
        .get(pk=pair_id)
    )
    if pair.images_purged_at is not None or not pair.selfie.name:
        return None
    number = pair.next_attempt_number()
    deciding = pair.deciding_attempt
    attempt = ComparisonAttempt.objects.create(
        pair=pair,
        vendor=vendor,
        number=number,
        purpose=AttemptPurpose.RERUN,
        details={
            "rerun_of": {
                "status": pair.status,
                "decision_source": pair.decision_source,
                "vendor": deciding.vendor if deciding else None,
                "score": deciding.score if deciding else None,
            }
        },
    )
    events.rerun_requested(pair, actor, vendor=vendor, attempt=str(attempt.public_id))
    enqueue_attempt(attempt)
    return attempt


def outcome_of(attempt: ComparisonAttempt) -> str:
    if attempt.status in (AttemptStatus.PENDING, AttemptStatus.RUNNING):
        return "pending"
    if attempt.status == AttemptStatus.FAILED:
        return "failed"
    return attempt.verdict or "failed"


@dataclass
class Summary:
    """Per original outcome: how the re-run vendor answered."""

    rows: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, original: str, outcome: str) -> None:
        self.rows.setdefault(original, Counter())[outcome] += 1

    @property
    def total(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.rows.values():
            total.update(counts)
        return total

    def agreement(self) -> tuple[int, int]:
        """(same outcome, answered) over pairs whose original outcome has a counterpart."""
        same = answered = 0
        for original, counts in self.rows.items():
            if original not in _AGREES:
                continue
            answered += sum(counts[o] for o in ("approve", "review", "reject", "resubmit"))
            same += counts[_AGREES[original]]
        return same, answered

    def table(self) -> list[list[str]]:
        header = ["original outcome", "pairs", *[_LABELS[o] for o in OUTCOMES]]
        lines = [header]
        for original in sorted(self.rows, key=_status_order):
            counts = self.rows[original]
            lines.append([original, str(sum(counts.values())), *[str(counts[o]) for o in OUTCOMES]])
        total = self.total
        lines.append(["total", str(sum(total.values())), *[str(total[o]) for o in OUTCOMES]])
        return lines


_LABELS = {
    "approve": "would approve",
    "review": "review",
    "reject": "reject",
    "resubmit": "new photos",
    "failed": "failed",
    "pending": "not run yet",
}


def _status_order(status: str) -> int:
    values = list(PairStatus.values)
    return values.index(status) if status in values else len(values)


def summarise(attempt_ids: Iterable[int]) -> Summary:
    summary = Summary()
    for attempt in ComparisonAttempt.objects.filter(pk__in=list(attempt_ids)).select_related(
        "pair"
    ):
        original = (attempt.details.get("rerun_of") or {}).get("status") or attempt.pair.status
        summary.add(original, outcome_of(attempt))
    return summary


def format_table(lines: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]))]
    rendered = []
    for position, row in enumerate(lines):
        cells = [
            row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in range(len(row))
        ]
        rendered.append("  ".join(cells))
        if position == 0 or position == len(lines) - 2:
            rendered.append("  ".join("-" * width for width in widths))
    return "\n".join(rendered)
