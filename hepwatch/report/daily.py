"""The daily liver-safety report: one self-contained HTML page for a day, computed from the marts.

Sections: the day's headline numbers and the 90-day trend of case days by grade; eDISH as of the day (new
cases highlighted); the patients needing action today (grade 3+, potential Hy's law, FDA stopping signals,
overdue monitoring) with a trajectory chart each; quarantine and check status. Patients appear only by
`patient_key`. Numbers carry `data-metric` attributes so tests (and scripts) can read them back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape

import duckdb

from hepwatch.report.svg import edish, stacked_bars, trajectory

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
MOST_TRAJECTORIES = 12

# FDA 2009 stopping signals (domain.md section 5), evaluated on the report day.
STOPPING_SIGNALS_SQL = """
WITH amino AS (
    SELECT patient_key, collected_date, max(x_uln) AS x
    FROM marts.lab_results WHERE analyte IN ('ALT', 'AST') AND collected_date <= $day
    GROUP BY ALL
),
today AS (
    SELECT
        patient_key,
        max(x_uln) FILTER (WHERE analyte IN ('ALT', 'AST')) AS amino_x,
        max(x_uln) FILTER (WHERE analyte = 'TBIL') AS tbil_x,
        max(value) FILTER (WHERE analyte = 'INR') AS inr
    FROM marts.lab_results WHERE collected_date = $day
    GROUP BY ALL
),
runs AS (
    -- the current run of ALT/AST results above 5 x ULN: from the first high result after the last one at
    -- or below 5 x ULN, provided the latest result is still above
    SELECT
        patient_key,
        min(collected_date) FILTER (
            WHERE collected_date > coalesce(last_ok, DATE '1900-01-01') AND x > 5
        ) AS high_since,
        arg_max(x, collected_date) AS latest_x
    FROM (
        SELECT *, max(collected_date) FILTER (WHERE x <= 5) OVER (PARTITION BY patient_key) AS last_ok FROM amino
    )
    GROUP BY ALL
)
SELECT patient_key, 'ALT or AST > 8 x ULN' AS signal FROM today WHERE amino_x > 8
UNION ALL
SELECT patient_key, 'ALT or AST > 5 x ULN for more than 2 weeks' FROM runs
WHERE latest_x > 5 AND $day - high_since > 14
UNION ALL
SELECT patient_key, 'ALT or AST > 3 x ULN with TBIL > 2 x ULN or INR > 1.5' FROM today
WHERE amino_x > 3 AND (tbil_x > 2 OR inr > 1.5)
"""


@dataclass
class DailyReport:
    day: date
    headline: dict[str, int]
    actions: dict[str, list[str]] = field(default_factory=dict)
    trend_svg: str = ""
    edish_svg: str = ""
    html: str = ""


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, **params: object) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


def _headline(conn: duckdb.DuckDBPyConnection, day: date) -> dict[str, int]:
    columns = ", ".join(name for name, _ in HEADLINE)
    rows = _rows(conn, f"SELECT {columns} FROM marts.daily_summary WHERE summary_date = $day", day=day)
    return dict(zip([name for name, _ in HEADLINE], rows[0] if rows else [0] * len(HEADLINE), strict=True))


def _trend(conn: duckdb.DuckDBPyConnection, day: date) -> str:
    first = day - timedelta(days=TREND_DAYS - 1)
    days = [(first + timedelta(days=i)).isoformat() for i in range(TREND_DAYS)]
    counts: dict[int, list[int]] = {grade: [0] * TREND_DAYS for grade in range(5)}
    for case_date, grade, n in _rows(
        conn,
        "SELECT case_date, max_grade, count(*) FROM marts.abnormal_enzyme_cases_daily "
        "WHERE case_date BETWEEN $first AND $day GROUP BY ALL",
        first=first,
        day=day,
    ):
        counts[grade][(case_date - first).days] += n
    return stacked_bars(days, counts, f"Case days by worst CTCAE grade, {days[0]} to {days[-1]}")


def _edish(conn: duckdb.DuckDBPyConnection, day: date) -> tuple[str, dict[str, int]]:
    points = _rows(
        conn,
        """
        WITH peaks AS (
            SELECT patient_key,
                max(x_uln) FILTER (WHERE analyte = 'ALT') AS alt,
                max(x_uln) FILTER (WHERE analyte = 'TBIL') AS tbil
            FROM marts.lab_results WHERE analyte IN ('ALT', 'TBIL') AND collected_date <= $day
            GROUP BY ALL
        )
        SELECT p.patient_key, p.alt, p.tbil, coalesce(c.new_case, false)
        FROM peaks AS p
        LEFT JOIN marts.abnormal_enzyme_cases_daily AS c ON c.patient_key = p.patient_key AND c.case_date = $day
        WHERE p.alt IS NOT NULL AND p.tbil IS NOT NULL
        ORDER BY p.patient_key
        """,
        day=day,
    )
    counts: dict[str, int] = defaultdict(int)
    for _, alt, tbil, _ in points:
        quadrant = (
            "potential_hys_law" if alt >= 3 and tbil > 2
            else "temples_corollary" if alt >= 3
            else "hyperbilirubinaemia" if tbil > 2
            else "normal_range"
        )  # fmt: skip
        counts[quadrant] += 1
    return edish(points, counts, f"eDISH as of {day} (new cases today in red)"), dict(counts)


def _actions(conn: duckdb.DuckDBPyConnection, day: date) -> dict[str, list[str]]:
    reasons: dict[str, list[str]] = defaultdict(list)
    for patient, grade, hys_law in _rows(
        conn,
        "SELECT patient_key, max_grade, potential_hys_law FROM marts.abnormal_enzyme_cases_daily "
        "WHERE case_date = $day AND (max_grade >= 3 OR potential_hys_law) ORDER BY patient_key",
        day=day,
    ):
        if grade >= 3:
            reasons[patient].append(f"grade {grade}")
        if hys_law:
            reasons[patient].append("potential Hy's law")
    for patient, signal in _rows(conn, STOPPING_SIGNALS_SQL + " ORDER BY 1, 2", day=day):
        reasons[patient].append(f"FDA stopping signal: {signal}")
    for patient, reason, overdue in _rows(
        conn,
        "SELECT patient_key, reason, days_overdue FROM marts.monitoring_gaps WHERE as_of_date = $day "
        "ORDER BY days_overdue DESC, patient_key",
        day=day,
    ):
        reasons[patient].append(f"monitoring: {reason.replace('_', ' ')}, {overdue} days overdue")
    # clinical signals first (they get the trajectory charts), then monitoring gaps
    return dict(sorted(reasons.items(), key=lambda item: (item[1][0].startswith("monitoring"), item[0])))


def _trajectory(conn: duckdb.DuckDBPyConnection, patient: str, day: date) -> str:
    start = _rows(
        conn,
        "SELECT max(episode_start) FROM staging.exposure_episodes WHERE patient_key = $p AND episode_start <= $day",
        p=patient,
        day=day,
    )[0][0]
    origin = start or day
    series: dict[str, list[tuple[int, float]]] = {a: [] for a in ("ALT", "AST", "ALP", "TBIL")}
    for analyte, collected, x in _rows(
        conn,
        "SELECT analyte, collected_date, max(x_uln) FROM marts.lab_results WHERE patient_key = $p "
        "AND analyte IN ('ALT', 'AST', 'ALP', 'TBIL') AND collected_date <= $day GROUP BY ALL ORDER BY 2",
        p=patient,
        day=day,
    ):
        series[analyte].append(((collected - origin).days, x))
    doses = [
        ((dose_date - origin).days, mg / 1000)
        for dose_date, mg in _rows(
            conn,
            "SELECT dose_date, total_mg FROM marts.dosing_daily WHERE patient_key = $p AND substance = 'kratom' "
            "AND dose_date <= $day ORDER BY 1",
            p=patient,
            day=day,
        )
    ]
    label = f"days since kratom start ({start})" if start else f"days relative to {day} (no kratom exposure)"
    return trajectory(series, doses, label, f"{patient}: x ULN and kratom doses")


def _status(conn: duckdb.DuckDBPyConnection, checks: list[tuple[str, str, str]]) -> str:
    held = _rows(conn, "SELECT kind, reason, count(*) FROM marts.quarantine GROUP BY ALL ORDER BY 1, 3 DESC")
    ledger = _rows(
        conn,
        "SELECT kind, count(*), sum(messages), sum(accepted), sum(duplicates), sum(ignored), sum(quarantined) "
        "FROM marts.feed_files GROUP BY ALL ORDER BY 1",
    )
    parts = ["<h2>Quarantine and checks</h2><table><tr><th>feed</th><th>files</th><th>read</th>"
             "<th>accepted</th><th>duplicates</th><th>ignored</th><th>quarantined</th></tr>"]  # fmt: skip
    parts += ["<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in ledger]
    parts.append("</table><table><tr><th>held back</th><th>reason</th><th>count</th></tr>")
    parts += [
        f'<tr><td>{escape(kind)}</td><td>{escape(reason)}</td><td data-metric="quarantine:{escape(kind)}:'
        f'{escape(reason)}">{n}</td></tr>'
        for kind, reason, n in held
    ]
    parts.append("</table>")
    if checks:
        parts.append("<table><tr><th>asset</th><th>check</th><th>status</th></tr>")
        parts += [
            f'<tr class="{escape(status)}"><td>{escape(asset)}</td><td>{escape(name)}</td>'
            f"<td>{escape(status)}</td></tr>"
            for asset, name, status in checks
        ]
        parts.append("</table>")
    return "".join(parts)


STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.card b { display: block; font-size: 22px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; font-size: 13px; }
tr.warn td { background: #fff4d6; } tr.error td { background: #fbdcdc; }
.patient { margin: 12px 0; }
"""


