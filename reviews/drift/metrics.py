"""Score drift on /metrics: each backend's latest weekly check (reviews.drift.checks)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from reviews.drift.checks import latest_checks

METRIC_NAMES = ("kyc_score_drift_psi", "kyc_score_drift_flagged")


class ScoreDriftCollector(Collector):
    def describe(self) -> Iterable[Metric]:
        return []  # nothing to check at registration; collect() runs at scrape time only

    def collect(self) -> Iterator[Metric]:
        psi = GaugeMetricFamily(
            "kyc_score_drift_psi",
            "Population-stability index of the backend's scores in its latest checked week "
            "against the four weeks before (absent when scores were too few).",
            labels=["backend"],
        )
        flagged = GaugeMetricFamily(
            "kyc_score_drift_flagged",
            "1 when the backend's latest checked week passed the PSI limit, else 0.",
            labels=["backend"],
        )
        for check in latest_checks():
            if check.psi is not None:
                psi.add_metric([check.backend], check.psi)
            flagged.add_metric([check.backend], 1 if check.flagged else 0)
        yield psi
        yield flagged
