"""Ingestion: reference tables, and every new feed file version into the landing tables."""

import dagster as dg
import duckdb

from assets.partitions import WAREHOUSE_POOL, add_days, buildable_days
from assets.resources import Feeds, Warehouse
from assets.tables import run_script, sql, table_column_schema
from hepwatch.ingest.dosing import ingest_dosing_files
from hepwatch.ingest.feed_files import feed_listing
from hepwatch.ingest.labs import ingest_lab_files
from hepwatch.pending import (
    fingerprint,
    ingested_listing,
    mark,
    record_ingested,
    record_plan,
    record_reference,
)
from hepwatch.pseudonym import Pseudonymizer
from hepwatch.settings import REFERENCE_DIR, settings
from hepwatch.stage import export_landing
from hepwatch.warehouse import fetch_value, pseudonym_key

INGEST_OWNERSHIP: dict = {
    "owners": ["team:data-engineering"],
    "tags": {"partitioning": "none", "domain": "liver_safety"},
}


def _require_feeds(feeds: Feeds) -> None:
    if not feeds.path.is_dir():
        raise dg.Failure(f"feeds directory {feeds.path} does not exist (set --feeds or HEPWATCH_FEEDS_DIR)")


def load_reference_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """The `ref` schema's tables and macros from the reference CSVs (a few milliseconds): the warehouse's,
    and a Parquet staging step's own (hepwatch.stage)."""
    config = settings()
    code_maps, thresholds = config.reference_files()
    run_script(
        conn,
        sql("ref_tables"),
        code_map_files=code_maps,
        unit_file=str(REFERENCE_DIR / "unit_conversions.csv"),
        default_uln_file=str(REFERENCE_DIR / "default_uln.csv"),
        ctcae_file=str(REFERENCE_DIR / "ctcae_v5_grades.csv"),
        threshold_files=thresholds,
        thresholds_file=config.thresholds or "",
    )


def _plan(context: dg.AssetExecutionContext, conn: duckdb.DuckDBPyConnection, warehouse: Warehouse) -> None:
    """Write the plan for the sensor and make each day with data a partition (assets.partitions)."""
    days = record_plan(conn, warehouse.paths.root, buildable_days())
    added = add_days(context.instance, days)
    if added:
        context.log.info(f"{added} new daily partitions, {len(days)} in all ({days[0]} to {days[-1]})")


def _export(conn: duckdb.DuckDBPyConnection, warehouse: Warehouse) -> dict[str, int]:
    """With a stage location: the landing rows just appended, exported for the Parquet staging steps."""
    stage = warehouse.stage
    return export_landing(conn, stage) if stage is not None else {}


@dg.asset(
    key=["ingest", "reference_tables"],
    group_name="ingest",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    **INGEST_OWNERSHIP,
)
def reference_tables(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """The analyte code map, unit conversions, default ULNs, CTCAE v5 grading criteria and signal
    thresholds as tables (`ref` schema).

    Loaded from `hepwatch/reference/*.csv` (sources cited per row), plus the CSV named by HEPWATCH_CODE_MAP
    (your labs' local codes) and the one named by HEPWATCH_THRESHOLDS (overrides of signal thresholds).
    """
    config = settings()
    code_maps, _ = config.reference_files()
    with warehouse.connect() as conn:
        load_reference_tables(conn)
        codes = fetch_value(conn, "SELECT count(*) FROM ref.analyte_code_rows")
        conflicts = conn.execute(
            "SELECT kind, match_key, list(DISTINCT analyte) FROM ref.analyte_code_rows GROUP BY ALL "
            "HAVING count(DISTINCT analyte) > 1"
        ).fetchall()
        version = fetch_value(conn, "SELECT max(added_in) FROM ref.analyte_codes")
        schema = table_column_schema(conn, "ref.analyte_code_rows")
        # new reference data or new SQL changes every day's tables: all of them are marked for building
        reference = fingerprint(config.reference_inputs())
        marked = mark(conn, reference)
        _plan(context, conn, warehouse)
        record_reference(warehouse.paths.root, reference)
    if conflicts:
        raise dg.Failure(f"code map maps the same key to several analytes: {conflicts}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": codes,
            "dagster/column_schema": schema,
            "code_map_version": version,
            "code_map_files": code_maps,
            "pending_days_marked": marked,
        }
    )


