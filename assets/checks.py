"""Turning a Pandera model into the blocking `schema_valid` asset check (contract section 5).

The check is declared on the asset and its result returned with the materialization, so a schema failure
shows in the UI's Checks tab with the failing rows as metadata, and blocks downstream assets, instead of
crashing the step.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from functools import cache

import dagster as dg
import duckdb
import pandera.polars as pa
import polars as pl

SCHEMA_VALID = "schema_valid"
FAILING_ROWS_SHOWN = 20
CHUNK_ROWS = 500_000  # rows of a window validated at a time: memory bounded, not the whole year at once


def schema_valid_spec(key: dg.AssetKey | list[str]) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        SCHEMA_VALID,
        asset=dg.AssetKey(key) if isinstance(key, list) else key,
        blocking=True,
        description="The table matches its Pandera model (schemas/): columns, types and rules.",
    )


def schema_valid_table(
    model: type[pa.DataFrameModel], conn: duckdb.DuckDBPyConnection, table: str
) -> dg.AssetCheckResult:
    """Validate every row of a whole table lazily; on failure, report counts per rule and the first failing
    cases. The model's uniqueness rules are checked in DuckDB (_duplicates), every other rule by Pandera on
    the rows."""
    frame = conn.sql(f"SELECT * FROM {table}").pl()
    cases = _failure_cases(_without_uniqueness(model), frame)
    return _result(
        model, frame.height, [*([cases] if cases is not None else []), *_duplicates(model, conn, table)]
    )


def schema_valid_window(
    model: type[pa.DataFrameModel],
    conn: duckdb.DuckDBPyConnection,
    table: str,
    date_column: str,
    start: date,
    end: date,
    chunk_rows: int = CHUNK_ROWS,
) -> dg.AssetCheckResult:
    """schema_valid_table over the rows of [start, end) of a daily-partitioned table, read in runs of whole days of
    at most about `chunk_rows` rows (a year of results is validated in bounded memory). The model's
    uniqueness rules are checked across the whole window in DuckDB; every other rule holds within a row or a
    day, and Pandera checks it on each run of days."""
    days = conn.execute(
        f"SELECT {date_column}, count(*) FROM {table} WHERE {date_column} >= $start AND {date_column} < $end "
        "GROUP BY ALL ORDER BY 1",
        {"start": start, "end": end},
    ).fetchall()
    chunks: list[tuple[date, date]] = []
    rows = 0
    for day, count in days:
        if chunks and rows + count <= chunk_rows:
            chunks[-1] = (chunks[-1][0], day + timedelta(days=1))
            rows += count
        else:
            chunks.append((day, day + timedelta(days=1)))
            rows = count
    found = []
    checked = 0
    schema = _without_uniqueness(model)
    for chunk_start, chunk_end in chunks or [(start, end)]:
        frame = conn.sql(
            f"SELECT * FROM {table} WHERE {date_column} >= $start AND {date_column} < $end",
            params={"start": chunk_start, "end": chunk_end},
        ).pl()
        checked += frame.height
        cases = _failure_cases(schema, frame)
        if cases is not None:
            found.append(cases)
        del frame
    found += _duplicates(model, conn, table, f"{date_column} >= $start AND {date_column} < $end",
                         {"start": start, "end": end})  # fmt: skip
    return _result(model, checked, found)


def _failure_cases(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.DataFrame | None:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return errors.failure_cases.with_columns(pl.col("failure_case").cast(pl.Utf8))
    return None


@cache
def _without_uniqueness(model: type[pa.DataFrameModel]) -> pa.DataFrameSchema:
    """The model's schema less its uniqueness rules, which DuckDB checks (_duplicates): Pandera's check of a
    unique column took about 85 % of validating a million observations, DuckDB's GROUP BY a third of that."""
    schema = copy.deepcopy(model.to_schema())  # (Pandera keeps one schema per model: not that one)
    unique = [name for name, column in schema.columns.items() if column.unique]
    schema = schema.update_columns({name: {"unique": False} for name in unique}) if unique else schema
    schema.unique = None
    return schema


def _uniqueness_rules(model: type[pa.DataFrameModel]) -> list[list[str]]:
    """The model's uniqueness rules (Config.unique, Field(unique=True)): each a list of columns."""
    schema = model.to_schema()
    keys = (
        [[schema.unique] if isinstance(schema.unique, str) else list(schema.unique)] if schema.unique else []
    )
    return keys + [[name] for name, column in schema.columns.items() if column.unique]


def _duplicates(
    model: type[pa.DataFrameModel],
    conn: duckdb.DuckDBPyConnection,
    table: str,
    where: str = "true",
    params: dict[str, object] | None = None,
) -> list[pl.DataFrame]:
    """The model's uniqueness rules over the table's rows (those `where` selects), in DuckDB."""
    found = []
    for key in _uniqueness_rules(model):
        columns = ", ".join(key)
        duplicates = conn.execute(
            f"SELECT {columns}, count(*) FROM {table} WHERE {where} "
            f"GROUP BY ALL HAVING count(*) > 1 LIMIT {FAILING_ROWS_SHOWN}",
            params or {},
        ).fetchall()
        if duplicates:
            found.append(
                pl.DataFrame(
                    {
                        "schema_context": ["DataFrameSchema" if len(key) > 1 else "Column"] * len(duplicates),
                        "column": [columns] * len(duplicates),
                        "check": ["unique across the window"] * len(duplicates),
                        "failure_case": [str(row[:-1]) for row in duplicates],
                    }
                )
            )
    return found


def _result(model: type[pa.DataFrameModel], checked: int, found: list[pl.DataFrame]) -> dg.AssetCheckResult:
    if not found:
        return dg.AssetCheckResult(
            check_name=SCHEMA_VALID,
            passed=True,
            description=f"All {checked} rows match {model.__name__}.",
            metadata={"model": model.__name__, "rows_checked": checked},
        )
    cases = pl.concat(found, how="diagonal_relaxed")
    by_check = cases.group_by("column", "check").len().sort("len", descending=True)
    return dg.AssetCheckResult(
        check_name=SCHEMA_VALID,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"Error (blocking): {cases.height} failure(s) of {model.__name__}; nothing downstream was "
        "built and analytics.duckdb was not replaced.",
        metadata={
            "model": model.__name__,
            "rows_checked": checked,
            "failure_cases": cases.height,
            "failures_by_rule": dg.MetadataValue.md(markdown_table(by_check)),
            "first_failing_cases": dg.MetadataValue.md(markdown_table(cases.head(FAILING_ROWS_SHOWN))),
        },
    )


def column_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    """`dagster/column_schema` from the model: names, types and descriptions."""
    columns = model.to_schema().columns
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, type=str(column.dtype), description=column.description or "")
            for name, column in columns.items()
        ]
    )


def markdown_table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([header, rule, *rows])
