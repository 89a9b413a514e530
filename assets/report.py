"""The daily liver-safety report: one self-contained HTML file per day under WAREHOUSE/reports/, the latest
day also copied to WAREHOUSE/reports/latest.html, and its eDISH and trend on the asset's page.

The asset is not partitioned: each materialization writes the reports of the days with data whose marts were
rebuilt since it last ran (`landing.window_builds`), whichever runs rebuilt them, and always the last day's. So a
backfill launched from the UI with any selection leaves the reports consistent with the marts.
"""

import base64
import os
from bisect import bisect_left
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb

from assets.marts import PUBLISHED
from assets.partitions import WAREHOUSE_POOL, buildable_days
from assets.publish import AFTER_ANY_MART_UPDATE, analytics_database, forget_window_builds
from assets.resources import Warehouse
from hepwatch.pending import data_days
from hepwatch.report.daily import HEADLINE, build_daily_reports
from hepwatch.warehouse import fetch_value

REPORTED_AT = "reported_at"  # landing.pending_marks: when the reports were last written


def _days_to_report(conn: duckdb.DuckDBPyConnection, folder: Path) -> list[date]:
    """The days with data (the daily partitions) rebuilt since the reports were last written (every one the
    first time, or when the folder is gone), and always the last one, whose report is latest.html."""
    days = data_days(conn, buildable_days())
    if not days:
        return []
    reported_at = fetch_value(conn, "SELECT value FROM landing.pending_marks WHERE name = ?", [REPORTED_AT])
    if reported_at is None or not (folder / "latest.html").exists():
        return days
    windows = conn.execute(
        "SELECT DISTINCT window_start, window_end FROM landing.window_builds "
        "WHERE table_name = 'marts.daily_summary' AND built_at > CAST(? AS TIMESTAMP) ORDER BY ALL",
        [reported_at],
    ).fetchall()
    rebuilt = {
        day for start, end in windows for day in days[bisect_left(days, start) : bisect_left(days, end)]
    }
    return sorted(rebuilt | {days[-1]})


def _svg_image(svg: str, alt: str) -> str:
    return f"![{alt}](data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()})"


def _check_status(context: dg.AssetExecutionContext) -> list[tuple[str, str, str]]:
    """The latest evaluation of every asset check in the code location, for the report's status table."""
    try:
        keys = list(context.job_def.asset_layer.asset_graph.asset_check_keys)
        latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    except Exception:  # an instance without check storage: the report says nothing about checks
        return []
    rows = []
    for key in sorted(keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        record = latest.get(key)
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if evaluation is None:
            status = "not run" if record is None else str(record.status.value).lower()
        else:
            status = "passed" if evaluation.passed else evaluation.severity.value.lower()
        rows.append((key.asset_key.to_user_string(), key.name, status))
    return rows


@dg.asset(
    key=["reports", "daily_report"],
    group_name="reports",
    kinds={"html"},
    deps=[*(published.asset for published in PUBLISHED.values()), analytics_database],
    pool=WAREHOUSE_POOL,
    automation_condition=AFTER_ANY_MART_UPDATE,
    owners=["team:safety-monitoring"],
    tags={"domain": "liver_safety"},
)
def daily_report(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """The daily liver-safety report: headline numbers and the 90-day trend of case days by grade, eDISH
    (log axes, lines at 3 and 2, quadrant counts, new cases highlighted), patients needing action (grade 3+,
    potential Hy's law, FDA stopping signals, overdue monitoring) with their trajectories and kratom doses,
    and the quarantine and check status. Patients appear only by patient_key. Written for the days whose
    marts were rebuilt since the reports were last written, and for the last day (latest.html)."""
    folder = warehouse.paths.reports
    checks = _check_status(context)
    written, report = 0, None
    started = datetime.now()
    with warehouse.connect() as conn:
        folder.mkdir(exist_ok=True)  # (inside: with the warehouse's private file modes)
        days = _days_to_report(conn, folder)
        last_day = days[-1] if days else None
        if days:
            for report in build_daily_reports(conn, days[0], days[-1] + timedelta(days=1), checks, days):
                day = report.day
                target = folder / f"{day.isoformat()}.html"
                temporary = target.with_suffix(".html.tmp")
                temporary.write_text(report.html, encoding="utf-8")
                os.replace(temporary, target)
                written += 1
                if written % 50 == 0:
                    context.log.info(f"wrote {written} of {len(days)} daily reports")
                if day == last_day:
                    latest = folder / "latest.html.tmp"
                    latest.write_text(report.html, encoding="utf-8")
                    os.replace(latest, folder / "latest.html")
        conn.execute(
            "INSERT OR REPLACE INTO landing.pending_marks VALUES (?, ?)", [REPORTED_AT, started.isoformat()]
        )
        forget_window_builds(conn)
    context.log.info(
        f"wrote {written} daily reports to {folder}" + (f", {days[0]} to {last_day}" if days else "")
    )
    if report is None:
        return dg.MaterializeResult(metadata={"dagster/row_count": 0})
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "days": f"{len(days)} days with data, {days[0]} to {last_day}",
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name, type="INTEGER", description=label) for name, label in HEADLINE]
            ),
            "folder": dg.MetadataValue.path(str(folder)),
            "last_report": dg.MetadataValue.path(str(folder / f"{report.day.isoformat()}.html")),
            **{f"{report.day}/{name}": value for name, value in report.headline.items()},
            "action_patients": len(report.actions),
            "edish": dg.MetadataValue.md(_svg_image(report.edish_svg, f"eDISH as of {report.day}")),
            "trend": dg.MetadataValue.md(_svg_image(report.trend_svg, "case days by grade, last 90 days")),
        }
    )
