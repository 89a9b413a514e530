"""Dosing CSV files into `landing.dosing_rows` (contract sections 2 and 3).

Every data row is a record or quarantined with a reason; quarantined rows keep their raw fields in the
restricted store. Corrections are resolved downstream (staging): the same record_id again in a file
ingested later wins, so each file version gets a `file_order` from its ingestion order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from hepwatch.dosing import read_dosing_csv
from hepwatch.ingest.feed_files import FileVersion, new_versions, next_value
from hepwatch.pseudonym import Pseudonymizer, new_patients
from hepwatch.warehouse import insert_frame


@dataclass
class DosingIngestSummary:
    files: int = 0
    rows: int = 0
    records: int = 0
    quarantined: int = 0
    unreadable_files: list[str] = field(default_factory=list)


def ingest_dosing_version(
    conn: duckdb.DuckDBPyConnection, version: FileVersion, pseudonymizer: Pseudonymizer, ingest_seq: int
) -> tuple[int, int, int, str | None]:
    """Write one dosing file version; returns (rows read, records, quarantined, unreadable reason)."""
    feed = version.file
    now = datetime.now()
    if version.data is None:
        read = None
        unreadable = version.error
    else:
        read = read_dosing_csv(version.data, feed.relative)
        unreadable = read.unreadable_reason
    records = read.records if read and not unreadable else pl.DataFrame()
    bad = read.quarantine if read and not unreadable else pl.DataFrame()
    rows = records.height + bad.height
    conn.execute("BEGIN")
    if bad.height:
        phi_rows = bad.select(
            pl.lit("dosing_row").alias("kind"),
            pl.lit(feed.relative).alias("file"),
            pl.lit(version.sha256).alias("sha256"),
            pl.col("line").alias("position"),
            pl.col("line"),
            pl.lit(None, pl.Utf8).alias("control_id"),
            "reason",
            "detail",
            pl.col("raw").alias("raw_payload"),
            pl.lit(now).alias("quarantined_at"),
        )
        insert_frame(conn, "phi.quarantine", phi_rows, "OR REPLACE")
    if records.height:
        keys = [
            pseudonymizer.patient_key(authority, patient)
            for authority, patient in zip(records["id_authority"], records["patient_id"], strict=True)
        ]
        insert_frame(conn, "phi.patient_map", new_patients(pseudonymizer), "OR IGNORE")
    conn.execute("COMMIT")
    conn.execute("BEGIN")
    if records.height:
        landed = records.drop("patient_id", "id_authority").with_columns(
            pl.Series("patient_key", keys),
            pl.lit(feed.relative).alias("file"),
            pl.lit(version.sha256).alias("sha256"),
            pl.lit(ingest_seq).alias("ingest_seq"),
            pl.lit(ingest_seq).alias("file_order"),
        )
        insert_frame(conn, "landing.dosing_rows", landed)
    if bad.height:
        landed_bad = bad.select(
            pl.lit(feed.relative).alias("file"),
            pl.lit(version.sha256).alias("sha256"),
            "line",
            "record_id",
            "reason",
            "detail",
        )
        insert_frame(conn, "landing.dosing_quarantine", landed_bad)
    conn.execute(
        "INSERT INTO landing.file_versions VALUES (?, 'dosing', ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)",
        [
            feed.relative, version.sha256, feed.size_bytes, feed.modified_at, now, ingest_seq,
            rows, records.height, bad.height, unreadable,
        ],
    )  # fmt: skip
    conn.execute("COMMIT")
    return rows, records.height, bad.height, unreadable


def ingest_dosing_files(
    conn: duckdb.DuckDBPyConnection,
    feeds_dir: Path,
    pseudonymizer: Pseudonymizer,
    progress: Callable[[str], None] = lambda _: None,
) -> DosingIngestSummary:
    """Read every new dosing file version under FEEDS/dosing into the landing tables."""
    versions = new_versions(conn, feeds_dir, "dosing")
    ingest_seq = next_value(conn, "ingest_seq", "landing.file_versions")
    summary = DosingIngestSummary()
    for number, version in enumerate(versions, start=1):
        rows, records, quarantined, unreadable = ingest_dosing_version(
            conn, version, pseudonymizer, ingest_seq
        )
        ingest_seq += 1
        summary.files += 1
        summary.rows += rows
        summary.records += records
        summary.quarantined += quarantined
        if unreadable:
            summary.unreadable_files.append(version.file.relative)
        if number % 20 == 0 or number == len(versions):
            progress(f"dosing: {number}/{len(versions)} new files, {summary.rows} rows")
    return summary
