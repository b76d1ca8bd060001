"""The faces panel of the case page: both faces cropped, aligned and the same size.

The crops themselves come from the audited image view (`selfie-face`, `reference-face`); this
module says what the panel shows, and serves the panel alone so the page can pick up face work
that finished after it opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from kyc import dispatch
from kyc.faces.alignment import CROP_SIZE
from kyc.faces.geometry import FaceLocation, stored_locations
from kyc.models import ImagePair
from kyc.users import StaffRequest
from reviews import selectors
from reviews.models import ReviewCase
from reviews.permissions import REVIEW, staff_page
from reviews.photo_access import PhotoAccess, photo_access, reason_cases

#: A case page asks for face work it finds missing (a pair that went to review before face work
#: existed, or a lost message) at most this often per pair, however many times it is reloaded.
REQUEST_AGAIN_AFTER_SECONDS = 60


@dataclass(frozen=True)
class Face:
    which: str  # "selfie" | "reference"
    label: str
    location: FaceLocation | None  # None: no face found in this photo
    url: str  # the aligned crop, through the audited image view


def faces_panel(pair: ImagePair, access: PhotoAccess) -> dict[str, Any]:
    """The panel's context: `state` is "ready", "pending" (face work not done yet), or "" when
    the panel has nothing to show (photos withheld from this viewer, or purged)."""
    if not access.allowed or pair.images_purged_at is not None or not pair.selfie:
        return {"faces_state": ""}
    locations = stored_locations(pair.face_geometry)
    if locations is None:
        _request_face_work(pair)
        return {"faces_state": "pending"}
    faces = [
        Face(
            which,
            label,
            locations[which],
            reverse("reviews:image", args=[pair.public_id, f"{which}-face"]),
        )
        for which, label in (("selfie", "Selfie"), ("reference", "Reference"))
    ]
    return {
        "faces_state": "ready",
        "face_crops": faces,
        "crop_width": CROP_SIZE[0],
        "crop_height": CROP_SIZE[1],
    }


def _request_face_work(pair: ImagePair) -> None:
    if cache.add(f"faces-requested:{pair.pk}", 1, REQUEST_AGAIN_AFTER_SECONDS):
        dispatch.send_on_commit(dispatch.LOCATE_FACES, pair.pk)


@require_GET
@staff_page(REVIEW)
def faces_fragment(request: StaffRequest, case_id: UUID) -> HttpResponse:
    """The panel alone, for the case page to poll while face work runs."""
    try:
        case: ReviewCase = selectors.case_for_page(case_id)
    except ReviewCase.DoesNotExist:
        raise Http404("No such case.") from None
    pair = case.pair
    access = photo_access(request.user, pair, reason_cases([pair]))
    return render(request, "reviews/_faces.html", {"case": case, **faces_panel(pair, access)})
