"""Snapshots of a client's gallery, so the approximate index is built once, not per worker.

The worker that builds (or has extended) a client's index saves it, with the template ids,
pairs and applicants it covers and its id watermark, as one file in the images' storage: the
default storage is kyc.storage.EncryptedStorage, so the file is sealed with the images'
envelope encryption (kyc.crypto) before any byte reaches the disk or the bucket. Other workers,
on any host, load it and read from the database only the templates after its watermark.

Purging a template (retention, erasure) deletes the client's snapshot and its file once the
purge commits (`discard`): no file at rest keeps a purged face. The next worker with the index
in memory, which dropped the purged templates on its refresh, saves a fresh one. Saving
refuses a snapshot when a template it holds was purged meanwhile (`_holds_purged`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from kyc import crypto
from kyc.known_faces import index as ivf
from kyc.known_faces.models import FaceTemplate, GallerySnapshot

logger = logging.getLogger(__name__)

FOLDER = "known-faces"


@dataclass(frozen=True)
class Snapshot:
    client_id: int
    watermark: int
    purges_seen_from: datetime
    ids: np.ndarray
    pairs: np.ndarray
    applicants: np.ndarray
    index: Any


def covered(client_id: int) -> int | None:
    """How many templates the client's current snapshot holds; None when there is none."""
    return (
        GallerySnapshot.objects.filter(client_id=client_id)
        .values_list("templates", flat=True)
        .first()
    )


def load(client_id: int) -> Snapshot | None:
    row = GallerySnapshot.objects.filter(client_id=client_id).first()
    if row is None:
        return None
    try:
        with default_storage.open(row.name, "rb") as handle:
            ids, pairs, applicants, index = ivf.unpack(handle.read())
    except (OSError, KeyError, ValueError, RuntimeError, crypto.DecryptionError):
        # Deleted by a purge since the row was read, or unreadable (sealed under a master key
        # since retired): the caller builds from the database, and saves a snapshot in its
        # place, which the row would refuse as no newer.
        logger.warning("Gallery snapshot of client %s unreadable; rebuilding", client_id)
        with transaction.atomic():
            GallerySnapshot.objects.filter(pk=row.pk, name=row.name).delete()
        _delete_now(row.name)
        return None
    return Snapshot(client_id, row.watermark, row.purges_seen_from, ids, pairs, applicants, index)


def save(snapshot: Snapshot) -> bool:
    """Make `snapshot` the client's current one unless one as recent is there or a template it
    holds was purged meanwhile; True when it was saved."""
    plaintext = ivf.pack(snapshot.ids, snapshot.pairs, snapshot.applicants, snapshot.index)
    try:
        # Random names, as for the images: nothing about the client in the storage layout.
        name = default_storage.save(f"{FOLDER}/{uuid.uuid4().hex}.bin", ContentFile(plaintext))
    except OSError:
        # The snapshot only spares other workers a build: the check goes on without it.
        logger.warning("Gallery snapshot of client %s not saved", snapshot.client_id)
        return False
    finally:
        del plaintext
    with transaction.atomic():
        current = (
            GallerySnapshot.objects.select_for_update().filter(client_id=snapshot.client_id).first()
        )
        if (current is not None and current.watermark >= snapshot.watermark) or _holds_purged(
            snapshot
        ):
            _delete_on_commit([name])
            return False
        GallerySnapshot.objects.update_or_create(
            client_id=snapshot.client_id,
            defaults={
                "name": name,
                "watermark": snapshot.watermark,
                "templates": len(snapshot.ids),
                "purges_seen_from": snapshot.purges_seen_from,
            },
        )
        if current is not None:
            _delete_on_commit([current.name])
    return True


def discard(client_id: int) -> None:
    """Delete the client's snapshot (a template of it was purged in this transaction)."""
    names = list(GallerySnapshot.objects.filter(client_id=client_id).values_list("name", flat=True))
    if names:
        GallerySnapshot.objects.filter(client_id=client_id).delete()
        _delete_on_commit(names)


def _holds_purged(snapshot: Snapshot) -> bool:
    purged = FaceTemplate.objects.filter(
        client_id=snapshot.client_id,
        pk__lte=snapshot.watermark,
        purged_at__gte=snapshot.purges_seen_from,
    ).values_list("pk", flat=True)
    return bool(np.isin(np.fromiter(purged, np.int64), snapshot.ids).any())


def _delete_now(name: str) -> None:
    try:
        default_storage.delete(name)
    except OSError:
        logger.warning("Unreadable gallery snapshot file not deleted")


def _delete_on_commit(names: list[str]) -> None:
    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)
