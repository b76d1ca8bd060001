"""Face work for review: where the face is in each photo of a pair, found once and stored.

Runs on the "faces" queue (kyc.queues) when a pair goes to review, never on the decision path
and never as a vendor call: the vendor's box when its answer had one, otherwise the local
engine's; the eye centres come from the local engine's landmarks either way (kyc.faces.geometry).
"""

from __future__ import annotations

from kyc.faces.geometry import WHICH, Box, locate
from kyc.models import ComparisonAttempt, ImagePair
from vendors.local.engine import LocatedFace, get_engine


def locate_faces(pair_id: int) -> bool:
    """Store where the faces of pair `pair_id` are; False when there was nothing to do (already
    done, purged, gone). A duplicate message finds the work done and returns at once."""
    pair = (
        ImagePair.objects.filter(pk=pair_id, images_purged_at__isnull=True)
        .only("pk", "selfie", "reference", "face_geometry", "deciding_attempt")
        .first()
    )
    if pair is None or pair.face_geometry or not pair.selfie or not pair.reference:
        return False
    boxes = vendor_boxes(pair)
    engine = get_engine()
    geometry = {}
    for which in WHICH:
        with getattr(pair, which).open("rb") as handle:
            data = handle.read()
        try:
            ours: tuple[LocatedFace, ...] = engine.locate_bytes(data)
        except ValueError:  # unreadable for the engine: the vendor's box may still do
            ours = ()
        vendor, box = boxes.get(which, ("", None))
        location = locate(box, vendor, ours)
        geometry[which] = location.as_json() if location is not None else None
    # Not if the photos were purged meanwhile: the geometry of deleted photos is of no use.
    return bool(
        ImagePair.objects.filter(pk=pair.pk, images_purged_at__isnull=True).update(
            face_geometry=geometry
        )
    )


def vendor_boxes(pair: ImagePair) -> dict[str, tuple[str, Box]]:
    """Per photo, the vendor and box of the deciding attempt, or of the latest other attempt
    that reported one (a second opinion may have a box where the deciding vendor sent none)."""
    attempts = list(
        ComparisonAttempt.objects.filter(pair=pair)
        .only("pk", "vendor", "faces")
        .order_by("-number")
    )
    attempts.sort(key=lambda attempt: attempt.pk != pair.deciding_attempt_id)
    boxes: dict[str, tuple[str, Box]] = {}
    for which in WHICH:
        for attempt in attempts:
            box = Box.parse((attempt.faces or {}).get(which))
            if box is not None:
                boxes[which] = (attempt.vendor, box)
                break
    return boxes
