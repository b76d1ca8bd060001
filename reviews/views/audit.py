"""/audit/: the hash-chained trail for auditors, with filters, CSV export and chain status."""

from __future__ import annotations

import json
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kyc.audit.chain import Actor, verify_chain
from kyc.audit.models import AuditEvent
from kyc.users import StaffRequest
from reviews import audit_selectors, events
from reviews.forms import AuditFilterForm
from reviews.permissions import VIEW_AUDIT, staff_page
from reviews.reporting.csv_stream import csv_download, csv_lines

CHAIN_STATUS_KEY = "reviews:chain-status"
#: Verifying walks the whole chain; the banner shows a recent result and offers "verify now".
CHAIN_STATUS_SECONDS = 300
CSV_COLUMNS = (
    "seq",
    "created_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "event_type",
    "subject_type",
    "subject_id",
    "params",
    "prev_hash",
    "hash",
)


def _chain_status(refresh: bool = False) -> dict[str, Any]:
    status: dict[str, Any] | None = None if refresh else cache.get(CHAIN_STATUS_KEY)
    if status is None:
        result = verify_chain()
        status = {
            "ok": result.ok,
            "text": result.describe(),
            "events": result.events,
            "head": result.head_hash,
            # The banner names the last event it vouches for: the trail keeps growing after a
            # check, and sequence numbers skip the values of rolled-back transactions, so the
            # count alone never matches the newest row's number.
            "head_seq": AuditEvent.objects.filter(hash=result.head_hash)
            .values_list("seq", flat=True)
            .first(),
            "checked_at": timezone.now(),
        }
        cache.set(CHAIN_STATUS_KEY, status, CHAIN_STATUS_SECONDS)
    return status


@require_GET
@staff_page(VIEW_AUDIT)
def audit_trail(request: StaffRequest) -> HttpResponse:
    form, filters = _filters(request)
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    rows, older = audit_selectors.audit_page(audit_selectors.audit_events(filters), before)
    params = filters.as_params()
    context = {
        "form": form,
        "rows": rows,
        "older_query": _query({**params, "before": str(older)}) if older else "",
        "newest_query": _query(params) if before else "",
        "export_query": _query(params),
        "chain": (chain := _chain_status()),
        "newer_than_check": bool(
            chain["ok"] and rows and chain.get("head_seq") and rows[0].seq > chain["head_seq"]
        ),
        "filtered": bool(params),
    }
    return render(request, "audit/trail.html", context)


def _filters(request: StaffRequest) -> tuple[AuditFilterForm, audit_selectors.AuditFilters]:
    """The filter form as submitted, and the filters it stands for (none when not submitted)."""
    form = AuditFilterForm(request.GET or None)
    return form, form.filters() if form.is_bound else audit_selectors.AuditFilters()


def _query(params: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


@require_POST
@staff_page(VIEW_AUDIT)
def verify_now(request: StaffRequest) -> HttpResponse:
    _chain_status(refresh=True)
    return HttpResponseRedirect(reverse("audit:trail"))


@require_GET
@staff_page(VIEW_AUDIT)
def audit_csv(request: StaffRequest) -> HttpResponseBase:
    _, filters = _filters(request)
    with transaction.atomic():
        events.audit_trail_exported(Actor.user(request.user), filters=filters.as_params())
    queryset = audit_selectors.audit_events(filters).order_by("seq")
    rows = (
        [
            event.seq,
            event.created_at.isoformat(),  # to the microsecond: the hash covers it
            event.actor_type,
            event.actor_id,
            event.actor_label,
            event.event_type,
            event.subject_type,
            event.subject_id,
            json.dumps(event.params, sort_keys=True, separators=(",", ":")),
            event.prev_hash,
            event.hash,
        ]
        for event in queryset.iterator(chunk_size=2000)
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return csv_download(csv_lines(CSV_COLUMNS, rows), f"audit-trail-{stamp}.csv")
