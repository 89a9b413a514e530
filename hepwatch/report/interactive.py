"""The report's interactive eDISH: the chart in a figure with quadrant and new-case filters, a line that
shows the point under the pointer, a panel that draws a clicked patient's trajectory, the trajectories as
inline JSON and the small script that does it (hepwatch/report/edish.js). No network, no library."""

from __future__ import annotations

import json
from datetime import date
from html import escape
from importlib import resources

from hepwatch.report.edish_window import Point
from hepwatch.report.trajectories import Trajectories

MOST_CLICKABLE = 150  # trajectories embedded per page: potential Hy's law, then new cases, then Temple's
QUADRANTS = (
    ("potential_hys_law", "potential Hy's law"),
    ("temples_corollary", "Temple's corollary"),
    ("hyperbilirubinaemia", "hyperbilirubinaemia"),
    ("normal_range", "normal range"),
)
IDLE = "Point at a patient for their peaks; click for their trajectory."
SCRIPT = resources.files("hepwatch.report").joinpath("edish.js").read_text(encoding="utf-8")


def clickable(points: list[Point]) -> list[str]:
    """The patients whose trajectories a page embeds, most wanted first."""
    order = {"potential_hys_law": 0, "temples_corollary": 2}
    ranked = sorted(points, key=lambda p: (order.get(p[3], 1) if not p[4] else 1, p[0]))
    wanted = [p for p in ranked if p[3] in order or p[4]]
    return [p[0] for p in wanted[:MOST_CLICKABLE]]


def edish_figure(chart: str, shown: int, clicks: list[str], trajectories: Trajectories, day: date) -> str:
    """The chart (`shown` points) with its controls, and the trajectories of the `clicks` patients."""
    boxes = "".join(
        f'<label><input type="checkbox" data-quadrant="{key}" checked> {label}</label> '
        for key, label in QUADRANTS
    )
    series = ",".join(f"{json.dumps(p)}:{trajectories.series_json(p, day)}" for p in clicks)
    data = ("{" + series + "}").replace("</", "<\\/")
    return (
        f'<figure id="edish">{chart}'
        f'<figcaption><span class="filters">{boxes}'
        '<label><input type="checkbox" data-filter="new"> new cases only</label></span> '
        f"(<span data-shown>{shown}</span> points shown)</figcaption>"
        f'<p id="edish-tip" data-idle="{escape(IDLE)}">{escape(IDLE)}</p>'
        '<div id="edish-trajectory"></div></figure>'
        f'<script type="application/json" id="edish-trajectories">{data}</script>'
        f"<script>{SCRIPT}</script>"
    )
