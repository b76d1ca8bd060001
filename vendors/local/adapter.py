"""The local engine as a comparison backend: no account, no network, no bill.

It answers like a vendor would (DESIGN §10): a score, or an `invalid_input` result naming what
is wrong with which image. The engine has no verdict of its own, so `same_person` stays None and
the configured threshold decides (LOCAL-ENGINE.md §7: score >= 70 by default).
"""

from __future__ import annotations

import uuid
from typing import Any

from vendors.base import (
    BaseVendorAdapter,
    CompareRequest,
    CompareResult,
    ErrorCode,
    FaceBox,
    PreparedImage,
    ResultStatus,
    VendorError,
    scale_box,
)
from vendors.local import consts
from vendors.local.engine import FaceAnalysis, distance, get_engine, similarity

#: `options["multiple_faces"]` value that turns a second face into MULTIPLE_FACES; anything else
#: takes the largest face and reports the count (LOCAL-ENGINE.md §9.3).
REFUSE = "refuse"


class LocalAdapter(BaseVendorAdapter):
    name = "local"
    label = "Local engine (dlib)"
    required_settings = ()
    over_http = False

    def _compare(self, request: CompareRequest) -> CompareResult:
        try:
            engine = get_engine()
        except RuntimeError as error:  # model files missing: an installation fault, not the images
            raise VendorError(ErrorCode.VENDOR_ERROR, str(error), retryable=False) from error
        request_id = str(uuid.uuid4())
        analyses: dict[str, FaceAnalysis] = {}
        for which, image in (("selfie", request.selfie), ("reference", request.reference)):
            try:
                analyses[which] = engine.analyze_bytes(image.data)
            except ValueError as error:
                return self._invalid(
                    request_id,
                    ErrorCode.INVALID_IMAGE,
                    which,
                    f"The {which} image: {error}",
                    analyses,
                )
        selfie, reference = analyses["selfie"], analyses["reference"]
        boxes = {
            "selfie": _largest_box(selfie, request.selfie),
            "reference": _largest_box(reference, request.reference),
        }
        refuse_several = request.options.get("multiple_faces") == REFUSE
        for which, analysis in analyses.items():
            if not analysis.faces:
                return self._invalid(
                    request_id,
                    ErrorCode.NO_FACE,
                    which,
                    f"No face found in the {which}.",
                    analyses,
                    boxes,
                )
            if refuse_several and len(analysis.faces) > 1:
                return self._invalid(
                    request_id,
                    ErrorCode.MULTIPLE_FACES,
                    which,
                    f"{len(analysis.faces)} faces found in the {which}; one is required.",
                    analyses,
                    boxes,
                )
            if analysis.faces[0].detected_size < consts.MIN_FACE_PX:
                return self._invalid(
                    request_id,
                    ErrorCode.FACE_TOO_SMALL,
                    which,
                    f"The face in the {which} is {analysis.faces[0].detected_size} px; "
                    f"at least {consts.MIN_FACE_PX} px is needed.",
                    analyses,
                    boxes,
                )
        raw_distance = distance(selfie.faces[0].descriptor, reference.faces[0].descriptor)
        return CompareResult(
            vendor=self.name,
            status=ResultStatus.COMPLETED,
            score=round(similarity(raw_distance), 2),
            vendor_score=round(raw_distance, 4),
            vendor_request_id=request_id,
            billable=False,
            same_person=None,
            selfie_face=boxes["selfie"],
            reference_face=boxes["reference"],
            details={
                **_counts(analyses),
                "distance": round(raw_distance, 4),
                "engine": engine.settings,
            },
            raw_response=_raw(analyses),
        )

    def _invalid(
        self,
        request_id: str,
        code: ErrorCode,
        which: str,
        message: str,
        analyses: dict[str, FaceAnalysis],
        boxes: dict[str, FaceBox | None] | None = None,
    ) -> CompareResult:
        boxes = boxes or {}
        return self.image_problem(
            code,
            vendor_code=code.lower(),
            message=message,
            request_id=request_id,
            selfie_face=boxes.get("selfie"),
            reference_face=boxes.get("reference"),
            details={"which": which, **_counts(analyses)},
            raw_response=_raw(analyses),
        )


def _largest_box(analysis: FaceAnalysis, image: PreparedImage) -> FaceBox | None:
    """The largest face in pixels of the submitted image (the engine saw the prepared one)."""
    return scale_box(analysis.faces[0].box, image) if analysis.faces else None


def _counts(analyses: dict[str, FaceAnalysis]) -> dict[str, Any]:
    return {f"{which}_faces": len(a.faces) for which, a in analyses.items()}


def _raw(analyses: dict[str, FaceAnalysis]) -> dict[str, Any]:
    """What the engine found, for the evidence record: sizes, boxes, scores; never descriptors."""
    return {
        which: {
            "width": a.width,
            "height": a.height,
            "faces": [
                {
                    "box": list(face.box),
                    "confidence": face.confidence,
                    "size_px": face.detected_size,
                    "upsample": face.upsample,
                }
                for face in a.faces
            ],
        }
        for which, a in analyses.items()
    }
