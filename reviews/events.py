"""Audit event types of the review and reporting pages, one function each (DESIGN §8).

Built on the kyc audit trail's building blocks, so they land in the same hash chain. Call them
inside the transaction that makes the change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kyc.audit.events import Actor, append, changed_event, pair_event
from kyc.audit.models import AuditEvent

if TYPE_CHECKING:
    from kyc.models import ImagePair, PairContest
    from reviews.models import Decision, DriftCheck, QaItem, QaSamplingRule, ReasonCode, ReviewCase

__all__ = ["Actor"]


def review_case_opened(case: ReviewCase) -> AuditEvent:
    return pair_event(
        Actor.system("pipeline"),
        "review.opened",
        case.pair,
        case=str(case.public_id),
        reasons=list(case.reasons),
        due_at=case.due_at.isoformat(),
    )


def case_reasons_added(case: ReviewCase, *, reasons: list[str], priority: int) -> AuditEvent:
    """A check that finished after the case opened (a known-face match) added its reasons."""
    return pair_event(
        Actor.system("known_faces"),
        "review.reasons_added",
        case.pair,
        case=str(case.public_id),
        reasons=reasons,
        priority=priority,
    )


def case_claimed(case: ReviewCase, actor: Actor) -> AuditEvent:
    return pair_event(actor, "review.claimed", case.pair, case=str(case.public_id))


def case_released(case: ReviewCase, actor: Actor, *, why: str) -> AuditEvent:
    return pair_event(actor, "review.released", case.pair, case=str(case.public_id), why=why)


def case_skipped(case: ReviewCase, actor: Actor) -> AuditEvent:
    """The holder put the case back undecided. The note stays with the skip row (free text can
    name people), the trail says only that there is one."""
    return pair_event(actor, "review.skipped", case.pair, case=str(case.public_id), has_note=True)


def case_assigned(case: ReviewCase, actor: Actor, *, assignee: str) -> AuditEvent:
    """A senior or an administrator gave the case to a named reviewer."""
    return pair_event(
        actor, "review.assigned", case.pair, case=str(case.public_id), assignee=assignee
    )


def decision_recorded(decision: Decision, actor: Actor) -> AuditEvent:
    return pair_event(
        actor,
        "review.decision",
        decision.case.pair,
        case=str(decision.case.public_id),
        decision=str(decision.public_id),
        stage=decision.stage,
        outcome=decision.outcome,
        reason_code=decision.reason_code.code if decision.reason_code else "",
        confirms=decision.confirms,
        has_note=bool(decision.note),
    )


def four_eyes_required(
    case: ReviewCase, actor: Actor, *, rules: list[str], outcome: str
) -> AuditEvent:
    """A first decision that needs a second person (settings.KYC_FOUR_EYES_RULES) before it acts."""
    return pair_event(
        actor,
        "review.four_eyes_required",
        case.pair,
        case=str(case.public_id),
        rules=rules,
        outcome=outcome,
    )


def reason_code_created(reason_code: ReasonCode, actor: Actor) -> AuditEvent:
    return append(
        actor=actor,
        event_type="reason_code.created",
        subject_type="reason_code",
        subject_id=f"{reason_code.outcome}:{reason_code.code}",
        params={
            "label": reason_code.label,
            "position": reason_code.position,
            "is_active": reason_code.is_active,
        },
    )


def reason_code_changed(
    reason_code: ReasonCode, actor: Actor, *, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    return changed_event(
        actor,
        "reason_code.changed",
        ("reason_code", f"{reason_code.outcome}:{reason_code.code}"),
        before=before,
        after=after,
    )


def audit_trail_exported(actor: Actor, *, filters: dict[str, str]) -> AuditEvent:
    """Someone took a copy of (part of) the audit trail."""
    return append(
        actor=actor,
        event_type="audit.exported",
        subject_type="audit_trail",
        subject_id="",
        params={"filters": filters},
    )


def decisions_exported(
    actor: Actor, *, start: str, end: str, rows: int, export_format: str = "csv"
) -> AuditEvent:
    """Someone downloaded the decisions of a date range (kyc.ops exports)."""
    return append(
        actor=actor,
        event_type="decisions.exported",
        subject_type="decisions",
        subject_id=f"{start}..{end}",
        params={"start": start, "end": end, "rows": rows, "format": export_format},
    )


def evidence_exported(pair: ImagePair, actor: Actor) -> AuditEvent:
    """Someone downloaded the evidence pack of one pair (for a regulator or an auditor)."""
    return pair_event(actor, "evidence.exported", pair)


def images_viewed(
    pair: ImagePair, actor: Actor, *, which: str, rule: str, case: ReviewCase | None
) -> AuditEvent:
    """Someone saw one photo of a pair; `rule` and `case` say why they could (reviews.photo_access:
    `case` is the one that gave the reason, None when a permission alone did)."""
    return pair_event(
        actor,
        "images.viewed",
        pair,
        which=which,
        rule=str(rule),
        case=str(case.public_id) if case is not None else None,
    )


# --- QA sampling (issue 18) ----------------------------------------------------------------------


def qa_sampled(item: QaItem) -> AuditEvent:
    """An automatic decision drawn for blind QA review, with the chance it had of being drawn."""
    return pair_event(
        Actor.system("qa_sampling"),
        "qa.sampled",
        item.pair,
        qa_item=str(item.public_id),
        backend=item.backend,
        auto_outcome=item.auto_outcome,
        probability=item.probability,
        near_threshold=item.near_threshold,
    )


def qa_answered(item: QaItem, actor: Actor, *, disagrees: bool) -> AuditEvent:
    """A blind QA answer; `case` is the qa_disagreement case it opened, if it contradicts the
    automatic decision."""
    return pair_event(
        actor,
        "qa.answered",
        item.pair,
        qa_item=str(item.public_id),
        answer=item.answer,
        auto_outcome=item.auto_outcome,
        disagrees=disagrees,
        case=str(item.case.public_id) if item.case is not None else None,
    )


def _qa_rule_subject(rule: QaSamplingRule) -> str:
    return f"{rule.backend or '*'}:{rule.outcome}"


def qa_rule_created(rule: QaSamplingRule, actor: Actor) -> AuditEvent:
    return append(
        actor=actor,
        event_type="qa_rule.created",
        subject_type="qa_sampling_rule",
        subject_id=_qa_rule_subject(rule),
        params={"rate": rule.rate, "near_threshold_points": rule.near_threshold_points},
    )


def qa_rule_changed(
    rule: QaSamplingRule, actor: Actor, *, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    return changed_event(
        actor,
        "qa_rule.changed",
        ("qa_sampling_rule", _qa_rule_subject(rule)),
        before=before,
        after=after,
    )


def score_drift_detected(check: DriftCheck) -> AuditEvent:
    """A backend's scores of one week moved past the PSI limit from the four weeks before."""
    return append(
        actor=Actor.system("drift"),
        event_type="score_drift.detected",
        subject_type="vendor_config",
        subject_id=check.backend,
        params={
            "week_start": check.week_start.isoformat(),
            "psi": round(check.psi or 0.0, 6),
            "ks": round(check.ks or 0.0, 6),
            "psi_limit": check.psi_limit,
            "scores": check.scores,
            "reference_scores": check.reference_scores,
        },
    )


def contest_statement_read(
    case: ReviewCase, contest: PairContest, actor: Actor, *, erased: bool
) -> AuditEvent:
    """Someone read the applicant's statement of a contest (never its words: only who and when,
    and whether it had been erased by then)."""
    return pair_event(
        actor,
        "contest.statement_read",
        case.pair,
        case=str(case.public_id),
        contest=str(contest.public_id),
        erased=erased,
    )


def reviewers_recused(case: ReviewCase, *, user_ids: list[int]) -> AuditEvent:
    """These staff had a part in the pair, so they may not take or decide this case."""
    return pair_event(
        Actor.system("contests"),
        "review.recused",
        case.pair,
        case=str(case.public_id),
        users=user_ids,
    )
