"""Server-side SVG charts: stacked bars, lines, histograms with threshold lines, horizontal bars.

No JavaScript and nothing from the internet (DESIGN §12). Each chart is one accessible <svg>
(role="img", a <title> and a <desc>), scales to its container through its viewBox, and carries
a native tooltip (<title>) on every bar and every day, so exact numbers are one hover away.
Colours carry meaning only: green approve, red reject, amber review, blue information.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

GREEN = "#1e8e4e"
GREEN_LIGHT = "#8ccfa6"
RED = "#c92a2a"
RED_LIGHT = "#ee9c9c"
AMBER = "#d08a12"
BLUE = "#1c6fb8"
BLUE_LIGHT = "#9cc5ea"
GREY = "#8a92a0"
ACCENT = "#3b5bdb"
ACCENT_LIGHT = "#a5b6f3"
#: Vendors are categories, not meanings: neutral hues, none of the status colours.
CATEGORICAL = ("#3b5bdb", "#0c8599", "#7048e8", "#5c677d", "#ae3ec9", "#1098ad")

TEXT = "#1d2330"
MUTED = "#626b7a"
GRID = "#e6e8ec"
AXIS = "#c5cad3"
FONT_SIZE = 11
CHAR_WIDTH = 6.2  # average advance of an 11 px system sans-serif glyph


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str
    dashed: bool = False


@dataclass(frozen=True)
class Marker:
    """A reference line: vertical on a histogram (a threshold), horizontal on a line chart."""

    value: float
    label: str
    color: str


@dataclass(frozen=True)
class _Box:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def baseline(self) -> float:
        return self.height - self.bottom


def nice_ticks(maximum: float, count: int = 4, *, whole: bool = False) -> list[float]:
    """Round tick values from 0 to just above `maximum` (1, 2, 2.5, 5 × 10^k steps).

    `whole` is for counts: steps are whole numbers, so an axis of cases never reads 0.5.
    """
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = [m * magnitude for m in (1, 2, 2.5, 5, 10)]
    if whole:
        steps = [max(1, step) for step in steps if step >= 1 and step == int(step)] or [1]
    step = next((step for step in steps if step >= raw), steps[-1])
    top = math.ceil(maximum / step - 1e-9) * step
    ticks, value = [], 0.0
    while value <= top + step / 2:
        ticks.append(round(value, 10))
        value += step
    return ticks


def number(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 10_000:
        text = f"{value / 1000:,.0f}k"
    elif value == int(value):
        text = f"{int(value):,}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text}{unit}"


def _text(x: float, y: float, content: str, **attrs: object) -> str:
    attributes = {"x": f"{x:.1f}", "y": f"{y:.1f}", "fill": MUTED, **attrs}
    rendered = " ".join(f'{k.replace("_", "-")}="{escape(str(v))}"' for k, v in attributes.items())
    return f"<text {rendered}>{escape(content)}</text>"


def _svg(chart_id: str, box: _Box, title: str, desc: str, body: list[str]) -> SafeString:
    head = (
        f'<svg class="chart" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
        f'viewBox="0 0 {box.width} {box.height}" width="100%" '
        f'font-size="{FONT_SIZE}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every value escaped above


def _legend(box: _Box, items: Sequence[tuple[str, str, bool]], y: float = 12) -> list[str]:
    """One row of swatches and names along the top, wrapped when it would overflow."""
    parts: list[str] = []
    x = float(box.left)
    for name, color, dashed in items:
        needed = 18 + len(name) * CHAR_WIDTH + 16
        if x + needed > box.width - box.right and x > box.left:
            x, y = float(box.left), y + 16
        if dashed:
            parts.append(
                f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 12:.1f}" y2="{y - 4:.1f}" '
                f'stroke="{color}" stroke-width="2" stroke-dasharray="4 3"/>'
            )
        else:
            parts.append(
                f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="12" height="10" rx="2" fill="{color}"/>'
            )
        parts.append(_text(x + 17, y, name, fill=TEXT))
        x += needed
    return parts


def _y_axis(box: _Box, ticks: list[float], label: str, unit: str = "") -> list[str]:
    parts: list[str] = []
    top = ticks[-1] or 1
    for tick in ticks:
        y = box.baseline - tick / top * box.plot_height
        parts.append(
            f'<line x1="{box.left}" y1="{y:.1f}" x2="{box.width - box.right}" y2="{y:.1f}" '
            f'stroke="{GRID if tick else AXIS}" stroke-width="1"/>'
        )
        parts.append(_text(box.left - 6, y + 4, number(tick, unit), text_anchor="end"))
    if label:
        x, y = 12, box.top + box.plot_height / 2
        parts.append(_text(x, y, label, text_anchor="middle", transform=f"rotate(-90 {x} {y:.1f})"))
    return parts


def _x_labels(box: _Box, labels: Sequence[str], band: float, max_labels: int = 12) -> list[str]:
    step = max(1, math.ceil(len(labels) / max_labels))
    parts = []
    for index, label in enumerate(labels):
        if index % step and index != len(labels) - 1:
            continue
        if index != len(labels) - 1 and len(labels) - 1 - index < step:
            continue  # keep the last label clear of its neighbour
        x = box.left + band * (index + 0.5)
        parts.append(_text(x, box.baseline + 16, label, text_anchor="middle"))
    return parts


def _hover_column(box: _Box, band: float, index: int, height: float, text: str) -> str:
    """An invisible column over one x position whose tooltip reads out its values."""
    return (
        f'<rect x="{box.left + band * index:.1f}" y="{box.top}" width="{band:.1f}" '
        f'height="{height:.1f}" fill="transparent"><title>{escape(text)}</title></rect>'
    )


def _empty(box: _Box, message: str = "No data in this period") -> list[str]:
    return [
        f'<rect x="{box.left}" y="{box.top}" width="{box.plot_width:.1f}" '
        f'height="{box.plot_height:.1f}" fill="#fafbfc" stroke="{GRID}"/>',
        _text(
            box.left + box.plot_width / 2,
            box.top + box.plot_height / 2 + 4,
            message,
            text_anchor="middle",
        ),
    ]


def stacked_bars(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    desc: str,
    hover_labels: Sequence[str] | None = None,
    y_label: str = "",
    width: int = 1200,
    height: int = 260,
) -> SafeString:
    """One bar per label, each the stack of the series' values for it (zeros are skipped)."""
    legend_rows = 1 + int(sum(18 + len(s.name) * CHAR_WIDTH + 16 for s in series) > width - 80)
    box = _Box(width, height, left=52, right=12, top=16 + 16 * legend_rows, bottom=26)
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    body = _legend(box, [(s.name, s.color, False) for s in series])
    if not labels or not any(totals):
        return _svg(chart_id, box, title, desc, body + _empty(box))
    ticks = nice_ticks(max(totals), whole=True)
    body += _y_axis(box, ticks, y_label)
    band = box.plot_width / len(labels)
    bar = max(2.0, band * 0.72)
    hover = hover_labels or labels
    for index in range(len(labels)):
        x = box.left + band * index + (band - bar) / 2
        y = box.baseline
        for item in series:
            value = item.values[index]
            if not value:
                continue
            h = value / ticks[-1] * box.plot_height
            y -= h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{item.color}"><title>{escape(hover[index])} · {escape(item.name)}: '
                f"{number(value)}</title></rect>"
            )
        if totals[index]:
            breakdown = "; ".join(
                f"{s.name} {number(s.values[index] or 0)}" for s in series if s.values[index]
            )
            text = f"{hover[index]}: {number(totals[index])} in all ({breakdown})"
            body.append(_hover_column(box, band, index, max(0.0, y - box.top), text))
    return _svg(chart_id, box, title, desc, body + _x_labels(box, labels, band))


