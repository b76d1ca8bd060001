"""Prometheus metrics for /metrics.

Two sources, chosen for a deployment with several gunicorn workers, Celery workers on other
machines and one PostgreSQL:

* **From the database, at scrape time** (a custom collector): everything about the work itself —
  vendor calls by outcome, their latency histograms and billable counts, attempts in flight,
  webhook deliveries; apps above kyc add theirs with `register_collector` (the review queue's
  depth and age come from reviews.reporting.metrics). Every vendor call already leaves a
  ComparisonAttempt row (DESIGN §11 habit 3), so these figures are the same whichever process
  or machine answers the scrape, survive restarts, and need no coordination between Celery
  workers (which are never scraped). Vendor-call counters are cumulative over all time; the part
  before the last full hour is sealed (finished attempts never change) and cached for an hour,
  so a scrape only aggregates the latest hour through the `finished_at` index.
* **In the web process**: HTTP request counts and durations by route name and status, observed
  by PrometheusMiddleware. Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR to
  an empty directory (e.g. var/prometheus, emptied when gunicorn starts) and the scrape adds up
  every worker's figures (prometheus_client multiprocess mode); without it each worker reports
  its own, which is right for a single process (runserver, tests).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from kyc.models import (
    AttemptPurpose,
    AttemptStatus,
    ComparisonAttempt,
    DeliveryStatus,
    ImagePair,
    PairStatus,
    WebhookDelivery,
)

#: Every metric name kyc itself exposes on /metrics (the collector's and the middleware's).
METRIC_NAMES = (
    "kyc_http_requests_total",
    "kyc_http_request_duration_seconds",
    "kyc_vendor_calls_total",
    "kyc_vendor_billable_calls_total",
    "kyc_vendor_call_duration_seconds",
    "kyc_comparison_attempts_in_flight",
    "kyc_image_pairs_in_progress",
    "kyc_webhook_deliveries_failed_total",
    "kyc_webhook_deliveries_pending",
)

HTTP_REGISTRY = CollectorRegistry(auto_describe=True)
HTTP_REQUESTS = Counter(
    "kyc_http_requests",
    "HTTP requests by route name, method and status code.",
    ["route", "method", "status"],
    registry=HTTP_REGISTRY,
)
HTTP_DURATION = Histogram(
    "kyc_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name and method.",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=HTTP_REGISTRY,
)

#: Vendor call latency buckets, seconds (vendor timeouts are 1–120 s, typically 15).
VENDOR_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 60.0)
_SEAL_LAG = timedelta(minutes=5)  # attempts finishing now may commit a moment later


def observe_request(route: str, method: str, status: int, started: float) -> None:
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_DURATION.labels(route, method).observe(time.perf_counter() - started)


# --- vendor calls, from ComparisonAttempt rows ----------------------------------------------------

CallKey = tuple[str, str, str]  # vendor, status, error_code


def _vendor_aggregate(since: datetime | None, until: datetime | None) -> dict[str, Any]:
    """Counts by (vendor, status, error code), and latency bucket counts by vendor."""
    calls = ComparisonAttempt.objects.filter(finished_at__isnull=False).exclude(
        purpose=AttemptPurpose.PREFLIGHT
    )
    if since is not None:
        calls = calls.filter(finished_at__gte=since)
    if until is not None:
        calls = calls.filter(finished_at__lt=until)
    outcomes: dict[CallKey, list[int]] = {}
    for row in calls.values("vendor", "status", "error_code").annotate(
        n=Count("id"), billable_n=Count("id", filter=Q(billable=True))
    ):
        key = (row["vendor"], row["status"], row["error_code"] or "")
        outcomes[key] = [row["n"], row["billable_n"]]
    bucket_counts = {
        f"le_{index}": Count("id", filter=Q(latency_ms__lte=bound * 1000))
        for index, bound in enumerate(VENDOR_BUCKETS)
    }
    latency: dict[str, list[float]] = {}
    for row in (
        calls.filter(latency_ms__isnull=False)
        .values("vendor")
        .annotate(n=Count("id"), total_ms=Sum("latency_ms"), **bucket_counts)
    ):
        latency[row["vendor"]] = [
            *(row[f"le_{index}"] for index in range(len(VENDOR_BUCKETS))),
            row["n"],
            row["total_ms"] or 0,
        ]
    return {"outcomes": outcomes, "latency": latency}


def _merge(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    outcomes: dict[CallKey, list[int]] = defaultdict(lambda: [0, 0])
    latency: dict[str, list[float]] = defaultdict(lambda: [0] * (len(VENDOR_BUCKETS) + 2))
    for part in (first, second):
        for key, values in part["outcomes"].items():
            outcomes[key] = [a + b for a, b in zip(outcomes[key], values, strict=True)]
        for vendor, values in part["latency"].items():
            latency[vendor] = [a + b for a, b in zip(latency[vendor], values, strict=True)]
    return {"outcomes": dict(outcomes), "latency": dict(latency)}


def vendor_totals(now: datetime | None = None) -> dict[str, Any]:
    """All-time vendor call figures: a cached sealed part plus the last hour or so, live."""
    now = now or timezone.now()
    sealed_until = (now - _SEAL_LAG).replace(minute=0, second=0, microsecond=0)
    key = f"kyc:ops:vendor-totals:{sealed_until:%Y%m%d%H}"
    sealed = cache.get(key)
    if sealed is None:
        sealed = _vendor_aggregate(None, sealed_until)
        cache.set(key, sealed, timeout=2 * 3600)
    return _merge(sealed, _vendor_aggregate(sealed_until, None))


class DatabaseCollector(Collector):
    """Vendor outcomes and latency, work in flight, webhooks: computed from the database."""

    def describe(self) -> Iterable[Metric]:
        return []  # nothing to check at registration; collect() runs at scrape time only

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from self._vendor_metrics(now)
        yield from self._work_metrics()
        yield from self._webhook_metrics()

    def _vendor_metrics(self, now: datetime) -> Iterator[Metric]:
        totals = vendor_totals(now)
        calls = CounterMetricFamily(
            "kyc_vendor_calls",
            "Comparison calls by vendor, attempt status and error code (all time).",
            labels=["vendor", "status", "error_code"],
        )
        billable = CounterMetricFamily(
            "kyc_vendor_billable_calls",
            "Comparison calls the vendor bills for, by vendor (all time).",
            labels=["vendor"],
        )
        billed: dict[str, int] = defaultdict(int)
        for (vendor, status, error_code), (count, billable_count) in sorted(
            totals["outcomes"].items()
        ):
            calls.add_metric([vendor, status, error_code], count)
            billed[vendor] += billable_count
        for vendor, count in sorted(billed.items()):
            billable.add_metric([vendor], count)
        duration = HistogramMetricFamily(
            "kyc_vendor_call_duration_seconds",
            "Vendor call latency by vendor, as recorded on each attempt (all time).",
            labels=["vendor"],
        )
        for vendor, values in sorted(totals["latency"].items()):
            count, total_ms = values[-2], values[-1]
            buckets = [
                (floatToGoString(bound), values[index])
                for index, bound in enumerate(VENDOR_BUCKETS)
            ]
            duration.add_metric([vendor], [*buckets, ("+Inf", count)], total_ms / 1000)
        yield from (calls, billable, duration)

    def _work_metrics(self) -> Iterator[Metric]:
        in_flight = GaugeMetricFamily(
            "kyc_comparison_attempts_in_flight",
            "Comparison attempts waiting for or holding a worker, by vendor and status.",
            labels=["vendor", "status"],
        )
        for row in (
            ComparisonAttempt.objects.filter(
                status__in=[AttemptStatus.PENDING, AttemptStatus.RUNNING]
            )
            .values("vendor", "status")
            .annotate(n=Count("id"))
            .order_by()
        ):
            in_flight.add_metric([row["vendor"], row["status"]], row["n"])
        yield in_flight
        pairs = GaugeMetricFamily(
            "kyc_image_pairs_in_progress",
            "Image pairs not yet decided, by status.",
            labels=["status"],
        )
        counted = dict(
            ImagePair.objects.filter(
                status__in=[PairStatus.RECEIVED, PairStatus.COMPARING, PairStatus.NEEDS_REVIEW]
            )
            .values("status")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("status", "n")
        )
        for status in (PairStatus.RECEIVED, PairStatus.COMPARING, PairStatus.NEEDS_REVIEW):
            pairs.add_metric([status.value], counted.get(status.value, 0))
        yield pairs

    def _webhook_metrics(self) -> Iterator[Metric]:
        counted = dict(
            WebhookDelivery.objects.filter(
                status__in=[DeliveryStatus.FAILED, DeliveryStatus.PENDING]
            )
            .values("status")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("status", "n")
        )
        yield CounterMetricFamily(
            "kyc_webhook_deliveries_failed",
            "Webhook deliveries given up after every retry (all time).",
            value=counted.get(DeliveryStatus.FAILED.value, 0),
        )
        yield GaugeMetricFamily(
            "kyc_webhook_deliveries_pending",
            "Webhook deliveries not yet delivered nor given up.",
            value=counted.get(DeliveryStatus.PENDING.value, 0),
        )


class _Forward(Collector):
    """Lets a per-scrape registry include the in-process HTTP metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


