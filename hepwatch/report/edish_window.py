"""eDISH on each day of a report window: the exact quadrant counts, and the points plotted.

Every potential Hy's law patient and every new case is plotted; a quadrant with more patients than
EDISH_MAX_POINTS shows a stable sample of about that many (by a hash of patient_key), so a 100,000-patient
clinic network gets a readable plot and a report of kilobytes, not megabytes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import duckdb
import polars as pl

from hepwatch.report.svg import edish
from hepwatch.warehouse import read_sql

EDISH_MAX_POINTS = 1000
# (patient_key, peak ALT x ULN, peak TBIL x ULN, quadrant, new case today, peak ALT date, peak TBIL date)
Point = tuple[str, float, float, str, bool, date, date]


def _stride(count: int) -> int:
    """The smallest power of 2 that keeps `count` points to about EDISH_MAX_POINTS: a patient shown stays
    shown while it holds."""
    stride = 1
    while count > EDISH_MAX_POINTS * stride:
        stride *= 2
    return stride


class EdishWindow:
    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        start: date,
        end: date,
        new_cases: set[tuple[date, str]],
        lines: tuple[float, float],
    ) -> None:
        self.new_cases, self.lines = new_cases, lines
        window: dict[str, object] = {"start": start, "end": end}
        states = read_sql("report_edish_states.sql")
        conn.execute(f"CREATE OR REPLACE TEMP TABLE report_edish_states AS {states}", window)
        try:
            self.counts = self._counts(conn, start, end)
            self.points = self._points(conn, window)
        finally:
            conn.execute("DROP TABLE report_edish_states")

    def _counts(self, conn: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[date, dict[str, int]]:
        deltas: dict[tuple[date, str], int] = defaultdict(int)
        for day, quadrant, change in conn.execute(read_sql("report_edish_quadrant_changes.sql")).fetchall():
            deltas[(day, quadrant)] += change
        quadrants = sorted({quadrant for _, quadrant in deltas})
        counts: dict[date, dict[str, int]] = {}
        running: dict[str, int] = defaultdict(int)
        day = start
        while day < end:
            for quadrant in quadrants:
                running[quadrant] += deltas.get((day, quadrant), 0)
            counts[day] = {q: n for q, n in running.items() if n}
            day += timedelta(days=1)
        return counts

    def _points(self, conn: duckdb.DuckDBPyConnection, window: dict[str, object]) -> dict[date, list[Point]]:
        strides = [
            (day, quadrant, _stride(n))
            for day, counts in self.counts.items()
            for quadrant, n in counts.items()
            if quadrant != "potential_hys_law"
        ]
        schema = {"day": pl.Date, "quadrant": pl.Utf8, "stride": pl.Int64}
        conn.register("report_edish_strides", pl.DataFrame(strides, schema=schema, orient="row").to_arrow())
        new = pl.DataFrame(
            sorted(self.new_cases), schema={"day": pl.Date, "patient_key": pl.Utf8}, orient="row"
        )
        conn.register("report_edish_new", new.to_arrow())
        try:
            rows = conn.execute(read_sql("report_edish_points.sql"), window).fetchall()
        finally:
            conn.unregister("report_edish_strides")
            conn.unregister("report_edish_new")
        points: dict[date, list[Point]] = defaultdict(list)
        for day, *point in rows:
            points[day].append(tuple(point))  # type: ignore[arg-type]
        return points

    def chart(self, day: date) -> tuple[str, dict[str, int], dict[str, int]]:
        """The day's eDISH chart, exact quadrant counts, and points plotted per quadrant."""
        counts = self.counts.get(day, {})
        points = self.points.get(day, [])
        shown: dict[str, int] = defaultdict(int)
        for _, _, _, quadrant, *_ in points:
            shown[quadrant] += 1
        chart = edish(
            points,
            counts,
            f"eDISH as of {day} (new cases today in red)",
            self.lines,
        )
        return chart, counts, dict(shown)
