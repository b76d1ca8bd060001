"""The applicant's statement of a contested case: decrypted for its reviewers only, audited, never
cached (reviews.contests.read_statement_for)."""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from kyc.models import PairContest
from kyc.users import StaffRequest
from reviews import contests
from reviews.models import ReviewCase
from reviews.permissions import REVIEW, staff_page


@require_GET
@staff_page(REVIEW)
def statement_page(request: StaffRequest, case_id: UUID) -> HttpResponse:
    case = get_object_or_404(ReviewCase.objects.select_related("pair"), public_id=case_id)
    try:
        contest, statement = contests.read_statement_for(case, request.user)
    except PairContest.DoesNotExist:
        raise Http404("This case decides no contest.") from None
    except contests.StatementRefused:
        raise PermissionDenied(
            "The statement is shown to the reviewers who may decide this case."
        ) from None
    response = render(
        request,
        "reviews/contest_statement.html",
        {"case": case, "contest": contest, "statement": statement},
    )
    response["Cache-Control"] = "no-store"
    return response
