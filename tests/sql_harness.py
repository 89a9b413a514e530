"""Run the real mart SQL in a scratch DuckDB on rows written by hand (no Dagster needed)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from assets.ingest import REFERENCE_DIR
from assets.tables import replace_table, replace_window, run_script, sql
from hepwatch.warehouse import WarehousePaths, insert_frame, insert_observations, prepare, read_sql

D0 = date(2026, 6, 1)
LOINC = {"ALT": "1742-6", "AST": "1920-8", "ALP": "6768-6", "GGT": "2324-2", "TBIL": "1975-2"}


def day(offset: int) -> date:
    return D0 + timedelta(days=offset)


def open_scratch(root: Path) -> duckdb.DuckDBPyConnection:
    paths = WarehousePaths(root)
    conn = duckdb.connect(str(paths.internal))
    prepare(conn, paths)
    run_script(
        conn,
        sql("ref_tables"),
        code_map_files=[str(REFERENCE_DIR / "analyte_codes.csv")],
        unit_file=str(REFERENCE_DIR / "unit_conversions.csv"),
        default_uln_file=str(REFERENCE_DIR / "default_uln.csv"),
        ctcae_file=str(REFERENCE_DIR / "ctcae_v5_grades.csv"),
        threshold_files=[str(REFERENCE_DIR / "signal_thresholds.csv")],
        thresholds_file="",
    )
    for table in ("staging.liver_observations", "marts.lab_results", "staging.dosing_records"):
        query = sql(table.split(".")[1])
        conn.execute(f"CREATE TABLE {table} AS SELECT * FROM ({query}) LIMIT 0", {"start": D0, "end": D0})
    return conn


def add_results(conn: duckdb.DuckDBPyConnection, rows: list[tuple[str, int, str, float]]) -> None:
    """(patient, day offset, analyte, x ULN): results with ULN 1 so value = x ULN, in marts.lab_results
    and in staging.liver_observations (which baselines read)."""
    frame = pl.DataFrame(
        {
            "patient_key": [f"pk_{p:0>20}" for p, *_ in rows],
            "analyte": [a for _, _, a, _ in rows],
            "code": "x",
            "code_system": "LN",
            "collected_at": [datetime.combine(day(d), datetime.min.time()) for _, d, _, _ in rows],
            "collected_date": [day(d) for _, d, _, _ in rows],
            "value": [x for *_, x in rows],
            "unit": "U/L",
            "comparator": None,
            "uln": 1.0,
            "uln_source": "range",
            "x_uln": [x for *_, x in rows],
            "abnormal_flags": None,
            "result_status": "F",
            "sending_facility": "LAB",
        }
    )
    insert_frame(conn, "marts.lab_results", frame)
    insert_frame(conn, "staging.liver_observations", frame)
    landed = conn.execute("SELECT count(*) FROM landing.lab_observations").fetchall()[0][0]
    observations = (
        frame.select("patient_key", "collected_at", "collected_date", "value", "unit", "result_status")
        .with_row_index("obx_index", offset=landed)
        .with_columns(
            arrival_seq=pl.col("obx_index").cast(pl.Int64),
            observation_key=pl.format("{}", pl.col("obx_index")).str.zfill(40),
            control_id=pl.lit("C"),
            code=pl.Series([LOINC[a] for _, _, a, _ in rows]),
            code_system=pl.lit("LN"),
        )
    )
    messages = observations.select(
        "arrival_seq", "control_id", file=pl.lit("harness.hl7"), sha256=pl.lit(""),
        message_index=pl.col("arrival_seq").cast(pl.Int32), line=pl.lit(1), outcome=pl.lit("accepted"),
        observations=pl.lit(1),
    )  # fmt: skip
    insert_frame(conn, "landing.lab_messages", messages)
    empty = conn.sql("SELECT * FROM landing.lab_observations LIMIT 0").pl()
    insert_observations(conn, pl.concat([empty, observations.drop("control_id")], how="diagonal_relaxed"))


def add_doses(conn: duckdb.DuckDBPyConnection, rows: list[tuple[str, int, str, float]]) -> None:
    """(patient, day offset, substance, mg)."""
    frame = pl.DataFrame(
        {
            "record_id": [f"R{i}" for i in range(len(rows))],
            "patient_key": [f"pk_{p:0>20}" for p, *_ in rows],
            "substance": [s for _, _, s, _ in rows],
            "dose_mg": [mg for *_, mg in rows],
            "dose_date": [day(d) for _, d, _, _ in rows],
            "dose_amount": [mg for *_, mg in rows],
            "dose_unit": "mg",
        }
    )
    insert_frame(conn, "staging.dosing_records", frame)


def build(conn: duckdb.DuckDBPyConnection, first: int = -400, last: int = 400) -> None:
    """Build exposure, baselines and the marts over [day(first), day(last))."""
    replace_table(conn, "staging.exposure_episodes", sql("exposure_episodes"))
    replace_table(conn, "staging.baselines", sql("baselines"))
    replace_window(
        conn, "marts.abnormal_enzyme_cases_daily", sql("abnormal_enzyme_cases_daily"), "case_date",
        day(first), day(last),
    )  # fmt: skip
    replace_window(
        conn, "marts.daily_summary", sql("daily_summary"), "summary_date", day(first), day(last),
        first_day=date(2020, 1, 1), last_day=date(2030, 1, 1),
    )  # fmt: skip
    replace_table(conn, "marts.edish", sql("edish"))
    replace_table(conn, "marts.monitoring_gaps", sql("monitoring_gaps"))
    replace_table(conn, "marts.liver_injury_episodes", sql("liver_injury_episodes"))
    replace_window(
        conn, "marts.stopping_signals", sql("stopping_signals"), "signal_date", day(first), day(last)
    )
    replace_table(conn, "marts.action_list", read_sql("action_list.sql"), start=None, end=None)


def build_for_report(conn: duckdb.DuckDBPyConnection) -> None:
    """`build`, and the other marts the daily report reads (dosing, the feed ledger, the quarantine)."""
    build(conn)
    replace_window(conn, "marts.dosing_daily", sql("dosing_daily"), "dose_date", day(-400), day(400))
    replace_table(conn, "marts.feed_files", sql("feed_files"))
    replace_table(conn, "marts.quarantine", sql("quarantine"), first_day=day(-400), last_day=day(400))