def lines(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    desc: str,
    hover_labels: Sequence[str] | None = None,
    y_label: str = "",
    unit: str = "",
    reference: Marker | None = None,
    width: int = 590,
    height: int = 240,
    whole: bool = False,
) -> SafeString:
    """One line per series over the labels; an optional horizontal reference line (e.g. an SLA).
    `whole`: the values are counts, so the axis ticks are whole numbers."""
    legend = [(s.name, s.color, s.dashed) for s in series]
    if reference:
        legend.append((reference.label, reference.color, True))
    legend_rows = 1 + int(sum(18 + len(n) * CHAR_WIDTH + 16 for n, _, _ in legend) > width - 80)
    box = _Box(width, height, left=52, right=14, top=16 + 16 * legend_rows, bottom=26)
    body = _legend(box, legend)
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not any(values):
        return _svg(chart_id, box, title, desc, body + _empty(box))
    ticks = nice_ticks(max([*values, reference.value if reference else 0]), whole=whole)
    body += _y_axis(box, ticks, y_label, unit)
    band = box.plot_width / len(labels)

    def y_of(value: float) -> float:
        return box.baseline - value / ticks[-1] * box.plot_height

    if reference:
        y = y_of(reference.value)
        body.append(
            f'<line x1="{box.left}" y1="{y:.1f}" x2="{box.width - box.right}" y2="{y:.1f}" '
            f'stroke="{reference.color}" stroke-width="1.5" stroke-dasharray="5 4"/>'
        )
    for item in series:
        points = [
            (box.left + band * (i + 0.5), y_of(v))
            for i, v in enumerate(item.values)
            if v is not None
        ]
        dash = ' stroke-dasharray="5 4"' if item.dashed else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{item.color}" stroke-width="2" '
            f'stroke-linejoin="round" stroke-linecap="round"{dash}/>'
        )
        if len(points) <= 45:
            body += [
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.4" fill="{item.color}"/>'
                for x, y in points
            ]
    hover = hover_labels or labels
    for index in range(len(labels)):
        parts = [
            f"{s.name} {number(s.values[index], unit)}"
            for s in series
            if s.values[index] is not None
        ]
        text = f"{hover[index]}: {'; '.join(parts) or 'no data'}"
        body.append(_hover_column(box, band, index, box.plot_height, text))
    return _svg(chart_id, box, title, desc, body + _x_labels(box, labels, band))


