"""Small pieces of the reviewer pages: relative times, badges, band bars, face boxes.

Everything here renders without inline styles or scripts (the pages run under a strict
Content-Security-Policy): geometry goes into SVG attributes, which scale with their viewBox.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from reviews.audit_selectors import event_label as _event_label
from reviews.selectors import reason_colour, reason_label
from vendors.models import Backend
from vendors.verdicts import RISK_TAG_REASONS, Band, judged_band

register = template.Library()

VENDOR_SHORT: dict[str, str] = {
    Backend.FINAUTH: "FinAuth",
    Backend.ADVANCE: "ADVANCE.AI",
    Backend.ZOLOZ: "ZOLOZ",
    Backend.ALIBABA: "Alibaba",
    Backend.LOCAL: "Local engine",
}


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 60:
        return "under a minute"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        rest = minutes % 60
        return f"{hours} h {rest} min" if hours < 6 and rest else f"{hours} h"
    return f"{hours // 24} days"


@register.filter
def ago(value: datetime | None) -> str:
    """ "5 min ago", "3 h ago"."""
    if value is None:
        return ""
    seconds = (timezone.now() - value).total_seconds()
    if seconds < 60:
        return "just now"
    return f"{_span(seconds)} ago"


@register.filter
def until(value: datetime | None) -> str:
    """ "in 3 h" or "2 h overdue"."""
    if value is None:
        return ""
    seconds = (value - timezone.now()).total_seconds()
    if seconds < 0:
        return f"{_span(seconds)} overdue"
    return f"in {_span(seconds)}"


@register.filter
def overdue(value: datetime | None) -> bool:
    return value is not None and value < timezone.now()


@register.filter
def due_soon(value: datetime | None) -> bool:
    if value is None:
        return False
    seconds = (value - timezone.now()).total_seconds()
    return 0 <= seconds < 2 * 3600


@register.filter
def short(value: Any) -> str:
    return str(value)[:8]


@register.filter
def vendor_name(value: str) -> str:
    return VENDOR_SHORT.get(value, value or "—")


@register.filter
def event_label(value: str) -> str:
    return _event_label(value)


@register.simple_tag
def reason_badges(reasons: list[str]) -> str:
    """One coloured badge per review reason (built in Python: the queue renders many rows)."""
    return format_html_join(
        " ",
        '<span class="badge badge-{}">{}</span>',
        ((reason_colour(r), reason_label(r)) for r in reasons or []),
    )


def band_of(attempt: Any) -> Band | None:
    """The band the attempt was judged with, or None."""
    return None if attempt is None else judged_band(attempt.thresholds)


@register.simple_tag
def band_mini(attempt: Any) -> str:
    """The queue's score cell: the number and a 100-unit bar of the vendor's three zones."""
    band = band_of(attempt)
    score = getattr(attempt, "score", None)
    zone = band.place(score) if score is not None and band is not None else ""
    number = (
        format_html('<span class="score-num zone-{}">{}</span>', zone, f"{score:.1f}")
        if score is not None and zone
        else format_html('<span class="score-num">{}</span>', f"{score:.1f}")
        if score is not None
        else mark_safe('<span class="score-num"><span class="faint">—</span></span>')
    )
    bar = ""
    if band is not None:
        reject_below, approve_at = band.reject_below, band.approve_at
        marker = (
            format_html(
                '<rect class="marker" x="{}" y="0" width="2" height="10"/>',
                min(max(score, 1.0), 99.0) - 1.0,
            )
            if score is not None
            else ""
        )
        bar = format_html(
            '<svg class="band band-mini" viewBox="0 0 100 10" preserveAspectRatio="none" '
            'aria-hidden="true" focusable="false"><title>Reject below {} · approve at {}</title>'
            '<rect class="z-reject" x="0" y="2" width="{}" height="6"/>'
            '<rect class="z-review" x="{}" y="2" width="{}" height="6"/>'
            '<rect class="z-approve" x="{}" y="2" width="{}" height="6"/>{}</svg>',
            f"{round(reject_below, 1):g}",
            f"{round(approve_at, 1):g}",
            float(reject_below),
            float(reject_below),
            max(0.0, approve_at - reject_below),
            float(approve_at),
            max(0.0, 100 - approve_at),
            marker,
        )
    return format_html('<span class="score-cell">{}{}</span>', number, bar)


@register.inclusion_tag("reviews/_band_large.html")
def band_large(attempt: Any) -> dict[str, Any]:
    """The case page's score bar: zones labelled with their lines, the score as a marker.

    Drawn in a 1000 x 64 viewBox that scales uniformly, so text keeps its proportions.
    """
    band = band_of(attempt)
    score = getattr(attempt, "score", None)
    if band is None:
        return {"band": None, "score": score}
    reject_below, approve_at = band.reject_below, band.approve_at
    scale = 10.0
    marker: dict[str, Any] | None = None
    if score is not None:
        x = min(max(score, 0.0), 100.0) * scale
        label_x = min(max(x, 30.0), 970.0)
        marker = {
            "x": x,
            "label_x": label_x,
            "text": f"{score:.1f}",
            "zone": band.place(score),
            "points": f"{x - 6},13 {x + 6},13 {x},21",
        }
    reject_mid = reject_below * scale / 2
    review_mid = (reject_below + approve_at) * scale / 2
    approve_mid = (approve_at + 100) * scale / 2

    def clear_of_marker(mid: float) -> bool:
        return marker is None or abs(marker["x"] - mid) > 40

    return {
        "band": {
            "reject_w": reject_below * scale,
            "review_x": reject_below * scale,
            "review_w": max(0.0, approve_at - reject_below) * scale,
            "approve_x": approve_at * scale,
            "approve_w": max(0.0, 100 - approve_at) * scale,
            "reject_mid": reject_mid,
            "review_mid": review_mid,
            "approve_mid": approve_mid,
            "reject_below": f"{round(reject_below, 1):g}",
            "approve_at": f"{round(approve_at, 1):g}",
            # A zone too narrow for its word, or under the marker's line, goes unlabelled.
            "show_review_label": approve_at - reject_below >= 8 and clear_of_marker(review_mid),
            "show_reject_label": reject_below >= 8 and clear_of_marker(reject_mid),
            "show_approve_label": 100 - approve_at >= 8 and clear_of_marker(approve_mid),
        },
        "marker": marker,
        "score": score,
    }


@register.simple_tag
def face_box(attempt: Any, which: str) -> dict[str, int] | None:
    """The face box of `which` image ({left, top, width, height} in upright pixels) or None."""
    faces = getattr(attempt, "faces", None) or {}
    box = faces.get(which)
    if not isinstance(box, dict):
        return None
    try:
        return {key: int(box[key]) for key in ("left", "top", "width", "height")}
    except (KeyError, TypeError, ValueError):
        return None


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def risk_tag_label(tag: str) -> str:
    """A vendor's risk tag in the words of the review reason it raises ("is_age_risk" -> "Age
    risk"); an unknown tag reads as words, never as a raw code."""
    return reason_label(RISK_TAG_REASONS.get(tag, tag.removeprefix("is_")))


@register.filter
def reason_words(reasons: list[str] | None) -> str:
    """A list of review-reason codes as a person reads them: "Age risk, Score in band"."""
    return ", ".join(reason_label(reason) for reason in reasons or [])


@register.filter
def outcome_label(value: str) -> str:
    from reviews.models import Outcome

    return Outcome(value).label if value in Outcome.values else words(value).capitalize()


@register.filter
def pair_status_label(value: str) -> str:
    from kyc.models import PairStatus

    return PairStatus(value).label if value in PairStatus.values else words(value).capitalize()


@register.filter
def words(value: Any) -> str:
    """ "claim_expired" -> "claim expired"."""
    return str(value or "").replace("_", " ")


@register.filter
def param(value: Any) -> str:
    """An audit parameter as a person reads it (lists joined, no Python reprs)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)
