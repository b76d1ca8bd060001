"""Image intake and per-backend preparation (DESIGN §7).

Two steps, both cheap on purpose:

* `inspect_upload` runs when a client submits a photo. It sniffs the real format from the bytes
  (never the file name), refuses byte and pixel counts over the caps *before* decoding, then
  decodes at reduced scale (JPEG draft mode) to prove the file is whole.
* `prepare_for_backend` runs just before a vendor call. It decodes at the smallest scale that
  still meets the vendor's size, applies the EXIF orientation, converts to RGB, drops every bit of
  metadata and re-encodes a JPEG within that vendor's documented limits (`IMAGE_LIMITS`).
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from kyc.errors import ApplicationError
from vendors.base import PreparedImage
from vendors.imaging import to_rgb

ACCEPTED_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
}
#: A small photo may be enlarged this much to meet a vendor's minimum; smaller ones are refused,
#: because enlarging cannot add the detail a vendor's minimum exists to guarantee.
MAX_UPSCALE = 2.0
_ROTATED_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that swap width and height


@dataclass(frozen=True)
class ImageLimits:
    """One backend's documented input limits, and the size we aim for below them."""

    max_bytes: int
    # Of the upright image, orientation-free: `max_width` bounds the long side and `max_height`
    # the short side (`_target_size` swaps them for portraits).
    max_width: int
    max_height: int
    min_short_side: int = 0
    min_long_side: int = 0
    target_long_side: int = 1600  # large enough for any face comparison, small on the wire
    source: str = ""


IMAGE_LIMITS: dict[str, ImageLimits] = {
    # FinAuth: each side <= 4096 px, request body <= 10 MB for both images (VENDOR-PROTOCOLS §1.6).
    "finauth": ImageLimits(max_bytes=4_500_000, max_width=4096, max_height=4096, source="§1.6"),
    # ADVANCE: under 2 MB, between 256x256 and 4096x4096 (§2.4).
    "advance": ImageLimits(
        max_bytes=2 * 1024 * 1024 - 1,
        max_width=4096,
        max_height=4096,
        min_short_side=256,
        source="§2.4",
    ),
    # ZOLOZ: 5 MB for the whole request, images travel as base64 (4/3 larger) (§3, open question 6).
    "zoloz": ImageLimits(max_bytes=1_800_000, max_width=4096, max_height=4096, source="§3.6"),
    # Alibaba: 1 MB including base64 growth (so ~0.6 MB raw), 640x480 up to 1920x1080 (§4.5);
    # the vendor doc gives both as height x width, so the long side is at most 1920 and the short
    # side at most 1080 (a 1280x1280 square is out of range).
    "alibaba": ImageLimits(
        max_bytes=600_000,
        max_width=1920,
        max_height=1080,
        min_short_side=480,
        min_long_side=640,
        target_long_side=1280,
        source="§4.5",
    ),
    # The local engine detects on a 1024 px image (LOCAL-ENGINE.md §2).
    "local": ImageLimits(
        max_bytes=10_000_000, max_width=1024, max_height=1024, target_long_side=1024
    ),
}


class ImageRejected(ApplicationError):
    """A client's image we cannot use, with a machine code and the field it came from."""

    code = "image_rejected"

    def __init__(self, code: str, message: str, field: str = "") -> None:
        super().__init__(message, code=code, field=field)


@dataclass(frozen=True)
class ImageInfo:
    """What intake learnt about an accepted upload (the bytes themselves are kept as sent)."""

    format: str
    content_type: str
    width: int  # upright, after the EXIF orientation
    height: int
    size: int
    sha256: str


