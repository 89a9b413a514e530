"""The daily liver-safety report (issue 6): one self-contained HTML file per day under WAREHOUSE/reports/,
the latest day also copied to WAREHOUSE/reports/latest.html, and its eDISH and trend on the asset's page."""

import base64
import os

import dagster as dg

from assets.marts import (
    abnormal_enzyme_cases_daily,
    daily_summary,
    edish,
    feed_files,
    lab_results,
    liver_injury_episodes,
    monitoring_gaps,
    quarantine,
)
from assets.partitions import WAREHOUSE_POOL, daily_partitions, single_run, window
from hepwatch.report.daily import HEADLINE, build_daily_reports
from hepwatch.warehouse import fetch_value
from pipelines.resources import Warehouse


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
    deps=[
        lab_results, abnormal_enzyme_cases_daily, daily_summary, edish, monitoring_gaps, liver_injury_episodes,
        feed_files, quarantine,
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    pool=WAREHOUSE_POOL,
)  # fmt: skip
def daily_report(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """The daily liver-safety report: headline numbers and the 90-day trend of case days by grade, eDISH
    (log axes, lines at 3 and 2, quadrant counts, new cases highlighted), patients needing action (grade 3+,
    potential Hy's law, FDA stopping signals, overdue monitoring) with their trajectories and kratom doses,
    and the quarantine and check status. Patients appear only by patient_key."""
    start, end = window(context)
    folder = warehouse.paths.reports
    folder.mkdir(parents=True, exist_ok=True)
    checks = _check_status(context)
    written, report = 0, None
    with warehouse.connect() as conn:
        last_day = fetch_value(conn, "SELECT max(collected_date) FROM marts.lab_results")
        for report in build_daily_reports(conn, start, end, checks):
            day = report.day
            target = folder / f"{day.isoformat()}.html"
            temporary = target.with_suffix(".html.tmp")
            temporary.write_text(report.html, encoding="utf-8")
            os.replace(temporary, target)
            written += 1
            if written % 50 == 0:
                context.log.info(f"wrote {written} of {(end - start).days} daily reports")
            if day == last_day:
                latest = folder / "latest.html.tmp"
                latest.write_text(report.html, encoding="utf-8")
                os.replace(latest, folder / "latest.html")
    assert report is not None
    context.log.info(f"wrote {written} daily reports to {folder}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
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
