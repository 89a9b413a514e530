"""Dosing CSV files into `landing.dosing_rows` (contract sections 2 and 3).

Every data row is a record or quarantined with a reason; quarantined rows keep their raw fields in the
restricted store. Corrections are resolved downstream (staging): the same record_id again in a file
ingested later wins, so each file version gets a `file_order` from its ingestion order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from hepwatch.dosing import read_dosing_csv
from hepwatch.ingest.feed_files import (
    VERSION_SCHEMA,
    FileVersion,
    discover,
    known_versions,
    next_value,
    prefetched,
    read_version,
    version_row,
)
from hepwatch.pseudonym import Pseudonymizer, patient_map_rows
from hepwatch.warehouse import insert_frame

BATCH_BYTES = 16 << 20  # dosing files written in one transaction, up to this much CSV (a month of a clinic)


@dataclass
class DosingIngestSummary:
    files: int = 0
    rows: int = 0
    records: int = 0
    quarantined: int = 0
    unreadable_files: list[str] = field(default_factory=list)


@dataclass
class _Batch:
    """Dosing file versions read and ready to write in one transaction (per-statement and per-commit costs
    would otherwise dominate a feed of one file a day)."""

    records: list[pl.DataFrame] = field(default_factory=list)
    quarantine: list[pl.DataFrame] = field(default_factory=list)  # landing.dosing_quarantine
    payloads: list[pl.DataFrame] = field(default_factory=list)  # phi.quarantine
    versions: list[tuple] = field(default_factory=list)  # landing.file_versions
    size: int = 0


def _read_version(
    version: FileVersion, pseudonymizer: Pseudonymizer, ingest_seq: int, batch: _Batch
) -> tuple[int, int, int, str | None]:
    """Read one dosing file version into `batch`; returns (rows read, records, quarantined, unreadable)."""
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
    file_columns = [pl.lit(feed.relative).alias("file"), pl.lit(version.sha256).alias("sha256")]
    if bad.height:
        batch.payloads.append(
            bad.select(
                pl.lit("dosing_row").alias("kind"), *file_columns, pl.col("line").alias("position"), "line",
                pl.lit(None, pl.Utf8).alias("control_id"), "reason", "detail", pl.col("raw").alias("raw_payload"),
                pl.lit(now).alias("quarantined_at"),
            )
        )  # fmt: skip
        batch.quarantine.append(bad.select(*file_columns, "line", "record_id", "reason", "detail"))
    if records.height:
        # each distinct patient keyed once, then joined back to its rows
        patients = records.select("id_authority", "patient_id").unique(maintain_order=True)
        keys = [pseudonymizer.patient_key(authority, patient) for authority, patient in patients.iter_rows()]
        patients = patients.with_columns(pl.Series("patient_key", keys, dtype=pl.Utf8))
        batch.records.append(
            records.join(patients, on=["id_authority", "patient_id"], how="left", maintain_order="left")
            .drop("patient_id", "id_authority")
            .with_columns(
                *file_columns,
                pl.lit(ingest_seq).alias("ingest_seq"),
                pl.lit(ingest_seq).alias("file_order"),
            )
        )
    outcomes = Counter({"accepted": records.height, "quarantined": bad.height})
    batch.versions.append(version_row(feed, version.sha256, ingest_seq, now, outcomes, unreadable))
    batch.size += feed.size_bytes
    return records.height + bad.height, records.height, bad.height, unreadable


def _write(conn: duckdb.DuckDBPyConnection, batch: _Batch, pseudonymizer: Pseudonymizer) -> None:
    """The restricted store first (its own transaction: keyed rows, re-done cleanly after a crash), then
    every file version of the batch in one landing transaction."""
    patients = patient_map_rows(pseudonymizer.take_new())
    conn.execute("BEGIN")
    try:
        if batch.payloads:
            insert_frame(
                conn, "phi.quarantine", pl.concat(batch.payloads, how="vertical_relaxed"), "OR REPLACE"
            )
        insert_frame(conn, "phi.patient_map", patients, "OR IGNORE")
        conn.execute("COMMIT")
        conn.execute("BEGIN")
        if batch.records:
            insert_frame(conn, "landing.dosing_rows", pl.concat(batch.records, how="vertical_relaxed"))
        if batch.quarantine:
            insert_frame(
                conn, "landing.dosing_quarantine", pl.concat(batch.quarantine, how="vertical_relaxed")
            )
        insert_frame(
            conn, "landing.file_versions", pl.DataFrame(batch.versions, VERSION_SCHEMA, orient="row")
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def ingest_dosing_files(
    conn: duckdb.DuckDBPyConnection,
    feeds_dir: Path,
    pseudonymizer: Pseudonymizer,
    progress: Callable[[str], None] = lambda _: None,
) -> DosingIngestSummary:
    """Read every new dosing file version under FEEDS/dosing into the landing tables, file versions in
    order, batches of up to BATCH_BYTES in one transaction each (one file's rows are never split)."""
    known = known_versions(conn, "dosing")
    files = discover(feeds_dir, "dosing")
    ingest_seq = next_value(conn, "ingest_seq", "landing.file_versions")
    summary = DosingIngestSummary()
    batch = _Batch()
    reported = 0
    for checked, version in enumerate(prefetched(read_version, files), start=1):
        feed_file = version.file
        if (feed_file.relative, version.sha256) not in known:
            rows, records, quarantined, unreadable = _read_version(version, pseudonymizer, ingest_seq, batch)
            ingest_seq += 1
            summary.files += 1
            summary.rows += rows
            summary.records += records
            summary.quarantined += quarantined
            if unreadable:
                summary.unreadable_files.append(feed_file.relative)
        if batch.versions and (batch.size >= BATCH_BYTES or checked == len(files)):
            _write(conn, batch, pseudonymizer)
            batch = _Batch()
            if summary.files - reported >= 20 or checked == len(files):
                reported = summary.files
                progress(
                    f"dosing: {summary.files} new files ({checked}/{len(files)} checked), {summary.rows} rows"
                )
    return summary
