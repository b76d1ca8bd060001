"""Accepting an image pair from an API client (DESIGN §5 step 1)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError

from kyc.audit import events
from kyc.audit.chain import Actor, audited_atomic
from kyc.errors import ApplicationError
from kyc.images import ImageInfo, check_fits_backend, inspect_upload
from kyc.known_faces import services as known_faces
from kyc.models import (
    ApiClient,
    Applicant,
    AttemptPurpose,
    ComparisonAttempt,
    ImagePair,
    ReferenceSource,
    image_path,
)
from kyc.services import routing
from kyc.services.pipeline import enqueue_attempt


class SubmissionError(ApplicationError):
    """The pair cannot be accepted as sent; each refusal narrows the code."""

    code = "submission_refused"


@dataclass(frozen=True)
class Submission:
    applicant_ref: str
    selfie: bytes = field(repr=False)
    reference: bytes = field(repr=False)
    reference_source: str = ReferenceSource.ID_PHOTO
    vendor: str = ""
    callback_url: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str = ""


def submit_pair(client: ApiClient, submission: Submission) -> tuple[ImagePair, bool]:
    """Validate, store encrypted, create the pair and its first attempt, enqueue on commit.

    Returns (pair, replayed): a retry with the same Idempotency-Key and body gets the first pair.
    """
    selfie = inspect_upload(submission.selfie, field="selfie")
    reference = inspect_upload(submission.reference, field="reference")
    fingerprint = _fingerprint(submission, selfie, reference)

    if submission.idempotency_key:
        existing = _replay(client, submission.idempotency_key, fingerprint)
        if existing is not None:
            return existing, True

    if submission.vendor:
        # The client chose this vendor: tell it now, not after a round trip, if it cannot work.
        check_fits_backend(selfie, submission.vendor, field="selfie")
        check_fits_backend(reference, submission.vendor, field="reference")
    backend = routing.first_backend(submission.vendor)
    if backend is None:
        if submission.vendor:
            raise SubmissionError(
                f"Backend '{submission.vendor}' is not enabled.",
                code="vendor_not_available",
                field="vendor",
            )
        raise SubmissionError("No comparison backend is enabled.", code="no_backend_available")

    # Files are written before the transaction (storage is not transactional) and removed
    # again if it fails, so a refused request leaves nothing behind.
    selfie_name = default_storage.save(image_path(None, "selfie"), ContentFile(submission.selfie))
    reference_name = default_storage.save(
        image_path(None, "reference"), ContentFile(submission.reference)
    )
    try:
        # The audit event is written last, right before COMMIT: the chain's lock is held for
        # that statement and the commit only, not while the pair and its attempt are inserted.
        with audited_atomic():
            pair = _create(
                client,
                submission,
                backend.backend,
                backend.preflight,
                fingerprint,
                selfie,
                reference,
                selfie_name,
                reference_name,
            )
    except IntegrityError:
        default_storage.delete(selfie_name)
        default_storage.delete(reference_name)
        # Two requests raced with one Idempotency-Key: the loser answers like a retry.
        existing = _replay(client, submission.idempotency_key, fingerprint)
        if existing is None:
            raise
        return existing, True
    except BaseException:
        default_storage.delete(selfie_name)
        default_storage.delete(reference_name)
        raise
    return pair, False


def record_first_response(pair: ImagePair, body: dict[str, Any]) -> None:
    if pair.idempotency_key:
        ImagePair.objects.filter(pk=pair.pk, first_response__isnull=True).update(
            first_response=body
        )


def _create(
    client: ApiClient,
    submission: Submission,
    backend: str,
    preflight: bool,
    fingerprint: str,
    selfie: ImageInfo,
    reference: ImageInfo,
    selfie_name: str,
    reference_name: str,
) -> ImagePair:
    applicant, created = Applicant.objects.get_or_create(
        client=client, external_ref=submission.applicant_ref
    )
    if not created and applicant.erased_at is not None:
        # A returning applicant after erasure starts afresh; the erased pairs stay erased.
        applicant.erased_at = None
        applicant.save(update_fields=["erased_at"])
    pair = ImagePair(
        client=client,
        applicant=applicant,
        reference_source=submission.reference_source,
        requested_vendor=submission.vendor,
        idempotency_key=submission.idempotency_key,
        request_fingerprint=fingerprint,
        callback_url=submission.callback_url,
        metadata=submission.metadata,
        **_image_fields("selfie", selfie),
        **_image_fields("reference", reference),
    )
    pair.selfie.name = selfie_name
    pair.reference.name = reference_name
    pair.save()
    first = ComparisonAttempt.objects.create(
        pair=pair,
        vendor="local" if preflight and backend != "local" else backend,
        number=1,
        purpose=AttemptPurpose.PREFLIGHT
        if preflight and backend != "local"
        else AttemptPurpose.DECIDE,
        details={"target_vendor": backend} if preflight and backend != "local" else {},
    )
    events.pair_submitted(pair, Actor.api_client(client))
    # The known-face check, for a client that enabled it (no query for one that did not); in
    # blocking mode the first comparison waits for it.
    if not (client.known_faces and known_faces.start_check(pair, first)):
        enqueue_attempt(first)
    return pair


def _replay(client: ApiClient, key: str, fingerprint: str) -> ImagePair | None:
    existing = ImagePair.objects.filter(client=client, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise SubmissionError(
            "This Idempotency-Key was already used with a different request body.",
            code="idempotency_conflict",
            field="Idempotency-Key",
        )
    return existing


def _fingerprint(submission: Submission, selfie: ImageInfo, reference: ImageInfo) -> str:
    body = {
        "applicant_ref": submission.applicant_ref,
        "reference_source": submission.reference_source,
        "vendor": submission.vendor,
        "callback_url": submission.callback_url,
        "metadata": submission.metadata,
        "selfie": selfie.sha256,
        "reference": reference.sha256,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _image_fields(prefix: str, info: ImageInfo) -> dict[str, Any]:
    return {
        f"{prefix}_sha256": info.sha256,
        f"{prefix}_size": info.size,
        f"{prefix}_width": info.width,
        f"{prefix}_height": info.height,
        f"{prefix}_format": info.format,
    }
