"""Review cases as the pipeline leaves them, and reviewers' decisions, for the reviewer-UI tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connections, transaction

from kyc.faces.geometry import stored_locations
from kyc.models import PairStatus
from reviews import face_crops
from reviews.models import ReasonCode, ReviewCase
from reviews.services import open_case
from tests.factories import ApplicantFactory, AttemptFactory, ImagePairFactory, store_images


def at_the_same_instant(press: Callable[[Any], Any], users: list[Any]) -> list[Any]:
    """Each user presses at once: `press(user)` in its own thread and database connection, all
    released together. What each press returned, or the exception it raised, in users' order."""
    barrier = threading.Barrier(len(users))
    outcomes: list[Any] = [None] * len(users)

    def run(index: int, user: Any) -> None:
        try:
            barrier.wait()
            outcomes[index] = press(user)
        except BaseException as error:  # handed back to the test
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def opened_case(
    *,
    applicant=None,
    webhook_url: str = "",
    images: tuple[bytes, bytes] | None = None,
    reasons: list[str] | None = None,
    priority: int = 0,
    **attempt: Any,
) -> ReviewCase:
    """A pair waiting for review, its deciding attempt (scored in the vendor's band unless
    `attempt` says otherwise) and its case, opened by the real service so its audit event exists."""
    reasons = reasons or ["score_in_band"]
    if applicant is None:
        applicant = ApplicantFactory(client__webhook_url=webhook_url)
    pair = ImagePairFactory(applicant=applicant, status=PairStatus.NEEDS_REVIEW)
    if images is not None:
        store_images(pair, *images)
    pair.deciding_attempt = AttemptFactory(
        pair=pair, number=1, in_band=True, verdict_reasons=reasons, **attempt
    )
    pair.save(update_fields=["deciding_attempt"])
    with transaction.atomic():
        return open_case(pair, reasons, priority)


def reason(outcome: str) -> ReasonCode | None:
    """The first active reason code of an outcome (None for approve)."""
    if outcome == "approve":
        return None
    return ReasonCode.objects.filter(outcome=outcome, is_active=True).order_by("position").first()


def decide(case, user, outcome: str, stage: str = "first", status: str | None = None, **kw):
    from reviews import services

    case.refresh_from_db()
    return services.decide(
        case.public_id,
        user,
        outcome=outcome,
        reason_code=kw.pop("reason_code", reason(outcome)),
        note=kw.pop("note", ""),
        expected_stage=stage,
        expected_status=status or case.status,
    )


def kept_crops(case) -> dict[str, bytes | None]:
    """What the crop cache holds, encrypted, for each of the case's aligned faces (None: none)."""
    locations = stored_locations(case.pair.face_geometry)
    assert locations is not None
    return {
        photo: cache.get(face_crops.crop_key(case.pair, photo, locations[photo]))
        for photo in ("selfie", "reference")
    }
