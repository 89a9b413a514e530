"""The daily liver-safety report: one self-contained HTML page for a day, computed from the marts.

Sections: the day's headline numbers and the 90-day trend of case days by grade; eDISH as of the day (new
cases highlighted; hover a point for its peaks, click it for the trajectory, filter by quadrant); the
prioritised action list (hepwatch/sql/action_list.sql: potential Hy's law and FDA stopping signals, grade 3+,
rising grade 2, monitoring gaps) with the latest values, trend and kratom dose, and trajectory charts of the
patients at its top; the rules applied, with the thresholds of
`ref.signal_thresholds` the marts used; quarantine and check status. Patients appear only by `patient_key`.
Numbers carry `data-metric` attributes and rules `data-rule`, so tests (and scripts) can read them back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape
from typing import Any

import duckdb

from hepwatch.report.interactive import clickable, edish_figure
from hepwatch.report.page import page, rule, status
from hepwatch.report.rules import definitions
from hepwatch.report.trajectories import Trajectories
from hepwatch.report.window import HEADLINE, Window

__all__ = ["HEADLINE", "DailyReport", "build_daily_report", "build_daily_reports"]

MOST_TRAJECTORIES = 12
MOST_ACTION_ROWS = 100  # rows of the action list a page shows; the worklist has them all
CHUNK_DAYS = 92  # reports read from the marts at a time (memory: a quarter's rows, not the window's)


@dataclass
class DailyReport:
    day: date
    headline: dict[str, int]
    actions: dict[str, list[str]] = field(default_factory=dict)  # patient_key -> reasons, most urgent first
    action_rows: list[dict[str, Any]] = field(default_factory=list)
    trend_svg: str = ""
    edish_svg: str = ""
    html: str = ""


def build_daily_reports(
    conn: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    checks: list[tuple[str, str, str]] | None = None,
    days: list[date] | None = None,
) -> Iterator[DailyReport]:
    """The reports of the days [start, end) (only those in `days` when given), in order, from the marts in
    `conn` (schemas `marts`, `staging`, `ref`). The days are read CHUNK_DAYS at a time, so a decade of
    daily reports takes the memory of a quarter's (and a sparse history of a few days a year, one read)."""
    checked = status(conn, checks or [])
    every_day = [start + timedelta(days=n) for n in range((end - start).days)]
    wanted = sorted(d for d in days if start <= d < end) if days is not None else every_day
    for first in range(0, len(wanted), CHUNK_DAYS):
        yield from _chunk_reports(conn, wanted[first : first + CHUNK_DAYS], checked)


def _chunk_reports(
    conn: duckdb.DuckDBPyConnection, wanted: list[date], checked: str
) -> Iterator[DailyReport]:
    data = Window(conn, wanted[0], wanted[-1] + timedelta(days=1))
    actions = {day: data.actions(day) for day in wanted}
    # trajectories dashed at the ULN and at the Hy's law aminotransferase line
    levels = (1.0, data.thresholds["hys_law_aminotransferase_x_uln"])
    shown = {row["patient_key"] for found in actions.values() for row in found[:MOST_TRAJECTORIES]}
    clicks = {day: clickable(data.edish.points.get(day, [])) for day in wanted}
    shown |= {p for patients in clicks.values() for p in patients}
    trajectories = Trajectories(conn, shown, wanted[-1] + timedelta(days=1), levels)
    for day, found in actions.items():
        yield _render(data, trajectories, day, found, checked, clicks[day])


def build_daily_report(
    conn: duckdb.DuckDBPyConnection, day: date, checks: list[tuple[str, str, str]] | None = None
) -> DailyReport:
    """The report for `day` from the marts in `conn` (schemas `marts`, `staging`, `ref`)."""
    return next(build_daily_reports(conn, day, day + timedelta(days=1), checks))


