"""Staged data as Parquet, partitioned by day: the road to many writers.

With a stage location (HEPWATCH_STAGE_URI: the Warehouse resource's `stage_uri`), the daily staged tables
(`STAGED`) are not DuckDB tables in `hepwatch.duckdb` but Parquet files, one directory per day, under that
location: a directory (local, or a shared volume every worker mounts) or object storage (`s3://bucket/prefix`, `gs://...`, `az://...`: any fsspec URL, with its
fsspec package installed, e.g. `s3fs`, and its credentials in the environment):

    STAGE/staging/liver_observations/collected_date=2025-01-01/data_0.parquet
    STAGE/staging/dosing_records/dose_date=2025-01-01/data_0.parquet

and the step that builds them never opens `hepwatch.duckdb`. It reads the landing tables from Parquet too:
after each ingestion (one writer, in order), the rows it appended are exported to

    STAGE/landing/<table>/<first>-<last>.parquet

(the landing tables are append-only, so an export is the rows above the last one's high-water mark). A
staging step opens an in-memory DuckDB whose `landing.*` are views over those files, builds its window of
days with the same SQL as in DuckDB mode, and replaces its days' directories. Steps over different days (or
different tables) write different directories, so any number of them can run at once, in any process or
machine that reaches the location (Dagster's steps still take turns in the writers' pool: whether a step
needs the warehouse is known only at run time, from the resource); `hepwatch.duckdb`, where the marts are built, reads the staged tables
through views over the partitions (`attach_views`). Each day's file is written under a temporary name and
then moved into place (a rename on a file system, a copy of one object on object storage), so a reader sees
a day's old file or its new one, never half of one. DuckDB reads and writes object storage through the same
fsspec file system (`register_filesystem`): no DuckDB extension is needed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import fsspec

from hepwatch.warehouse import fetch_value, limit_memory, read_sql, sql_literal

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


@dataclass(frozen=True)
class Stage:
    """Where staged data lives: an fsspec file system and the root path within it."""

    fs: Any  # fsspec.AbstractFileSystem
    root: str

    @property
    def local(self) -> bool:
        return "file" in _protocols(self.fs)

    def path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def url(self, path: str) -> str:
        """A path as DuckDB reads it: itself on the local file system, else with the protocol."""
        return path if self.local else f"{_protocols(self.fs)[0]}://{path.lstrip('/')}"

    def register(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Let DuckDB read and write this file system (object storage) through fsspec."""
        if not self.local and not conn.filesystem_is_registered(_protocols(self.fs)[0]):
            conn.register_filesystem(self.fs)

    def __str__(self) -> str:
        return self.url(self.root)


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def stage_location(uri: str | None) -> Stage | None:
    """A stage location (a directory or an fsspec URL) as a Stage, or None when there is none: the staged
    tables are then DuckDB tables (the default)."""
    configured = (uri or "").strip()
    if not configured:
        return None
    if "://" not in configured:
        configured = str(Path(configured).resolve())
    fs, root = fsspec.core.url_to_fs(configured)
    return Stage(fs, root)


# Landing: exported after each ingestion (by the warehouse's one writer).


def export_landing(conn: duckdb.DuckDBPyConnection, stage: Stage) -> dict[str, int]:
    """Write the landing rows appended since the last export to STAGE/landing/<table>/; returns the rows
    written per table. The high-water marks live in `landing.stage_exports`, with the location they were
    written to: a new location (or one emptied by hand) starts again from the first row."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS landing.stage_exports (table_name VARCHAR NOT NULL, stage VARCHAR NOT NULL, "
        "high BIGINT NOT NULL, PRIMARY KEY (table_name, stage))"
    )
    stage.register(conn)
    fs = stage.fs
    written = {}
    for table, column in LANDING.items():
        directory = stage.path("landing", table)
        found = fetch_value(
            conn,
            "SELECT high FROM landing.stage_exports WHERE table_name = ? AND stage = ?",
            [table, str(stage)],
        )
        if found is None or not fs.exists(stage.path("landing", table, "schema.parquet")):
            if fs.exists(directory):
                fs.rm(directory, recursive=True)
            fs.makedirs(directory, exist_ok=True)
            _write(
                conn,
                stage,
                f"SELECT * FROM landing.{table} LIMIT 0",
                stage.path("landing", table, "schema.parquet"),
            )
            found = -1
        high = fetch_value(conn, f"SELECT coalesce(max({column}), -1) FROM landing.{table}")
        if high > found:
            rows = f"FROM landing.{table} WHERE {column} > {int(found)} AND {column} <= {int(high)}"
            _write(
                conn,
                stage,
                f"SELECT * {rows} ORDER BY {column}",
                stage.path("landing", table, f"{found + 1:015d}-{high:015d}.parquet"),
            )
            written[table] = int(fetch_value(conn, f"SELECT count(*) {rows}"))
        conn.execute(
            "INSERT OR REPLACE INTO landing.stage_exports VALUES (?, ?, ?)",
            [table, str(stage), max(high, found)],
        )
    return written


def _write(conn: duckdb.DuckDBPyConnection, stage: Stage, query: str, target: str) -> None:
    """COPY a query to one Parquet file, under a temporary name first: readers never see half a file."""
    head, _, name = target.rpartition("/")
    partial = f"{head}/.{name}.{uuid.uuid4().hex}.partial"
    conn.execute(f"COPY ({query}) TO {sql_literal(stage.url(partial))} (FORMAT parquet)")
    stage.fs.mv(partial, target)


# The staging steps' own database.


@contextmanager
def connect(stage: Stage, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB that reads the exported landing tables (views), with the warehouse's views on
    them and the staged tables written so far; the caller adds the reference tables (`ref` schema)."""
    conn = duckdb.connect()
    try:
        stage.register(conn)
        limit_memory(conn, memory_limit)
        for schema in ("landing", "ref", "staging", "marts"):
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for table in LANDING:
            directory = stage.path("landing", table)
            if stage.fs.exists(stage.path("landing", table, "schema.parquet")):
                conn.execute(
                    f"CREATE VIEW landing.{table} AS "
                    f"SELECT * FROM read_parquet({sql_literal(stage.url(directory + '/*.parquet'))})"
                )
        conn.execute(read_sql("warehouse.sql"))  # the views (tables that are views here are left as they are)
        attach_views(conn, stage)
        yield conn
    finally:
        conn.close()


