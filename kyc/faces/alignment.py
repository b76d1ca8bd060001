"""Both faces of a pair at the same size, eyes level: the maths, and the crop made from it.

A crop is `CROP_SIZE` pixels with the midpoint of the eyes at `EYE_MIDPOINT` and the eyes
`EYE_DISTANCE` apart on a horizontal line, so two faces can be compared feature by feature and
overlaid. The crop is made in memory from the decrypted photo for one response and never stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from kyc.faces.geometry import FaceLocation, Point

#: Portrait, 4:5: the whole face with hair and chin, and room to pan.
CROP_SIZE = (512, 640)
#: About 30 % of the crop's width between the eye centres: the local engine's face boxes are 2.4
#: eye distances wide (kyc.faces.geometry.EYE_X), so the box takes about 370 of the 512 px and
#: sits from y = 167 to 542 (its eyes at 0.28 of its height), leaving room for hair and chin.
EYE_DISTANCE = 154.0
EYE_MIDPOINT = (256.0, 272.0)
#: Outside the photo: a neutral grey, so a face near the edge shows where the photo ends.
FILL = (128, 128, 128)


@dataclass(frozen=True)
class Alignment:
    """How one photo maps onto the crop: turned by `angle`, scaled by `scale` about `centre`.

    `angle` is the slope of the eye line in the photo in degrees (y downwards, so positive means
    the eye further right sits lower); the crop turns the photo back by it. `scale` is crop
    pixels per photo pixel; `centre` is the midpoint of the eyes in the photo.
    """

    angle: float
    scale: float
    centre: Point

    def to_photo(self, x: float, y: float) -> Point:
        """Where crop pixel (x, y) comes from in the photo."""
        a, b, c, d, e, f = self.affine()
        return a * x + b * y + c, d * x + e * y + f

    def affine(self) -> tuple[float, float, float, float, float, float]:
        """The crop -> photo mapping in the six coefficients PIL's AFFINE transform takes."""
        radians = math.radians(self.angle)
        cos, sin = math.cos(radians) / self.scale, math.sin(radians) / self.scale
        mx, my = EYE_MIDPOINT
        cx, cy = self.centre
        return cos, -sin, cx - cos * mx + sin * my, sin, cos, cy - sin * mx - cos * my

    def photo_corners(self) -> tuple[Point, Point, Point, Point]:
        """The crop's corners in the photo (top left, top right, bottom right, bottom left)."""
        width, height = CROP_SIZE
        return (
            self.to_photo(0, 0),
            self.to_photo(width, 0),
            self.to_photo(width, height),
            self.to_photo(0, height),
        )


def alignment_for(eyes: tuple[Point, Point]) -> Alignment:
    """The alignment that puts these eye centres (the one further left first) level,
    `EYE_DISTANCE` apart, around `EYE_MIDPOINT`."""
    (x0, y0), (x1, y1) = eyes
    dx, dy = x1 - x0, y1 - y0
    return Alignment(
        angle=math.degrees(math.atan2(dy, dx)),
        scale=EYE_DISTANCE / math.hypot(dx, dy),
        centre=((x0 + x1) / 2, (y0 + y1) / 2),
    )


def aligned_face(
    photo: Image.Image, location: FaceLocation, photo_size: tuple[int, int]
) -> Image.Image:
    """The crop of `location`'s face out of `photo` (RGB).

    `location` is in pixels of the photo as submitted (`photo_size`, upright); `photo` may be a
    downscaled copy of it, and the eye points are scaled to match.
    """
    factor = photo.width / photo_size[0]
    (x0, y0), (x1, y1) = location.eyes
    alignment = alignment_for(((x0 * factor, y0 * factor), (x1 * factor, y1 * factor)))
    return photo.transform(
        CROP_SIZE,
        Image.Transform.AFFINE,
        data=alignment.affine(),
        resample=Image.Resampling.BICUBIC,
        fillcolor=FILL,
    )
