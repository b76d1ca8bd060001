"""Retention, in one place (DESIGN §9): the policy, changing it and legal holds, and the purge.

The policy is one row edited in the admin: how long images are kept after a final decision, and
how long images of pairs never decided are kept. Applicants on legal hold keep their images.

The purge deletes only the two image files. Decisions, scores, image hashes, attempts and the
audit trail stay; each purge writes an `images.purged` audit event (why="retention") through
purge_pair_images, the same service the erasure API uses.

Candidates are read in keyset-ordered batches without locks; each pair is then purged in its
own short transaction after `SELECT ... FOR UPDATE SKIP LOCKED` re-checks it, so a pair being
decided, viewed or erased at the same moment is skipped (and found again next hour), two purge
runs never collide, and the audit chain's lock is held for one event at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.errors import ApplicationError
from kyc.models import (
    FINAL_PAIR_STATUSES,
    Applicant,
    ContestStatus,
    ImagePair,
    RetentionPolicy,
)
from kyc.services.editing import edit_locked
from kyc.services.erasure import purge_pair_images

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
#: Pairs one run purges at most; the hourly schedule catches up on a backlog.
RUN_LIMIT = 20_000
ACTOR = Actor.system("retention")
POLICY_FIELDS = ("image_retention_days", "keep_unfinished_days")


# --- The policy ------------------------------------------------------------------------------


def get_policy() -> RetentionPolicy:
    """The one policy row (created with the defaults if a test database flushed it)."""
    policy, _ = RetentionPolicy.objects.get_or_create(pk=RetentionPolicy.SINGLETON_ID)
    return policy


def image_retention_days() -> int:
    """Days after a final decision before a pair's images are deleted."""
    return get_policy().image_retention_days


# --- Changing it -----------------------------------------------------------------------------


class ApplicantErased(ApplicationError):
    """The applicant's images are already gone: a legal hold would keep nothing."""

    code = "applicant_erased"


def _policy_values(policy: RetentionPolicy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in POLICY_FIELDS}


@transaction.atomic
def update_retention_policy(changes: Mapping[str, Any], actor: Actor) -> RetentionPolicy:
    get_policy()  # make sure the row exists before locking it
    policy, before, after = edit_locked(
        RetentionPolicy,
        RetentionPolicy.SINGLETON_ID,
        changes,
        editable=POLICY_FIELDS,
        snapshot=_policy_values,
    )
    if after != before:
        policy.save()
        events.retention_policy_changed(policy, actor, before=before, after=after)
    return policy


@transaction.atomic
def set_legal_hold(applicant: Applicant, hold: bool, actor: Actor) -> bool:
    """Place or lift a legal hold. True when it changed (and was audited)."""
    locked = Applicant.objects.select_for_update(no_key=True).get(pk=applicant.pk)
    if locked.legal_hold == hold:
        applicant.legal_hold = hold
        return False
    if hold and locked.erased_at is not None:
        raise ApplicantErased("This applicant was erased: there are no images left to hold.")
    locked.legal_hold = hold
    locked.save(update_fields=["legal_hold"])
    events.legal_hold_changed(locked, actor)
    applicant.legal_hold = hold
    return True


# --- The purge -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cutoffs:
    decided_before: datetime
    unfinished_before: datetime | None
    days: int
    unfinished_days: int | None


def cutoffs(now: datetime | None = None) -> Cutoffs:
    now = now or timezone.now()
    policy = get_policy()
    days = policy.image_retention_days
    unfinished = policy.keep_unfinished_days
    return Cutoffs(
        decided_before=now - timedelta(days=days),
        unfinished_before=now - timedelta(days=unfinished) if unfinished else None,
        days=days,
        unfinished_days=unfinished,
    )


def _expired_condition(limits: Cutoffs) -> Q:
    # A contested rejection keeps its photos until the reviewers have decided the contest: they
    # are what the applicant asks a person to look at (kyc.services.contests).
    condition = Q(status__in=FINAL_PAIR_STATUSES, decided_at__lt=limits.decided_before) & ~Q(
        contest__status=ContestStatus.OPEN
    )
    if limits.unfinished_before is not None:
        condition |= Q(created_at__lt=limits.unfinished_before) & ~Q(status__in=FINAL_PAIR_STATUSES)
    return condition


def expired_pairs(limits: Cutoffs) -> QuerySet[ImagePair]:
    """Pairs whose images are due to go, legal hold or not."""
    return ImagePair.objects.filter(_expired_condition(limits), images_purged_at__isnull=True)


@dataclass(frozen=True)
class PurgeReport:
    days: int
    decided_before: datetime
    eligible: int  # due and not on legal hold (at the start of the run)
    on_hold: int  # due but kept: the applicant is on legal hold
    purged: int = 0
    skipped: int = 0  # locked by another transaction or changed meanwhile: next run
    dry_run: bool = False

    @property
    def remaining(self) -> int:
        return max(0, self.eligible - self.purged - self.skipped)


def purge_expired_images(
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    limit: int = RUN_LIMIT,
) -> PurgeReport:
    limits = cutoffs(now)
    due = expired_pairs(limits)
    eligible = due.filter(applicant__legal_hold=False)
    on_hold = due.filter(applicant__legal_hold=True).count()
    total = eligible.count()
    if dry_run:
        return PurgeReport(limits.days, limits.decided_before, total, on_hold, dry_run=True)
    purged = skipped = 0
    last_pk = 0
    while purged + skipped < limit:
        batch = list(
            eligible.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[: min(batch_size, limit - purged - skipped)]
        )
        if not batch:
            break
        for pk in batch:
            if _purge_one(pk, limits):
                purged += 1
            else:
                skipped += 1
        last_pk = batch[-1]
    report = PurgeReport(limits.days, limits.decided_before, total, on_hold, purged, skipped)
    if purged or skipped:
        logger.info(
            "retention purge",
            extra={
                "purged": purged,
                "skipped": skipped,
                "on_hold": on_hold,
                "retention_days": limits.days,
            },
        )
    return report


def _purge_one(pk: int, limits: Cutoffs) -> bool:
    """Purge one pair if it is still due, unlocked and not on hold; True when it was purged."""
    with transaction.atomic():
        pair = (
            ImagePair.objects.select_for_update(
                no_key=True, skip_locked=True, of=("self", "applicant")
            )
            .select_related("applicant")
            .filter(
                _expired_condition(limits),
                pk=pk,
                images_purged_at__isnull=True,
                applicant__legal_hold=False,
            )
            .first()
        )
        if pair is None:
            return False
        return purge_pair_images(pair, ACTOR, why="retention")
