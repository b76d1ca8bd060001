"""Contests of automatic rejections (GDPR Art. 22(3)): the applicant's right to a person's decision.

A client sends the applicant's statement for a pair the pipeline rejected on its own; the pair
stays rejected while a reviewer who had no part in it looks again, with a second reviewer
confirming (reviews opens and routes the case on `kyc.signals.pair_contested`). The client hears
of both ends by webhook: `pair.contest_received`, then `pair.contest_decided` with whether the
decision changed.

The statement is the applicant's own words: it is stored encrypted (kyc.crypto, as the photos
are), read back only by `read_statement` for a page that audits the reading, and blanked by
`erase_statements` when the applicant is erased.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from kyc import crypto
from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.errors import ApplicationError
from kyc.models import (
    ApiClient,
    Applicant,
    ContestStatus,
    DecisionSource,
    ImagePair,
    PairContest,
    PairStatus,
)
from kyc.representation import ContestSerializer
from kyc.services.decisions import REVIEWER_OUTCOMES
from kyc.signals import pair_contested
from kyc.webhooks import enqueue_pair_event


class ContestRefused(ApplicationError):
    """This pair cannot be contested (now): `not_contestable`, `already_contested`, or
    `idempotency_conflict` for a key reused with another statement."""

    code = "not_contestable"


class ContestNotOpen(ApplicationError):
    """The contest was decided meanwhile, or its pair changed under it."""

    code = "contest_not_open"


def fingerprint(statement: str) -> str:
    """What an idempotent retry is compared with. Keyed (an HMAC under SECRET_KEY): a plain hash
    of a short statement could be reversed by guessing, and the statement is personal data."""
    return salted_hmac("kyc.contest-statement", statement, algorithm="sha256").hexdigest()


def contest_pair(
    client: ApiClient, pair: ImagePair, statement: str, *, idempotency_key: str = ""
) -> tuple[PairContest, bool]:
    """Record the applicant's contest and hand it to reviews; (contest, replayed).

    Idempotency-Key is scoped to the pair: a retry with the same key and statement gets the
    contest already recorded (`replayed`), the same key with another statement is a conflict.
    """
    with transaction.atomic():
        locked = ImagePair.objects.lock_for_change(pair.pk)
        assert locked.client_id == client.pk  # the view found the pair among the client's own
        existing = PairContest.objects.filter(pair=locked).first()
        if existing is not None:
            return _replay(existing, statement, idempotency_key), True
        if locked.status != PairStatus.REJECTED or locked.decision_source != DecisionSource.AUTO:
            raise ContestRefused(
                "Only a pair rejected automatically can be contested; this one is "
                f"{locked.get_status_display().lower()}"
                + (" by a reviewer." if locked.decision_source == DecisionSource.REVIEWER else "."),
                field="pair_id",
            )
        contest = PairContest.objects.create(
            pair=locked,
            statement_encrypted=crypto.encrypt(statement.encode()),
            statement_chars=len(statement),
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint(statement),
        )
        events.pair_contested(contest, Actor.api_client(client))
        # reviews opens the case in this transaction; a refusal there undoes the contest.
        pair_contested.send(sender=PairContest, pair=locked, contest=contest)
        enqueue_pair_event(
            locked, "pair.contest_received", lambda: dict(ContestSerializer(contest).data)
        )
    return contest, False


def _replay(existing: PairContest, statement: str, idempotency_key: str) -> PairContest:
    if not idempotency_key or existing.idempotency_key != idempotency_key:
        raise ContestRefused(
            "This pair was already contested; the client hears of the outcome by webhook.",
            code="already_contested",
            field="pair_id",
        )
    if existing.request_fingerprint != fingerprint(statement):
        raise ContestRefused(
            "This Idempotency-Key was already used with a different request body.",
            code="idempotency_conflict",
            field="Idempotency-Key",
        )
    return existing


@transaction.atomic
def decide_contest(pair: ImagePair, status: str, actor: Actor, *, reason: str) -> PairContest:
    """Carry out the reviewers' final decision on a contested pair, once, with audit and webhook.

    The same status upholds the automatic rejection and leaves the pair as it was; another
    changes the pair and makes it a reviewer's decision.
    """
    if status not in REVIEWER_OUTCOMES:  # a caller's bug, not a refusal a person can meet
        raise ValueError(f"A reviewer cannot set status {status!r}.")
    locked = ImagePair.objects.lock_for_change(pair.pk)
    contest = PairContest.objects.select_for_update(no_key=True).get(pair=locked)
    if contest.status != ContestStatus.OPEN or locked.status != PairStatus.REJECTED:
        raise ContestNotOpen(f"The contest of pair {locked.public_id} is already decided.")
    now = timezone.now()
    changed = status != locked.status
    contest.status = ContestStatus.CHANGED if changed else ContestStatus.UPHELD
    contest.decided_at = now
    contest.save(update_fields=["status", "decided_at"])
    if changed:
        locked.status = status
        locked.status_reason = reason
        locked.decision_source = DecisionSource.REVIEWER
        locked.decided_at = now
        locked.save(
            update_fields=["status", "status_reason", "decision_source", "decided_at", "updated_at"]
        )
        events.pair_decided(locked, actor, reasons=["contested"])
    contest.pair = locked
    events.contest_decided(contest, actor)
    enqueue_pair_event(
        locked, "pair.contest_decided", lambda: dict(ContestSerializer(contest).data)
    )
    return contest


def erase_statements(applicant: Applicant, actor: Actor) -> int:
    """Blank the statements of the applicant's contests (inside the erasure's transaction)."""
    statements = PairContest.objects.filter(
        pair__applicant=applicant, statement_erased_at__isnull=True
    )
    erased = statements.update(
        statement_encrypted=b"", request_fingerprint="", statement_erased_at=timezone.now()
    )
    if erased:
        events.contest_statements_erased(applicant, actor, contests=erased)
    return erased


def read_statement(contest: PairContest) -> str:
    """The applicant's statement in clear ("" once erased). Call only from a page that checked
    who is reading and audits it (reviews.contests.read_statement_for)."""
    if contest.statement_erased_at is not None or not contest.statement_encrypted:
        return ""
    return crypto.decrypt(bytes(contest.statement_encrypted)).decode()


def has_statements(applicant: Applicant) -> bool:
    return PairContest.objects.filter(
        pair__applicant=applicant, statement_erased_at__isnull=True
    ).exists()
