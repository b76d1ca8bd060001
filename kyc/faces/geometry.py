"""The face box and eye centres of each photo of a pair, as stored in `ImagePair.face_geometry`.

Stored shape (JSON), written once by the face work (kyc.services.faces):

    {"selfie": {"box": {"left", "top", "width", "height"}, "eyes": [[x, y], [x, y]],
                "source": "vendor:zoloz" | "ours", "eyes_estimated": false} | null,
     "reference": {...} | null}

An empty dict means the face work has not run yet; `null` for one photo means no face was found
in it, by the vendor or by us. Pixels of the submitted photo, upright (EXIF applied), like the
vendors' boxes. Geometry only: a box and two points say where a face is, not whose it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the web process reads stored geometry without loading dlib
    from vendors.local.engine import LocatedFace

Point = tuple[float, float]
WHICH = ("selfie", "reference")
OURS = "ours"

#: Where the eyes sit in a face box when no landmarks are at hand, as fractions of the box: the
#: medians over the 53 photos of shared/faces with the local engine's boxes and 5-point landmarks
#: (eye centres at 0.30 and 0.71 of the width, 5-95 % 0.24-0.36 and 0.65-0.77; 0.28 of the height,
#: 0.22-0.34). Only used to align a vendor's box in which our detector finds no face; the panel
#: says the eyes were estimated.
EYE_X = (0.30, 0.71)
EYE_Y = 0.28


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    width: int
    height: int

    @classmethod
    def parse(cls, value: Any) -> Box | None:
        """A box from stored or vendor JSON; None for anything that is not a usable box."""
        if not isinstance(value, Mapping):
            return None
        try:
            box = cls(*(int(value[key]) for key in ("left", "top", "width", "height")))
        except (KeyError, TypeError, ValueError):
            return None
        return box if box.width > 0 and box.height > 0 else None

    def as_dict(self) -> dict[str, int]:
        return {"left": self.left, "top": self.top, "width": self.width, "height": self.height}

    def overlap(self, other: Box) -> float:
        """Intersection over union: 1 for the same box, 0 for boxes that do not touch."""
        width = min(self.left + self.width, other.left + other.width) - max(self.left, other.left)
        height = min(self.top + self.height, other.top + other.height) - max(self.top, other.top)
        if width <= 0 or height <= 0:
            return 0.0
        shared = width * height
        return shared / (self.width * self.height + other.width * other.height - shared)

    def estimated_eyes(self) -> tuple[Point, Point]:
        y = self.top + EYE_Y * self.height
        return (self.left + EYE_X[0] * self.width, y), (self.left + EYE_X[1] * self.width, y)


@dataclass(frozen=True)
class FaceLocation:
    """One photo's face: its box (whose it is in `source`) and the eye centres, left first."""

    box: Box
    eyes: tuple[Point, Point]
    source: str  # "vendor:<name>" or "ours"
    eyes_estimated: bool = False  # from the box's proportions, not from landmarks

    @property
    def is_ours(self) -> bool:
        return self.source == OURS

    @property
    def vendor(self) -> str:
        return self.source.removeprefix("vendor:") if not self.is_ours else ""

    def as_json(self) -> dict[str, Any]:
        return {
            "box": self.box.as_dict(),
            "eyes": [list(self.eyes[0]), list(self.eyes[1])],
            "source": self.source,
            "eyes_estimated": self.eyes_estimated,
        }

    @classmethod
    def parse(cls, value: Any) -> FaceLocation | None:
        """A stored location, or None when it is missing or not one this code wrote."""
        if not isinstance(value, Mapping):
            return None
        box = Box.parse(value.get("box"))
        eyes = _points(value.get("eyes"))
        source = value.get("source")
        if box is None or eyes is None or not isinstance(source, str):
            return None
        return cls(box, eyes, source, bool(value.get("eyes_estimated")))


#: Vendors draw their boxes tighter or looser than dlib does, so "the same face" is any real
#: overlap, not a close one; a different face in the same photo does not overlap at all.
MATCHING_OVERLAP = 0.2


def locate(
    vendor_box: Box | None, vendor: str, ours: tuple[LocatedFace, ...]
) -> FaceLocation | None:
    """One photo's face: the vendor's box when it sent one (with the eyes of our face that
    overlaps it), otherwise our largest face; None when neither found a face."""
    if vendor_box is not None:
        match = max(ours, key=lambda face: vendor_box.overlap(Box(*face.box)), default=None)
        if match is not None and vendor_box.overlap(Box(*match.box)) >= MATCHING_OVERLAP:
            return FaceLocation(vendor_box, match.eyes, f"vendor:{vendor}")
        return FaceLocation(
            vendor_box, vendor_box.estimated_eyes(), f"vendor:{vendor}", eyes_estimated=True
        )
    if ours:
        return FaceLocation(Box(*ours[0].box), ours[0].eyes, OURS)
    return None


def stored_locations(geometry: Any) -> dict[str, FaceLocation | None] | None:
    """Each photo's location from `ImagePair.face_geometry`; None while face work has not run."""
    if not isinstance(geometry, Mapping) or not all(which in geometry for which in WHICH):
        return None
    return {which: FaceLocation.parse(geometry[which]) for which in WHICH}


def _points(value: Any) -> tuple[Point, Point] | None:
    try:
        (x0, y0), (x1, y1) = value
        points = ((float(x0), float(y0)), (float(x1), float(y1)))
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(c) for point in points for c in point) or points[0] == points[1]:
        return None
    return points
