"""Admins' calibration page per backend, and seniors' reviewer-quality page. Thin by design."""

from __future__ import annotations

from django import forms
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from kyc.users import StaffRequest
from reviews.calibration import data, page
from reviews.permissions import REVIEW, SECOND_REVIEW, staff_page
from reviews.reporting import reviewer_quality
from vendors.models import VendorConfig

QUALITY_CACHE_KEY = "kyc:ops:reviewer-quality"
QUALITY_CACHE_SECONDS = 60
#: Who may see a backend's calibration and send its suggested lines to the admin's thresholds.
CHANGE_THRESHOLDS = "vendors.change_vendorconfig"


class CalibrationForm(forms.Form):
    target = forms.ChoiceField(
        choices=[(t, t) for t in page.TARGETS],
        initial=page.DEFAULT_TARGET,
        label="Target false-accept rate",
    )
    max_review = forms.FloatField(
        min_value=0,
        max_value=100,
        initial=page.DEFAULT_MAX_REVIEW_PERCENT,
        label="Largest review share (%)",
        widget=forms.NumberInput(attrs={"step": "0.5"}),
    )


@require_GET
@staff_page(CHANGE_THRESHOLDS)
def calibration(request: StaffRequest, backend: str) -> HttpResponse:
    config = get_object_or_404(VendorConfig, backend=backend)
    form = CalibrationForm(request.GET or None)
    target, max_review = page.DEFAULT_TARGET, float(page.DEFAULT_MAX_REVIEW_PERCENT)
    if form.is_bound and form.is_valid():
        target, max_review = form.cleaned_data["target"], form.cleaned_data["max_review"]
    if not form.is_bound:
        form = CalibrationForm(initial={"target": target, "max_review": max_review})
    context = page.build(
        config, data.backend_data(backend), target=target, max_review_percent=max_review
    )
    context.update(form=form, target=target, max_review=f"{max_review:g}")
    return render(request, "ops/calibration.html", context)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


@require_GET
@staff_page(REVIEW, SECOND_REVIEW)
def reviewer_quality_page(request: StaffRequest) -> HttpResponse:
    # Seniors looking within the same minute share one computation, as on the dashboard.
    report = cache.get(QUALITY_CACHE_KEY)
    if report is None:
        report = reviewer_quality.build()
        cache.set(QUALITY_CACHE_KEY, report, QUALITY_CACHE_SECONDS)
    rows = [
        {
            "reviewer": row.reviewer,
            "first_decisions": row.first_decisions,
            "senior_reviewed": row.senior_reviewed,
            "overturned": row.overturned,
            "overturn_rate": page.percent(row.overturn_rate),
            "kappa": "–" if row.kappa is None else f"{row.kappa:.2f}",
            "kappa_pairs": row.kappa_pairs,
            "median_time": _duration(row.median_seconds),
            "qa_agreement": page.percent(row.qa_agreement),
            "qa_shared": row.qa_shared,
        }
        for row in report.reviewers
    ]
    context = {
        "rows": rows,
        "since": report.since,
        "days": reviewer_quality.QUALITY_DAYS,
        "kappa": "–" if report.kappa is None else f"{report.kappa:.2f}",
        "kappa_pairs": report.kappa_pairs,
        "min_pairs": reviewer_quality.MIN_PAIRS_FOR_KAPPA,
    }
    return render(request, "ops/reviewer_quality.html", context)
