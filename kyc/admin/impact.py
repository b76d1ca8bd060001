"""Impact preview: what proposed thresholds would have done to a backend's recent decisions.

The last N completed decision attempts of one backend are judged twice with
`vendors.verdicts.judge` — once with the saved configuration, once with the proposed one — on a
`CompareResult` rebuilt from what the attempt stored (score, the vendor's own verdict flag, risk
tags, details such as FinAuth's per-level thresholds and the estimated ages). Judging both sides
the same way isolates the effect of the change from older threshold changes; how many stored
verdicts differ from today's replay is reported separately.

Reading the attempts is one query (`.only()` on the fields the replay needs, on the
`attempt_vendor_finished` index); the replay itself is pure and takes any attempt-like rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from kyc.models import AttemptPurpose, AttemptStatus, ComparisonAttempt
from vendors.base import CompareResult, ResultStatus
from vendors.verdicts import APPROVE, REJECT, REVIEW, judge

DEFAULT_LIMIT = 1000
#: A floor for the window only so that decisions stamped at the very instant of the preview
#: cannot divide by zero; any real span is longer.
MIN_WINDOW_DAYS = 1 / 86400
OUTCOMES = (APPROVE, REVIEW, REJECT)
REPLAY_FIELDS = ("score", "same_person", "risk_tags", "details", "verdict", "finished_at")


class ReplayableAttempt(Protocol):
    score: float | None
    same_person: bool | None
    risk_tags: Any
    details: Any
    verdict: str
    finished_at: datetime | None


def recent_decisions(backend: str, limit: int = DEFAULT_LIMIT) -> list[ComparisonAttempt]:
    """The backend's last `limit` completed decision attempts, newest first (one query)."""
    return list(
        ComparisonAttempt.objects.filter(
            vendor=backend,
            status=AttemptStatus.COMPLETED,
            purpose=AttemptPurpose.DECIDE,
            finished_at__isnull=False,
        )
        .order_by("-finished_at")
        .only(*REPLAY_FIELDS)[:limit]
    )


def rebuild_result(backend: str, attempt: ReplayableAttempt) -> CompareResult:
    """The parts of the vendor's answer a verdict depends on, as the attempt stored them."""
    return CompareResult(
        vendor=backend,
        status=ResultStatus.COMPLETED,
        score=attempt.score,
        same_person=attempt.same_person,
        risk_tags=tuple(attempt.risk_tags or ()),
        details=dict(attempt.details or {}),
    )


@dataclass(frozen=True)
class Transition:
    before: str
    after: str
    count: int

    @property
    def moved(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class ImpactPreview:
    backend: str
    total: int
    transitions: Mapping[tuple[str, str], int]
    oldest: datetime | None
    newest: datetime | None
    window_days: float
    #: Attempts whose stored verdict differs from today's replay (judged with older settings).
    stored_differs: int

    def count(self, before: str, after: str) -> int:
        return self.transitions.get((before, after), 0)

    def before_total(self, outcome: str) -> int:
        return sum(n for (b, _), n in self.transitions.items() if b == outcome)

    def after_total(self, outcome: str) -> int:
        return sum(n for (_, a), n in self.transitions.items() if a == outcome)

    @property
    def moved(self) -> int:
        return sum(n for (b, a), n in self.transitions.items() if b != a)

    @property
    def changes(self) -> list[Transition]:
        """Every non-empty move, largest first (approve→review, review→reject, ...)."""
        moves = [Transition(b, a, n) for (b, a), n in self.transitions.items() if b != a and n]
        return sorted(moves, key=lambda t: (-t.count, OUTCOMES.index(t.before)))

    @property
    def per_day(self) -> float:
        return self.total / self.window_days if self.total else 0.0

    @property
    def into_review(self) -> int:
        return sum(n for (b, a), n in self.transitions.items() if a == REVIEW and b != REVIEW)

    @property
    def out_of_review(self) -> int:
        return sum(n for (b, a), n in self.transitions.items() if b == REVIEW and a != REVIEW)

    def _daily(self, count: int) -> float:
        return count / self.total * self.per_day if self.total else 0.0

    @property
    def review_per_day_before(self) -> float:
        return self._daily(self.before_total(REVIEW))

    @property
    def review_per_day_after(self) -> float:
        return self._daily(self.after_total(REVIEW))

    @property
    def review_per_day_change(self) -> float:
        """Cases per day the review queue gains (positive) or loses (negative)."""
        return self._daily(self.into_review - self.out_of_review)

    def rows(self) -> list[dict[str, Any]]:
        """The matrix for a template: one row per current outcome."""
        return [
            {
                "outcome": before,
                "cells": [
                    {"after": after, "count": self.count(before, after), "moved": before != after}
                    for after in OUTCOMES
                ],
                "total": self.before_total(before),
            }
            for before in OUTCOMES
        ]


def compare_thresholds(
    backend: str,
    attempts: Sequence[ReplayableAttempt],
    current: Mapping[str, Any],
    proposed: Mapping[str, Any],
    *,
    now: datetime,
) -> ImpactPreview:
    """Judge `attempts` with the current and the proposed thresholds and count the moves.

    The window runs from the oldest attempt to `now`, however short (44 decisions made in the
    last 11 minutes are 44 per 11 minutes, not per day), so "per day" is the rate at which this
    backend decided pairs lately.
    """
    transitions: Counter[tuple[str, str]] = Counter()
    stored_differs = 0
    oldest: datetime | None = None
    newest: datetime | None = None
    for attempt in attempts:
        result = rebuild_result(backend, attempt)
        before = judge(backend, result, current).outcome
        after = judge(backend, result, proposed).outcome
        transitions[(before, after)] += 1
        if attempt.verdict and attempt.verdict != before:
            stored_differs += 1
        finished = attempt.finished_at
        if finished is not None:
            oldest = finished if oldest is None or finished < oldest else oldest
            newest = finished if newest is None or finished > newest else newest
    span = (now - oldest).total_seconds() / 86400 if oldest else 0.0
    return ImpactPreview(
        backend=backend,
        total=sum(transitions.values()),
        transitions=dict(transitions),
        oldest=oldest,
        newest=newest,
        window_days=max(span, MIN_WINDOW_DAYS),
        stored_differs=stored_differs,
    )
