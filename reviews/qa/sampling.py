"""Which automatic decisions go to blind QA review, drawn after the decision was sent.

The draw is a hash, not a random number: a pair's public id hashed to a point in [0, 1) is
sampled when the point falls below its rule's rate. Anyone can recompute why a pair was (or was
not) drawn, a test sees the same draw every run, and a redelivered task draws the same again.
A decision within `near_threshold_points` of the threshold that made it is always drawn: those
are the ones most likely wrong. Each QA item records the chance it had (the rule's rate, or 1
near a threshold), so calibration can weigh its label by 1 / probability.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction

from kyc.models import ComparisonAttempt, DecisionSource, ImagePair, PairStatus
from reviews import events
from reviews.models import AutoOutcome, QaItem, QaSamplingRule
from vendors.verdicts import Band, judged_band

_AUTO_OUTCOME = {
    PairStatus.APPROVED: AutoOutcome.APPROVED,
    PairStatus.REJECTED: AutoOutcome.REJECTED,
}


@dataclass(frozen=True)
class Draw:
    """A decision drawn for QA: the chance it had, and whether nearness to a threshold drew it."""

    probability: float
    near_threshold: bool


def sample_point(pair_id: UUID) -> float:
    """The pair's fixed point in [0, 1): the first 8 bytes of a SHA-256 of its public id."""
    digest = hashlib.sha256(b"kyc-qa-sample:" + pair_id.bytes).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def distance_to_threshold(outcome: str, score: float, band: Band) -> float:
    """How far the score lies past the line that decided it, in points (0–100 scale)."""
    if outcome == AutoOutcome.APPROVED:
        return score - band.approve_at
    return band.reject_below - score


def draw(
    pair_id: UUID, outcome: str, rule: QaSamplingRule, score: float | None, band: Band | None
) -> Draw | None:
    """Whether this decision goes to QA under `rule`; None when it does not."""
    if (
        rule.near_threshold_points > 0
        and score is not None
        and band is not None
        and distance_to_threshold(outcome, score, band) <= rule.near_threshold_points
    ):
        return Draw(probability=1.0, near_threshold=True)
    if rule.rate > 0 and sample_point(pair_id) < rule.rate:
        return Draw(probability=rule.rate, near_threshold=False)
    return None


#: How long a process keeps the sampling rules it read. Reading them for every automatic
#: decision was a query costing a tenth of an attempt's CPU (bench/attempt_cost.py --profile);
#: there are a handful of rules and they change rarely. Saving or deleting a rule forgets the
#: copy of the process that did it at once; every other process reads the change within this.
RULES_MAX_AGE_SECONDS = 30.0


class _RulesRead:
    """This process's copy of every rule by (backend, outcome), and when it was read."""

    rules: dict[tuple[str, str], QaSamplingRule] = {}
    read_at: float | None = None


def _rules() -> dict[tuple[str, str], QaSamplingRule]:
    now = time.monotonic()
    read_at = _RulesRead.read_at
    if read_at is None or now - read_at > RULES_MAX_AGE_SECONDS:
        # Rebound, never changed in place: a thread reading the old dict meanwhile is unharmed.
        _RulesRead.rules = {
            (rule.backend, rule.outcome): rule for rule in QaSamplingRule.objects.all()
        }
        _RulesRead.read_at = now
    return _RulesRead.rules


def forget_rules(**kwargs: Any) -> None:
    """Read the rules again on the next draw (connected to a rule's save and delete); again
    after the transaction that changed them commits, so a draw meanwhile cannot keep the old."""
    _RulesRead.read_at = None
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(forget_rules)


def rule_for(backend: str, outcome: str) -> QaSamplingRule | None:
    """The backend's own rule for this outcome, else the rule for every backend, else none."""
    rules = _rules()
    return rules.get((backend, outcome)) or rules.get(("", outcome))


def sample_decision(pair_pk: int, decided: ImagePair | None = None) -> QaItem | None:
    """Draw the automatic decision of this pair for QA, or not; once per pair.

    `decided`: the pair as the pipeline just committed it, its deciding attempt with it, which
    spares the worker reading it back. The draw is read outside a transaction; only a drawn
    pair opens one, for its QA item and audit event (most decisions are not drawn).
    """
    pair = decided or ImagePair.objects.select_related("deciding_attempt").get(pk=pair_pk)
    outcome = _AUTO_OUTCOME.get(PairStatus(pair.status))
    attempt: ComparisonAttempt | None = pair.deciding_attempt
    if outcome is None or pair.decision_source != DecisionSource.AUTO or attempt is None:
        return None
    rule = rule_for(attempt.vendor, outcome)
    if rule is None:
        return None
    drawn = draw(pair.public_id, outcome, rule, attempt.score, judged_band(attempt.thresholds))
    if drawn is None:
        return None
    with transaction.atomic():
        item, created = QaItem.objects.get_or_create(
            pair=pair,
            defaults={
                "backend": attempt.vendor,
                "auto_outcome": outcome,
                "probability": drawn.probability,
                "near_threshold": drawn.near_threshold,
            },
        )
        if created:
            events.qa_sampled(item)
    return item


def on_pair_decided(sender: Any, pair: ImagePair, **kwargs: Any) -> None:
    """kyc decided a pair: draw it once the decision (and its webhook) is committed.

    `robust`: a failing draw is logged and never stops the callbacks after it, such as the one
    that sends the client its webhook.
    """
    pair_pk = pair.pk
    # The pipeline's own pair, its deciding attempt set: nothing to read back after the commit.
    decided = pair if ImagePair.deciding_attempt.is_cached(pair) else None

    def draw_for_qa() -> None:  # named: Django logs a robust callback's failure by its name
        sample_decision(pair_pk, decided)

    transaction.on_commit(draw_for_qa, robust=True)
