"""Purging images: erasure on request and retention (decisions, hashes and audit are kept).

Erasure also blanks the statements of the applicant's contests (kyc.services.contests)."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.errors import ApplicationError
from kyc.known_faces import services as known_faces
from kyc.models import Applicant, ImagePair
from kyc.services import contests
from kyc.signals import pair_images_purged


class LegalHold(ApplicationError):
    """The applicant is on legal hold: their images must be kept."""

    code = "legal_hold"


def purge_pair_images(pair: ImagePair, actor: Actor, *, why: str) -> bool:
    """Delete both image files of a locked pair; keep every other fact. True if anything went."""
    if pair.images_purged_at is not None:
        return False
    names = [name for name in (pair.selfie.name, pair.reference.name) if name]
    pair.selfie.name = ""
    pair.reference.name = ""
    pair.images_purged_at = timezone.now()
    pair.save(update_fields=["selfie", "reference", "images_purged_at", "updated_at"])
    known_faces.purge_templates(pair)  # the face template goes with the photos
    events.images_purged(pair, actor, why=why)
    pair_images_purged.send(sender=ImagePair, pair=pair)
    # Delete the ciphertext only once the rows say so, so a crash never leaves a row pointing at
    # nothing; a crash after commit leaves an orphan file that no row references.
    transaction.on_commit(lambda: _delete_files(names))
    return True


@transaction.atomic
def erase_applicant(applicant: Applicant, actor: Actor) -> int:
    """Erase every image of the applicant at once; returns how many pairs had images.

    Idempotent: erasing an applicant already erased, with no images submitted since, changes
    nothing and writes no audit event (a client retrying its DELETE must not flood the trail).
    """
    applicant = Applicant.objects.select_for_update(no_key=True).get(pk=applicant.pk)
    if applicant.legal_hold:
        raise LegalHold(
            "This applicant is on legal hold; images cannot be erased.", field="applicant_ref"
        )
    with_images = ImagePair.objects.filter(applicant=applicant, images_purged_at__isnull=True)
    if (
        applicant.erased_at is not None
        and not with_images.exists()
        and not contests.has_statements(applicant)
    ):
        return 0
    purged = 0
    for pair in with_images.select_for_update(no_key=True).order_by("pk"):
        purged += purge_pair_images(pair, actor, why="erasure_request")
    # The applicant's own words in a contest go with their photos.
    contests.erase_statements(applicant, actor)
    applicant.erased_at = timezone.now()
    applicant.save(update_fields=["erased_at"])
    events.applicant_erased(applicant, actor, pairs=purged)
    return purged


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
