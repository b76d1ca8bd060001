"""The alignment maths: eye points -> angle, scale and the crop's place in the photo."""

from __future__ import annotations

import math

import pytest
from PIL import Image, ImageDraw

from kyc.faces.alignment import CROP_SIZE, EYE_DISTANCE, EYE_MIDPOINT, aligned_face, alignment_for
from kyc.faces.geometry import Box, FaceLocation, locate
from vendors.local.engine import LocatedFace

#: Where every crop puts the eye centres: level, EYE_DISTANCE apart around EYE_MIDPOINT.
LEFT_EYE_IN_CROP = (179.0, 272.0)
RIGHT_EYE_IN_CROP = (333.0, 272.0)


def test_the_crop_constants_put_the_eyes_at_179_and_333_on_line_272_of_a_512_by_640_crop():
    assert CROP_SIZE == (512, 640)
    assert (EYE_MIDPOINT[0] - EYE_DISTANCE / 2, EYE_MIDPOINT[1]) == LEFT_EYE_IN_CROP
    assert (EYE_MIDPOINT[0] + EYE_DISTANCE / 2, EYE_MIDPOINT[1]) == RIGHT_EYE_IN_CROP


def test_level_eyes_77_px_apart_are_scaled_by_two_without_turning():
    alignment = alignment_for(((0.0, 0.0), (77.0, 0.0)))

    assert alignment.angle == 0.0
    assert alignment.scale == 2.0
    assert alignment.centre == (38.5, 0.0)
    assert alignment.photo_corners() == (
        (-89.5, -136.0),
        (166.5, -136.0),
        (166.5, 184.0),
        (-89.5, 184.0),
    )


def test_eyes_on_a_3_4_5_slope_are_turned_back_by_53_13_degrees_and_halved():
    # 308 px apart (twice the crop's eye distance), the right eye 246.4 px lower.
    alignment = alignment_for(((100.0, 50.0), (284.8, 296.4)))

    assert alignment.angle == pytest.approx(math.degrees(math.atan2(4, 3)))
    assert alignment.angle == pytest.approx(53.130102)
    assert alignment.scale == pytest.approx(0.5)
    assert alignment.centre == pytest.approx((192.4, 173.2))
    assert alignment.to_photo(*LEFT_EYE_IN_CROP) == pytest.approx((100.0, 50.0))
    assert alignment.to_photo(*RIGHT_EYE_IN_CROP) == pytest.approx((284.8, 296.4))
    # The crop's top-left corner: 256 px left and 272 px up of the eyes' midpoint in the crop,
    # doubled and turned by the eye line's angle.
    assert alignment.photo_corners()[0] == pytest.approx(
        (192.4 - 512 * 0.6 + 544 * 0.8, 173.2 - 512 * 0.8 - 544 * 0.6)
    )


def test_the_left_eye_is_the_one_further_left_whatever_the_order_of_the_vendor_points():
    tilted = alignment_for(((0.0, 10.0), (100.0, 0.0)))

    assert tilted.angle == pytest.approx(-5.710593)
    assert tilted.scale == pytest.approx(154 / math.hypot(100, 10))


def eye_chart(size: tuple[int, int], left: tuple[int, int], right: tuple[int, int]) -> Image.Image:
    """A white photo with a red disc where the left eye is and a blue one for the right."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for (x, y), colour in ((left, "red"), (right, "blue")):
        draw.ellipse((x - 12, y - 12, x + 12, y + 12), fill=colour)
    return image


def dominant(pixel: tuple[int, int, int]) -> str:
    red, _green, blue = pixel
    return "red" if red > 200 and blue < 80 else "blue" if blue > 200 and red < 80 else "other"


def location(left: tuple[float, float], right: tuple[float, float]) -> FaceLocation:
    return FaceLocation(Box(0, 0, 10, 10), (left, right), "ours")


def test_a_tilted_face_comes_out_with_its_eyes_on_the_crops_eye_line():
    photo = eye_chart((900, 700), (300, 420), (520, 330))

    crop = aligned_face(photo, location((300, 420), (520, 330)), (900, 700))

    assert crop.size == (512, 640)
    assert dominant(crop.getpixel((179, 272))) == "red"
    assert dominant(crop.getpixel((333, 272))) == "blue"
    assert dominant(crop.getpixel((256, 272))) == "other"


def test_eye_points_of_the_submitted_photo_are_scaled_to_a_downscaled_copy_of_it():
    submitted = (1800, 1400)
    downscaled = eye_chart((900, 700), (300, 420), (520, 330))

    crop = aligned_face(downscaled, location((600, 840), (1040, 660)), submitted)

    assert dominant(crop.getpixel((179, 272))) == "red"
    assert dominant(crop.getpixel((333, 272))) == "blue"


def test_outside_the_photo_the_crop_is_grey():
    photo = eye_chart((200, 200), (20, 20), (60, 20))

    crop = aligned_face(photo, location((20, 20), (60, 20)), (200, 200))

    assert crop.getpixel((0, 0)) == (128, 128, 128)


# --- which box, which eyes --------------------------------------------------------------------

OUR_FACE = LocatedFace(box=(100, 100, 200, 200), eyes=((160.0, 160.0), (240.0, 158.0)))


def test_the_vendors_box_is_kept_with_the_eyes_of_our_face_inside_it():
    vendor_box = Box(120, 110, 170, 190)

    found = locate(vendor_box, "advance", (OUR_FACE,))

    assert found == FaceLocation(vendor_box, OUR_FACE.eyes, "vendor:advance", False)


def test_a_vendor_box_on_a_face_we_did_not_find_gets_eyes_estimated_from_its_proportions():
    vendor_box = Box(500, 200, 100, 100)

    found = locate(vendor_box, "finauth", (OUR_FACE,))

    assert found == FaceLocation(
        vendor_box, ((530.0, 228.0), (571.0, 228.0)), "vendor:finauth", True
    )


def test_without_a_vendor_box_our_largest_face_is_used_and_marked_ours():
    small = LocatedFace(box=(400, 400, 50, 50), eyes=((410.0, 415.0), (440.0, 415.0)))

    found = locate(None, "zoloz", (OUR_FACE, small))

    assert found == FaceLocation(Box(100, 100, 200, 200), OUR_FACE.eyes, "ours", False)


def test_no_box_from_anyone_is_no_location():
    assert locate(None, "alibaba", ()) is None


BOX = {"left": 1, "top": 1, "width": 5, "height": 5}


@pytest.mark.parametrize(
    "stored",
    [
        {"box": {**BOX, "width": 0}, "eyes": [[1, 1], [3, 1]], "source": "ours"},
        {"box": BOX, "eyes": [[1, 1], [1, 1]], "source": "ours"},
        {"box": BOX, "eyes": [[1, "x"], [3, 1]], "source": "ours"},
        {"box": BOX, "eyes": [[1, 1], [3, 1]]},
        "ours",
    ],
)
def test_a_stored_location_that_cannot_be_aligned_reads_as_none(stored):
    assert FaceLocation.parse(stored) is None
