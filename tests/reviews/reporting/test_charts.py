"""The SVG chart module: readable, accessible, escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from reviews.reporting import charts
from reviews.reporting.charts import Marker, Series, nice_ticks, number

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output


def test_ticks_are_round_numbers_covering_the_maximum():
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(100) == [0, 25, 50, 75, 100]
    assert nice_ticks(1234)[-1] >= 1234
    assert nice_ticks(0.8) == [0, 0.2, 0.4, 0.6, 0.8]


def test_count_axes_tick_in_whole_numbers():
    assert nice_ticks(1, whole=True) == [0, 1]
    assert nice_ticks(2, whole=True) == [0, 1, 2]
    assert nice_ticks(3, whole=True) == [0, 1, 2, 3]
    assert nice_ticks(9, whole=True) == [0, 5, 10]
    assert nice_ticks(90, whole=True) == [0, 25, 50, 75, 100]


def test_a_queue_of_one_case_has_no_half_case_tick():
    svg = charts.lines(
        "q",
        "Queue",
        ["1 Mar", "2 Mar"],
        [Series("open cases", [1, 0], "#000")],
        desc="d",
        whole=True,
    )
    labels = [t.text for t in parse(svg).iter(f"{SVG}text")]
    assert "0.5" not in labels and "0.25" not in labels
    assert "1" in labels


def test_numbers_are_short():
    assert (number(3), number(1234), number(25_000), number(0.25), number(None)) == (
        "3",
        "1,234",
        "25k",
        "0.25",
        "–",
    )


def test_stacked_bars_are_accessible_and_carry_exact_numbers():
    svg = charts.stacked_bars(
        "d",
        "Decisions per day",
        ["1 Mar", "2 Mar"],
        [Series("Approved", [3, 0], charts.GREEN), Series("Rejected", [1, 2], charts.RED)],
        desc="Four decisions",
    )
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "d-t d-d"
    assert root.find(f"{SVG}title").text == "Decisions per day"
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "1 Mar · Approved: 3" in titles
    assert "2 Mar: 2 in all (Rejected 2)" in titles
    assert not any("Approved: 0" in (t or "") for t in titles)  # zero segments are not drawn
    fills = {rect.get("fill") for rect in root.iter(f"{SVG}rect")}
    assert {charts.GREEN, charts.RED} <= fills


def test_labels_are_escaped():
    svg = charts.stacked_bars(
        "x", "<b>", ["<script>"], [Series("a&b", [1], charts.BLUE)], desc='"quoted"'
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    parse(svg)  # still well-formed


def test_a_histogram_colours_buckets_by_zone_and_draws_the_thresholds():
    counts = [0] * 20
    counts[2], counts[12], counts[18] = 4, 2, 7  # 10–15 reject, 60–65 review, 90–95 approve
    root = parse(charts.histogram("h", "Scores", counts, desc="", reject_below=55, approve_at=70))
    bars = {
        rect.find(f"{SVG}title").text: rect.get("fill")
        for rect in root.iter(f"{SVG}rect")
        if rect.find(f"{SVG}title") is not None
    }
    assert bars == {
        "Score 10–15: 4 (reject zone)": charts.RED,
        "Score 60–65: 2 (review zone)": charts.AMBER,
        "Score 90–95: 7 (approve zone)": charts.GREEN,
    }
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "reject < 55" in texts and "approve ≥ 70" in texts
    assert len([line for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray")]) == 2


def test_lines_show_a_reference_line_and_skip_missing_days():
    root = parse(
        charts.lines(
            "l",
            "Hours",
            ["a", "b", "c"],
            [Series("mean", [5, None, 30], charts.ACCENT)],
            desc="",
            reference=Marker(24, "SLA 24 h", charts.AMBER),
            unit=" h",
        )
    )
    [polyline] = root.iter(f"{SVG}polyline")
    assert len(polyline.get("points").split()) == 2
    assert any(t.text == "SLA 24 h" for t in root.iter(f"{SVG}text"))
    assert "b: no data" in [t.text for t in root.iter(f"{SVG}title")]


def test_empty_charts_say_so():
    svg = charts.stacked_bars("e", "Nothing", ["a"], [Series("x", [0], charts.BLUE)], desc="")
    assert "No data in this period" in svg
    assert "No scores" in charts.histogram("h", "t", [0] * 20, desc="")


def test_horizontal_bars_label_their_values():
    svg = charts.horizontal_bars(
        "v",
        "Latency",
        ["ADVANCE.AI", "ZOLOZ"],
        [
            Series("p50", [0.35, 0.5], charts.ACCENT),
            Series("p95", [11.5, None], charts.ACCENT_LIGHT),
        ],
        desc="",
        unit=" s",
    )
    assert re.search(r">11\.5 s<", svg) and ">ADVANCE.AI<" in svg
    parse(svg)
