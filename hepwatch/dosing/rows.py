"""CSV text to a header and one row of cells per record, each with the physical line where it starts.

Polars parses the fields (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks). Line
numbers come from the text itself: a physical line starts a record unless an odd number of quote characters
came before it, i.e. it continues a quoted field. When Polars cannot parse the text, or its row count
disagrees with that scan (a quote inside an unquoted field, say), Python's `csv` module reads the file
instead: slower, exact, and it never gives up on a ragged or oddly quoted row.

Wholly blank lines carry no cells and are not records; a row of empty cells (`,,,`) is one.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import polars as pl

from hepwatch.dosing.text import UnreadableFileError


@dataclass(frozen=True)
class CsvRows:
    header: list[str]  # header cells as written
    cells: pl.DataFrame  # `line` Int64, `n_cells` Int64 (null when not counted), `c0`..: Utf8 ("" if missing)
    unclosed_quote_line: int | None = None  # the last row opens a quote never closed: it holds the rest


def csv_rows(text: str) -> CsvRows:
    """The file's header and data rows; raises UnreadableFileError (`not_csv: ...`) when it is not CSV."""
    body = text.lstrip("\n")
    skipped = len(text) - len(body)  # leading blank lines still count for line numbers
    starts = _record_starts(body)
    try:
        table = pl.read_csv(
            body.encode(),
            has_header=False,
            infer_schema=False,
            truncate_ragged_lines=True,
            empty_string_is_null=False,
            raise_if_empty=False,
        )
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException):
        return _csv_module_rows(body, skipped)
    if table.height != starts.height or table.width == 0:
        return _csv_module_rows(body, skipped)
    table = table.rename({name: f"c{i}" for i, name in enumerate(table.columns)})
    table = pl.concat([starts, table], how="horizontal")
    header = [value or "" for value in table.row(0)[3:]]
    cells = table.slice(1).filter(~pl.col("blank")).drop("blank")
    return CsvRows(header, cells.with_columns(pl.col("line") + skipped))


def _record_starts(body: str) -> pl.DataFrame:
    """`line`, `blank`, `n_cells` for every physical line that starts a record (blank lines included)."""
    lines = pl.Series("text", body.split("\n"))
    if body.endswith("\n"):
        lines = lines.slice(0, lines.len() - 1)
    frame = lines.to_frame().with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.Int64))
    text = pl.col("text")
    if '"' in body:
        quotes = text.str.count_matches('"', literal=True)
        frame = frame.filter((quotes.cum_sum() - quotes) % 2 == 0)
    # A start line without a quote is the whole record, so its commas count its cells.
    n_cells = pl.when(~text.str.contains('"', literal=True)).then(
        text.str.count_matches(",", literal=True) + 1
    )
    return frame.select("line", (text == "").alias("blank"), n_cells.cast(pl.Int64).alias("n_cells"))


def _csv_module_rows(body: str, skipped: int) -> CsvRows:
    # `csv` ends lines at a lone CR too; hiding CR as NUL (which a readable file never holds) keeps LF the
    # only line end, as on the Polars path.
    body = body.replace("\r", "\x00")
    reader = csv.reader(io.StringIO(body, newline=""))
    rows: list[list[str]] = []
    lines: list[int] = []
    previous_end = 0
    try:
        for row in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if row:
                rows.append(row)
                lines.append(start + skipped)
    except csv.Error as error:  # a field over csv.field_size_limit(), typically after an unclosed quote
        line = previous_end + 1 + skipped
        raise UnreadableFileError(f"not_csv: line {line}: {error} (is a quote left open?)") from error
    if not rows:
        raise UnreadableFileError("not_csv: no rows")
    header, data = [cell.replace("\x00", "\r") for cell in rows[0]], rows[1:]
    columns = {
        f"c{i}": pl.Series([row[i] if i < len(row) else "" for row in data], dtype=pl.String).str.replace_all(
            "\x00", "\r", literal=True
        )
        for i in range(len(header))
    }
    cells = pl.DataFrame(
        {
            "line": pl.Series(lines[1:], dtype=pl.Int64),
            "n_cells": pl.Series([len(row) for row in data], dtype=pl.Int64),
            **columns,
        }
    )
    return CsvRows(header, cells, _unclosed_quote_line(body, lines[-1] - skipped, skipped))


def _unclosed_quote_line(body: str, last_start: int, skipped: int) -> int | None:
    """The last row's line when a quote it opens never closes (`csv` reads it to the end without a word)."""
    last_row = "\n".join(body.split("\n")[last_start - 1 :])
    try:
        for _ in csv.reader(io.StringIO(last_row, newline=""), strict=True):
            pass
    except csv.Error as error:
        return last_start + skipped if "unexpected end of data" in str(error) else None
    return None
