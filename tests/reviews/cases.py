"""Review cases as the pipeline leaves them, for the reviewer-UI tests."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections, transaction
from PIL import Image

from kyc.models import AttemptStatus, ImagePair, PairStatus, image_path
from reviews.models import ReasonCode
from reviews.roles import bootstrap_roles
from reviews.services import open_case
from tests.factories import ApiClientFactory, ApplicantFactory, AttemptFactory, ImagePairFactory
from tests.factories import UserFactory as UserFactory

PASSWORD = "correct horse battery"


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


def user_with_role(username: str, role: str | None, **fields: Any):
    bootstrap_roles()
    user = UserFactory(username=username, **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def jpeg(
    width: int = 64, height: int = 80, colour: tuple[int, int, int] = (180, 150, 130)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def store_images(pair: ImagePair, selfie: bytes, reference: bytes) -> ImagePair:
    """Save real (encrypted) image files on a factory pair, with their upright sizes."""
    for which, data in (("selfie", selfie), ("reference", reference)):
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
        name = default_storage.save(image_path(None, which), ContentFile(data))
        getattr(pair, which).name = name
        setattr(pair, f"{which}_width", width)
        setattr(pair, f"{which}_height", height)
    pair.save()
    return pair


def make_case(
    *,
    vendor: str = "advance",
    score: float | None = 62.0,
    approve_at: float = 70,
    reject_below: float = 55,
    same_person: bool | None = None,
    reasons: list[str] | None = None,
    priority: int = 0,
    images: tuple[bytes, bytes] | None = None,
    applicant=None,
    webhook_url: str = "",
    faces: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    risk_tags: list[str] | None = None,
):
    """A pair waiting for review, its deciding attempt and its open case (with audit events)."""
    if applicant is None:
        applicant = ApplicantFactory(client=ApiClientFactory(webhook_url=webhook_url))
    pair = ImagePairFactory(applicant=applicant, status=PairStatus.NEEDS_REVIEW)
    if images is not None:
        store_images(pair, *images)
    attempt = AttemptFactory(
        pair=pair,
        vendor=vendor,
        number=1,
        status=AttemptStatus.COMPLETED if score is not None else AttemptStatus.FAILED,
        score=score,
        same_person=same_person,
        verdict="review",
        verdict_reasons=reasons or ["score_in_band"],
        thresholds={
            "approve_at": approve_at,
            "reject_below": reject_below,
            "band": {"approve_at": approve_at, "reject_below": reject_below},
        },
        faces=faces
        or {
            "selfie": {"left": 10, "top": 12, "width": 30, "height": 36},
            "reference": {"left": 14, "top": 10, "width": 28, "height": 34},
        },
        details=details or {},
        risk_tags=risk_tags or [],
        vendor_request_id="req-123",
        vendor_code="SUCCESS",
        latency_ms=420,
    )
    pair.deciding_attempt = attempt
    pair.save(update_fields=["deciding_attempt"])
    with transaction.atomic():
        case = open_case(pair, reasons or ["score_in_band"], priority)
    return case


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
