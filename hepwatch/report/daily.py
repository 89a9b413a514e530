"""The daily liver-safety report: one self-contained HTML page for a day, computed from the marts.

Sections: the day's headline numbers and the 90-day trend of case days by grade; eDISH as of the day (new
cases highlighted); the patients needing action today (grade 3+, potential Hy's law, FDA stopping signals,
overdue monitoring) with a trajectory chart each; quarantine and check status. Patients appear only by
`patient_key`. Numbers carry `data-metric` attributes so tests (and scripts) can read them back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape

import duckdb
import polars as pl

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
# eDISH plots every potential Hy's law patient and every new case; a quadrant with more patients than this
# shows a stable sample of about this many (by a hash of patient_key), so a 100,000-patient clinic network
# gets a readable plot and a report of kilobytes, not megabytes. The quadrant counts are always exact.
EDISH_MAX_POINTS = 1000


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


EDISH_SQL = """
-- eDISH as of each day of [$start, $end): every patient's peak ALT and TBIL x ULN up to the day, as states
-- valid from one result day to the next, and the quadrant of each state (thresholds: contract section 4).
-- History before the window enters as one row per patient (its peaks so far), dated the day before it.
WITH daily AS (
    SELECT patient_key, CAST($start AS DATE) - 1 AS d,
        max(x_uln) FILTER (WHERE analyte = 'ALT') AS alt,
        max(x_uln) FILTER (WHERE analyte = 'TBIL') AS tbil
    FROM marts.lab_results WHERE analyte IN ('ALT', 'TBIL') AND collected_date < $start
    GROUP BY ALL
    UNION ALL
    SELECT patient_key, collected_date,
        max(x_uln) FILTER (WHERE analyte = 'ALT'),
        max(x_uln) FILTER (WHERE analyte = 'TBIL')
    FROM marts.lab_results
    WHERE analyte IN ('ALT', 'TBIL') AND collected_date >= $start AND collected_date < $end
    GROUP BY ALL
),
cumulative AS (
    SELECT patient_key, d,
        max(alt) OVER past AS alt,
        max(tbil) OVER past AS tbil,
        lead(d) OVER (PARTITION BY patient_key ORDER BY d) AS next_d
    FROM daily
    WINDOW past AS (PARTITION BY patient_key ORDER BY d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT patient_key, greatest(d, $start) AS valid_from, coalesce(next_d, $end) AS valid_to, alt, tbil,
    CASE
        WHEN alt >= 3 AND tbil > 2 THEN 'potential_hys_law'
        WHEN alt >= 3 THEN 'temples_corollary'
        WHEN tbil > 2 THEN 'hyperbilirubinaemia'
        ELSE 'normal_range'
    END AS quadrant,
    hash(patient_key) AS bucket
FROM cumulative
WHERE alt IS NOT NULL AND tbil IS NOT NULL AND coalesce(next_d, $end) > $start
"""

# FDA 2009 stopping signals (domain.md section 5) on each day of [$start, $end). A run above 5 x ULN starts
# at the first ALT/AST result above 5 after the last one at or below 5 and lasts while the latest result is
# above 5, that is until the next result at or below 5: the signal holds from 15 days after its start.
STOPPING_SIGNALS_SQL = """
WITH amino AS (
    SELECT patient_key, collected_date AS d, max(x_uln) AS x
    FROM marts.lab_results
    WHERE analyte IN ('ALT', 'AST') AND collected_date < $end AND patient_key IN (
        SELECT patient_key FROM marts.lab_results
        WHERE analyte IN ('ALT', 'AST') AND collected_date < $end AND x_uln > 5
    )
    GROUP BY ALL
),
grouped AS (  -- a group: a result at or below 5 and the results above 5 after it (or the first ones)
    SELECT *, count(*) FILTER (WHERE x <= 5) OVER (PARTITION BY patient_key ORDER BY d) AS grp FROM amino
),
runs AS (
    SELECT patient_key, grp, min(d) FILTER (WHERE x > 5) AS high_since, min(d) AS group_start
    FROM grouped GROUP BY ALL
),
bounded AS (
    SELECT patient_key, high_since,
        coalesce(lead(group_start) OVER (PARTITION BY patient_key ORDER BY grp), DATE '9999-12-31') AS until
    FROM runs
),
days AS (
    SELECT CAST(g AS DATE) AS day
    FROM generate_series(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP) - INTERVAL 1 DAY, INTERVAL 1 DAY) AS t(g)
),
today AS (
    SELECT collected_date AS day, patient_key,
        max(x_uln) FILTER (WHERE analyte IN ('ALT', 'AST')) AS amino_x,
        max(x_uln) FILTER (WHERE analyte = 'TBIL') AS tbil_x,
        max(value) FILTER (WHERE analyte = 'INR') AS inr
    FROM marts.lab_results WHERE collected_date >= $start AND collected_date < $end
    GROUP BY ALL
)
SELECT day, patient_key, 'ALT or AST > 8 x ULN' AS signal FROM today WHERE amino_x > 8
UNION ALL
SELECT day, patient_key, 'ALT or AST > 5 x ULN for more than 2 weeks'
FROM bounded JOIN days ON days.day >= high_since + 15 AND days.day < until
WHERE high_since IS NOT NULL
UNION ALL
SELECT day, patient_key, 'ALT or AST > 3 x ULN with TBIL > 2 x ULN or INR > 1.5' FROM today
WHERE amino_x > 3 AND (tbil_x > 2 OR inr > 1.5)
ORDER BY 1, 2, 3
"""


def _by_day(rows: list[tuple]) -> dict[date, list[tuple]]:
    grouped: dict[date, list[tuple]] = defaultdict(list)
    for day, *rest in rows:
        grouped[day].append(tuple(rest))
    return grouped


class _Window:
    """Everything the reports of the days [start, end) show, read with a fixed number of queries (a year of
    reports costs seconds, not a query per section per day)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, start: date, end: date) -> None:
        self.conn, self.start, self.end = conn, start, end
        columns = ", ".join(name for name, _ in HEADLINE)
        self.headlines = {
            row[0]: dict(zip([n for n, _ in HEADLINE], row[1:], strict=True))
            for row in _rows(
                conn,
                f"SELECT summary_date, {columns} FROM marts.daily_summary "
                "WHERE summary_date >= $start AND summary_date < $end",
                start=start,
                end=end,
            )
        }
        self.trend = {
            (case_date, grade): n
            for case_date, grade, n in _rows(
                conn,
                "SELECT case_date, max_grade, count(*) FROM marts.abnormal_enzyme_cases_daily "
                "WHERE case_date > $first AND case_date < $end GROUP BY ALL",
                first=start - timedelta(days=TREND_DAYS),
                end=end,
            )
        }
        self.new_cases = {
            (day, patient)
            for day, patient in _rows(
                conn,
                "SELECT case_date, patient_key FROM marts.abnormal_enzyme_cases_daily "
                "WHERE new_case AND case_date >= $start AND case_date < $end",
                start=start,
                end=end,
            )
        }
        self._edish_states()
        self.cases = _by_day(
            _rows(
                conn,
                "SELECT case_date, patient_key, max_grade, potential_hys_law FROM marts.abnormal_enzyme_cases_daily "
                "WHERE case_date >= $start AND case_date < $end AND (max_grade >= 3 OR potential_hys_law) "
                "ORDER BY 1, 2",
                start=start,
                end=end,
            )
        )
        self.signals = _by_day(_rows(conn, STOPPING_SIGNALS_SQL, start=start, end=end))
        self.gaps = _by_day(
            _rows(
                conn,
                "SELECT as_of_date, patient_key, reason, days_overdue FROM marts.monitoring_gaps "
                "WHERE as_of_date >= $start AND as_of_date < $end ORDER BY 1, days_overdue DESC, patient_key",
                start=start,
                end=end,
            )
        )

    def _edish_states(self) -> None:
        conn = self.conn
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE report_edish_states AS {EDISH_SQL}",
            {"start": self.start, "end": self.end},
        )
        # exact quadrant counts per day: +1 where a state starts, -1 where it ends, summed over the days
        deltas: dict[tuple[date, str], int] = defaultdict(int)
        for day, quadrant, change in _rows(
            conn,
            "SELECT valid_from, quadrant, count(*) FROM report_edish_states GROUP BY ALL "
            "UNION ALL SELECT valid_to, quadrant, -count(*) FROM report_edish_states GROUP BY ALL",
        ):
            deltas[(day, quadrant)] += change
        self.edish_counts: dict[date, dict[str, int]] = {}
        running: dict[str, int] = defaultdict(int)
        day = self.start
        while day < self.end:
            for quadrant in QUADRANTS:
                running[quadrant] += deltas.get((day, quadrant), 0)
            self.edish_counts[day] = {q: n for q, n in running.items() if n}
            day += timedelta(days=1)
        # the points plotted: every potential Hy's law patient and every new case; in the other quadrants,
        # patients whose hash falls in 1 of k buckets, k the smallest power of 2 that keeps the quadrant's
        # points to about EDISH_MAX_POINTS (a stable sample: a patient shown stays shown while k holds)
        strides = [
            (day, quadrant, _stride(n))
            for day, counts in self.edish_counts.items()
            for quadrant, n in counts.items()
            if quadrant != "potential_hys_law"
        ]
        stride_table = pl.DataFrame(  # noqa: F841 (read by name below)
            strides, schema={"day": pl.Date, "quadrant": pl.Utf8, "stride": pl.Int64}, orient="row"
        )
        new_table = pl.DataFrame(  # noqa: F841
            sorted(self.new_cases), schema={"day": pl.Date, "patient_key": pl.Utf8}, orient="row"
        )
        self.points = _by_day(
            conn.execute(
                """
                WITH candidates AS (  -- states that can be plotted on some day (strides are powers of 2)
                    SELECT s.* FROM report_edish_states AS s
                    LEFT JOIN (SELECT quadrant, min(stride) AS stride FROM stride_table GROUP BY ALL) AS m
                        USING (quadrant)
                    WHERE s.quadrant = 'potential_hys_law' OR s.bucket % m.stride = 0
                        OR s.patient_key IN (SELECT patient_key FROM new_table)
                ),
                days AS (
                    SELECT CAST(g AS DATE) AS day FROM generate_series(
                        CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP) - INTERVAL 1 DAY, INTERVAL 1 DAY
                    ) AS t(g)
                )
                SELECT d.day, s.patient_key, s.alt, s.tbil, n.patient_key IS NOT NULL AS new
                FROM candidates AS s
                JOIN days AS d ON d.day >= s.valid_from AND d.day < s.valid_to
                LEFT JOIN stride_table AS k ON k.day = d.day AND k.quadrant = s.quadrant
                LEFT JOIN new_table AS n ON n.day = d.day AND n.patient_key = s.patient_key
                WHERE s.quadrant = 'potential_hys_law' OR n.patient_key IS NOT NULL OR s.bucket % k.stride = 0
                ORDER BY 1, 2
                """,
                {"start": self.start, "end": self.end},
            ).fetchall()
        )
        conn.execute("DROP TABLE report_edish_states")

    def edish(self, day: date) -> tuple[str, dict[str, int], dict[str, int]]:
        """The day's eDISH chart, exact quadrant counts, and points plotted per quadrant."""
        counts = self.edish_counts.get(day, {})
        points = [
            (patient, alt, tbil, (day, patient) in self.new_cases)
            for patient, alt, tbil, _ in self.points.get(day, [])
        ]
        shown: dict[str, int] = defaultdict(int)
        for _, alt, tbil, _ in points:
            shown[_quadrant(alt, tbil)] += 1
        return edish(points, counts, f"eDISH as of {day} (new cases today in red)"), counts, dict(shown)

    def trend_svg(self, day: date) -> str:
        first = day - timedelta(days=TREND_DAYS - 1)
        days = [(first + timedelta(days=i)).isoformat() for i in range(TREND_DAYS)]
        counts = {
            grade: [self.trend.get((first + timedelta(days=i), grade), 0) for i in range(TREND_DAYS)]
            for grade in range(5)
        }
        return stacked_bars(days, counts, f"Case days by worst CTCAE grade, {days[0]} to {days[-1]}")

    def actions(self, day: date) -> dict[str, list[str]]:
        reasons: dict[str, list[str]] = defaultdict(list)
        for patient, grade, hys_law in self.cases.get(day, []):
            if grade >= 3:
                reasons[patient].append(f"grade {grade}")
            if hys_law:
                reasons[patient].append("potential Hy's law")
        for patient, signal in self.signals.get(day, []):
            reasons[patient].append(f"FDA stopping signal: {signal}")
        for patient, reason, overdue in self.gaps.get(day, []):
            reasons[patient].append(f"monitoring: {reason.replace('_', ' ')}, {overdue} days overdue")
        # clinical signals first (they get the trajectory charts), then monitoring gaps
        return dict(sorted(reasons.items(), key=lambda item: (item[1][0].startswith("monitoring"), item[0])))


