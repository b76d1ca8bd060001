"""Pre-flight: look for faces locally before paying a vendor to say "no face".

Detection alone (no descriptors) on the client's original images costs about 0.05-0.3 s each
(LOCAL-ENGINE.md §5); a commercial call costs money and a round trip. When either image has no
face, or several, the pipeline records the outcome as an attempt and skips the paid call.
HOG found a face in every one of the 76 labelled photos (§4), so a "no face" here is rarely a
false alarm on an ordinary portrait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from vendors.base import ErrorCode
from vendors.local.engine import FaceDetection, get_engine


@dataclass(frozen=True)
class PreflightResult:
    passed: bool
    error_code: ErrorCode | None  # the taxonomy code a vendor would have answered with
    reason: (
        str  # machine code: "", "no_face", "multiple_faces", "invalid_image", "engine_unavailable"
    )
    which: str  # "selfie", "reference" or "" when passed
    selfie_faces: int
    reference_faces: int
    latency_ms: int


def run_preflight(
    selfie: bytes, reference: bytes, *, refuse_multiple: bool = True
) -> PreflightResult:
    """Face counts for both images, and whether the pair is worth a paid comparison.

    Both images are always examined (when readable) so the attempt records both counts; the
    selfie's problem is reported first. `refuse_multiple=False` lets several faces through
    (the vendor then picks the largest, as most do).
    """
    started = time.monotonic()
    try:
        engine = get_engine()
    except RuntimeError:
        # The check only saves money; an engine that cannot load must not block the vendor call.
        return PreflightResult(True, None, "engine_unavailable", "", 0, 0, _elapsed_ms(started))
    detections: dict[str, FaceDetection | None] = {}
    for which, data in (("selfie", selfie), ("reference", reference)):
        try:
            detections[which] = engine.detect_bytes(data)
        except ValueError:
            detections[which] = None
    counts = {which: len(d.boxes) if d else 0 for which, d in detections.items()}

    def outcome(passed: bool, code: ErrorCode | None, reason: str, which: str) -> PreflightResult:
        return PreflightResult(
            passed, code, reason, which, counts["selfie"], counts["reference"], _elapsed_ms(started)
        )

    for which, detection in detections.items():
        if detection is None:
            return outcome(False, ErrorCode.INVALID_IMAGE, "invalid_image", which)
        if not detection.boxes:
            return outcome(False, ErrorCode.NO_FACE, "no_face", which)
        if refuse_multiple and len(detection.boxes) > 1:
            return outcome(False, ErrorCode.MULTIPLE_FACES, "multiple_faces", which)
    return outcome(True, None, "", "")


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
