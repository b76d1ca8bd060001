"""Retention: delete the images of pairs once the configured period has passed (DESIGN §9).

Only the two image files go. Decisions, scores, image hashes, attempts and the audit trail stay;
each purge writes an `images.purged` audit event (why="retention") through purge_pair_images,
the same service the erasure API uses. Applicants on legal hold keep their images.

Candidates are read in keyset-ordered batches without locks; each pair is then purged in its
own short transaction after `SELECT ... FOR UPDATE SKIP LOCKED` re-checks it, so a pair being
decided, viewed or erased at the same moment is skipped (and found again next hour), two purge
runs never collide, and the audit chain's lock is held for one event at a time.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import ModuleType

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from kyc.models import FINAL_PAIR_STATUSES, ImagePair
from kyc.services.erasure import purge_pair_images
from reviews.events import Actor

logger = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30
BATCH_SIZE = 200
#: Pairs one run purges at most; the hourly schedule catches up on a backlog.
RUN_LIMIT = 20_000
ACTOR = Actor.system("retention")


def _retention_module() -> ModuleType | None:
    try:
        return importlib.import_module("kyc.services.retention")
    except ModuleNotFoundError as missing:
        if missing.name != "kyc.services.retention":
            raise
        return None


def retention_days() -> int:
    """Days after a final decision before images go: the admin's policy, else the setting."""
    module = _retention_module()
    if module is not None and hasattr(module, "image_retention_days"):
        return int(module.image_retention_days())
    return int(getattr(settings, "KYC_IMAGE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def unfinished_retention_days() -> int | None:
    """Days after submission before images of pairs never decided go (None: keep them)."""
    module = _retention_module()
    if module is None:
        return None
    if hasattr(module, "unfinished_retention_days"):
        value = module.unfinished_retention_days()
    elif hasattr(module, "get_policy"):
        value = getattr(module.get_policy(), "keep_unfinished_days", None)
    else:
        value = None
    return int(value) if value else None


@dataclass(frozen=True)
class Cutoffs:
    decided_before: datetime
    unfinished_before: datetime | None
    days: int
    unfinished_days: int | None


def cutoffs(now: datetime | None = None) -> Cutoffs:
    now = now or timezone.now()
    days = retention_days()
    unfinished = unfinished_retention_days()
    return Cutoffs(
        decided_before=now - timedelta(days=days),
        unfinished_before=now - timedelta(days=unfinished) if unfinished else None,
        days=days,
        unfinished_days=unfinished,
    )


def _expired_condition(limits: Cutoffs) -> Q:
    condition = Q(status__in=FINAL_PAIR_STATUSES, decided_at__lt=limits.decided_before)
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