def attach_views(conn: duckdb.DuckDBPyConnection, stage: Stage) -> None:
    """staging.<table> as a view over its day partitions, for every staged table written so far and not yet
    a view (a DuckDB table of that name, from before the stage location was set, is replaced: run
    `hepwatch run --full`). Called whenever the Warehouse resource hands out a connection."""
    stage.register(conn)
    for table in STAGED:
        if not stage.fs.exists(stage.path("staging", table, "_schema", "empty.parquet")):
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
        files = stage.url(stage.path("staging", table, "*", "*.parquet"))
        conn.execute(
            f"CREATE OR REPLACE VIEW staging.{table} AS "
            f"SELECT * FROM read_parquet({sql_literal(files)}, hive_partitioning = false)"
        )


def replace_days(
    conn: duckdb.DuckDBPyConnection,
    stage: Stage,
    table: str,
    query: str,
    start: date,
    end: date,
    params: dict[str, object],
) -> int:
    """Write the query's rows for the days [start, end) of a staged table, one directory per day, and
    replace those days' directories (a day with no rows loses its old file). Returns the rows written."""
    column = STAGED[table]
    fs = stage.fs
    directory = stage.path("staging", table)
    build = stage.path("staging", table, f".build-{uuid.uuid4().hex}")  # outside the views' glob
    fs.makedirs(directory, exist_ok=True)
    try:
        # COPY takes no parameters: the window goes through a temporary table (it spills past memory_limit)
        conn.execute(f"CREATE OR REPLACE TEMP TABLE hepwatch_window AS {query}", params)
        conn.execute(
            f"COPY hepwatch_window TO {sql_literal(stage.url(build))} (FORMAT parquet, PARTITION_BY ({column}), "
            "WRITE_PARTITION_COLUMNS true, FILENAME_PATTERN 'data_{i}')"
        )
        schema = stage.path("staging", table, "_schema", "empty.parquet")
        if not fs.exists(schema):  # the columns, for a view before any day has rows
            fs.makedirs(stage.path("staging", table, "_schema"), exist_ok=True)
            _write(conn, stage, "SELECT * FROM hepwatch_window LIMIT 0", schema)
        conn.execute("DROP TABLE hepwatch_window")
        day = start
        while day < end:
            part = f"{column}={day.isoformat()}"
            _replace_day(fs, f"{build}/{part}", stage.path("staging", table, part))
            day += timedelta(days=1)
    finally:
        if fs.exists(build):
            fs.rm(build, recursive=True)
    attach_views(conn, stage)
    return int(
        fetch_value(
            conn,
            f"SELECT count(*) FROM staging.{table} WHERE {column} >= $start AND {column} < $end",
            {"start": start, "end": end},
        )
    )


def _replace_day(fs: Any, new: str, old: str) -> None:
    files = sorted(fs.glob(f"{new}/*.parquet")) if fs.exists(new) else []
    names = {path.rpartition("/")[2] for path in files}
    if files:
        fs.makedirs(old, exist_ok=True)
        for path in files:
            fs.mv(path, f"{old}/{path.rpartition('/')[2]}")
    for stale in fs.glob(f"{old}/*.parquet") if fs.exists(old) else []:
        if stale.rpartition("/")[2] not in names:
            fs.rm(stale)
    if not names and fs.exists(old) and fs.isdir(old) and not fs.ls(old):
        fs.rmdir(old)