def _render(
    data: Window,
    trajectories: Trajectories,
    day: date,
    rows: list[dict[str, Any]],
    checked: str,
    clicks: list[str],
) -> DailyReport:
    report = DailyReport(
        day=day,
        headline=data.headlines.get(day, dict.fromkeys((n for n, _ in HEADLINE), 0)),
        actions={row["patient_key"]: row["reasons"].split("; ") for row in rows},
        action_rows=rows,
    )
    actions = report.actions
    report.trend_svg = data.trend_svg(day)
    report.edish_svg, edish_counts, shown = data.edish.chart(day)
    rules = definitions(data.thresholds)
    cards = "".join(
        f'<div class="card"><b data-metric="{name}">{report.headline[name]}</b>{label}</div>'
        for name, label in HEADLINE
    )
    action_rows = "".join(_action_row(row) for row in rows[:MOST_ACTION_ROWS])
    plotted = list(actions)[:MOST_TRAJECTORIES]
    charts = "".join(f'<div class="patient">{trajectories.chart(p, day)}</div>' for p in plotted)
    more = len(actions) - len(plotted)
    sampled = [
        f"{quadrant} {shown.get(quadrant, 0)} of {n}"
        for quadrant, n in sorted(edish_counts.items())
        if shown.get(quadrant, 0) < n
    ]
    sample_note = f" (plotted: {', '.join(sampled)}, a stable sample by patient_key)" if sampled else ""
    report.html = page(
        f"hepwatch {day}",
        [
            f"<h1>hepwatch liver-safety report, {day}</h1>",
            f'<div class="cards">{cards}</div>',
            rule("dili", rules["dili"]),
            f"<h2>Trend</h2>{report.trend_svg}",
            f"<h2>eDISH</h2>{edish_figure(report.edish_svg, len(data.edish.points.get(day, [])), clicks, trajectories, day)}",
            f"<p>Quadrants: {', '.join(f'{k} {v}' for k, v in sorted(edish_counts.items()))}{sample_note}</p>",
            rule("edish", rules["edish"]),
            f'<h2>Patients needing action today (<span data-metric="action_patients">{len(actions)}</span>)</h2>',
            f'<table class="actions">{ACTION_HEADER}{action_rows}</table>'
            + (
                f"<p>The first {MOST_ACTION_ROWS} of {len(rows)}: `hepwatch worklist --date {day}` lists them all."
                if len(rows) > MOST_ACTION_ROWS
                else ""
            )
            + f'<p class="rule">{escape(ACTION_NOTE)}</p>'
            if action_rows
            else "<p>None.</p>",
            rule("hys_law", rules["hys_law"]),
            rule("stopping", rules["stopping"]),
            f"<h2>Trajectories</h2>{charts}" if charts else "",
            f"<p>{more} more patients need action; see the table above.</p>" if more > 0 else "",
            checked,
        ],
    )
    return report


ACTION_HEADER = (
    "<tr><th>#</th><th>priority</th><th>patient</th><th>why</th><th>latest x ULN (ALT AST ALP TBIL)</th>"
    "<th>ALT/AST trend</th><th>days on kratom</th><th>kratom g, last 7 days / 28 days before</th>"
    "<th>rule</th></tr>"
)
ACTION_NOTE = (
    "Priority 1: potential Hy's law or an FDA stopping signal; 2: CTCAE grade 3+; 3: rising grade 2; "
    "4: monitoring gap (as of the last date in the data). A finding stays on the list for 7 days. Patients "
    "are shown by key; `hepwatch worklist --date DAY` names them for the clinic."
)
PRIORITY = {1: "1 Hy's law / stop", 2: "2 grade 3+", 3: "3 rising grade 2", 4: "4 monitoring"}


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _action_row(row: dict[str, Any]) -> str:
    latest = " ".join(_x(row[f"latest_{a}_xuln"]) for a in ("alt", "ast", "alp", "tbil"))
    since = row["days_since_kratom_start"]
    cells = [
        str(row["rank"]),
        PRIORITY[row["priority"]],
        f'<span data-patient="{escape(row["patient_key"])}">{escape(row["patient_key"])}</span>',
        escape(row["reasons"]),
        f"{latest} ({row['latest_result_date'] or '-'})",
        row["amino_trend"] or "-",
        "-" if since is None else str(since),
        f"{row['kratom_7d_g']:g} / {row['kratom_prior_28d_g']:g}",
        escape(row["rules"]),
    ]
    return f'<tr class="p{row["priority"]}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
