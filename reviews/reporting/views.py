"""Operator pages: the dashboard, the decisions CSV and the evidence pack. Thin by design."""

from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kyc.audit.chain import Actor
from kyc.models import ImagePair
from kyc.users import StaffRequest
from reviews import events
from reviews.reporting import dashboard
from reviews.reporting.csv_stream import csv_download
from reviews.reporting.exports import decided_pairs, decision_csv_lines, evidence_pack
from reviews.reporting.stats import MAX_RANGE_DAYS, PERCENTILE_SAMPLE, DateRange

DEFAULT_DAYS = 30
DASHBOARD_CACHE_SECONDS = 60
PRESETS = (7, 30, 90)


class RangeForm(forms.Form):
    start = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if end > today:
            self.add_error("end", "The period cannot end in the future.")
        if start > end:
            self.add_error("start", "The start must be on or before the end.")
        elif (end - start).days + 1 > MAX_RANGE_DAYS:
            raise ValidationError(f"Choose at most {MAX_RANGE_DAYS} days.")
        data["range"] = DateRange(start, min(end, today))
        return data


def _range(request: StaffRequest) -> tuple[RangeForm, DateRange]:
    default = DateRange.last(DEFAULT_DAYS)
    form = RangeForm(request.GET or None, initial={"start": default.start, "end": default.end})
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["range"]
    return form, default


@require_GET
@login_required
@permission_required("kyc.view_dashboard", raise_exception=True)
def stats_dashboard(request: StaffRequest) -> HttpResponse:
    form, period = _range(request)
    # Everyone looking at the same period within a minute shares one computation.
    key = f"kyc:ops:dashboard:{period.start:%Y%m%d}:{period.end:%Y%m%d}"
    context = cache.get(key)
    if context is None:
        context = {**dashboard.build(period), "generated_at": timezone.now()}
        cache.set(key, context, DASHBOARD_CACHE_SECONDS)
    today = timezone.localdate()
    context.update(
        form=form,
        range=period,
        presets=[
            {
                "days": days,
                "start": today - timedelta(days=days - 1),
                "end": today,
                "active": period == DateRange.last(days),
            }
            for days in PRESETS
        ],
        can_export=request.user.has_perm("kyc.export_decisions"),
        time_zone=timezone.get_current_timezone_name(),
        sampled=connection.vendor != "postgresql",
        sample_size=f"{PERCENTILE_SAMPLE:,}",
    )
    return render(request, "ops/dashboard.html", context)


@require_GET
@login_required
@permission_required("kyc.export_decisions", raise_exception=True)
def decisions_csv(request: StaffRequest) -> HttpResponseBase:
    form, period = _range(request)
    if form.errors:
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    rows = decided_pairs(period).count()
    with transaction.atomic():
        events.decisions_exported(
            Actor.user(request.user),
            start=period.start.isoformat(),
            end=period.end.isoformat(),
            rows=rows,
        )
    filename = f"decisions-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv"
    return csv_download(decision_csv_lines(period), filename)


@require_GET
@login_required
@permission_required("kyc.export_decisions", raise_exception=True)
def pair_evidence(request: StaffRequest, public_id: str) -> HttpResponse:
    pair = get_object_or_404(ImagePair, public_id=public_id)
    with transaction.atomic():
        # Recorded first, so the pack shows its own export among the pair's events.
        events.evidence_exported(pair, Actor.user(request.user))
    pack = evidence_pack(pair, exported_by=request.user.get_username())
    response = HttpResponse(
        json.dumps(pack, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json",
    )
    response["Content-Disposition"] = f'attachment; filename="evidence-{pair.public_id}.json"'
    response["Cache-Control"] = "no-store"
    return response
