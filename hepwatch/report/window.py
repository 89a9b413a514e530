"""Everything the reports of the days [start, end) show, read with a fixed number of queries (a year of
reports costs seconds, not a query per section per day)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import duckdb

from hepwatch.report.edish_window import EdishWindow
from hepwatch.report.rules import read_thresholds
from hepwatch.report.svg import stacked_bars
from hepwatch.warehouse import read_sql

HEADLINE = [
    ("results", "results"),
    ("patients_tested", "patients tested"),
    ("case_patients", "patients with an abnormal enzyme"),
    ("new_cases", "new cases"),
    ("grade3plus_patients", "grade 3+"),
    ("dili_patients", "DILI criteria"),
    ("hys_law_patients", "potential Hy's law"),
]
TREND_DAYS = 90


class Window:
    def __init__(self, conn: duckdb.DuckDBPyConnection, start: date, end: date) -> None:
        self.start, self.end = start, end
        window = {"start": start, "end": end}
        self.thresholds = read_thresholds(conn)
        names = [name for name, _ in HEADLINE]
        self.headlines = {
            row[0]: dict(zip(names, row[1:], strict=True))
            for row in conn.execute(
                f"SELECT summary_date, {', '.join(names)} FROM marts.daily_summary "
                "WHERE summary_date >= $start AND summary_date < $end",
                window,
            ).fetchall()
        }
        self.trend = {
            (case_date, grade): n
            for case_date, grade, n in conn.execute(
                "SELECT case_date, max_grade, count(*) FROM marts.abnormal_enzyme_cases_daily "
                "WHERE case_date > $first AND case_date < $end GROUP BY ALL",
                {"first": start - timedelta(days=TREND_DAYS), "end": end},
            ).fetchall()
        }
        self.new_cases: set[tuple[date, str]] = set(
            conn.execute(
                "SELECT case_date, patient_key FROM marts.abnormal_enzyme_cases_daily "
                "WHERE new_case AND case_date >= $start AND case_date < $end",
                window,
            ).fetchall()
        )
        lines = (self.thresholds["edish_alt_x_uln"], self.thresholds["edish_tbil_x_uln"])
        self.edish = EdishWindow(conn, start, end, self.new_cases, lines)
        query = conn.execute(read_sql("action_list.sql"), window)
        names = [column[0] for column in query.description]
        self.action_rows: dict[date, list[dict[str, Any]]] = defaultdict(list)
        for row in query.fetchall():
            action = dict(zip(names, row, strict=True))
            self.action_rows[action["as_of_date"]].append(action)

    def trend_svg(self, day: date) -> str:
        first = day - timedelta(days=TREND_DAYS - 1)
        days = [(first + timedelta(days=i)).isoformat() for i in range(TREND_DAYS)]
        counts = {
            grade: [self.trend.get((first + timedelta(days=i), grade), 0) for i in range(TREND_DAYS)]
            for grade in range(5)
        }
        return stacked_bars(days, counts, f"Case days by worst CTCAE grade, {days[0]} to {days[-1]}")

    def actions(self, day: date) -> list[dict[str, Any]]:
        """The day's prioritised action list (hepwatch/sql/action_list.sql), most urgent first."""
        return self.action_rows.get(day, [])
