"""The review queue's figures on /metrics: depth by queue and status, overdue cases, oldest age.

kyc serves /metrics; this collector joins it from `ReviewsConfig.ready` (DESIGN §3: kyc never
reads reviews' models).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from reviews.models import ReviewCase
from reviews.reporting.stats import WAITING_CASE_STATUSES

#: The metric names this collector adds to /metrics.
METRIC_NAMES = (
    "kyc_review_cases_open",
    "kyc_review_cases_overdue",
    "kyc_review_oldest_open_case_age_seconds",
)


class ReviewQueueCollector(Collector):
    def describe(self) -> Iterable[Metric]:
        return []  # nothing to check at registration; collect() runs at scrape time only

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        open_cases = ReviewCase.objects.filter(status__in=WAITING_CASE_STATUSES)
        by_queue = GaugeMetricFamily(
            "kyc_review_cases_open",
            "Review cases not yet decided, by queue and status.",
            labels=["queue", "status"],
        )
        for row in open_cases.values("queue", "status").annotate(n=Count("id")).order_by():
            by_queue.add_metric([row["queue"], row["status"]], row["n"])
        yield by_queue
        yield GaugeMetricFamily(
            "kyc_review_cases_overdue",
            "Review cases not yet decided whose due time has passed.",
            value=open_cases.filter(due_at__lt=now).count(),
        )
        oldest = open_cases.aggregate(oldest=Min("created_at"))["oldest"]
        yield GaugeMetricFamily(
            "kyc_review_oldest_open_case_age_seconds",
            "Age of the oldest review case not yet decided (0 when the queue is empty).",
            value=(now - oldest).total_seconds() if oldest else 0,
        )
