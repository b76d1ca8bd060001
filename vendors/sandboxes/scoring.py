"""How the sandboxes score a pair: with the local face engine when it finds faces.

The same person then scores high and different people low, as a real vendor would. When the
engine is switched off for a sandbox (config `"engine": false`, for fast tests) or cannot be
imported, the score is derived deterministically from the two images' hashes instead, and faces
are assumed to be present (a centred box).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

Box = tuple[int, int, int, int]  # left, top, width, height in pixels of the received image


@dataclass(frozen=True)
class ImageFaces:
    width: int
    height: int
    boxes: tuple[Box, ...]  # largest first

    @property
    def largest(self) -> Box | None:
        return self.boxes[0] if self.boxes else None


@dataclass(frozen=True)
class PairAnalysis:
    first: ImageFaces
    second: ImageFaces
    similarity: float | None  # 0–100; None when a side has no face
    engine: str  # "local" or "hash"


def analyze_pair(first: bytes, second: bytes, *, use_engine: bool = True) -> PairAnalysis:
    """Faces and a 0–100 similarity for two encoded images (raises ValueError if undecodable)."""
    if use_engine:
        try:
            from vendors.local.engine import distance, get_engine, similarity
        except ImportError:  # pragma: no cover - the engine is a main dependency
            pass
        else:
            engine = get_engine()
            a = engine.analyze_bytes(first)
            b = engine.analyze_bytes(second)
            faces_a = ImageFaces(a.width, a.height, tuple(f.box for f in a.faces))
            faces_b = ImageFaces(b.width, b.height, tuple(f.box for f in b.faces))
            score = None
            if a.faces and b.faces:
                score = round(similarity(distance(a.faces[0].descriptor, b.faces[0].descriptor)), 2)
            return PairAnalysis(faces_a, faces_b, score, "local")
    return PairAnalysis(
        _assumed_face(first), _assumed_face(second), hash_similarity(first, second), "hash"
    )


def hash_similarity(first: bytes, second: bytes) -> float:
    """Identical images score 99; any other pair a stable value between 5 and 45."""
    if first == second:
        return 99.0
    digest = hashlib.sha256(b"".join(sorted((first, second)))).digest()
    return round(5 + int.from_bytes(digest[:4], "big") % 4000 / 100, 2)


def _assumed_face(data: bytes) -> ImageFaces:
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(data)) as image:
        width, height = image.size
    side = min(width, height) // 2
    return ImageFaces(width, height, (((width - side) // 2, (height - side) // 2, side, side),))
