"""Turns the dashboard's selectors into headline cards and SVG charts for the template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.safestring import SafeString

from kyc.models import DecisionSource, PairStatus
from reviews.drift.checks import latest_checks
from reviews.reporting import charts, stats
from reviews.reporting.charts import Marker, Series
from vendors.models import Backend

_VENDOR_NAMES = dict(Backend.choices)
_OUTCOME = {
    PairStatus.APPROVED: ("Approved", charts.GREEN, charts.GREEN_LIGHT),
    PairStatus.REJECTED: ("Rejected", charts.RED, charts.RED_LIGHT),
    PairStatus.RESUBMIT: ("New photos", charts.BLUE, charts.BLUE_LIGHT),
    PairStatus.FAILED: ("Failed", charts.GREY, charts.GREY),
}


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    detail: str = ""
    tone: str = ""  # "", "good", "bad", "warn": a coloured edge, used only for meaning
    hint: str = ""


def vendor_name(backend: str) -> str:
    return _VENDOR_NAMES.get(backend, backend).split(" (")[0]


def _seconds(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms / 1000:.2f} s" if ms < 10_000 else f"{ms / 1000:.0f} s"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}" if value >= 0.1 else f"{value:.1%}"


def _age(hours: float | None) -> str:
    if hours is None:
        return "queue empty"
    if hours < 1:
        return f"oldest {hours * 60:.0f} min"
    if hours < 48:
        return f"oldest {hours:.0f} h"
    return f"oldest {hours / 24:.0f} days"


def _labels(days: list[date]) -> tuple[list[str], list[str]]:
    short = [f"{d.day} {d:%b}" for d in days]
    long = [f"{d:%a} {d.day} {d:%b %Y}" for d in days]
    return short, long


def cards(head: stats.Headline, queue: stats.QueueSeries) -> list[Card]:
    return [
        Card("Pairs today", f"{head.pairs_today:,}", f"{head.decided:,} decided in the period"),
        Card(
            "Decided automatically",
            _percent(head.auto_rate),
            f"{head.decided_auto:,} of {head.decided:,} decisions",
        ),
        Card(
            "Open review cases",
            f"{head.open_cases:,}",
            _age(head.oldest_open_hours),
            tone="warn" if head.open_cases else "",
        ),
        Card(
            "Overdue cases",
            f"{head.overdue_cases:,}",
            f"{queue.breaches:,} decided late in the period",
            tone="bad" if head.overdue_cases else "good",
            hint=f"Past the {settings.KYC_REVIEW_SLA_HOURS} h review SLA",
        ),
        Card(
            "Median vendor latency",
            _seconds(head.median_latency_ms),
            f"p95 {_seconds(head.p95_latency_ms)}",
        ),
        Card(
            "Saved by pre-flight",
            f"{head.preflight_saved:,}",
            "vendor calls not needed",
            hint="Pairs the local face check answered without a paid vendor call",
        ),
    ]


def build(r: stats.DateRange, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    short, long = _labels(r.days)
    head = stats.headline(r, now)
    queue = stats.queue_over_time(r, now)
    vendors = stats.vendor_table(r)
    savings = stats.preflight_savings(r)
    period = f"{r.start:%-d %b %Y} – {r.end:%-d %b %Y}"

    decided = stats.decisions_per_day(r)
    decision_series = []
    for (status, source), values in decided.items():
        name, solid, light = _OUTCOME[PairStatus(status)]
        if status != PairStatus.FAILED:
            name += " · auto" if source == DecisionSource.AUTO else " · reviewer"
        color = solid if source != DecisionSource.REVIEWER else light
        decision_series.append(Series(name, values, color))
    total_decided = int(sum(v or 0 for s in decision_series for v in s.values))

    sla = float(settings.KYC_REVIEW_SLA_HOURS)
    billable = stats.billable_per_day(r)
    billable_series = [
        Series(vendor_name(vendor), values, charts.CATEGORICAL[i % len(charts.CATEGORICAL)])
        for i, (vendor, values) in enumerate(billable.items())
    ]
    histograms = [
        {
            "vendor": vendor_name(h.vendor),
            "total": h.total,
            "thresholds_from": h.thresholds_from,
            "svg": charts.histogram(
                f"scores-{h.vendor}",
                f"{vendor_name(h.vendor)}: score distribution",
                h.counts,
                desc=f"{h.total} scores in 5-point buckets, {period}; reject below "
                f"{h.reject_below}, approve at {h.approve_at} and above.",
                reject_below=h.reject_below,
                approve_at=h.approve_at,
            ),
        }
        for h in stats.score_histograms(r)
    ]
    latency_chart: SafeString = charts.horizontal_bars(
        "vendor-latency",
        "Vendor latency",
        [vendor_name(v.vendor) for v in vendors],
        [
            Series("median (p50)", [_s(v.p50_ms) for v in vendors], charts.ACCENT),
            Series("p95", [_s(v.p95_ms) for v in vendors], charts.ACCENT_LIGHT),
        ],
        desc=f"Median and 95th percentile latency of vendor calls, {period}.",
        unit=" s",
        row_height=44,
    )
    return {
        "period": period,
        "cards": cards(head, queue),
        "total_decided": total_decided,
        "decisions_chart": charts.stacked_bars(
            "decisions",
            "Decisions per day",
            short,
            decision_series,
            desc=f"{total_decided} final decisions, {period}, by outcome; solid bars were "
            "decided automatically, light bars by a reviewer.",
            hover_labels=long,
            y_label="pairs",
        ),
        "queue_chart": charts.lines(
            "queue",
            "Review queue at the end of each day",
            short,
            [
                Series("open cases", queue.open_cases, charts.BLUE),
                Series("overdue", queue.overdue, charts.RED),
            ],
            desc=f"Review cases not yet decided, and those past their due time, {period}.",
            hover_labels=long,
            y_label="cases",
            whole=True,
        ),
        "decision_time_chart": _decision_time_chart(
            queue.hours_to_decision, sla, short, long, period
        ),
        "sla": {
            "decided": sum(queue.decided),
            "late": queue.breaches,
            "opened": sum(queue.opened),
            "overdue_now": head.overdue_cases,
        },
        "histograms": histograms,
        "drift": drift_rows(),
        "latency_chart": latency_chart,
        "vendors": [
            {
                "name": vendor_name(v.vendor),
                "calls": v.calls,
                "billable": v.billable,
                "p50": _seconds(v.p50_ms),
                "p95": _seconds(v.p95_ms),
                "error_rate": _percent(v.error_rate),
                "error_tone": _error_tone(v.error_rate),
                "image_problem_rate": _percent(v.image_problem_rate),
                "errors": v.top_errors(),
            }
            for v in vendors
        ],
        "billable_chart": charts.stacked_bars(
            "billable",
            "Billable vendor calls per day",
            short,
            billable_series,
            desc=f"Calls the vendors bill for, per day and vendor, {period}.",
            hover_labels=long,
            y_label="calls",
            width=590,
            height=240,
        ),
        "billable_total": sum(v.billable for v in vendors),
        "preflight": {
            "total": sum(savings.by_vendor.values()),
            "by_vendor": [
                (vendor_name(vendor), count)
                for vendor, count in sorted(savings.by_vendor.items(), key=lambda i: -i[1])
            ],
        },
    }


#: The unit a duration chart is drawn in, by its longest value in hours: (below, name, unit,
#: hours per unit). Same-day reviews read in minutes instead of a flat line at 0 h.
DURATION_UNITS = ((2.0, "minutes", " min", 1 / 60), (72.0, "hours", " h", 1.0))
DAYS = ("days", " d", 24.0)


def duration_unit(longest_hours: float) -> tuple[str, str, float]:
    """(name, suffix, hours per unit) that keeps `longest_hours` a readable number."""
    for below, name, suffix, per in DURATION_UNITS:
        if longest_hours < below:
            return name, suffix, per
    return DAYS


def _decision_time_chart(
    hours: list[float | None], sla: float, short: list[str], long: list[str], period: str
) -> SafeString:
    known = [h for h in hours if h is not None]
    name, suffix, per = duration_unit(max(known, default=0.0))
    values = [None if h is None else h / per for h in hours]
    # The SLA line is drawn when it fits the scale of the data; otherwise the description says
    # how far inside it the reviews are.
    sla_fits = sla / per <= 3 * max((v for v in values if v is not None), default=0.0)
    return charts.lines(
        "time-to-decision",
        "Time to a reviewer's decision",
        short,
        [Series(f"mean {name} to decision", values, charts.ACCENT)],
        desc=f"Mean {name} from a case opening to its decision, by day decided, {period}; "
        + (
            f"the dashed line is the {sla:g} h SLA."
            if sla_fits
            else f"every day well inside the {sla:g} h SLA."
        ),
        hover_labels=long,
        y_label=name,
        unit=suffix,
        reference=Marker(sla / per, f"SLA {sla:g} h", charts.AMBER) if sla_fits else None,
    )


def _s(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 2)


def _error_tone(rate: float | None) -> str:
    if rate is None or rate < 0.01:
        return ""
    return "amber" if rate < 0.05 else "red"


def drift_rows() -> list[dict[str, Any]]:
    """Each backend's latest weekly drift check (reviews.drift), flagged weeks first."""
    rows = [
        {
            "vendor": vendor_name(check.backend),
            "week_start": check.week_start,
            "scores": check.scores,
            "reference_scores": check.reference_scores,
            "psi": "–" if check.psi is None else f"{check.psi:.3f}",
            "ks": "–" if check.ks is None else f"{check.ks:.3f}",
            "limit": f"{check.psi_limit:g}",
            "flagged": check.flagged,
            "judged": check.psi is not None,
        }
        for check in latest_checks()
    ]
    return sorted(rows, key=lambda row: not row["flagged"])