def histogram(
    chart_id: str,
    title: str,
    counts: Sequence[int],
    *,
    desc: str,
    low: float = 0,
    high: float = 100,
    reject_below: float | None = None,
    approve_at: float | None = None,
    width: int = 300,
    height: int = 180,
) -> SafeString:
    """Equal-width buckets from `low` to `high`, coloured by the zone each falls in.

    Buckets wholly below `reject_below` are red, wholly at or above `approve_at` green, the rest
    amber; the two thresholds are drawn as labelled dashed lines.
    """
    box = _Box(width, height, left=36, right=10, top=22, bottom=30)
    if not any(counts):
        return _svg(chart_id, box, title, desc, _empty(box, "No scores in this period"))
    ticks = nice_ticks(max(counts), count=3, whole=True)
    body = _y_axis(box, ticks, "")
    span = (high - low) / len(counts)

    def x_of(value: float) -> float:
        return box.left + (value - low) / (high - low) * box.plot_width

    for index, count in enumerate(counts):
        lo, hi = low + span * index, low + span * (index + 1)
        if reject_below is not None and hi <= reject_below:
            color, zone = RED, "reject"
        elif approve_at is not None and lo >= approve_at:
            color, zone = GREEN, "approve"
        else:
            color, zone = AMBER, "review"
        if not count:
            continue
        h = count / ticks[-1] * box.plot_height
        body.append(
            f'<rect x="{x_of(lo) + 0.5:.1f}" y="{box.baseline - h:.1f}" '
            f'width="{max(1.0, x_of(hi) - x_of(lo) - 1):.1f}" height="{h:.1f}" fill="{color}">'
            f"<title>Score {number(lo)}–{number(hi)}: {number(count)} ({zone} zone)</title></rect>"
        )
    for value in range(int(low), int(high) + 1, 20):
        body.append(_text(x_of(value), box.baseline + 14, str(value), text_anchor="middle"))
    body.append(
        _text(box.left + box.plot_width / 2, box.baseline + 27, "score", text_anchor="middle")
    )
    markers = []
    if reject_below is not None:
        markers.append(Marker(reject_below, f"reject < {number(reject_below)}", RED))
    if approve_at is not None:
        markers.append(Marker(approve_at, f"approve ≥ {number(approve_at)}", GREEN))
    for position, marker in enumerate(markers):
        x = x_of(marker.value)
        body.append(
            f'<line x1="{x:.1f}" y1="{box.top - 4}" x2="{x:.1f}" y2="{box.baseline}" '
            f'stroke="{marker.color}" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        anchor = "end" if position == 0 else "start"
        offset = -4 if position == 0 else 4
        body.append(
            _text(x + offset, box.top - 8, marker.label, text_anchor=anchor, fill=marker.color)
        )
    return _svg(chart_id, box, title, desc, body)


def horizontal_bars(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    desc: str,
    unit: str = "",
    width: int = 590,
    row_height: int = 34,
) -> SafeString:
    """Grouped horizontal bars: one group per label, one bar per series, values at the bar ends."""
    left = int(max([len(label) for label in labels] or [4]) * CHAR_WIDTH) + 16
    height = 28 + row_height * max(1, len(labels)) + 22
    box = _Box(width, height, left=left, right=56, top=28, bottom=22)
    body = _legend(box, [(s.name, s.color, False) for s in series])
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not any(values):
        return _svg(chart_id, box, title, desc, body + _empty(box))
    ticks = nice_ticks(max(values))
    top = ticks[-1]
    for tick in ticks:
        x = box.left + tick / top * box.plot_width
        body.append(
            f'<line x1="{x:.1f}" y1="{box.top}" x2="{x:.1f}" y2="{box.baseline}" '
            f'stroke="{GRID if tick else AXIS}"/>'
        )
        body.append(_text(x, box.baseline + 14, number(tick, unit), text_anchor="middle"))
    bar = (row_height - 10) / max(1, len(series))
    for index, label in enumerate(labels):
        y0 = box.top + row_height * index + 5
        body.append(
            _text(box.left - 8, y0 + (row_height - 10) / 2 + 4, label, text_anchor="end", fill=TEXT)
        )
        for position, item in enumerate(series):
            value = item.values[index]
            if value is None:
                continue
            w = value / top * box.plot_width
            y = y0 + bar * position
            body.append(
                f'<rect x="{box.left}" y="{y:.1f}" width="{max(w, 1):.1f}" height="{bar - 2:.1f}" '
                f'rx="2" fill="{item.color}"><title>{escape(label)} · {escape(item.name)}: '
                f"{number(value, unit)}</title></rect>"
            )
            body.append(_text(box.left + w + 4, y + bar / 2 + 2, number(value, unit), fill=TEXT))
    return _svg(chart_id, box, title, desc, body)


def log_curve(
    chart_id: str,
    title: str,
    series: Sequence[tuple[Series, Sequence[float]]],
    *,
    desc: str,
    x_label: str,
    y_label: str,
    x_min: float = 1e-5,
    marker: tuple[float, float, str] | None = None,
    width: int = 590,
    height: int = 260,
) -> SafeString:
    """Curves of (x, y) points with x on a log scale from `x_min` to 1 and y from 0 to 1 (shown
    as percentages): a DET chart of false accepts against false rejects. Points with x below
    `x_min` are drawn at its edge. `marker` is one labelled point (x, y, label)."""
    box = _Box(width, height, left=52, right=14, top=32, bottom=40)
    body = _legend(box, [(s.name, s.color, s.dashed) for s, _ in series])
    if not any(len(s.values) for s, _ in series):
        return _svg(chart_id, box, title, desc, body + _empty(box, "Too few labels to draw"))
    decades = round(-math.log10(x_min))

    def x_of(value: float) -> float:
        position = (math.log10(max(value, x_min)) + decades) / decades
        return box.left + position * box.plot_width

    def y_of(value: float) -> float:
        return box.baseline - value * box.plot_height

    body += _y_axis(box, [0, 25, 50, 75, 100], y_label, "%")
    for power in range(-decades, 1):
        x = x_of(10.0**power)
        body.append(
            f'<line x1="{x:.1f}" y1="{box.top}" x2="{x:.1f}" y2="{box.baseline}" stroke="{GRID}"/>'
        )
        body.append(
            _text(x, box.baseline + 14, f"1e{power}" if power else "1", text_anchor="middle")
        )
    body.append(
        _text(box.left + box.plot_width / 2, box.baseline + 30, x_label, text_anchor="middle")
    )
    for item, xs in series:
        points = [(x_of(x), y_of(y)) for x, y in zip(xs, item.values, strict=True) if y is not None]
        dash = ' stroke-dasharray="5 4"' if item.dashed else ""
        body.append(
            f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}" fill="none" '
            f'stroke="{item.color}" stroke-width="2" stroke-linejoin="round"{dash}/>'
        )
    if marker is not None:
        x, y = x_of(marker[0]), y_of(marker[1])
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{AMBER}"><title>'
            f"{escape(marker[2])}</title></circle>"
        )
        body.append(_text(x + 6, y - 6, marker[2], fill=TEXT))
    return _svg(chart_id, box, title, desc, body)
