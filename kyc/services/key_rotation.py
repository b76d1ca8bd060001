"""Re-wrapping the data keys of values sealed in database columns under the newest master key
(the key rotation of `manage.py rotate_image_keys`, DESIGN §9): contest statements, face
templates and blocklisted faces. The images are files; the command re-wraps those itself."""

from __future__ import annotations

from collections import Counter

from django.db.models import Model

from kyc import crypto
from kyc.known_faces.models import BlocklistEntry, FaceTemplate
from kyc.models import PairContest

#: (what the command calls them, model, column) of every sealed column.
SEALED_COLUMNS: tuple[tuple[str, type[Model], str], ...] = (
    ("contest statements", PairContest, "statement_encrypted"),
    ("face templates", FaceTemplate, "sealed"),
    ("blocklisted faces", BlocklistEntry, "sealed"),
)


def rewrap_column(
    model: type[Model], column: str, keys: list[crypto.MasterKey], *, dry_run: bool
) -> Counter[str]:
    """Counts of `rewrapped`, `current` and `failed` values of one sealed column."""
    counts: Counter[str] = Counter()
    stored = model._default_manager.exclude(**{column: b""}).only("pk", column).order_by("pk")
    for row in stored.iterator(chunk_size=500):
        blob = bytes(getattr(row, column))
        try:
            if crypto.key_id(blob) == keys[0].kid:
                counts["current"] += 1
                continue
            rewrapped = crypto.rewrap(blob, keys)
        except crypto.DecryptionError:
            counts["failed"] += 1
            continue
        if not dry_run:
            # Only if still stored as read: an erasure or purge meanwhile must not bring it back.
            model._default_manager.filter(pk=row.pk, **{column: blob}).update(**{column: rewrapped})
        counts["rewrapped"] += 1
    return counts
