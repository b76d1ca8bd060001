"""The local face engine: dlib HOG detection, 5-point alignment, ResNet descriptor.

This follows the recipe measured in LOCAL-ENGINE.md (§2 pipeline, §5 speed, §6 awkward inputs,
§7 score curve, §9 recommendations). It depends only on dlib (the `dlib-bin` wheel), numpy,
Pillow and the model files shipped by `face_recognition_models`; nothing is downloaded.

Thread safety: one engine per process, shared by all threads, with a lock around every dlib call.
The vendor sandboxes are `ThreadingHTTPServer`s that start a new thread per connection, so
per-thread instances would reload the 32 MB of models (0.34 s, §5) on nearly every request and
hold a copy per live thread. dlib's Python objects are not documented as thread-safe, and dlib
runs single-threaded anyway (§5: "Run one worker per core"), so serialising the dlib work costs
no throughput on a core; decoding and resizing (Pillow) stay outside the lock and overlap.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlib
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vendors.imaging import to_rgb
from vendors.local import consts

#: Score curve of LOCAL-ENGINE.md §7: (distance, score) anchors, linear in between.
ANCHORS: tuple[tuple[float, float], ...] = (
    (0.00, 100.0),
    (0.40, 90.0),
    (0.50, 80.0),
    (0.55, 70.0),
    (0.60, 60.0),
    (0.70, 30.0),
    (0.80, 10.0),
    (0.90, 0.0),
)

Box = tuple[int, int, int, int]  # left, top, width, height
_ROTATED_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that swap width and height


@dataclass(frozen=True)
class DetectedFace:
    """One face. `box` is in pixels of the decoded upright image (the one the caller gave)."""

    box: Box
    descriptor: np.ndarray = field(repr=False, compare=False)  # 128 floats
    confidence: float = 0.0  # HOG detection score; higher is more face-like
    detected_size: int = 0  # shorter side of the box in pixels of the image the detector saw
    upsample: int = 0  # 0, or 1 when found only on the retry (a small face, §6)


@dataclass(frozen=True)
class FaceAnalysis:
    width: int  # the decoded upright image
    height: int
    faces: tuple[DetectedFace, ...]  # largest first
    detection_width: int = 0  # the (possibly downscaled) image the detector ran on
    detection_height: int = 0


@dataclass(frozen=True)
class LocatedFace:
    """Where one face is, for showing it (no descriptor: nothing here identifies anyone).

    `eyes` are the centres of the two eyes, the one further left in the image first, from the
    5-point landmarks (each eye is the midpoint of its two corner points). Pixels of the decoded
    upright image, like `box`.
    """

    box: Box
    eyes: tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class FaceDetection:
    """Detection only (no descriptors): what pre-flight checks need."""

    width: int
    height: int
    boxes: tuple[Box, ...]  # largest first, in pixels of the decoded upright image
    upsample: int


def model_dir() -> Path:
    """The face_recognition_models package folder, found without importing it.

    Its `__init__` imports `pkg_resources`, which new setuptools and Python 3.12+ venvs no longer
    provide (LOCAL-ENGINE.md §1), so only its location is looked up.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models is not installed; the local engine needs it.")
    return Path(next(iter(spec.submodule_search_locations)))


