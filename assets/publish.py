"""The analysts' database: `WAREHOUSE/analytics.duckdb`, replaced atomically after each successful run.

The marts are copied into a new file (only the columns their Pandera models publish, sorted, with a COMMENT
on every table and column), then renamed over the old one. An analyst holding the old file open keeps
reading it undisturbed and never blocks the run or sees half of it (contract section 4).
"""

import os
import uuid

import dagster as dg
import pandera.polars as pa

from assets.marts import (
    abnormal_enzyme_cases_daily,
    daily_summary,
    dosing_daily,
    edish,
    feed_files,
    lab_results,
    liver_injury_episodes,
    monitoring_gaps,
    quarantine,
)
from assets.partitions import MART_FRESHNESS, WAREHOUSE_POOL
from pipelines.resources import Warehouse
from schemas.marts import (
    AbnormalEnzymeCasesDaily,
    DailySummary,
    DosingDaily,
    Edish,
    FeedFiles,
    LabResults,
    LiverInjuryEpisodes,
    MonitoringGaps,
    Quarantine,
)

PUBLISHED: dict[str, tuple[type[pa.DataFrameModel], str]] = {
    "abnormal_enzyme_cases_daily": (AbnormalEnzymeCasesDaily, "case_date, patient_key"),
    "daily_summary": (DailySummary, "summary_date"),
    "edish": (Edish, "patient_key"),
    "monitoring_gaps": (MonitoringGaps, "patient_key"),
    "liver_injury_episodes": (LiverInjuryEpisodes, "patient_key, episode_no"),
    "lab_results": (LabResults, "collected_at, patient_key, analyte, value"),
    "dosing_daily": (DosingDaily, "dose_date, patient_key, substance"),
    "feed_files": (FeedFiles, "file"),
    "quarantine": (Quarantine, "kind, file, line, control_id, record_id, analyte, reason"),
}


def _literal(text: str) -> str:
    return "'" + " ".join(text.split()).replace("'", "''") + "'"


@dg.asset(
    key=["published", "analytics_database"],
    group_name="published",
    kinds={"duckdb"},
    deps=[
        lab_results,
        dosing_daily,
        feed_files,
        quarantine,
        abnormal_enzyme_cases_daily,
        daily_summary,
        edish,
        monitoring_gaps,
        liver_injury_episodes,
    ],
    pool=WAREHOUSE_POOL,
    freshness_policy=MART_FRESHNESS,
)
def analytics_database(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """WAREHOUSE/analytics.duckdb: schema `marts`, no direct identifiers, every table and column commented."""
    paths = warehouse.paths
    staging_file = paths.root / f".analytics-{uuid.uuid4().hex}.duckdb.tmp"
    counts: dict[str, int] = {}
    try:
        with warehouse.connect() as conn:
            # Holding the warehouse connection, no other publish runs: temp files left by a killed one can go.
            for leftover in paths.root.glob(".analytics-*.duckdb.tmp*"):
                leftover.unlink(missing_ok=True)
            conn.execute(f"ATTACH '{staging_file}' AS publish")
            conn.execute("CREATE SCHEMA publish.marts")
            for table, (model, order) in PUBLISHED.items():
                columns = list(model.to_schema().columns)
                conn.execute(
                    f"CREATE TABLE publish.marts.{table} AS "
                    f"SELECT {', '.join(columns)} FROM marts.{table} ORDER BY {order}"
                )
                conn.execute(f"COMMENT ON TABLE publish.marts.{table} IS {_literal(model.__doc__ or '')}")
                for name, column in model.to_schema().columns.items():
                    conn.execute(
                        f"COMMENT ON COLUMN publish.marts.{table}.{name} IS {_literal(column.description or '')}"
                    )
                counts[table] = conn.execute(f"SELECT count(*) FROM publish.marts.{table}").fetchall()[0][0]
            conn.execute("DETACH publish")
        os.replace(staging_file, paths.analytics)
    finally:
        staging_file.unlink(missing_ok=True)
        staging_file.with_name(staging_file.name + ".wal").unlink(missing_ok=True)
    context.log.info(f"published {paths.analytics}: {counts}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(paths.analytics)),
            "dagster/row_count": sum(counts.values()),
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn(
                        f"marts.{table}", type="TABLE", description=" ".join((model.__doc__ or "").split())
                    )
                    for table, (model, _) in PUBLISHED.items()
                ]
            ),
            **{f"rows/{table}": n for table, n in counts.items()},
        }
    )
