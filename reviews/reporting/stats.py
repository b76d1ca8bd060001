"""Selectors for the operations dashboard: aggregate queries over a date range.

Every figure is a GROUP BY in the database (by day with TruncDate in the current time zone, by
vendor, by bucket), never a loop over rows in Python, so the page stays fast with millions of
attempts; bench/stats.py times them on a million attempts and lists the indexes they want
(PROPOSED_INDEXES). Percentiles: PostgreSQL computes them exactly with
percentile_cont; other databases (SQLite in development) from the most recent
`PERCENTILE_SAMPLE` values per vendor, ordered in the database.

kyc.ops is the reporting layer over the whole application, so it reads reviews' models too.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Min,
    Q,
    QuerySet,
    Value,
)
from django.db.models.aggregates import Aggregate
from django.db.models.functions import Floor, Greatest, Least, TruncDate
from django.utils import timezone

from kyc.models import (
    FINAL_PAIR_STATUSES,
    AttemptPurpose,
    AttemptStatus,
    ComparisonAttempt,
    DecisionSource,
    ImagePair,
    PairStatus,
)
from reviews.models import CaseStatus, ReviewCase
from vendors.models import Backend, VendorConfig

PERCENTILE_SAMPLE = 20_000
SCORE_BUCKET = 5
SCORE_BUCKETS = 100 // SCORE_BUCKET
MAX_RANGE_DAYS = 366
#: Cases still waiting for a person (spelled as IN, like the queue's partial indexes).
WAITING_CASE_STATUSES = [s for s in CaseStatus.values if s != CaseStatus.DECIDED]


class PercentileCont(Aggregate):
    """PostgreSQL's exact, interpolated percentile: percentile_cont(f) WITHIN GROUP (ORDER BY x)."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, fraction: float, expression: str, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks: the same definition as percentile_cont."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    weight = position - lower
    return sorted_values[lower] * (1 - weight) + sorted_values[upper] * weight


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive

    @classmethod
    def last(cls, days: int, today: date | None = None) -> DateRange:
        today = today or timezone.localdate()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @property
    def since(self) -> datetime:
        return _start_of(self.start)

    @property
    def until(self) -> datetime:
        return _start_of(self.end + timedelta(days=1))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, dtime.min, tzinfo=timezone.get_current_timezone())


def _per_day(
    rows: QuerySet[Any, dict[str, Any]], days: list[date], key: str = "", value: str = "n"
) -> dict[str, list[int]]:
    """{key value: [count per day]} from rows carrying `day`, `key` and `value`."""
    index = {day: position for position, day in enumerate(days)}
    result: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for row in rows:
        position = index.get(row["day"])
        if position is not None:
            result[str(row[key]) if key else ""][position] += row[value] or 0
    return dict(result)


def vendor_calls(r: DateRange) -> QuerySet[ComparisonAttempt]:
    """Calls to a comparison backend that finished in the range (pre-flight checks excluded)."""
    return ComparisonAttempt.objects.filter(
        finished_at__gte=r.since, finished_at__lt=r.until
    ).exclude(purpose=AttemptPurpose.PREFLIGHT)


# --- headline numbers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    pairs_today: int
    decided: int
    decided_auto: int
    open_cases: int
    overdue_cases: int
    oldest_open_hours: float | None
    median_latency_ms: float | None
    p95_latency_ms: float | None
    billable_calls: int
    preflight_saved: int

    @property
    def auto_rate(self) -> float | None:
        return self.decided_auto / self.decided if self.decided else None


