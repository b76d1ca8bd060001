"""The aligned face crops of the case page, made once and kept encrypted for a few minutes.

Making a crop means reading the stored photo, decrypting it, decoding a JPEG of up to 2,000 px,
aligning and encoding again: about a tenth of a second of CPU each, two per case. While a
reviewer looks at one case, the page asks the server to prepare the next one's
(`prepare_faces`, from the `prepare-next` view), so that after the decision the crops are
served from here instead of being made while the reviewer waits.

What is kept is the crop's JPEG encrypted with the image keys (kyc.crypto, the envelope the
stored photos use), under a key naming the pair, the photo and the face location it was cut
from (a re-located face never gets the old crop), for `KYC_FACE_CROP_CACHE_SECONDS` (600 by
default; 0 keeps nothing). Nothing leaves the server here: a crop reaches a browser only through
the audited image view, which asks who may see it on every request, whether it was prepared or
not.
"""

from __future__ import annotations

import hashlib
import io
import json

from django.conf import settings
from django.core.cache import cache
from django.db.models.fields.files import FieldFile

from kyc import crypto
from kyc.faces.alignment import aligned_face
from kyc.faces.geometry import FaceLocation, stored_locations
from kyc.images import ImageRejected, load_upright
from kyc.models import ImagePair

#: Large enough to zoom into a face, small enough to send quickly.
DISPLAY_MAX_SIDE = 2000
PHOTOS = ("selfie", "reference")
#: What of a pair making its crops reads.
PAIR_FIELDS = (
    "public_id",
    "images_purged_at",
    "face_geometry",
    *(f"{photo}{field}" for photo in PHOTOS for field in ("", "_width", "_height")),
)


def cache_seconds() -> int:
    return int(getattr(settings, "KYC_FACE_CROP_CACHE_SECONDS", 600))


def crop_key(pair: ImagePair, photo: str, location: FaceLocation) -> str:
    where = hashlib.sha256(json.dumps(location.as_json(), sort_keys=True).encode()).hexdigest()[:16]
    return f"reviews:face-crop:{pair.public_id}:{photo}:{where}"


def render_photo(stored: FieldFile, location: FaceLocation | None, size: tuple[int, int]) -> bytes:
    """The photo (or, given its face's location, the aligned face) as the browser gets it:
    upright, RGB, no metadata (EXIF, GPS, device never leave the server), JPEG."""
    with stored.open("rb") as handle:
        data = handle.read()
    image = load_upright(data, max_side=DISPLAY_MAX_SIDE)  # ImageRejected: unreadable
    if location is not None:
        image = aligned_face(image, location, size)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def face_crop(pair: ImagePair, photo: str, location: FaceLocation) -> bytes:
    """The aligned face of `photo`: prepared, or made now (and then kept for a reload)."""
    key = crop_key(pair, photo, location)
    blob = cache.get(key)
    if blob is not None:
        try:
            return crypto.decrypt(blob)
        except crypto.DecryptionError:
            cache.delete(key)  # kept under a key since retired: make it again
    crop = render_photo(getattr(pair, photo), location, _size(pair, photo))
    _keep(key, crop)
    return crop


def prepare_faces(pair: ImagePair) -> int:
    """Make and keep the pair's aligned faces not kept yet; how many were made. Face work not
    done, no face found, photos purged or unreadable: nothing to prepare (the page says so when
    the case is shown)."""
    if cache_seconds() <= 0 or pair.images_purged_at is not None:
        return 0
    locations = stored_locations(pair.face_geometry) or {}
    made = 0
    for photo in PHOTOS:
        location = locations.get(photo)
        if location is None or not getattr(pair, photo):
            continue
        key = crop_key(pair, photo, location)
        if cache.get(key) is not None:
            continue
        try:
            crop = render_photo(getattr(pair, photo), location, _size(pair, photo))
        except ImageRejected:
            continue
        _keep(key, crop)
        made += 1
    return made


def forget_faces(sender: object, pair: ImagePair, **kwargs: object) -> None:
    """The kept crops of a pair whose photos were just purged go too (kyc.signals)."""
    locations = stored_locations(pair.face_geometry) or {}
    cache.delete_many(
        [crop_key(pair, photo, location) for photo, location in locations.items() if location]
    )


def _keep(key: str, crop: bytes) -> None:
    if cache_seconds() > 0:
        cache.set(key, crypto.encrypt(crop), cache_seconds())


def _size(pair: ImagePair, photo: str) -> tuple[int, int]:
    return (getattr(pair, f"{photo}_width"), getattr(pair, f"{photo}_height"))
