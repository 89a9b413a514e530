"""Small, dependency-free SVG charts for the daily report: it must open in any browser with no network.

Each function returns an `<svg>` element as text. Coordinates are computed here; styling is inline.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

GRADE_COLOURS = {0: "#c7d4e0", 1: "#f2d16b", 2: "#f0a04b", 3: "#d9534f", 4: "#7b1f1f"}
SERIES_COLOURS = {"ALT": "#1f77b4", "AST": "#2ca02c", "ALP": "#9467bd", "TBIL": "#d62728"}
FONT = 'font-family="sans-serif" font-size="11"'


def _frame(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def stacked_bars(days: Sequence[str], counts: Mapping[int, Sequence[int]], title: str) -> str:
    """Case days per day, stacked by worst grade (0 to 4)."""
    width, height, left, bottom, top = 760, 220, 40, 30, 20
    plot_w, plot_h = width - left - 10, height - bottom - top
    totals = [sum(counts[g][i] for g in counts) for i in range(len(days))]
    peak = max([*totals, 1])
    bar = plot_w / max(len(days), 1)
    body = [f'<text x="{left}" y="14" {FONT} font-weight="bold">{escape(title)}</text>']
    for tick in range(0, peak + 1, max(1, math.ceil(peak / 4))):
        y = top + plot_h - plot_h * tick / peak
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{tick}</text>')
    for i, day in enumerate(days):
        y = top + plot_h
        for grade in sorted(counts):
            n = counts[grade][i]
            if n:
                h = plot_h * n / peak
                y -= h
                body.append(
                    f'<rect x="{left + i * bar:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" height="{h:.1f}" '
                    f'fill="{GRADE_COLOURS[grade]}"><title>{day}: {n} at grade {grade}</title></rect>'
                )
        if i % max(1, len(days) // 6) == 0:
            body.append(f'<text x="{left + i * bar:.1f}" y="{height - 12}" {FONT}>{day[5:]}</text>')
    for k, grade in enumerate(sorted(GRADE_COLOURS)):
        x = width - 290 + k * 56
        body.append(f'<rect x="{x}" y="5" width="10" height="10" fill="{GRADE_COLOURS[grade]}"/>')
        body.append(f'<text x="{x + 13}" y="14" {FONT}>grade {grade}</text>')
    return _frame(width, height, title, body)


EDISH_SIZE, EDISH_MARGIN, EDISH_LOW, EDISH_HIGH = 420, 50, 0.1, 100.0


def _edish_pos(value: float, flip: bool) -> float:
    """Where a multiple of ULN sits on eDISH's log axes (y flipped: up is higher)."""
    value = min(max(value, EDISH_LOW), EDISH_HIGH)
    share = (math.log10(value) - math.log10(EDISH_LOW)) / (math.log10(EDISH_HIGH) - math.log10(EDISH_LOW))
    return EDISH_MARGIN + (EDISH_SIZE - 2 * EDISH_MARGIN) * ((1 - share) if flip else share)


@functools.lru_cache(maxsize=1 << 16)
def _circle(point: tuple[str, float, float, str, bool, Any, Any], pos: Callable[[float, bool], float]) -> str:
    """One eDISH point, with what the page's script shows on hover (the same point on many days' pages is
    drawn once)."""
    patient, alt, tbil, quadrant, new, alt_date, tbil_date = point
    colour, radius = ("#d62728", 5) if new else ("#1f77b4", 3.5)
    return (
        f'<circle cx="{pos(alt, False):.1f}" cy="{pos(tbil, True):.1f}" r="{radius}" fill="{colour}" '
        f'fill-opacity="0.75" data-key="{escape(patient)}" data-alt="{alt:.4g}" data-tbil="{tbil:.4g}" '
        f'data-alt-date="{alt_date}" data-tbil-date="{tbil_date}" data-quadrant="{quadrant}" '
        f'data-new="{int(new)}"/>'
    )


