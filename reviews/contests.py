"""Contested automatic rejections (GDPR Art. 22; kyc.services.contests) as review cases.

A contest opens a case with the reason `contested`, due after settings.KYC_CONTEST_SLA_HOURS,
from which everyone who already had a part in the pair is recused: whoever decided, reviewed,
QA'd, claimed or looked at it appears in its audit trail as a staff actor, and none of them may
take or decide the case (reviews.services enforces the recusal). The first decision always needs
a second reviewer, and the final one goes back to kyc as the contest's outcome.

The applicant's statement is stored encrypted; `read_statement_for` decrypts it only for someone
who may work the case (its queue, not recused) and writes `contest.statement_read` as it does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from kyc.audit.chain import Actor
from kyc.audit.models import ActorType, AuditEvent
from kyc.models import ImagePair, PairContest
from kyc.services.contests import ContestRefused, decide_contest, read_statement
from kyc.users import Visitor
from reviews import events
from reviews.models import CaseRecusal, Decision, ReviewCase, ReviewReason
from reviews.permissions import can_work_queue

#: The four-eyes rule every first decision of a contested case triggers.
CONTEST_RULE = "contested"


def is_contest(case: ReviewCase) -> bool:
    return ReviewReason.CONTESTED in case.reasons


def had_part_in(pair: ImagePair) -> list[int]:
    """Staff who acted on the pair so far: its audit trail's user actors, and its deciders."""
    actors = AuditEvent.objects.filter(
        subject_type="image_pair", subject_id=str(pair.public_id), actor_type=ActorType.USER
    ).values_list("actor_id", flat=True)
    deciders = Decision.objects.filter(case__pair=pair).values_list("reviewer_id", flat=True)
    ids = {int(actor) for actor in actors if actor.isdigit()} | set(deciders)
    return sorted(get_user_model().objects.filter(pk__in=ids).values_list("pk", flat=True))


def open_contest_case(pair: ImagePair) -> ReviewCase:
    """The case for a contest, inside the contest's transaction; refused if the pair has one."""
    if ReviewCase.objects.filter(pair=pair).exists():
        # One case per pair: a pair whose rejection a person already looked at is not the
        # automatic decision Art. 22 is about.
        raise ContestRefused(
            "This pair already had a review case; its decision was not automatic alone.",
            field="pair_id",
        )
    recused = had_part_in(pair)
    case = ReviewCase.objects.create(
        pair=pair,
        reasons=[ReviewReason.CONTESTED],
        due_at=timezone.now() + timedelta(hours=settings.KYC_CONTEST_SLA_HOURS),
    )
    CaseRecusal.objects.bulk_create(CaseRecusal(case=case, user_id=pk) for pk in recused)
    events.review_case_opened(case)
    if recused:
        events.reviewers_recused(case, user_ids=recused)
    return case


def on_pair_contested(sender: Any, pair: ImagePair, contest: PairContest, **kwargs: Any) -> None:
    open_contest_case(pair)


def contest_of(case: ReviewCase) -> PairContest | None:
    """The contest a case decides (the case page links to its statement), or None."""
    return PairContest.objects.filter(pair_id=case.pair_id).first() if is_contest(case) else None


def is_recused(case: ReviewCase, user_id: int) -> bool:
    return CaseRecusal.objects.filter(case=case, user_id=user_id).exists()


def may_read_statement(user: Visitor, case: ReviewCase) -> bool:
    """The statement is for the people who may decide the case: its queue's reviewers, less
    those recused from it (they had a part in the pair the applicant contests)."""
    if user.pk is None or not can_work_queue(user, case.queue):
        return False
    return not is_recused(case, user.pk)


class StatementRefused(Exception):
    """This user may not read this contest's statement."""


def read_statement_for(case: ReviewCase, user: Visitor) -> tuple[PairContest, str]:
    """The contest of `case` and its statement in clear, read by `user` and audited; raises
    StatementRefused for a user who may not work the case, PairContest.DoesNotExist for a case
    that decides no contest."""
    contest = contest_of(case)
    if contest is None:
        raise PairContest.DoesNotExist
    if not may_read_statement(user, case):
        raise StatementRefused
    with transaction.atomic():
        statement = read_statement(contest)
        events.contest_statement_read(case, contest, Actor.user(user), erased=not statement)
    return contest, statement


def carry_out(case: ReviewCase, pair_status: str, actor: Actor, *, reason: str) -> None:
    """The reviewers' final decision on a contested pair, as the contest's outcome."""
    decide_contest(case.pair, pair_status, actor, reason=reason)