QUADRANTS = ("potential_hys_law", "temples_corollary", "hyperbilirubinaemia", "normal_range")


def _quadrant(alt: float, tbil: float) -> str:
    if alt >= 3:
        return "potential_hys_law" if tbil > 2 else "temples_corollary"
    return "hyperbilirubinaemia" if tbil > 2 else "normal_range"


def _stride(count: int) -> int:
    stride = 1
    while count > EDISH_MAX_POINTS * stride:
        stride *= 2
    return stride


class _Trajectories:
    """Trajectory charts (x ULN of ALT, AST, ALP and TBIL, kratom doses, on days since the start of the
    latest kratom exposure episode) of the patients shown in a window's reports: three queries for all."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, patients: set[str], end: date) -> None:
        wanted = sorted(patients)
        self.starts: dict[str, list[date]] = defaultdict(list)
        self.results: dict[str, list[tuple[str, date, float]]] = defaultdict(list)
        self.kratom: dict[str, list[tuple[date, float]]] = defaultdict(list)
        if not wanted:
            return
        for patient, episode_start in _rows(
            conn,
            "SELECT patient_key, episode_start FROM staging.exposure_episodes "
            "WHERE list_contains($p, patient_key) AND episode_start < $end ORDER BY 1, 2",
            p=wanted,
            end=end,
        ):
            self.starts[patient].append(episode_start)
        for patient, analyte, collected, x in _rows(
            conn,
            "SELECT patient_key, analyte, collected_date, max(x_uln) FROM marts.lab_results "
            "WHERE list_contains($p, patient_key) AND analyte IN ('ALT', 'AST', 'ALP', 'TBIL') "
            "AND collected_date < $end GROUP BY ALL ORDER BY 1, 3, 2",
            p=wanted,
            end=end,
        ):
            self.results[patient].append((analyte, collected, x))
        for patient, dose_date, mg in _rows(
            conn,
            "SELECT patient_key, dose_date, total_mg FROM marts.dosing_daily WHERE list_contains($p, patient_key) "
            "AND substance = 'kratom' AND dose_date < $end ORDER BY 1, 2",
            p=wanted,
            end=end,
        ):
            self.kratom[patient].append((dose_date, mg))

    def chart(self, patient: str, day: date) -> str:
        start = max((d for d in self.starts[patient] if d <= day), default=None)
        origin = start or day
        series: dict[str, list[tuple[int, float]]] = {a: [] for a in ("ALT", "AST", "ALP", "TBIL")}
        for analyte, collected, x in self.results[patient]:
            if collected <= day:
                series[analyte].append(((collected - origin).days, x))
        doses = [((d - origin).days, mg / 1000) for d, mg in self.kratom[patient] if d <= day]
        label = (
            f"days since kratom start ({start})" if start else f"days relative to {day} (no kratom exposure)"
        )
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


def build_daily_reports(
    conn: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    checks: list[tuple[str, str, str]] | None = None,
    days: list[date] | None = None,
) -> Iterator[DailyReport]:
    """The reports of the days [start, end) (only those in `days` when given), in order, from the marts in
    `conn` (schemas `marts`, `staging`)."""
    data = _Window(conn, start, end)
    status = _status(conn, checks or [])
    wanted = sorted(d for d in days if start <= d < end) if days is not None else None
    actions = {}
    for day in (
        wanted if wanted is not None else (start + timedelta(days=n) for n in range((end - start).days))
    ):
        actions[day] = data.actions(day)
    trajectories = _Trajectories(
        conn, {p for found in actions.values() for p in list(found)[:MOST_TRAJECTORIES]}, end
    )
    for day, found in actions.items():
        yield _render(data, trajectories, day, found, status)


def build_daily_report(
    conn: duckdb.DuckDBPyConnection, day: date, checks: list[tuple[str, str, str]] | None = None
) -> DailyReport:
    """The report for `day` from the marts in `conn` (schema `marts` and `staging`)."""
    return next(build_daily_reports(conn, day, day + timedelta(days=1), checks))


def _render(
    data: _Window, trajectories: _Trajectories, day: date, actions: dict[str, list[str]], status: str
) -> DailyReport:
    report = DailyReport(
        day=day, headline=data.headlines.get(day, dict.fromkeys((n for n, _ in HEADLINE), 0))
    )
    report.actions = actions
    report.trend_svg = data.trend_svg(day)
    report.edish_svg, edish_counts, shown = data.edish(day)
    cards = "".join(
        f'<div class="card"><b data-metric="{name}">{report.headline[name]}</b>{label}</div>'
        for name, label in HEADLINE
    )
    action_rows = "".join(
        f'<tr><td data-patient="{escape(p)}">{escape(p)}</td><td>{escape("; ".join(r))}</td></tr>'
        for p, r in report.actions.items()
    )
    plotted = list(report.actions)[:MOST_TRAJECTORIES]
    charts = "".join(f'<div class="patient">{trajectories.chart(p, day)}</div>' for p in plotted)
    more = len(report.actions) - len(plotted)
    sampled = [
        f"{quadrant} {shown.get(quadrant, 0)} of {n}"
        for quadrant, n in sorted(edish_counts.items())
        if shown.get(quadrant, 0) < n
    ]
    sample_note = f" (plotted: {', '.join(sampled)}, a stable sample by patient_key)" if sampled else ""
    report.html = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>hepwatch {day}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>hepwatch liver-safety report, {day}</h1>"
        f'<div class="cards">{cards}</div>'
        f"<h2>Trend</h2>{report.trend_svg}"
        f"<h2>eDISH</h2>{report.edish_svg}"
        f"<p>Quadrants: {', '.join(f'{k} {v}' for k, v in sorted(edish_counts.items()))}{sample_note}</p>"
        f'<h2>Patients needing action today (<span data-metric="action_patients">{len(report.actions)}</span>)</h2>'
        + (
            f"<table><tr><th>patient</th><th>why</th></tr>{action_rows}</table>"
            if action_rows
            else "<p>None.</p>"
        )
        + (f"<h2>Trajectories</h2>{charts}" if charts else "")
        + (f"<p>{more} more patients need action; see the table above.</p>" if more > 0 else "")
        + status
        + "</body></html>"
    )
    return report