class FaceEngine:
    """Loaded once per process (`get_engine()`); safe to share between threads."""

    def __init__(self, models: Path | None = None) -> None:
        models = models or model_dir()
        started = time.perf_counter()
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(models / consts.SHAPE_PREDICTOR_FILE))
        self._recognizer = dlib.face_recognition_model_v1(
            str(models / consts.RECOGNITION_MODEL_FILE)
        )
        self.load_seconds = time.perf_counter() - started
        self._lock = threading.Lock()

    @property
    def settings(self) -> dict[str, Any]:
        """What a reviewer needs to reproduce a score."""
        return {
            "detector": "dlib HOG",
            "landmarks": "5-point",
            "descriptor": "dlib_face_recognition_resnet_model_v1",
            "max_side": consts.MAX_SIDE,
            "upsample": [consts.UPSAMPLE_FIRST, consts.UPSAMPLE_RETRY],
            "num_jitters": consts.NUM_JITTERS,
            "dlib": str(getattr(dlib, "__version__", "")),
        }

    # --- public API ------------------------------------------------------------------------

    def analyze_bytes(self, data: bytes) -> FaceAnalysis:
        """Decode (EXIF applied, RGB) and analyse; ValueError for an unusable image."""
        image, source_size = decode(data)
        return self._analyze(image, source_size)

    def analyze(self, image: Image.Image) -> FaceAnalysis:
        """Analyse an already upright image (any mode); boxes come back in its pixels."""
        return self._analyze(_as_rgb(image), image.size)

    def detect_bytes(self, data: bytes) -> FaceDetection:
        """Face boxes only, no descriptors: cheaper, for pre-flight checks."""
        image, source_size = decode(data)
        return self.detect(image, source_size)

    def detect(
        self, image: Image.Image, source_size: tuple[int, int] | None = None
    ) -> FaceDetection:
        source_size = source_size or image.size
        array, scale = _detection_array(_as_rgb(image), source_size)
        rects, _scores, upsample = self._find_faces(array)
        boxes = tuple(_source_box(r, scale, source_size) for r in rects)
        return FaceDetection(source_size[0], source_size[1], boxes, upsample)

    def locate_bytes(self, data: bytes) -> tuple[LocatedFace, ...]:
        """Boxes and eye centres of every face, largest first; ValueError for an unusable image."""
        image, source_size = decode(data)
        array, scale = _detection_array(image, source_size)
        rects, _scores, _upsample = self._find_faces(array)
        located = []
        for rect in rects:
            with self._lock:
                shape = self._predictor(array, rect)
            located.append(
                LocatedFace(_source_box(rect, scale, source_size), _eye_centres(shape, scale))
            )
        return tuple(located)

    # --- internals -------------------------------------------------------------------------

    def _analyze(self, rgb: Image.Image, source_size: tuple[int, int]) -> FaceAnalysis:
        array, scale = _detection_array(rgb, source_size)
        rects, scores, upsample = self._find_faces(array)
        faces: list[DetectedFace] = []
        for rect, score in zip(rects, scores, strict=True):
            with self._lock:
                shape = self._predictor(array, rect)
                descriptor = self._recognizer.compute_face_descriptor(
                    array, shape, consts.NUM_JITTERS
                )
            faces.append(
                DetectedFace(
                    box=_source_box(rect, scale, source_size),
                    descriptor=np.array(descriptor, dtype=np.float64),
                    confidence=round(float(score), 4),
                    detected_size=min(_clipped(rect, array)[2:]),
                    upsample=upsample,
                )
            )
        return FaceAnalysis(
            source_size[0], source_size[1], tuple(faces), array.shape[1], array.shape[0]
        )

    def _find_faces(self, array: np.ndarray) -> tuple[list[Any], list[float], int]:
        """HOG without upsampling, then once with it if nothing was found (§6, §9.3)."""
        for upsample in (consts.UPSAMPLE_FIRST, consts.UPSAMPLE_RETRY):
            with self._lock:
                rects, scores, _kinds = self._detector.run(array, upsample, 0.0)
            if len(rects):
                order = sorted(range(len(rects)), key=lambda i: rects[i].area(), reverse=True)
                return [rects[i] for i in order], [float(scores[i]) for i in order], upsample
        return [], [], consts.UPSAMPLE_RETRY


_engine: FaceEngine | None = None
_engine_lock = threading.Lock()