def headline(r: DateRange, now: datetime | None = None) -> Headline:
    now = now or timezone.now()
    decided = (
        ImagePair.objects.filter(
            status__in=FINAL_PAIR_STATUSES, decided_at__gte=r.since, decided_at__lt=r.until
        )
        .values("decision_source")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_source = {row["decision_source"]: row["n"] for row in decided}
    open_cases = ReviewCase.objects.filter(status__in=WAITING_CASE_STATUSES)
    oldest = open_cases.aggregate(oldest=Min("created_at"))["oldest"]
    p50, p95 = latency_percentiles(r, (0.5, 0.95)).get("", [None, None])
    return Headline(
        pairs_today=ImagePair.objects.filter(
            created_at__gte=_start_of(timezone.localdate(now))
        ).count(),
        decided=sum(by_source.values()),
        decided_auto=by_source.get(DecisionSource.AUTO, 0),
        open_cases=open_cases.count(),
        overdue_cases=open_cases.filter(due_at__lt=now).count(),
        oldest_open_hours=(now - oldest).total_seconds() / 3600 if oldest else None,
        median_latency_ms=p50,
        p95_latency_ms=p95,
        billable_calls=vendor_calls(r).filter(billable=True).count(),
        preflight_saved=sum(preflight_savings(r).by_vendor.values()),
    )


# --- decisions ------------------------------------------------------------------------------------

DECISION_KEYS = [
    (PairStatus.APPROVED, DecisionSource.AUTO),
    (PairStatus.APPROVED, DecisionSource.REVIEWER),
    (PairStatus.REJECTED, DecisionSource.AUTO),
    (PairStatus.REJECTED, DecisionSource.REVIEWER),
    (PairStatus.RESUBMIT, DecisionSource.AUTO),
    (PairStatus.RESUBMIT, DecisionSource.REVIEWER),
    (PairStatus.FAILED, ""),
]


def decisions_per_day(r: DateRange) -> dict[tuple[str, str], list[int]]:
    """Final decisions per day, keyed by (status, source); failures are counted whatever source."""
    rows = (
        ImagePair.objects.filter(
            status__in=FINAL_PAIR_STATUSES, decided_at__gte=r.since, decided_at__lt=r.until
        )
        .annotate(day=TruncDate("decided_at"))
        .values("day", "status", "decision_source")
        .annotate(n=Count("id"))
        .order_by()
    )
    days = r.days
    index = {day: position for position, day in enumerate(days)}
    result: dict[tuple[str, str], list[int]] = {key: [0] * len(days) for key in DECISION_KEYS}
    for row in rows:
        status = row["status"]
        source = (
            "" if status == PairStatus.FAILED else row["decision_source"] or DecisionSource.AUTO
        )
        key = (status, source)
        if key in result and row["day"] in index:
            result[key][index[row["day"]]] += row["n"]
    return result


# --- scores ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreHistogram:
    vendor: str
    counts: list[int]
    approve_at: float | None
    reject_below: float | None
    thresholds_from: str  # "config" or "latest response" (FinAuth sends its own)

    @property
    def total(self) -> int:
        return sum(self.counts)


def score_histograms(r: DateRange) -> list[ScoreHistogram]:
    """Scores of completed calls per vendor in 5-point buckets, with the current thresholds."""
    bucket = Least(Floor(F("score") / Value(float(SCORE_BUCKET))), Value(float(SCORE_BUCKETS - 1)))
    rows = (
        vendor_calls(r)
        .filter(status=AttemptStatus.COMPLETED, score__isnull=False)
        .annotate(bucket=bucket)
        .values("vendor", "bucket")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * SCORE_BUCKETS)
    for row in rows:
        position = min(SCORE_BUCKETS - 1, max(0, int(row["bucket"])))
        counts[row["vendor"]][position] += row["n"]
    configs = {c.backend: c for c in VendorConfig.objects.all()}
    result = []
    for vendor in _vendor_order(counts):
        config = configs.get(vendor)
        approve_at = config.approve_at if config else None
        reject_below = config.reject_below if config else None
        source = "config"
        if vendor == Backend.FINAUTH:
            band = _latest_band(vendor)
            if band:
                approve_at, reject_below = band.get("approve_at"), band.get("reject_below")
                source = "latest response"
        result.append(ScoreHistogram(vendor, counts[vendor], approve_at, reject_below, source))
    return result


def _latest_band(vendor: str) -> dict[str, Any] | None:
    thresholds = (
        ComparisonAttempt.objects.filter(
            vendor=vendor, status=AttemptStatus.COMPLETED, finished_at__isnull=False
        )
        .order_by("-finished_at")
        .values_list("thresholds", flat=True)
        .first()
    )
    band = (thresholds or {}).get("band")
    return band if isinstance(band, dict) else None


def _vendor_order(vendors: Any) -> list[str]:
    order = {value: position for position, value in enumerate(Backend.values)}
    return sorted(vendors, key=lambda vendor: (order.get(vendor, 99), vendor))


# --- vendors: latency, errors, billing, pre-flight ------------------------------------------------


def latency_percentiles(
    r: DateRange, fractions: tuple[float, ...] = (0.5, 0.95), *, by_vendor: bool = False
) -> dict[str, list[float | None]]:
    """{vendor or "": [percentile per fraction]} of latency_ms over the range's vendor calls."""
    calls = vendor_calls(r).filter(latency_ms__isnull=False)
    if connection.vendor == "postgresql":
        annotations = {
            f"p{index}": PercentileCont(fraction, "latency_ms")
            for index, fraction in enumerate(fractions)
        }
        if by_vendor:
            rows = calls.values("vendor").annotate(**annotations).order_by()
            return {row["vendor"]: [row[f"p{i}"] for i in range(len(fractions))] for row in rows}
        totals = calls.aggregate(**annotations)
        return {"": [totals[f"p{i}"] for i in range(len(fractions))]}
    groups: list[str | None] = (
        list(calls.values_list("vendor", flat=True).distinct().order_by()) if by_vendor else [None]
    )
    result: dict[str, list[float | None]] = {}
    for vendor in groups:
        subset = calls.filter(vendor=vendor) if vendor is not None else calls
        sample = subset.order_by("-finished_at").values_list("latency_ms", flat=True)
        values = sorted(float(v) for v in sample[:PERCENTILE_SAMPLE] if v is not None)
        result[vendor or ""] = [percentile(values, fraction) for fraction in fractions]
    return result


@dataclass
class VendorRow:
    vendor: str
    calls: int = 0
    completed: int = 0
    invalid_input: int = 0
    failed: int = 0
    billable: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def error_rate(self) -> float | None:
        """Calls that got no usable answer (failures, not image problems)."""
        return self.failed / self.calls if self.calls else None

    @property
    def image_problem_rate(self) -> float | None:
        return self.invalid_input / self.calls if self.calls else None

    def top_errors(self, limit: int = 4) -> list[tuple[str, int]]:
        return sorted(self.errors.items(), key=lambda item: (-item[1], item[0]))[:limit]


def vendor_table(r: DateRange) -> list[VendorRow]:
    rows: dict[str, VendorRow] = {}
    for row in (
        vendor_calls(r)
        .values("vendor", "status", "error_code")
        .annotate(n=Count("id"), billable_n=Count("id", filter=Q(billable=True)))
        .order_by()
    ):
        entry = rows.setdefault(row["vendor"], VendorRow(row["vendor"]))
        entry.calls += row["n"]
        entry.billable += row["billable_n"]
        if row["status"] == AttemptStatus.COMPLETED:
            entry.completed += row["n"]
        elif row["status"] == AttemptStatus.INVALID_INPUT:
            entry.invalid_input += row["n"]
        elif row["status"] == AttemptStatus.FAILED:
            entry.failed += row["n"]
        if row["status"] in (AttemptStatus.FAILED, AttemptStatus.INVALID_INPUT):
            code = row["error_code"] or "UNSPECIFIED"
            entry.errors[code] = entry.errors.get(code, 0) + row["n"]
    for vendor, (p50, p95) in latency_percentiles(r, (0.5, 0.95), by_vendor=True).items():
        if vendor in rows:
            rows[vendor].p50_ms, rows[vendor].p95_ms = p50, p95
    return [rows[vendor] for vendor in _vendor_order(rows)]


def billable_per_day(r: DateRange) -> dict[str, list[int]]:
    rows = (
        vendor_calls(r)
        .filter(billable=True)
        .annotate(day=TruncDate("finished_at"))
        .values("day", "vendor")
        .annotate(n=Count("id"))
        .order_by()
    )
    per_vendor = _per_day(rows, r.days, key="vendor")
    return {vendor: per_vendor[vendor] for vendor in _vendor_order(per_vendor)}


@dataclass(frozen=True)
class PreflightSavings:
    by_vendor: dict[str, int]  # the vendor each pair would have gone to
    per_day: list[int]


def preflight_savings(r: DateRange) -> PreflightSavings:
    """Vendor calls never made because the local pre-flight found no usable face."""
    saved = ComparisonAttempt.objects.filter(
        purpose=AttemptPurpose.PREFLIGHT,
        status=AttemptStatus.INVALID_INPUT,
        details__vendor_called=False,
        finished_at__gte=r.since,
        finished_at__lt=r.until,
    )
    by_vendor = {
        str(row["target"] or "unknown"): row["n"]
        for row in saved.values(target=F("details__target_vendor"))
        .annotate(n=Count("id"))
        .order_by()
    }
    rows = saved.annotate(day=TruncDate("finished_at")).values("day").annotate(n=Count("id"))
    per_day = _per_day(rows.order_by(), r.days).get("", [0] * len(r.days))
    return PreflightSavings(by_vendor, per_day)


# --- the review queue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueSeries:
    open_cases: list[int]  # not yet decided at the end of each day (today: now)
    overdue: list[int]  # of those, past their due time then
    opened: list[int]
    decided: list[int]
    decided_late: list[int]  # decided that day after their due time
    hours_to_decision: list[float | None]  # mean, cases decided that day

    @property
    def breaches(self) -> int:
        return sum(self.decided_late)


def queue_over_time(r: DateRange, now: datetime | None = None) -> QueueSeries:
    """Open and overdue cases at the end of each day, from counts grouped by day.

    open(E) = cases created before E − cases decided before E; overdue(E) = cases due before E
    − cases decided before E whose due time was also before E (both times before E means
    GREATEST(due_at, decided_at) < E). Due times in the future are not yet overdue.
    """
    now = now or timezone.now()
    days = r.days
    cases = ReviewCase.objects.all()
    decided = cases.filter(decided_at__isnull=False)

    def daily(queryset: QuerySet[ReviewCase], field: str) -> list[int]:
        rows = (
            queryset.filter(**{f"{field}__gte": r.since, f"{field}__lt": r.until})
            .annotate(day=TruncDate(field))
            .values("day")
            .annotate(n=Count("id"))
            .order_by()
        )
        return _per_day(rows, days).get("", [0] * len(days))

    past_due = cases.filter(due_at__lt=now)
    both = decided.filter(due_at__lt=now).annotate(settled=Greatest("due_at", "decided_at"))
    opened = daily(cases, "created_at")
    closed = daily(decided, "decided_at")
    due = daily(past_due, "due_at")
    # GREATEST(...) in [since, until) spelled with the two indexed columns, so it can use them.
    settled = daily(
        both.filter(
            Q(due_at__gte=r.since) | Q(decided_at__gte=r.since),
            due_at__lt=r.until,
            decided_at__lt=r.until,
        ),
        "settled",
    )
    open_now = (
        cases.filter(created_at__lt=r.since).count()
        - decided.filter(decided_at__lt=r.since).count()
    )
    overdue_now = (
        past_due.filter(due_at__lt=r.since).count()
        - both.filter(due_at__lt=r.since, decided_at__lt=r.since).count()
    )
    open_series, overdue_series = [], []
    for index in range(len(days)):
        open_now += opened[index] - closed[index]
        overdue_now += due[index] - settled[index]
        open_series.append(open_now)
        overdue_series.append(overdue_now)

    in_range = decided.filter(decided_at__gte=r.since, decided_at__lt=r.until).annotate(
        day=TruncDate("decided_at")
    )
    late = _per_day(
        in_range.filter(decided_at__gt=F("due_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by(),
        days,
    ).get("", [0] * len(days))
    waited = ExpressionWrapper(F("decided_at") - F("created_at"), output_field=DurationField())
    hours: list[float | None] = [None] * len(days)
    positions = {day: position for position, day in enumerate(days)}
    for row in in_range.values("day").annotate(mean=Avg(waited)).order_by():
        if row["day"] in positions and row["mean"] is not None:
            hours[positions[row["day"]]] = _hours(row["mean"])
    return QueueSeries(open_series, overdue_series, opened, closed, late, hours)


def _hours(value: Any) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds() / 3600
    return float(value) / 3_600_000_000  # microseconds, as some backends return an average
