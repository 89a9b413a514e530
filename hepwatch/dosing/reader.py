"""read_dosing_csv (one file) and read_dosing_files (several): CSV bytes to records, quarantined rows and
read counts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
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


@dataclass(frozen=True)
class DosingFilesRead:
    """Several files read together: the frames carry `file_no`, the file's position in the list read."""

    records: pl.DataFrame  # RECORD_SCHEMA and file_no, in file order, then line order
    quarantine: pl.DataFrame  # QUARANTINE_SCHEMA and file_no, in file order, then line order
    rows_read: list[int]  # per file, as DosingFileRead.rows_read
    unreadable_reasons: list[str | None]  # per file, as DosingFileRead.unreadable_reason


@dataclass(frozen=True)
class _Parsed:
    """One readable file's rows, its columns found by the header (`fields`: line, n_cells, c0.., and one
    column per dosing column), and what its quarantine details need."""

    fields: pl.DataFrame
    header: list[str]
    missing_columns: list[str]
    cells_needed: int
    unclosed_quote_line: int | None

    def detail_key(self) -> tuple:
        return (tuple(self.header), tuple(self.missing_columns), self.cells_needed, self.unclosed_quote_line)


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
    read = read_dosing_files([(data, file_label)])
    return DosingFileRead(
        read.records.drop("file_no"),
        read.quarantine.drop("file_no"),
        read.rows_read[0],
        read.unreadable_reasons[0],
    )


def read_dosing_files(files: Sequence[tuple[bytes, str]]) -> DosingFilesRead:
    """Read several dosing CSV files, each exactly as `read_dosing_csv` reads it (file by file: the bytes,
    the header and the cells; the rules: once over the rows of them all, which is what makes a feed of
    many small daily files fast)."""
    parsed: list[_Parsed | None] = []
    unreadable: list[str | None] = []
    for data, file_label in files:
        read = _parse(data, file_label)
        parsed.append(read if isinstance(read, _Parsed) else None)
        unreadable.append(read if isinstance(read, str) else None)
    readable = [(file_no, read) for file_no, read in enumerate(parsed) if read is not None]
    rows_read = [read.fields.height if read is not None else 0 for read in parsed]
    if not readable:
        return DosingFilesRead(
            RECORD_SCHEMA.to_frame().with_columns(file_no=pl.lit(0, pl.Int64)),
            QUARANTINE_SCHEMA.to_frame().with_columns(file_no=pl.lit(0, pl.Int64)),
            rows_read,
            unreadable,
        )
    fields = pl.concat(
        [
            read.fields.with_columns(
                pl.lit(file_no, pl.Int64).alias("file_no"),
                pl.lit(bool(read.missing_columns)).alias("_header_lacks"),
                pl.lit(read.unclosed_quote_line, pl.Int64).alias("_unclosed_line"),
            )
            for file_no, read in readable
        ],
        how="diagonal",
    )
    checked = classify(fields)
    bad = checked.filter(pl.col("reason").is_not_null())
    quarantine = []
    for group in _same_details(readable) if bad.height else []:
        first = group[0][1]
        numbers = [file_no for file_no, _ in group]
        rows = bad if len(group) == len(readable) else bad.filter(pl.col("file_no").is_in(numbers))
        quarantine.append(
            rows.select(
                "file_no",
                "line",
                pl.when(pl.col("record_id") != "").then(pl.col("record_id")).alias("record_id"),
                "reason",
                quarantine_detail(
                    first.missing_columns, len(first.header), first.cells_needed, first.unclosed_quote_line
                ).alias("detail"),
                _raw_json(first.header).alias("raw"),
            )
        )
    found = records(checked)
    return DosingFilesRead(
        found.select("file_no", *RECORD_SCHEMA.names()),
        pl.concat(quarantine).sort("file_no", "line")
        if quarantine
        else QUARANTINE_SCHEMA.to_frame().with_columns(file_no=pl.lit(0, pl.Int64)),
        rows_read,
        unreadable,
    )


def _same_details(readable: list[tuple[int, _Parsed]]) -> list[list[tuple[int, _Parsed]]]:
    """The files grouped by what their quarantine details depend on (most feeds: one group)."""
    groups: dict[tuple, list[tuple[int, _Parsed]]] = {}
    for file_no, read in readable:
        groups.setdefault(read.detail_key(), []).append((file_no, read))
    return list(groups.values())


def _parse(data: bytes, file_label: str) -> _Parsed | str:
    """The file's rows with its dosing columns found, or why it is unreadable."""
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
    return _Parsed(fields, rows.header, missing_columns, cells_needed, rows.unclosed_quote_line)


def _raw_json(header: list[str]) -> pl.Expr:
    """The row as read, as a JSON object keyed by the header's column names (made unique)."""
    keys: list[str] = []
    for i, name in enumerate(header):
        keys.append(name if name and name not in keys else f"column_{i + 1}")
    return pl.struct(pl.col(f"c{i}").alias(key) for i, key in enumerate(keys)).struct.json_encode()


def _unreadable(file_label: str, reason: str) -> str:
    log.warning("dosing file %s is unreadable: %s", file_label, reason)
    return reason