@dg.asset(
    key=["ingest", "lab_feed"],
    group_name="ingest",
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
    **INGEST_OWNERSHIP,
)
def lab_feed(context: dg.AssetExecutionContext, feeds: Feeds, warehouse: Warehouse) -> dg.MaterializeResult:
    """Every new or changed HL7 file under FEEDS/labs, read into the landing tables.

    Each message is accepted, a duplicate (MSH-4 + MSH-10 already accepted), ignored (not ORU^R01) or
    quarantined with a reason; raw payloads of quarantined messages go to the restricted store.
    """
    _require_feeds(feeds)
    listing = feed_listing(feeds.path, "labs")  # before reading: a file that changes meanwhile is read again
    ingested = ingested_listing(warehouse.paths.root, "labs")  # the last ingestion's
    with warehouse.connect() as conn:
        summary = ingest_lab_files(
            conn,
            feeds.path,
            Pseudonymizer(pseudonym_key(conn, warehouse.pseudonym_key)),
            context.log.info,
            memory_limit=warehouse.memory_limit,
            ingested=ingested,
        )
        marked = mark(conn)  # the days whose tables this changes, for the next build
        record_ingested(warehouse.paths.root, "labs", listing)
        _plan(context, conn, warehouse)
        exported = _export(conn, warehouse)
        totals = dict(
            conn.execute("SELECT outcome, count(*) FROM landing.lab_messages GROUP BY ALL").fetchall()
        )
        # one landing.lab_observations row per landing.lab_obx row (its joins are to rows landed with it);
        # counting the view would join a year's observations to count them (0.3 s a run)
        observations = fetch_value(conn, "SELECT count(*) FROM landing.lab_obx")
        schema = table_column_schema(conn, "landing.lab_messages")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(totals.values()),
            "dagster/column_schema": schema,
            "new_files": summary.files,
            "new_messages": summary.outcomes.total(),
            **{f"new_{outcome}": summary.outcomes[outcome] for outcome in ("accepted", "duplicate", "ignored", "quarantined")},
            "new_observations": summary.observations,
            "unreadable_files": summary.unreadable_files,
            "left_for_next_run": summary.changed_files,
            "messages_total": sum(totals.values()),
            "observations_total": observations,
            "pending_days_marked": marked,
            **({"stage_rows_exported": sum(exported.values())} if warehouse.stage_uri else {}),
        }
    )  # fmt: skip


@dg.asset(
    key=["ingest", "dosing_feed"],
    group_name="ingest",
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
    **INGEST_OWNERSHIP,
)
def dosing_feed(
    context: dg.AssetExecutionContext, feeds: Feeds, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Every new or changed dosing CSV under FEEDS/dosing, read into the landing tables.

    Each row is a record or quarantined with a reason (missing_field, bad_number, non_positive_dose,
    unsupported_unit, bad_datetime); corrections (same record_id, later file) are resolved in staging.
    """
    _require_feeds(feeds)
    listing = feed_listing(feeds.path, "dosing")
    ingested = ingested_listing(warehouse.paths.root, "dosing")  # the last ingestion's
    with warehouse.connect() as conn:
        summary = ingest_dosing_files(
            conn,
            feeds.path,
            Pseudonymizer(pseudonym_key(conn, warehouse.pseudonym_key)),
            context.log.info,
            memory_limit=warehouse.memory_limit,
            ingested=ingested,
        )
        marked = mark(conn)
        record_ingested(warehouse.paths.root, "dosing", listing)
        _plan(context, conn, warehouse)
        exported = _export(conn, warehouse)
        total = fetch_value(conn, "SELECT count(*) FROM landing.dosing_rows")
        schema = table_column_schema(conn, "landing.dosing_rows")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            "dagster/column_schema": schema,
            "new_files": summary.files,
            "new_rows": summary.rows,
            "new_records": summary.records,
            "new_quarantined": summary.quarantined,
            "unreadable_files": summary.unreadable_files,
            "pending_days_marked": marked,
            **({"stage_rows_exported": sum(exported.values())} if warehouse.stage_uri else {}),
        }
    )
