"""Image intake and per-backend preparation against the shared face set (DESIGN §7)."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from kyc.images import (
    IMAGE_LIMITS,
    ImageRejected,
    inspect_upload,
    load_upright,
    prepare_for_backend,
)
from tests.conftest import FACES_DIR, face_bytes

BACKENDS = sorted(IMAGE_LIMITS)
BACKENDS_WITH_A_MINIMUM = sorted(
    name for name, limits in IMAGE_LIMITS.items() if limits.min_short_side or limits.min_long_side
)
BACKENDS_WITHOUT_A_MINIMUM = sorted(set(BACKENDS) - set(BACKENDS_WITH_A_MINIMUM))
NORMALIZED_INPUTS = [
    "bad/cmyk.jpg",
    "bad/grayscale.jpg",
    "bad/face_rgba.png",
    "bad/exif_rotated.jpg",
]
# JPEG segments a bare Pillow encode writes: APP0 (JFIF), DQT, SOF0, DHT, SOS. Anything else
# (APP1 EXIF/XMP, APP2 ICC, APP14 Adobe, COM) is metadata that must not reach a vendor.
BARE_JPEG_MARKERS = {0xE0, 0xDB, 0xC0, 0xC4, 0xDA}


def _photos() -> list[Path]:
    return sorted(p for p in FACES_DIR.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def _reject(data: bytes, *, backend: str | None = None, field: str = "selfie") -> ImageRejected:
    """The refusal from intake (no backend) or from preparing for `backend`."""
    attempt: Callable[[], object]
    if backend is None:
        attempt = partial(inspect_upload, data, field=field)
    else:
        attempt = partial(prepare_for_backend, data, backend, field=field)
    with pytest.raises(ImageRejected) as caught:
        attempt()
    return caught.value


def _jpeg_markers(data: bytes) -> set[int]:
    """The marker bytes of every segment before the scan data."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, position = set(), 2
    while True:
        assert data[position] == 0xFF
        marker = data[position + 1]
        markers.add(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows, no more headers
            return markers
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length


def _difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute grey-level difference of two images shrunk to 64x64 (0 = identical)."""
    small_a = a.convert("L").resize((64, 64))
    small_b = b.convert("L").resize((64, 64))
    return float(ImageStat.Stat(ImageChops.difference(small_a, small_b)).mean[0])


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# --- the awkward inputs in faces/bad ----------------------------------------------------------


@pytest.mark.parametrize("name", ["bad/not_an_image.jpg", "bad/empty.jpg"])
def test_a_file_that_is_not_an_image_is_refused_at_intake_as_not_readable(name: str) -> None:
    error = _reject(face_bytes(name), field="selfie")

    assert (error.code, error.field) == ("image_not_readable", "selfie")


def test_a_truncated_jpeg_is_refused_at_intake_as_corrupt() -> None:
    error = _reject(face_bytes("bad/truncated.jpg"), field="reference")

    assert (error.code, error.field) == ("image_corrupt", "reference")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_truncated_jpeg_is_refused_as_corrupt_when_prepared(backend: str) -> None:
    error = _reject(face_bytes("bad/truncated.jpg"), backend=backend)

    assert error.code == "image_corrupt"


def test_a_100px_photo_is_accepted_at_intake() -> None:
    info = inspect_upload(face_bytes("bad/tiny_100x100.jpg"), field="selfie")

    assert (info.format, info.width, info.height) == ("JPEG", 100, 100)


def test_only_advance_and_alibaba_have_a_minimum_size() -> None:
    assert BACKENDS_WITH_A_MINIMUM == ["advance", "alibaba"]


@pytest.mark.parametrize("backend", BACKENDS_WITH_A_MINIMUM)
def test_a_100px_photo_is_too_small_for_a_backend_with_a_minimum(backend: str) -> None:
    error = _reject(face_bytes("bad/tiny_100x100.jpg"), backend=backend, field="selfie")

    assert (error.code, error.field) == ("image_too_small", "selfie")


@pytest.mark.parametrize("backend", BACKENDS_WITHOUT_A_MINIMUM)
def test_a_100px_photo_is_prepared_unchanged_in_size_for_a_backend_without_a_minimum(
    backend: str,
) -> None:
    prepared = prepare_for_backend(face_bytes("bad/tiny_100x100.jpg"), backend)

    assert (prepared.width, prepared.height) == (100, 100)


def test_a_5000px_photo_is_accepted_at_intake() -> None:
    info = inspect_upload(face_bytes("bad/huge_5000x5000.jpg"), field="selfie")

    assert (info.width, info.height) == (5000, 5000)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_5000px_photo_is_downscaled_within_the_backend_limits(backend: str) -> None:
    limits = IMAGE_LIMITS[backend]

    prepared = prepare_for_backend(face_bytes("bad/huge_5000x5000.jpg"), backend)

    assert (prepared.source_width, prepared.source_height) == (5000, 5000)
    assert prepared.width == prepared.height  # still square
    assert prepared.width <= min(limits.target_long_side, limits.max_width, limits.max_height)
    assert len(prepared.data) <= limits.max_bytes
    assert Image.open(io.BytesIO(prepared.data)).size == (prepared.width, prepared.height)


def test_a_photo_over_the_pixel_cap_is_refused_at_intake_as_too_large(settings) -> None:
    settings.KYC_MAX_IMAGE_PIXELS = 5000 * 5000 - 1

    error = _reject(face_bytes("bad/huge_5000x5000.jpg"), field="selfie")

    assert (error.code, error.field) == ("image_too_large", "selfie")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_photo_over_the_pixel_cap_is_refused_when_prepared(settings, backend: str) -> None:
    settings.KYC_MAX_IMAGE_PIXELS = 5000 * 5000 - 1

    error = _reject(face_bytes("bad/huge_5000x5000.jpg"), backend=backend)

    assert error.code == "image_too_large"


def test_a_photo_at_the_pixel_cap_is_accepted(settings) -> None:
    settings.KYC_MAX_IMAGE_PIXELS = 5000 * 5000

    assert inspect_upload(face_bytes("bad/huge_5000x5000.jpg"), field="selfie").width == 5000


@pytest.mark.parametrize("name", NORMALIZED_INPUTS)
def test_an_awkward_but_valid_photo_is_accepted_at_intake(name: str) -> None:
    info = inspect_upload(face_bytes(name), field="selfie")

    assert info.format == ("PNG" if name.endswith(".png") else "JPEG")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NORMALIZED_INPUTS)
def test_an_awkward_photo_is_prepared_as_a_bare_rgb_jpeg(name: str, backend: str) -> None:
    prepared = prepare_for_backend(face_bytes(name), backend)
    output = Image.open(io.BytesIO(prepared.data))

    assert prepared.content_type == "image/jpeg"
    assert (output.format, output.mode) == ("JPEG", "RGB")
    assert output.size == (prepared.width, prepared.height)
    assert _jpeg_markers(prepared.data) <= BARE_JPEG_MARKERS
    assert not {"exif", "icc_profile", "comment", "adobe", "xmp"} & set(output.info)
    assert len(output.getexif()) == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_exif_camera_data_icc_profile_and_comment_are_all_dropped(backend: str) -> None:
    source = Image.open(io.BytesIO(face_bytes("df_img5.jpg")))
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"  # Make
    exif[0x0132] = "2024:01:02 03:04:05"  # DateTime
    buffer = io.BytesIO()
    source.save(buffer, format="JPEG", exif=exif, icc_profile=b"not really a profile", comment=b"x")
    assert {0xE1, 0xE2, 0xFE} <= _jpeg_markers(buffer.getvalue())  # the input does carry them

    prepared = prepare_for_backend(buffer.getvalue(), backend)

    assert _jpeg_markers(prepared.data) <= BARE_JPEG_MARKERS


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_exif_rotated_photo_comes_out_upright_like_the_original(backend: str) -> None:
    original = prepare_for_backend(face_bytes("df_img5.jpg"), backend)
    rotated = prepare_for_backend(face_bytes("bad/exif_rotated.jpg"), backend)
    original_image = Image.open(io.BytesIO(original.data))
    rotated_image = Image.open(io.BytesIO(rotated.data))

    assert (rotated.width, rotated.height) == (original.width, original.height)
    # Same pixels up to JPEG noise (measured ~0.2); the unrotated or upside-down image is ~70.
    assert _difference(rotated_image, original_image) < 5
    assert _difference(rotated_image.transpose(Image.Transpose.ROTATE_180), original_image) > 20


@pytest.mark.parametrize("orientation", range(2, 9))
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_exif_turn_or_mirror_is_applied_before_the_metadata_goes(
    backend: str, orientation: int
) -> None:
    # A photo that already fits every backend as it is: only its orientation asks for work.
    # Orientations 2-4 (mirrored, upside down) keep width and height; they were once sent as
    # stored, their EXIF stripped, so the vendor saw the face upside down or mirrored.
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.open(FACES_DIR / "df_img5.jpg").save(buffer, format="JPEG", quality=95, exif=exif)
    source = Image.open(io.BytesIO(buffer.getvalue()))
    as_stored = source.convert("RGB")
    upright = ImageOps.exif_transpose(source)

    prepared = Image.open(io.BytesIO(prepare_for_backend(buffer.getvalue(), backend).data))

    # Alibaba enlarges this photo to its minimum: compare shapes, not sizes.
    assert (prepared.width > prepared.height) == (upright.width > upright.height)
    assert _difference(prepared, upright) < 5
    if as_stored.size == upright.size:  # orientations 2-4: the wrong answer has the same shape
        assert _difference(prepared, as_stored) > 20


def test_an_exif_rotated_photo_reports_its_upright_size_everywhere() -> None:
    data = face_bytes("bad/exif_rotated.jpg")
    assert Image.open(io.BytesIO(data)).size == (512, 330)  # as stored, sideways

    info = inspect_upload(data, field="selfie")
    prepared = prepare_for_backend(data, "finauth")

    assert (info.width, info.height) == (330, 512)
    assert (prepared.source_width, prepared.source_height) == (330, 512)
    assert load_upright(data).size == (330, 512)


def test_a_transparent_png_is_flattened_onto_white() -> None:
    corner = Image.new("RGBA", (400, 400), (0, 0, 0, 0))  # fully transparent black

    prepared = prepare_for_backend(_png(corner), "finauth")

    corner_pixels = Image.open(io.BytesIO(prepared.data)).crop((0, 0, 10, 10))
    assert min(ImageStat.Stat(corner_pixels).mean) > 245


# --- format sniffing and byte limits ----------------------------------------------------------


def test_the_format_comes_from_the_bytes_not_the_file_name(tmp_path: Path) -> None:
    misnamed = tmp_path / "photo.jpg"
    misnamed.write_bytes(face_bytes("fr_alex-lacamoire.png"))

    info = inspect_upload(misnamed.read_bytes(), field="selfie")

    assert (info.format, info.content_type) == ("PNG", "image/png")
    assert prepare_for_backend(misnamed.read_bytes(), "finauth").content_type == "image/jpeg"


def test_a_gif_is_refused_as_an_unsupported_format() -> None:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(face_bytes("df_img5.jpg"))).save(buffer, format="GIF")

    error = _reject(buffer.getvalue(), field="reference")

    assert (error.code, error.field) == ("unsupported_format", "reference")
    assert "GIF" in error.message


def test_a_gif_cannot_be_prepared_for_a_backend_either() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (600, 600)).save(buffer, format="GIF")

    assert _reject(buffer.getvalue(), backend="finauth").code == "unsupported_format"


def test_an_upload_over_the_byte_limit_is_refused_before_it_is_decoded(
    settings, monkeypatch
) -> None:
    data = face_bytes("df_img5.jpg")
    settings.KYC_MAX_IMAGE_BYTES = len(data) - 1

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("the image was opened")

    monkeypatch.setattr(Image, "open", no_decoding)

    error = _reject(data, field="selfie")

    assert (error.code, error.field) == ("image_too_large", "selfie")


def test_bytes_over_the_limit_are_too_large_even_when_they_are_not_an_image(settings) -> None:
    settings.KYC_MAX_IMAGE_BYTES = 1000

    assert _reject(b"not an image at all" * 100).code == "image_too_large"


def test_an_upload_exactly_at_the_byte_limit_is_accepted(settings) -> None:
    data = face_bytes("df_img5.jpg")
    settings.KYC_MAX_IMAGE_BYTES = len(data)

    assert inspect_upload(data, field="selfie").size == len(data)


def test_intake_reports_the_size_and_sha256_of_the_bytes_as_sent() -> None:
    import hashlib

    data = face_bytes("df_img5.jpg")

    info = inspect_upload(data, field="selfie")

    assert (info.size, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())


# --- every real photo, every backend ----------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_photo_is_prepared_within_the_backend_limits(faces_dir: Path, backend: str) -> None:
    limits = IMAGE_LIMITS[backend]
    photos = _photos()
    assert len(photos) == 53

    for photo in photos:
        data = photo.read_bytes()
        upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).size

        prepared = prepare_for_backend(data, backend)

        output = Image.open(io.BytesIO(prepared.data))
        long_side, short_side = max(output.size), min(output.size)
        assert output.format == "JPEG", photo.name
        assert output.size == (prepared.width, prepared.height), photo.name
        assert len(prepared.data) <= limits.max_bytes, photo.name
        assert long_side <= limits.max_width, photo.name
        assert short_side <= limits.max_height, photo.name
        assert short_side >= limits.min_short_side, photo.name
        assert long_side >= limits.min_long_side, photo.name
        assert (prepared.source_width, prepared.source_height) == upright, photo.name
        # Same shape as the source (rounding aside): nothing is stretched or cropped.
        assert abs(output.width / output.height - upright[0] / upright[1]) < 0.01, photo.name


@pytest.mark.parametrize("backend", BACKENDS)
def test_draft_decoding_gives_the_same_picture_as_a_full_decode(backend: str) -> None:
    data = face_bytes("fr_obama.jpg")

    fast = prepare_for_backend(data, backend)
    full = prepare_for_backend(data, backend, draft=False)

    assert (fast.width, fast.height) == (full.width, full.height)
    assert _difference(Image.open(io.BytesIO(fast.data)), Image.open(io.BytesIO(full.data))) < 3


def test_a_photo_too_narrow_for_alibaba_at_any_scale_is_refused_as_too_small() -> None:
    # 2000x300: reaching Alibaba's 480 px short side would take the long side to 3200 > 1920.
    error = _reject(_png(Image.new("RGB", (2000, 300), "grey")), backend="alibaba")

    assert error.code == "image_too_small"


def test_a_square_photo_for_alibaba_stays_within_1920x1080() -> None:
    prepared = prepare_for_backend(_png(Image.new("RGB", (1500, 1500), "grey")), "alibaba")

    assert (prepared.width, prepared.height) == (1080, 1080)


def test_a_jpeg_that_already_fits_keeps_its_pixels_exactly_and_loses_its_metadata():
    from kyc.images import strip_jpeg_metadata

    source = Image.new("RGB", (640, 800), (120, 90, 60))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2026:01:01 10:00:00"  # DateTime
    buffer = io.BytesIO()
    source.save(buffer, format="JPEG", quality=85, exif=exif, comment=b"GPS 52.1,4.3")
    original = buffer.getvalue()

    prepared = prepare_for_backend(original, "advance")
    assert prepared.data == strip_jpeg_metadata(original)
    assert b"PhoneMaker" not in prepared.data
    assert b"GPS 52.1" not in prepared.data
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(prepared.data)) as after:
        assert before.tobytes() == after.tobytes()
        assert "exif" not in after.info
