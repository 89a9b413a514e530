"""Staged data as Parquet, partitioned by day (issue 7): the road to many writers.

With `HEPWATCH_STAGE_DIR` set (a directory: local, or a shared volume that every worker mounts), the daily
staged tables (`STAGED`) are not DuckDB tables in `hepwatch.duckdb` but Parquet files, one directory per day:

    STAGE/staging/liver_observations/collected_date=2025-01-01/data_0.parquet
    STAGE/staging/dosing_records/dose_date=2025-01-01/data_0.parquet

and the step that builds them never opens `hepwatch.duckdb`. It reads the landing tables from Parquet too:
after each ingestion (one writer, in order), the rows it appended are exported to

    STAGE/landing/<table>/<first>-<last>.parquet

(the landing tables are append-only, so an export is the rows above the last one's high-water mark). A
staging step opens an in-memory DuckDB whose `landing.*` are views over those files, builds its window of
days with the same SQL as in DuckDB mode, and replaces its days' directories. Steps over different days (or
different tables) write different directories, so any number of them can run at once, in any process or
machine that mounts the directory; `hepwatch.duckdb`, where the marts are built, reads the staged tables
through views over the partitions (`attach_views`). Each day's file is replaced by a rename, so a reader sees
a day's old file or its new one, never half of one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import duckdb

from hepwatch.warehouse import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV, fetch_value, read_sql

STAGE_ENV = "HEPWATCH_STAGE_DIR"

# staged table: the date column its days are partitioned by
STAGED = {"liver_observations": "collected_date", "dosing_records": "dose_date"}

# landing table: the column that numbers its rows in the order they were appended
LANDING = {
    "lab_messages": "arrival_seq",
    "lab_obx": "arrival_seq",
    "lab_orders": "order_id",
    "lab_descriptions": "description_id",
    "lab_patients": "patient_id",
    "dosing_rows": "ingest_seq",
}


def stage_dir() -> Path | None:
    """HEPWATCH_STAGE_DIR, or None: the staged tables are DuckDB tables (the default)."""
    configured = os.environ.get(STAGE_ENV, "").strip()
    return Path(configured).resolve() if configured else None


def _literal(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _glob(directory: Path) -> str:
    return _literal(directory / "*" / "*.parquet")


# ---- landing: exported after each ingestion (the warehouse's one writer) -------------------------------


def export_landing(conn: duckdb.DuckDBPyConnection, stage: Path) -> dict[str, int]:
    """Write the landing rows appended since the last export to STAGE/landing/<table>/; returns the rows
    written per table. The high-water marks live in `landing.stage_exports`, with the directory they were
    written to: a new directory (or one emptied by hand) starts again from the first row."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS landing.stage_exports "
        "(table_name VARCHAR NOT NULL, stage VARCHAR NOT NULL, high BIGINT NOT NULL, PRIMARY KEY (table_name, stage))"
    )
    written = {}
    for table, column in LANDING.items():
        directory = stage / "landing" / table
        found = fetch_value(
            conn,
            "SELECT high FROM landing.stage_exports WHERE table_name = ? AND stage = ?",
            [table, str(stage)],
        )
        if found is None or not directory.is_dir():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            _write(conn, f"SELECT * FROM landing.{table} LIMIT 0", directory / "schema.parquet")
            found = -1
        high = fetch_value(conn, f"SELECT coalesce(max({column}), -1) FROM landing.{table}")
        if high > found:
            _write(
                conn,
                f"SELECT * FROM landing.{table} WHERE {column} > {int(found)} AND {column} <= {int(high)} "
                f"ORDER BY {column}",
                directory / f"{found + 1:015d}-{high:015d}.parquet",
            )
            written[table] = int(
                fetch_value(
                    conn,
                    f"SELECT count(*) FROM landing.{table} WHERE {column} > ? AND {column} <= ?",
                    [found, high],
                )
            )
        conn.execute(
            "INSERT OR REPLACE INTO landing.stage_exports VALUES (?, ?, ?)",
            [table, str(stage), max(high, found)],
        )
    return written


