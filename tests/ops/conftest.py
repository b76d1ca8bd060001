"""Fixtures for the operations tests: staff, pairs with real encrypted files, a known data set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from kyc.models import ComparisonAttempt, ImagePair, image_path
from reviews.models import ReviewCase
from tests.factories import ApplicantFactory, ImagePairFactory, UserFactory
from tests.pipeline.conftest import harness, tasks  # noqa: F401  (the in-process pipeline)

#: The frozen "now" of the known data set: Sunday 15 March 2026, noon UTC.
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def user_with(*perms: str, **fields: Any):
    user = UserFactory(**fields)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def pair_with_images(**fields: Any) -> ImagePair:
    """A pair whose two image files really exist, encrypted, in the default storage."""
    pair = ImagePairFactory(**fields)
    pair.selfie.name = default_storage.save(image_path(None, "s"), ContentFile(b"selfie-bytes"))
    pair.reference.name = default_storage.save(image_path(None, "r"), ContentFile(b"ref-bytes"))
    pair.save(update_fields=["selfie", "reference"])
    return pair


def make_pair(created: datetime, status: str = "received", **fields: Any) -> ImagePair:
    pair = ImagePairFactory(status=status, **fields)
    ImagePair.objects.filter(pk=pair.pk).update(created_at=created)
    pair.refresh_from_db()
    return pair


def make_attempt(pair: ImagePair, finished: datetime, **fields: Any) -> ComparisonAttempt:
    number = pair.attempts.count() + 1
    return ComparisonAttempt.objects.create(
        pair=pair, number=number, finished_at=finished, started_at=finished, **fields
    )


def make_case(pair: ImagePair, created: datetime, due: datetime, **fields: Any) -> ReviewCase:
    case = ReviewCase.objects.create(pair=pair, due_at=due, **fields)
    ReviewCase.objects.filter(pk=case.pk).update(created_at=created)
    case.refresh_from_db()
    return case


@dataclass
class KnownData:
    now: datetime
    pairs: dict[str, ImagePair]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def known_data(db, frozen) -> KnownData:
    """A small data set whose every figure is worked out by hand in test_dashboard.py."""
    applicant = ApplicantFactory()
    pairs: dict[str, ImagePair] = {}

    def decided(
        name: str, day: datetime, status: str, source: str, created: datetime | None = None
    ):
        pair = make_pair(
            created or day - timedelta(hours=1),
            status,
            applicant=applicant,
            decision_source=source,
            decided_at=day,
        )
        pairs[name] = pair
        return pair

    # 10 March: three automatic approvals, one automatic rejection, one reviewer approval (A).
    for n in range(3):
        decided(f"auto-approve-{n}", at(10, 10 + n), "approved", "auto")
    decided("auto-reject", at(10, 14), "rejected", "auto")
    case_a = decided("case-a", at(10, 15), "approved", "reviewer", created=at(10, 8))
    # 12 March: a reviewer rejection (B, decided late), a request for new photos, a failure.
    case_b = decided("case-b", at(12, 20), "rejected", "reviewer", created=at(11, 7))
    decided("resubmit", at(12, 9), "resubmit", "auto")
    decided("failed", at(12, 10), "failed", "")
    # 20 February: a reviewer rejection (E) of a case opened before the period.
    case_e = decided("case-e", at(20, 9, month=2), "rejected", "reviewer", created=at(1, 8, 2))
    # Outside the period: an old approval.
    decided("old", datetime(2026, 1, 1, 12, tzinfo=UTC), "approved", "auto")
    # Waiting for a reviewer: C (overdue since yesterday) and D (opened this morning).
    pairs["case-c"] = make_pair(at(13, 9), "needs_review", applicant=applicant)
    pairs["case-d"] = make_pair(at(15, 7), "needs_review", applicant=applicant)
    pairs["today"] = make_pair(at(15, 9), "received", applicant=applicant)

    make_case(pairs["case-a"], at(10, 9), at(11, 9), status="decided", decided_at=at(10, 15))
    make_case(pairs["case-b"], at(11, 8), at(12, 8), status="decided", decided_at=at(12, 20))
    make_case(pairs["case-c"], at(13, 10), at(14, 10))
    make_case(pairs["case-d"], at(15, 8), at(16, 8))
    make_case(pairs["case-e"], at(1, 8, 2), at(2, 8, 2), status="decided", decided_at=at(20, 9, 2))
    assert case_a and case_b and case_e

    # Vendor calls on 10 March (advance) and 12 March (zoloz).
    target = pairs["auto-approve-0"]
    for score, latency in [(10, 100), (60, 200), (72, 300), (97, 400), (100, 1000)]:
        make_attempt(
            target,
            at(10),
            vendor="advance",
            status="completed",
            score=score,
            latency_ms=latency,
            billable=True,
            verdict="approve",
            thresholds={"approve_at": 70, "reject_below": 55},
        )
    make_attempt(
        target,
        at(10),
        vendor="advance",
        status="failed",
        error_code="TIMEOUT",
        latency_ms=15000,
        billable=False,
    )
    for score, latency in [(50, 500), (90, 700)]:
        make_attempt(
            target,
            at(12),
            vendor="zoloz",
            status="completed",
            score=score,
            latency_ms=latency,
            billable=True,
        )
    make_attempt(
        target,
        at(12),
        vendor="zoloz",
        status="invalid_input",
        error_code="NO_FACE",
        latency_ms=300,
        billable=True,
    )
    # Pre-flight: two pairs answered locally without calling advance, one passed on.
    for passed in (False, False, True):
        make_attempt(
            target,
            at(12),
            vendor="local",
            purpose="preflight",
            status="completed" if passed else "invalid_input",
            error_code="" if passed else "NO_FACE",
            latency_ms=50,
            details={"target_vendor": "advance", "vendor_called": None if passed else False},
        )
    return KnownData(NOW, pairs)