def inspect_upload(data: bytes, *, field: str) -> ImageInfo:
    max_bytes: int = settings.KYC_MAX_IMAGE_BYTES
    if len(data) > max_bytes:
        raise ImageRejected(
            "image_too_large", f"{field} is {len(data)} bytes; the limit is {max_bytes}.", field
        )
    image = _open(data, field)
    width, height = _upright_size(image)
    _verify_whole(image, field)
    return ImageInfo(
        format=str(image.format),
        content_type=ACCEPTED_FORMATS[str(image.format)],
        width=width,
        height=height,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def prepare_for_backend(
    data: bytes, backend: str, *, field: str = "image", draft: bool = True
) -> PreparedImage:
    """The image re-encoded within `backend`'s limits; `ImageRejected` if it cannot be.

    Two shortcuts, both skipped with `draft=False` (which exists so bench/images.py can measure
    what they save): a JPEG that already fits, is upright and RGB keeps its compressed data and
    only loses its metadata segments; a larger JPEG is decoded at 1/2, 1/4 or 1/8 scale.
    """
    limits = IMAGE_LIMITS[backend]
    image = _open(data, field)
    source_w, source_h = _upright_size(image)
    target_w, target_h = _target_size(source_w, source_h, limits, backend, field)
    if (
        draft
        and image.format == "JPEG"
        and image.mode == "RGB"
        and (target_w, target_h) == image.size
        and _orientation(image) == 1  # stripping the EXIF drops any turn or mirror it asks for
        and len(data) <= limits.max_bytes
    ):
        stripped = strip_jpeg_metadata(data)
        if stripped is not None:
            return PreparedImage(
                data=stripped,
                content_type="image/jpeg",
                width=target_w,
                height=target_h,
                source_width=source_w,
                source_height=source_h,
            )
    if draft and image.format == "JPEG":
        # Decode straight at 1/2, 1/4 or 1/8 scale when that still covers the target: the
        # single biggest saving for phone photos (bench/images.py).
        draft_size = (target_h, target_w) if _is_rotated(image) else (target_w, target_h)
        image.draft("RGB", draft_size)
    try:
        upright = ImageOps.exif_transpose(image)
        rgb = to_rgb(upright)
    except (OSError, ValueError) as error:
        raise ImageRejected(
            "image_corrupt", f"{field} could not be decoded: {error}.", field
        ) from error
    if rgb.size != (target_w, target_h):
        rgb = rgb.resize((target_w, target_h), Image.Resampling.LANCZOS, reducing_gap=2.0)
    encoded, rgb = _encode_within(rgb, limits, backend, field)
    return PreparedImage(
        data=encoded,
        content_type="image/jpeg",
        width=rgb.width,
        height=rgb.height,
        source_width=source_w,
        source_height=source_h,
    )


#: JPEG segments that describe the photo rather than encode it: EXIF and XMP (APP1, with GPS,
#: device and time), ICC profiles (APP2), APP3–APP13, APP15 and comments. APP0 (JFIF) and APP14
#: (Adobe: says whether the data is YCbCr) are needed to decode the pixels correctly.
_METADATA_MARKERS = {0xE1, 0xE2, *range(0xE3, 0xEE), 0xEF, 0xFE}


def strip_jpeg_metadata(data: bytes) -> bytes | None:
    """The same JPEG without metadata segments, byte-identical image data; None if unparsable."""
    if data[:2] != b"\xff\xd8":
        return None
    # The kept pieces are joined once at the end: the scan data is most of the file, and
    # growing a bytearray and then copying it out again copied it twice more.
    kept = [memoryview(data)[:2]]
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xDA:  # start of scan: the entropy-coded data (and any later scans) follow
            if data.rstrip(b"\x00")[-2:] != b"\xff\xd9":
                return None  # no end-of-image marker: cut short, let the decoder say so
            kept.append(memoryview(data)[position:])
            return b"".join(kept)
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        end = position + 2 + length
        if length < 2 or end > len(data):
            return None
        if marker not in _METADATA_MARKERS:
            kept.append(memoryview(data)[position:end])
        position = end
    return None


def check_fits_backend(info: ImageInfo, backend: str, *, field: str) -> None:
    """Refuse at intake an image that `backend` could never accept (e.g. below its minimum)."""
    _target_size(info.width, info.height, IMAGE_LIMITS[backend], backend, field)


def load_upright(data: bytes, *, max_side: int | None = None) -> Image.Image:
    """The image upright in RGB with no metadata (for display and the local engine)."""
    image = _open(data, "image")
    if max_side and image.format == "JPEG":
        image.draft("RGB", (max_side, max_side))
    rgb = to_rgb(ImageOps.exif_transpose(image))
    if max_side and max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return rgb


# --- internals ---------------------------------------------------------------------------------


def _open(data: bytes, field: str) -> Image.Image:
    if not data:
        raise ImageRejected("image_not_readable", f"{field} is empty.", field)
    max_pixels: int = settings.KYC_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejected(
            "image_too_large", f"{field} has too many pixels (limit {max_pixels}).", field
        ) from error
    except UnidentifiedImageError as error:
        raise ImageRejected(
            "image_not_readable", f"{field} is not an image we can read.", field
        ) from error
    except OSError as error:
        raise ImageRejected("image_corrupt", f"{field} is damaged: {error}.", field) from error
    if image.format not in ACCEPTED_FORMATS:
        raise ImageRejected(
            "unsupported_format",
            f"{field} is {image.format}; send JPEG or PNG (WebP and BMP also work).",
            field,
        )
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected(
            "image_too_large",
            f"{field} is {width}x{height} pixels; the limit is {max_pixels} pixels.",
            field,
        )
    return image


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8; 1 when absent or unreadable, as `exif_transpose` treats it)."""
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:
        return 1


def _is_rotated(image: Image.Image) -> bool:
    return _orientation(image) in _ROTATED_ORIENTATIONS


def _upright_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    return (height, width) if _is_rotated(image) else (width, height)


def _verify_whole(image: Image.Image, field: str) -> None:
    """Decode everything once, at the smallest scale Pillow offers, to catch truncation."""
    if image.format == "JPEG":
        image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageRejected(
            "image_corrupt", f"{field} is damaged or cut off and cannot be decoded.", field
        ) from error


def _target_size(
    width: int, height: int, limits: ImageLimits, backend: str, field: str
) -> tuple[int, int]:
    long_side, short_side = max(width, height), min(width, height)
    scale = min(1.0, limits.target_long_side / long_side)
    max_w, max_h = (
        (limits.max_width, limits.max_height)
        if width >= height
        else (limits.max_height, limits.max_width)
    )
    largest = min(max_w / width, max_h / height)
    scale = min(scale, largest)
    needed = max(
        limits.min_short_side / short_side if limits.min_short_side else 0.0,
        limits.min_long_side / long_side if limits.min_long_side else 0.0,
    )
    if needed > scale:
        if needed > MAX_UPSCALE:
            raise ImageRejected(
                "image_too_small",
                f"{field} is {width}x{height} pixels, below the {backend} minimum of "
                f"{limits.min_short_side or limits.min_long_side} px.",
                field,
            )
        if needed > largest * (1 + 1e-9):
            # A long, thin image: its short side reaches the minimum only once the long side
            # is past the maximum, so no size satisfies the vendor.
            raise ImageRejected(
                "image_too_small",
                f"{field} is {width}x{height} pixels, too narrow to fit the {backend} limits "
                "at any scale.",
                field,
            )
        scale = needed
    # ceil() keeps an enlarged image at or above the minimum; the clamp stops float error
    # (4096 / 5000 * 5000 > 4096) from taking a shrunk one a pixel past the maximum.
    target_w = min(max_w, max(1, math.ceil(width * scale)))
    target_h = min(max_h, max(1, math.ceil(height * scale)))
    return target_w, target_h


def _encode_within(
    image: Image.Image, limits: ImageLimits, backend: str, field: str
) -> tuple[bytes, Image.Image]:
    """JPEG bytes under `limits.max_bytes`: lower the quality first, then the size."""
    # Pillow's JPEG encoder falls back to `image.info["comment"]`, which convert() and resize()
    # carry over from the upload, so a client's COM marker would reach the vendor.
    image.info = {}
    while True:
        for quality in (90, 82, 72):
            buffer = io.BytesIO()
            # No exif=, icc_profile= or comment: the output carries no metadata at all.
            image.save(buffer, format="JPEG", quality=quality, optimize=False)
            if buffer.tell() <= limits.max_bytes:
                return buffer.getvalue(), image
        width, height = max(1, int(image.width * 0.8)), max(1, int(image.height * 0.8))
        if min(width, height) < limits.min_short_side or max(width, height) < limits.min_long_side:
            # Shrinking further would break the vendor's minimum instead of its byte limit
            # (only pathological noise-like images get here).
            raise ImageRejected(
                "image_too_large",
                f"{field} cannot be compressed under {limits.max_bytes} bytes at the {backend} "
                "minimum size.",
                field,
            )
        image = image.resize((width, height), Image.Resampling.LANCZOS)
