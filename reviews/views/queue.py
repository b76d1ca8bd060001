"""The review queues: /review/ (reviewers) and /review/senior/ (second reviews, escalations)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kyc.access.denied import AccessDenied
from kyc.users import StaffRequest
from reviews import saved_filters, selectors, services
from reviews.forms import SaveFilterForm
from reviews.models import CaseQueue
from reviews.permissions import REVIEW, SECOND_REVIEW, can_second_review, staff_page
from reviews.templatetags.review_ui import vendor_name
from vendors.models import Backend

PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


def _queue_page(request: StaffRequest, queue: str) -> HttpResponse:
    filters = selectors.QueueFilters.from_query(queue, request.GET)
    size = _int(request.GET.get("size"), DEFAULT_PAGE_SIZE)
    size = size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
    page = selectors.paginate(
        selectors.queue_cases(request.user, filters), _int(request.GET.get("page"), 1), size
    )
    counts = selectors.queue_counts(request.user, queue)
    base_query = filters.as_query()
    if size != DEFAULT_PAGE_SIZE:
        base_query["size"] = str(size)
    context = {
        "queue": queue,
        "is_senior_queue": queue == CaseQueue.SENIOR,
        "filters": filters,
        "page": page,
        "counts": counts,
        "vendors": [(value, vendor_name(value)) for value in Backend.values],
        "reasons": [
            (reason, selectors.reason_label(reason))
            for reason in selectors.REASONS
            if counts.reasons.get(reason) or reason == filters.reason
        ],
        "statuses": [
            (status, selectors.STATUS_LABELS[status]) for status in services.ACTIVE_STATUSES[queue]
        ],
        "sorts": selectors.SORT_LABELS.items(),
        "can_second_review": can_second_review(request.user),
        "previous_query": urlencode({**base_query, "page": page.number - 1}),
        "next_query": urlencode({**base_query, "page": page.number + 1}),
        "clear_reason_query": urlencode(filters.as_query(reason="")),
        "reason_queries": {
            reason: urlencode(filters.as_query(reason=reason)) for reason in selectors.REASONS
        },
        "page_size": size,
        "page_sizes": PAGE_SIZES,
        "saved_filters": saved_filters.saved_filters(request.user, queue),
        "mine_query": urlencode(filters.as_query(assignee="mine")),
        "current_query": urlencode(filters.as_query()),
    }
    return render(request, "reviews/queue.html", context)


def _queue_url(queue: str, query: dict[str, str] | None = None) -> str:
    url = reverse("reviews:senior" if queue == CaseQueue.SENIOR else "reviews:queue")
    return f"{url}?{urlencode(query)}" if query else url


def _posted_queue(request: StaffRequest) -> str:
    queue = request.POST.get("queue", CaseQueue.STANDARD)
    if queue == CaseQueue.SENIOR and can_second_review(request.user):
        return CaseQueue.SENIOR
    return CaseQueue.STANDARD


@require_POST
@staff_page(REVIEW)
def save_filter(request: StaffRequest) -> HttpResponse:
    """Save the filters the reviewer is looking at (posted with the queue's own field names)."""
    queue = _posted_queue(request)
    filters = selectors.QueueFilters.from_query(queue, request.POST)
    form = SaveFilterForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors["name"]))
        return HttpResponseRedirect(_queue_url(queue, filters.as_query()))
    try:
        saved = saved_filters.save_filter(request.user, filters, form.cleaned_data["name"])
    except saved_filters.InvalidSavedFilter as refused:
        messages.error(request, refused.message)
        return HttpResponseRedirect(_queue_url(queue, filters.as_query()))
    messages.success(request, f"Saved the filter “{saved.name}”.")
    return HttpResponseRedirect(_queue_url(queue, filters.as_query()))


@require_POST
@staff_page(REVIEW)
def delete_filter(request: StaffRequest, saved_id: int) -> HttpResponse:
    queue = _posted_queue(request)
    try:
        saved_filters.delete_filter(request.user, saved_id)
    except saved_filters.InvalidSavedFilter as refused:
        messages.error(request, refused.message)
    else:
        messages.info(request, "Saved filter deleted.")
    return HttpResponseRedirect(_queue_url(queue))


@require_GET
@staff_page(REVIEW)
def queue_page(request: StaffRequest) -> HttpResponse:
    return _queue_page(request, CaseQueue.STANDARD)


@require_GET
@staff_page(REVIEW, SECOND_REVIEW)
def senior_queue_page(request: StaffRequest) -> HttpResponse:
    return _queue_page(request, CaseQueue.SENIOR)


@require_POST
@staff_page(REVIEW)
def take_next(request: StaffRequest) -> HttpResponse:
    queue = request.POST.get("queue", CaseQueue.STANDARD)
    if queue not in CaseQueue.values:
        queue = CaseQueue.STANDARD
    if queue == CaseQueue.SENIOR and not can_second_review(request.user):
        raise AccessDenied("The senior queue is for senior reviewers.", (REVIEW, SECOND_REVIEW))
    case = services.take_next(request.user, queue)
    back = reverse("reviews:senior" if queue == CaseQueue.SENIOR else "reviews:queue")
    if case is None:
        messages.info(request, "Nothing left to take in this queue. Well done.")
        return HttpResponseRedirect(back)
    return redirect("reviews:case", case_id=case.public_id)