def get_engine() -> FaceEngine:
    """The process-wide engine, loaded on first use (double-checked so threads load it once)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = FaceEngine()
    return _engine


def distance(first: Sequence[float] | np.ndarray, second: Sequence[float] | np.ndarray) -> float:
    """Euclidean distance between two descriptors; dlib calls <= 0.6 the same person (§2)."""
    return float(
        np.linalg.norm(np.asarray(first, dtype=np.float64) - np.asarray(second, dtype=np.float64))
    )


def similarity(d: float) -> float:
    """0-100 score from a distance by the piecewise-linear curve of §7 (not a probability)."""
    if d <= ANCHORS[0][0]:
        return ANCHORS[0][1]
    for (d0, s0), (d1, s1) in itertools.pairwise(ANCHORS):
        if d <= d1:
            return s0 + (s1 - s0) * (d - d0) / (d1 - d0)
    return ANCHORS[-1][1]


def decode(data: bytes, *, max_side: int = consts.MAX_SIDE) -> tuple[Image.Image, tuple[int, int]]:
    """An upright RGB image at most `max_side` (roughly, see below) and the full upright size.

    JPEGs are decoded straight at 1/2-1/8 scale with `draft` (the 5000x5000 image: 0.03 s instead
    of a full decode, §5); the exact downscale to `max_side` happens in `_detection_array`. Pixel
    counts over `consts.MAX_PIXELS` are refused from the header, before any decoding (§5, §9.2).
    Every Pillow failure (§6: UnidentifiedImageError, OSError for truncation, decompression
    bombs) becomes one ValueError.
    """
    if not data:
        raise ValueError("The image is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > consts.MAX_PIXELS:
                raise ValueError(
                    f"The image is {width}x{height} pixels; the limit is {consts.MAX_PIXELS}."
                )
            rotated = _orientation(image) in _ROTATED_ORIENTATIONS
            if image.format == "JPEG":
                image.draft("RGB", (max_side, max_side))
            upright = ImageOps.exif_transpose(image)
            rgb = to_rgb(upright)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValueError(f"The image has too many pixels: {error}") from error
    except UnidentifiedImageError as error:
        raise ValueError("The data is not an image Pillow can read.") from error
    except (OSError, SyntaxError) as error:
        raise ValueError(f"The image is damaged or cut off: {error}") from error
    source_size = (height, width) if rotated else (width, height)
    return rgb, source_size


# --- helpers -----------------------------------------------------------------------------------


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # a damaged EXIF block must not reject a good image
        return 1


def _as_rgb(image: Image.Image) -> Image.Image:
    """An already decoded image in RGB, without a copy when it is RGB already."""
    return image if image.mode == "RGB" else to_rgb(image)


def _detection_array(
    rgb: Image.Image, source_size: tuple[int, int]
) -> tuple[np.ndarray, tuple[float, float]]:
    """The image the detector sees (longer side <= MAX_SIDE, §2) and source px per detection px."""
    if max(rgb.size) > consts.MAX_SIDE:
        factor = consts.MAX_SIDE / max(rgb.size)
        size = (max(1, round(rgb.width * factor)), max(1, round(rgb.height * factor)))
        # BILINEAR as measured in §2; the draft decode already did most of the reduction.
        rgb = rgb.resize(size, Image.Resampling.BILINEAR)
    array = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    return array, (source_size[0] / rgb.width, source_size[1] / rgb.height)


def _clipped(rect: Any, array: np.ndarray) -> Box:
    """A dlib rectangle clipped to the image: HOG boxes may stick out past the edges."""
    height, width = array.shape[:2]
    left, top = max(0, rect.left()), max(0, rect.top())
    right, bottom = min(width, rect.right() + 1), min(height, rect.bottom() + 1)
    return left, top, max(0, right - left), max(0, bottom - top)


def _eye_centres(
    shape: Any, scale: tuple[float, float]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The 5-point model's parts 0-1 and 2-3 are the corners of one eye each (4 is the nose);
    which eye comes first is not something to rely on, so they are ordered by x here."""
    sx, sy = scale
    centres = sorted(
        (
            round((shape.part(a).x + shape.part(b).x) / 2 * sx, 1),
            round((shape.part(a).y + shape.part(b).y) / 2 * sy, 1),
        )
        for a, b in ((0, 1), (2, 3))
    )
    return centres[0], centres[1]


def _source_box(rect: Any, scale: tuple[float, float], source_size: tuple[int, int]) -> Box:
    """A detection in pixels of the decoded upright image, clipped to it."""
    sx, sy = scale
    width, height = source_size
    x0 = min(width, max(0, round(rect.left() * sx)))
    y0 = min(height, max(0, round(rect.top() * sy)))
    x1 = min(width, max(0, round((rect.right() + 1) * sx)))
    y1 = min(height, max(0, round((rect.bottom() + 1) * sy)))
    return x0, y0, x1 - x0, y1 - y0