def build_daily_report(
    conn: duckdb.DuckDBPyConnection, day: date, checks: list[tuple[str, str, str]] | None = None
) -> DailyReport:
    """The report for `day` from the marts in `conn` (schema `marts` and `staging`)."""
    report = DailyReport(day=day, headline=_headline(conn, day))
    report.trend_svg = _trend(conn, day)
    report.edish_svg, edish_counts = _edish(conn, day)
    report.actions = _actions(conn, day)
    cards = "".join(
        f'<div class="card"><b data-metric="{name}">{report.headline[name]}</b>{label}</div>'
        for name, label in HEADLINE
    )
    action_rows = "".join(
        f'<tr><td data-patient="{escape(p)}">{escape(p)}</td><td>{escape("; ".join(r))}</td></tr>'
        for p, r in report.actions.items()
    )
    shown = list(report.actions)[:MOST_TRAJECTORIES]
    charts = "".join(f'<div class="patient">{_trajectory(conn, p, day)}</div>' for p in shown)
    more = len(report.actions) - len(shown)
    report.html = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>hepwatch {day}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>hepwatch liver-safety report, {day}</h1>"
        f'<div class="cards">{cards}</div>'
        f"<h2>Trend</h2>{report.trend_svg}"
        f"<h2>eDISH</h2>{report.edish_svg}"
        f"<p>Quadrants: {', '.join(f'{k} {v}' for k, v in sorted(edish_counts.items()))}</p>"
        f'<h2>Patients needing action today (<span data-metric="action_patients">{len(report.actions)}</span>)</h2>'
        + (
            f"<table><tr><th>patient</th><th>why</th></tr>{action_rows}</table>"
            if action_rows
            else "<p>None.</p>"
        )
        + (f"<h2>Trajectories</h2>{charts}" if charts else "")
        + (f"<p>{more} more patients need action; see the table above.</p>" if more > 0 else "")
        + _status(conn, checks or [])
        + "</body></html>"
    )
    return report
