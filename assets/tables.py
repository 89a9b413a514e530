"""Writing tables from the SQL files in `assets/sql/`: whole tables, or a window of days within one."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise

import dagster as dg
import duckdb

from hepwatch.settings import SQL_DIR
from hepwatch.warehouse import fetch_value

SPAN_DAYS = 183  # the longest span of days one query of a window builds


def spans(start: date, end: date, days: list[date] | None = None) -> list[tuple[date, date]]:
    """[start, end) cut into spans of at most SPAN_DAYS days with data (`days`; without them, calendar
    days): a sparse history of a few days a year is one span, a dense decade twenty."""
    if days is None:
        days = [start + timedelta(days=n) for n in range((end - start).days)]
    days = sorted(day for day in days if start <= day < end)
    cuts = [start, *days[SPAN_DAYS::SPAN_DAYS], end]
    return [(first, last) for first, last in pairwise(cuts) if first < last]


def sql(name: str) -> str:
    """The text of `assets/sql/<name>.sql` (SQL that builds a table lives in a file named after it)."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def bind(query: str, params: dict[str, object]) -> dict[str, object]:
    """The parameters a query names (DuckDB refuses ones it does not)."""
    return {name: value for name, value in params.items() if f"${name}" in query}


def replace_window(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    query: str,
    date_column: str,
    start: date,
    end: date,
    days: list[date] | None = None,
    **params: object,
) -> int:
    """Delete the table's rows dated in [start, end) and insert the query's rows for it, in one transaction,
    recorded in landing.window_builds (what publishing copies). `days`: the days with data in the window
    (the partitions), when known.

    Re-running a partition replaces its rows; it never appends them twice. Returns the rows written.
    """
    bound = bind(query, {"start": start, "end": end, **params})
    conn.execute("BEGIN")
    try:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM ({query}) LIMIT 0", bound)
        conn.execute(f"DELETE FROM {table} WHERE {date_column} >= $start AND {date_column} < $end",
                     {"start": start, "end": end})  # fmt: skip
        # a long window in spans: the days are independent (as partitions are), and the memory a query needs
        # then follows a span's data, not a decade's. Rows are stored in date order: a later rebuild of a few
        # days then deletes rows from a few row groups, not from rows spread over every group of the span,
        # and scans of a window skip the other groups (a one-day increment of a year: 15.3 s -> 14.3 s; its
        # staging.liver_observations commit 1.3 s -> 0.2 s)
        for span_start, span_end in spans(start, end, days):
            conn.execute(
                f"INSERT INTO {table} BY NAME SELECT * FROM ({query}) ORDER BY {date_column}",
                {**bound, **bind(query, {"start": span_start, "end": span_end})},
            )
        conn.execute(
            "INSERT INTO landing.window_builds VALUES (?, ?, ?, ?)", [table, start, end, datetime.now()]
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return int(fetch_value(conn, f"SELECT count(*) FROM {table} WHERE {date_column} >= $start AND "
                                 f"{date_column} < $end", {"start": start, "end": end}))  # fmt: skip


def replace_table(conn: duckdb.DuckDBPyConnection, table: str, query: str, **params: object) -> int:
    """Rebuild a whole table from its query (atomically: CREATE OR REPLACE). Returns its row count."""
    conn.execute(f"CREATE OR REPLACE TABLE {table} AS {query}", bind(query, params))
    return int(fetch_value(conn, f"SELECT count(*) FROM {table}"))


def run_script(conn: duckdb.DuckDBPyConnection, script: str, **params: object) -> None:
    """Run a multi-statement SQL file, binding to each statement only the parameters it names."""
    for statement in conn.extract_statements(script):
        text = statement.query
        conn.execute(text, bind(text, params))


def table_column_schema(conn: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    """`dagster/column_schema` of a table that has no Pandera model (landing and reference tables)."""
    schema, name = table.split(".")
    columns = conn.execute(
        "SELECT column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
        "WHERE schema_name = ? AND table_name = ? AND database_name = current_database() ORDER BY column_index",
        [schema, name],
    ).fetchall()
    return dg.TableSchema(columns=[dg.TableColumn(n, type=t, description=d or None) for n, t, d in columns])
