"""Everything the calibration page of one backend shows, built from its cached histograms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.safestring import SafeString

from reviews.calibration import stats
from reviews.calibration.data import POPULATION_DAYS, REFRESH_SECONDS, BackendData
from reviews.reporting import charts
from vendors.models import VendorConfig

#: Target false-accept rates an admin chooses from (the FinAuth levels and one looser).
TARGETS = ("1e-2", "1e-3", "1e-4", "1e-5")
DEFAULT_TARGET = "1e-3"
DEFAULT_MAX_REVIEW_PERCENT = 10


def percent(value: float | None) -> str:
    """A rate as a percentage with three significant figures (0.0123 %, 4.56 %)."""
    if value is None:
        return "–"
    return f"{value * 100:.3g} %"


@dataclass(frozen=True)
class ShownRate:
    name: str
    line: str
    rate: stats.Rate
    #: Why no figure is shown ("" when one is).
    withheld: str

    @property
    def estimate(self) -> str:
        return percent(self.rate.estimate)

    @property
    def interval(self) -> str:
        return f"{percent(self.rate.low)} – {percent(self.rate.high)}"


def _shown(name: str, line: str, rate: stats.Rate, unlabelled_zone: bool, zone: str) -> ShownRate:
    if unlabelled_zone:
        why = (
            f"No labelled pair lies in the {zone} zone: review cases come only from the band, "
            f"so nobody has looked at the automatic {zone}s this rate is about."
        )
    elif rate.too_few:
        why = (
            f"Too few labels: {rate.effective_n:.0f} effective, at least "
            f"{stats.MIN_EFFECTIVE_LABELS:.0f} needed."
        )
    else:
        why = ""
    return ShownRate(name, line, rate, why)


def _distribution_chart(labels: stats.LabelBins) -> SafeString:
    """Weighted share of each class per whole point of score."""
    per_point = stats.BINS_PER_POINT

    def shares(histogram: stats.Histogram) -> list[float | None]:
        if not histogram.total:
            return [None] * 100
        points = histogram.weights[:-1].reshape(100, per_point).sum(axis=1)
        points[-1] += histogram.weights[-1]  # a score of exactly 100 joins the top point
        return [float(v) for v in points / histogram.total * 100]

    labels_x = [str(point) for point in range(100)]
    return charts.lines(
        "calibration-distributions",
        "Scores of same-person and different-person pairs",
        labels_x,
        [
            charts.Series("Same person", shares(labels.same), charts.GREEN),
            charts.Series("Different people", shares(labels.different), charts.RED),
        ],
        desc="Share of each class's labelled scores at each whole point of the 0–100 scale, "
        "weighted for the QA sampling.",
        hover_labels=[f"Score {point}–{point + 1}" for point in range(100)],
        y_label="share of class",
        unit="%",
    )


def _det_chart(labels: stats.LabelBins, config: VendorConfig) -> SafeString:
    points = stats.curve(labels)
    far = stats.false_accept_rate(labels, config.approve_at)
    frr_at_approve = stats.rate(labels.same, from_index=stats.edge(config.approve_at), above=False)
    marker = None
    if far.estimate is not None and frr_at_approve.estimate is not None:
        marker = (far.estimate, frr_at_approve.estimate, f"approve at {config.approve_at:g}")
    return charts.log_curve(
        "calibration-det",
        "False accepts against false rejects, one line moved over the scale",
        [
            (
                charts.Series(
                    "Accept at or above a line", [p.false_reject for p in points], "#3b5bdb"
                ),
                [p.false_accept for p in points],
            )
        ],
        desc="A DET curve: for each line from 0 to 100, the share of different-person pairs at "
        "or above it (false accepts, log scale) against the share of same-person pairs below it "
        "(false rejects).",
        x_label="false-accept rate",
        y_label="false rejects",
        marker=marker,
    )


def _suggested_rates(suggestion: stats.Suggestion) -> list[ShownRate]:
    if not suggestion.usable or suggestion.false_accept is None or suggestion.false_reject is None:
        return []
    return [
        _shown(
            "False accepts",
            f"different-person pairs at or above {suggestion.approve_at:g}",
            suggestion.false_accept,
            False,
            "approve",
        ),
        _shown(
            "False rejects",
            f"same-person pairs below {suggestion.reject_below:g}",
            suggestion.false_reject,
            False,
            "reject",
        ),
    ]


def build(
    config: VendorConfig, data: BackendData, *, target: str, max_review_percent: float
) -> dict[str, Any]:
    labels, population = data.labels, data.population
    approve_at, reject_below = config.approve_at, config.reject_below
    unlabelled = stats.unlabelled_zones(
        labels, population, approve_at=approve_at, reject_below=reject_below
    )
    rates = [
        _shown(
            "False accepts",
            f"different-person pairs at or above {approve_at:g}",
            stats.false_accept_rate(labels, approve_at),
            "approve" in unlabelled,
            "approve",
        ),
        _shown(
            "False rejects",
            f"same-person pairs below {reject_below:g}",
            stats.false_reject_rate(labels, reject_below),
            "reject" in unlabelled,
            "reject",
        ),
    ]
    if unlabelled:
        # Checked first: more labels in the band would never fill a zone nobody looks into.
        suggestion = stats.Suggestion(
            None,
            None,
            None,
            None,
            None,
            problem="No suggestion: the labels leave the automatic "
            f"{' and '.join(unlabelled)} zone{'s' if len(unlabelled) > 1 else ''} unlooked-at, "
            "so the rates beyond the current lines are unknown. QA samples of automatic "
            "decisions fill them.",
        )
    else:
        suggestion = stats.suggest(
            labels, population, target_far=float(target), max_review_share=max_review_percent / 100
        )
    use_url = ""
    if suggestion.usable:
        change = reverse("admin:vendors_vendorconfig_change", args=[config.pk])
        use_url = f"{change}?" + urlencode(
            {
                "approve_at": f"{suggestion.approve_at:g}",
                "reject_below": f"{suggestion.reject_below:g}",
            }
        )
    return {
        "config": config,
        "finauth": config.backend == "finauth",
        "population_days": POPULATION_DAYS,
        "population_total": f"{int(population.sum()):,}",
        "classes": [
            ("Same person", labels.same.count, labels.same.effective_n),
            ("Different people", labels.different.count, labels.different.effective_n),
        ],
        "review_share": percent(stats.review_share(population, approve_at, reject_below)),
        "rates": rates,
        "suggestion": suggestion,
        "suggested_rates": _suggested_rates(suggestion),
        "suggested_review_share": percent(suggestion.review_share),
        "use_url": use_url,
        "distribution_chart": _distribution_chart(labels),
        "det_chart": _det_chart(labels, config),
        "has_labels": bool(labels.count),
        "labels_as_of": data.labels_as_of,
        "labels_since": data.labels_since,
        "refresh_minutes": REFRESH_SECONDS // 60,
    }