#: Collectors that apps above kyc add (reviews: its queue), read at every scrape.
_app_collectors: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """Add an app's own figures to /metrics (called from an AppConfig.ready, once)."""
    if collector not in _app_collectors:
        _app_collectors.append(collector)


def render() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(HTTP_REGISTRY))
    registry.register(DatabaseCollector())
    for collector in _app_collectors:
        registry.register(collector)
    return generate_latest(registry)


# --- the view -------------------------------------------------------------------------------------


def _authorized(request: HttpRequest) -> bool | None:
    """True with good credentials, False with bad ones, None with none at all."""
    user = settings.KYC_METRICS_USER
    password = settings.KYC_METRICS_PASSWORD
    token = settings.KYC_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if not scheme or not value:
        return None
    if scheme.lower() == "bearer" and token:
        return hmac.compare_digest(value.encode(), token.encode())
    if scheme.lower() == "basic" and user and password:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        given_user, _, given_password = decoded.partition(":")
        # Both comparisons always run: no timing hint about which half was wrong.
        user_ok = hmac.compare_digest(given_user.encode(), user.encode())
        password_ok = hmac.compare_digest(given_password.encode(), password.encode())
        return user_ok and password_ok
    return False


def metrics_view(request: HttpRequest) -> HttpResponse:
    configured = bool(
        settings.KYC_METRICS_TOKEN or (settings.KYC_METRICS_USER and settings.KYC_METRICS_PASSWORD)
    )
    if not configured:
        if not settings.DEBUG:
            # Nothing configured: answer as if there were no such page.
            raise Http404("Metrics are not enabled.")
    else:
        verdict = _authorized(request)
        if verdict is None:
            response = HttpResponse("Credentials required.\n", status=401)
            response["WWW-Authenticate"] = 'Basic realm="metrics", charset="UTF-8"'
            return response
        if not verdict:
            return HttpResponse("Wrong credentials.\n", status=403)
    response = HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
