"""The only way a biometric image reaches a browser: decrypted, re-encoded, audited, not cached
by the browser.

Shown only to a viewer with a reason (reviews.photo_access), which the audit event records.
`selfie` and `reference` are the photos; `selfie-face` and `reference-face` their faces, cropped
and aligned for side-by-side comparison (kyc.faces.alignment), stored nowhere in clear: a crop
prepared before the case was shown is kept encrypted for a few minutes (reviews.face_crops).
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from kyc.audit.chain import Actor
from kyc.faces.geometry import stored_locations
from kyc.images import ImageRejected
from kyc.models import ImagePair
from kyc.users import StaffRequest
from reviews import events
from reviews.face_crops import face_crop, render_photo
from reviews.permissions import staff_page
from reviews.photo_access import photo_access, reason_cases

#: What can be asked for, and the photo it comes from.
PHOTO_OF = {
    "selfie": "selfie",
    "reference": "reference",
    "selfie-face": "selfie",
    "reference-face": "reference",
}


@require_GET
@staff_page(login=False)
def pair_image(request: StaffRequest, pair_id: UUID, which: str) -> HttpResponse:
    photo = PHOTO_OF.get(which)
    if photo is None:
        raise Http404("No such image.")
    pair = get_object_or_404(
        ImagePair.objects.only(
            "public_id",
            "applicant",
            "selfie",
            "reference",
            "images_purged_at",
            f"{photo}_width",
            f"{photo}_height",
            "face_geometry",
            "known_face",
        ),
        public_id=pair_id,
    )
    # Refused before the purge check: whether a pair still has photos is nobody else's business.
    access = photo_access(request.user, pair, reason_cases([pair]))
    if access.rule is None:
        raise PermissionDenied("These photos are shown to the reviewers of the pair's case.")
    stored = getattr(pair, photo)
    if pair.images_purged_at is not None or not stored:
        raise Http404("The images of this pair were purged.")
    location = None
    if which != photo:
        location = (stored_locations(pair.face_geometry) or {}).get(photo)
        if location is None:
            raise Http404("No face has been located in this photo.")
    try:
        if location is not None:
            content = face_crop(pair, photo, location)
        else:
            content = render_photo(stored, None, (0, 0))
    except ImageRejected as error:
        raise Http404("The stored image cannot be read.") from error
    with transaction.atomic():
        events.images_viewed(
            pair, Actor.user(request.user), which=which, rule=access.rule, case=access.case
        )
    response = HttpResponse(content, content_type="image/jpeg")
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = f'inline; filename="{which}.jpg"'
    return response
