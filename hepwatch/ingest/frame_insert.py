"""Frames into DuckDB tables, in ingestion's long transactions."""

from __future__ import annotations

import duckdb
import polars as pl


def insert_frame(
    conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, on_conflict: str = ""
) -> None:
    """Insert a Polars frame by column name, through DuckDB's replacement scan (a local variable).

    `conn.register` creates a view in the catalog, and the catalog is transactional: after `unregister` the
    view, and with it the whole frame, stays alive until the transaction ends, so one landing transaction
    per file version would hold every piece of a large file in memory. A replacement scan holds nothing once
    the statement is done. (`hepwatch.warehouse.insert_frame` registers the frame, which is fine outside such
    transactions.)
    """
    if frame.is_empty():
        return
    incoming_frame = frame  # noqa: F841 (read by name by the SQL below)
    conn.execute(f"INSERT {on_conflict} INTO {table} BY NAME SELECT * FROM incoming_frame")