def edish(
    points: Sequence[tuple[str, float, float, str, bool, Any, Any]],
    counts: dict[str, int],
    title: str,
    lines: tuple[float, float],
) -> str:
    """eDISH: peak ALT x ULN (x) against peak TBIL x ULN (y), log axes, lines at the thresholds `lines`
    (edish_alt_x_uln and edish_tbil_x_uln: 3 and 2 by default)."""
    size, margin = EDISH_SIZE, EDISH_MARGIN
    pos = _edish_pos

    body = [f'<text x="{margin}" y="18" {FONT} font-weight="bold">{escape(title)}</text>']
    edge = size - margin
    body.append(
        f'<rect x="{margin}" y="{margin}" width="{edge - margin}" height="{edge - margin}" fill="none" stroke="#999"/>'
    )
    for tick in (0.1, 1, 10, 100):
        body.append(
            f'<text x="{pos(tick, False):.1f}" y="{edge + 14}" text-anchor="middle" {FONT}>{tick:g}</text>'
        )
        body.append(
            f'<text x="{margin - 6}" y="{pos(tick, True) + 4:.1f}" text-anchor="end" {FONT}>{tick:g}</text>'
        )
    alt_line, tbil_line = pos(lines[0], False), pos(lines[1], True)
    body.append(
        f'<line x1="{alt_line:.1f}" x2="{alt_line:.1f}" y1="{margin}" y2="{edge}" stroke="#444" '
        'stroke-dasharray="4 3"/>'
    )
    body.append(
        f'<line x1="{margin}" x2="{edge}" y1="{tbil_line:.1f}" y2="{tbil_line:.1f}" stroke="#444" '
        'stroke-dasharray="4 3"/>'
    )
    labels = [
        ("potential_hys_law", "Potential Hy's law", edge - 4, margin + 12, "end"),
        ("hyperbilirubinaemia", "Hyperbilirubinaemia / cholestasis", margin + 4, margin + 12, "start"),
        ("temples_corollary", "Temple's corollary", edge - 4, edge - 6, "end"),
        ("normal_range", "Normal range", margin + 4, edge - 6, "start"),
    ]
    for key, text, x, y, anchor in labels:
        body.append(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {FONT} fill="#555">{text}: {counts.get(key, 0)}</text>'
        )
    body += [_circle(point, pos) for point in sorted(points, key=lambda p: p[4])]
    body.append(f'<text x="{size / 2}" y="{size - 10}" text-anchor="middle" {FONT}>peak ALT (x ULN)</text>')
    body.append(
        f'<text x="12" y="{size / 2}" text-anchor="middle" {FONT} transform="rotate(-90 12 {size / 2})">'
        "peak total bilirubin (x ULN)</text>"
    )
    return _frame(size, size, title, body)


def trajectory(
    series: Mapping[str, Sequence[tuple[int, float]]],
    doses: Sequence[tuple[int, float]],
    x_label: str,
    title: str,
    levels: Sequence[float],
) -> str:
    """x ULN of ALT, AST, ALP and TBIL against days (since kratom start), kratom grams as bars below, dashed
    lines at the x ULN `levels`."""
    width, height, left = 560, 260, 45
    chart_top, chart_h, bars_top, bars_h = 24, 150, 190, 40
    xs = [x for points in series.values() for x, _ in points] + [x for x, _ in doses]
    x_min, x_max = (min(xs), max(xs)) if xs else (0, 1)
    x_max = x_max if x_max > x_min else x_min + 1
    y_max = max([y for points in series.values() for _, y in points] + [*levels, 1.0])
    g_max = max([g for _, g in doses] + [1.0])

    def px(x: float) -> float:
        return left + (width - left - 10) * (x - x_min) / (x_max - x_min)

    def py(y: float) -> float:
        return chart_top + chart_h - chart_h * y / y_max

    body = [f'<text x="{left}" y="14" {FONT} font-weight="bold">{escape(title)}</text>']
    for level in levels:
        body.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{py(level):.1f}" y2="{py(level):.1f}" stroke="#bbb" '
            f'stroke-dasharray="3 3"/><text x="{left - 4}" y="{py(level) + 4:.1f}" text-anchor="end" {FONT}>{level:g}</text>'
        )
    for k, (name, points) in enumerate(series.items()):
        colour = SERIES_COLOURS.get(name, "#333")
        if points:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
            body += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2" fill="{colour}"/>' for x, y in points]
        body.append(f'<text x="{width - 200 + k * 48}" y="14" {FONT} fill="{colour}">{name}</text>')
    for x, grams in doses:
        h = bars_h * grams / g_max
        body.append(
            f'<rect x="{px(x) - 1.5:.1f}" y="{bars_top + bars_h - h:.1f}" width="3" height="{h:.1f}" fill="#8c6d31">'
            f"<title>day {x}: {grams:g} g kratom</title></rect>"
        )
    body.append(f'<text x="{left - 4}" y="{bars_top + 10}" text-anchor="end" {FONT}>g</text>')
    body.append(
        f'<text x="{width / 2}" y="{height - 4}" text-anchor="middle" {FONT}>{escape(x_label)}</text>'
    )
    body.append(f'<text x="{left}" y="{height - 4}" {FONT}>{x_min}</text>')
    body.append(f'<text x="{width - 10}" y="{height - 4}" text-anchor="end" {FONT}>{x_max}</text>')
    return _frame(width, height, title, body)
