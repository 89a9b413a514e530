"""read_dosing_csv: one dosing CSV file's bytes to records, quarantined rows and read counts."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import polars as pl

from hepwatch.dosing.rows import csv_rows
from hepwatch.dosing.rules import DOSING_COLUMNS, REQUIRED_COLUMNS, classify, quarantine_detail, records
from hepwatch.dosing.text import UnreadableFileError, dosing_text
from hepwatch.lines import MAX_LINE_BYTES, has_too_long_line

log = logging.getLogger(__name__)

RECORD_SCHEMA = pl.Schema(
    {
        "line": pl.Int64(),
        "record_id": pl.String(),
        "patient_id": pl.String(),
        "id_authority": pl.String(),
        "substance": pl.String(),
        "substance_as_written": pl.String(),
        "product": pl.String(),
        "dose_amount": pl.Float64(),
        "dose_unit": pl.String(),
        "dose_mg": pl.Float64(),
        "taken_at_text": pl.String(),
        "dose_date": pl.Date(),
        "taken_at": pl.Datetime("us"),
        "source": pl.String(),
    }
)
QUARANTINE_SCHEMA = pl.Schema(
    {
        "line": pl.Int64(),
        "record_id": pl.String(),
        "reason": pl.String(),
        "detail": pl.String(),
        "raw": pl.String(),
    }
)


@dataclass(frozen=True)
class DosingFileRead:
    records: pl.DataFrame  # one row per valid row, RECORD_SCHEMA
    quarantine: pl.DataFrame  # one row per bad row, QUARANTINE_SCHEMA
    rows_read: int  # data rows read (header excluded) == records.height + quarantine.height
    unreadable_reason: str | None  # set when the file cannot be read at all: both frames empty, rows_read 0


def read_dosing_csv(data: bytes, file_label: str) -> DosingFileRead:
    """Read one dosing CSV file (contract sections 2 and 3); never raises on bad content.

    Text is UTF-8 with an optional BOM; a file that is not valid UTF-8 is decoded as cp1252, or latin-1 when
    cp1252 cannot map a byte. The header names the columns in any order, matched case-insensitively after
    trimming (the first of duplicated names wins); other columns are ignored. A header that lacks a required
    column quarantines every row as `missing_field`. `line` is the physical line where a row starts, the
    header being line 1; blank lines are not rows. `file_label` names the file in log messages.

    The file is unreadable (`unreadable_reason`) when it is empty (`empty_file`), binary or not parseable as
    CSV (`not_csv: ...`), or when its first line names none of the dosing columns (`no_header`).
    """
    if has_too_long_line(data):  # never parse a line of any length
        return _unreadable(file_label, f"a line longer than {MAX_LINE_BYTES >> 20} MB: not a dosing CSV")
    try:
        rows = csv_rows(dosing_text(data))
    except UnreadableFileError as unreadable:
        return _unreadable(file_label, str(unreadable))
    names = [cell.strip().lower() for cell in rows.header]
    if not set(names) & set(DOSING_COLUMNS):
        return _unreadable(file_label, "no_header")
    position: dict[str, int] = {}
    for i, name in enumerate(names):
        position.setdefault(name, i)
    missing_columns = [name for name in REQUIRED_COLUMNS if name not in position]
    fields = rows.cells.with_columns(
        (pl.col(f"c{position[name]}") if name in position else pl.lit("")).alias(name)
        for name in DOSING_COLUMNS
    )
    cells_needed = 1 + max((position[name] for name in REQUIRED_COLUMNS if name in position), default=-1)
    checked = classify(fields, missing_columns, rows.unclosed_quote_line)
    quarantine = checked.filter(pl.col("reason").is_not_null()).select(
        "line",
        pl.when(pl.col("record_id") != "").then(pl.col("record_id")).alias("record_id"),
        "reason",
        quarantine_detail(missing_columns, len(rows.header), cells_needed, rows.unclosed_quote_line).alias(
            "detail"
        ),
        _raw_json(rows.header).alias("raw"),
    )
    found = records(checked)
    return DosingFileRead(found, quarantine, rows.cells.height, None)


def _raw_json(header: list[str]) -> pl.Expr:
    """The row as read, as a JSON object keyed by the header's column names (made unique)."""
    keys: list[str] = []
    for i, name in enumerate(header):
        keys.append(name if name and name not in keys else f"column_{i + 1}")
    return pl.struct(pl.col(f"c{i}").alias(key) for i, key in enumerate(keys)).struct.json_encode()


def _unreadable(file_label: str, reason: str) -> DosingFileRead:
    log.warning("dosing file %s is unreadable: %s", file_label, reason)
    return DosingFileRead(RECORD_SCHEMA.to_frame(), QUARANTINE_SCHEMA.to_frame(), 0, reason)
