"""Known faces for reviewers (issue 20): the case page's panel of matched faces, putting a face
on the client's blocklist, and the blocklist page with its four-eyes removal.

The faces themselves are shown only through the audited image view (reviews.views.images), as
aligned crops, to viewers with a reason (reviews.photo_access, rule `known_face_match`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kyc.errors import ApplicationError
from kyc.known_faces import services
from kyc.known_faces.models import BlocklistEntry, FaceTemplate, KnownFaceCheck
from kyc.models import ImagePair
from kyc.users import StaffRequest, Visitor
from reviews.models import ReviewCase
from reviews.permissions import MANAGE_BLOCKLIST, REVIEW, staff_page

#: Why a face goes on the blocklist (kept short: the code is what reports count).
BLOCKLIST_REASONS = {
    "fraud_ring": "Same face behind several identities",
    "confirmed_fraud": "Confirmed fraud",
    "banned_by_client": "Banned by the client",
}


def panel(user: Visitor, pair: ImagePair) -> dict[str, Any] | None:
    """The case page's "Known faces" panel; None (and no query) when the client has the check
    off."""
    if pair.known_face is None:
        return None
    check = KnownFaceCheck.objects.filter(pair=pair).first()
    matched = (
        list(check.matched_pairs.select_related("applicant", "review_case").order_by("-created_at"))
        if check is not None
        else []
    )
    template = FaceTemplate.objects.filter(pair=pair, purged_at__isnull=True).exists()
    return {
        "check": check,
        "matched": [p for p in matched if p.client_id == pair.client_id],
        "can_blocklist": template and user.has_perm(MANAGE_BLOCKLIST),
        "blocklist_reasons": BLOCKLIST_REASONS,
        "blocklisted": BlocklistEntry.objects.filter(
            source_pair=pair, removed_at__isnull=True
        ).exists(),
    }


@require_POST
@staff_page(REVIEW, MANAGE_BLOCKLIST)
def add_to_blocklist(request: StaffRequest, case_id: UUID) -> HttpResponse:
    case = get_object_or_404(ReviewCase.objects.select_related("pair"), public_id=case_id)
    reason = request.POST.get("reason_code", "")
    if reason not in BLOCKLIST_REASONS:
        messages.error(request, "Choose a reason code for the blocklist (field reason_code).")
    else:
        try:
            services.add_to_blocklist(case.pair, reason, request.user)
        except ApplicationError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, "The face is on the client's blocklist.")
    return HttpResponseRedirect(reverse("reviews:case", args=[case_id]) + "#known-faces")


@require_GET
@staff_page(MANAGE_BLOCKLIST)
def blocklist_page(request: StaffRequest) -> HttpResponse:
    entries = (
        BlocklistEntry.objects.filter(removed_at__isnull=True)
        .select_related("client", "added_by", "removal_requested_by", "source_pair")
        .order_by("-created_at")
    )
    return render(
        request,
        "reviews/blocklist.html",
        {"entries": entries, "reasons": BLOCKLIST_REASONS},
    )


@require_POST
@staff_page(MANAGE_BLOCKLIST)
def request_removal(request: StaffRequest, entry_id: int) -> HttpResponse:
    return _removal(request, entry_id, services.request_removal, "Removal requested.")


@require_POST
@staff_page(MANAGE_BLOCKLIST)
def approve_removal(request: StaffRequest, entry_id: int) -> HttpResponse:
    return _removal(request, entry_id, services.approve_removal, "Face removed from the blocklist.")


def _removal(request: StaffRequest, entry_id: int, action: Any, done: str) -> HttpResponse:
    entry = BlocklistEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise Http404("No such blocklist entry.")
    try:
        action(entry, request.user)
    except ApplicationError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, done)
    return HttpResponseRedirect(reverse("reviews:blocklist"))