def _write(conn: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    """COPY a query to one Parquet file, under a temporary name first: readers never see half a file."""
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    conn.execute(f"COPY ({query}) TO {_literal(partial)} (FORMAT parquet)")
    os.replace(partial, target)


# ---- the staging steps' own database -------------------------------------------------------------------


@contextmanager
def connect(stage: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB that reads the exported landing tables (views), with the warehouse's views on
    them and the staged tables written so far; the caller adds the reference tables (`ref` schema)."""
    conn = duckdb.connect()
    try:
        conn.execute(f"SET memory_limit = '{os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT}'")
        for schema in ("landing", "ref", "staging", "marts"):
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for table in LANDING:
            directory = stage / "landing" / table
            if directory.is_dir():
                conn.execute(
                    f"CREATE VIEW landing.{table} AS SELECT * FROM read_parquet({_literal(directory / '*.parquet')})"
                )
        conn.execute(read_sql("warehouse.sql"))  # the views (tables that are views here are left as they are)
        attach_views(conn, stage)
        yield conn
    finally:
        conn.close()


def attach_views(conn: duckdb.DuckDBPyConnection, stage: Path) -> None:
    """staging.<table> as a view over its day partitions, for every staged table written so far and not yet
    a view (a DuckDB table of that name, from before HEPWATCH_STAGE_DIR was set, is replaced: run
    `hepwatch run --full`). Called whenever the warehouse is opened, or a cursor of it handed out."""
    for table in STAGED:
        directory = stage / "staging" / table
        if not any(directory.glob("*/*.parquet")):
            continue
        kind = fetch_value(
            conn,
            "SELECT table_type FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_schema = 'staging' AND table_name = ?",
            [table],
        )
        if kind == "VIEW":
            continue  # (its glob finds the day files written since)
        if kind == "BASE TABLE":
            conn.execute(f"DROP TABLE staging.{table}")
        conn.execute(
            f"CREATE OR REPLACE VIEW staging.{table} AS "
            f"SELECT * FROM read_parquet({_glob(directory)}, hive_partitioning = false)"
        )


def replace_days(
    conn: duckdb.DuckDBPyConnection,
    stage: Path,
    table: str,
    query: str,
    start: date,
    end: date,
    params: dict[str, object],
) -> int:
    """Write the query's rows for the days [start, end) of a staged table, one directory per day, and
    replace those days' directories (a day with no rows loses its old file). Returns the rows written."""
    column = STAGED[table]
    directory = stage / "staging" / table
    build = directory / f".build-{uuid.uuid4().hex}"  # outside the views' glob (no `column=` directory)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        # COPY takes no parameters: the window goes through a temporary table (it spills past memory_limit)
        conn.execute(f"CREATE OR REPLACE TEMP TABLE hepwatch_window AS {query}", params)
        conn.execute(
            f"COPY hepwatch_window TO {_literal(build)} (FORMAT parquet, PARTITION_BY ({column}), "
            "WRITE_PARTITION_COLUMNS true, FILENAME_PATTERN 'data_{i}')"
        )
        schema = directory / "_schema"
        if not (schema / "empty.parquet").exists():  # the columns, for a view before any day has rows
            schema.mkdir(exist_ok=True)
            _write(conn, "SELECT * FROM hepwatch_window LIMIT 0", schema / "empty.parquet")
        conn.execute("DROP TABLE hepwatch_window")
        day = start
        while day < end:
            _replace_day(build / f"{column}={day.isoformat()}", directory / f"{column}={day.isoformat()}")
            day += timedelta(days=1)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    attach_views(conn, stage)
    return int(
        fetch_value(
            conn,
            f"SELECT count(*) FROM staging.{table} WHERE {column} >= $start AND {column} < $end",
            {"start": start, "end": end},
        )
    )


def _replace_day(new: Path, old: Path) -> None:
    files = sorted(new.glob("*.parquet")) if new.is_dir() else []
    if files:
        old.mkdir(exist_ok=True)
        for file in files:
            os.replace(file, old / file.name)
    if old.is_dir():
        keep = {file.name for file in files}
        for stale in old.glob("*.parquet"):
            if stale.name not in keep:
                stale.unlink()
        if not keep:
            old.rmdir()
