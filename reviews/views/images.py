"""The only way a biometric image reaches a browser: decrypted, re-encoded, audited, not cached.

Shown only to a viewer with a reason (reviews.photo_access), which the audit event records.
"""

from __future__ import annotations

import io
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from kyc.audit.chain import Actor
from kyc.images import ImageRejected, load_upright
from kyc.models import ImagePair
from kyc.users import StaffRequest
from reviews import events
from reviews.permissions import staff_page
from reviews.photo_access import photo_access, reason_cases

#: Large enough to zoom into a face, small enough to send quickly.
DISPLAY_MAX_SIDE = 2000
WHICH = ("selfie", "reference")


@require_GET
@staff_page(login=False)
def pair_image(request: StaffRequest, pair_id: UUID, which: str) -> HttpResponse:
    if which not in WHICH:
        raise Http404("No such image.")
    pair = get_object_or_404(
        ImagePair.objects.only("public_id", "applicant", "selfie", "reference", "images_purged_at"),
        public_id=pair_id,
    )
    # Refused before the purge check: whether a pair still has photos is nobody else's business.
    access = photo_access(request.user, pair, reason_cases([pair]))
    if access.rule is None:
        raise PermissionDenied("These photos are shown to the reviewers of the pair's case.")
    stored = getattr(pair, which)
    if pair.images_purged_at is not None or not stored:
        raise Http404("The images of this pair were purged.")
    with stored.open("rb") as handle:
        data = handle.read()
    try:
        # Upright, RGB, no metadata: EXIF (GPS, device) never leaves the server.
        image = load_upright(data, max_side=DISPLAY_MAX_SIDE)
    except ImageRejected as error:
        raise Http404("The stored image cannot be read.") from error
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    with transaction.atomic():
        events.images_viewed(
            pair, Actor.user(request.user), which=which, rule=access.rule, case=access.case
        )
    response = HttpResponse(buffer.getvalue(), content_type="image/jpeg")
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = f'inline; filename="{which}.jpg"'
    return response
