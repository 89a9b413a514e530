"""The analysts' database: `WAREHOUSE/analytics.duckdb`, replaced atomically after each successful run.

The marts (assets.marts.PUBLISHED) are copied into an internal file (only the columns their Pandera models
publish, sorted, with a COMMENT on every table and column), which is copied under a temporary name and
renamed over the old one. An analyst holding the old file open keeps reading it undisturbed and never blocks
the run or sees half of it (contract section 4).

Incrementally: when the internal file was published by the same table definitions, of the daily-partitioned
marts only the days rebuilt since (landing.window_builds) are replaced in it; the other marts are copied
whole. Publishing a one-day change to a year of marts then costs a file copy and that day's rows, not the
year's. The published file is never the starting point: what an analyst changes in it does not survive.

With a marts target (the Warehouse resource's `marts_target`, HEPWATCH_MARTS_TARGET), the published tables are then also written to a database DuckDB
attaches from that string: another DuckDB file (a shared volume), `md:<database>` (MotherDuck) or
`ducklake:<metadata>` (a DuckLake catalog). The copy is read from analytics.duckdb alone, by a connection that
sees nothing else of the warehouse, once the local file is in place: a failing target fails the asset but
never the local publish.
"""

import hashlib
import os
import re
import shutil
import uuid
from datetime import date, datetime

import dagster as dg
import duckdb

from assets.marts import PUBLISHED
from assets.partitions import MART_FRESHNESS, WAREHOUSE_POOL, buildable_days, completed_days
from assets.resources import Warehouse
from hepwatch import pending
from hepwatch.settings import MARTS_TARGET_ENV
from hepwatch.warehouse import limit_memory, read_sql, sql_literal

TARGET_ALIAS = "hepwatch_marts_target"
_SOURCE_ALIAS = "hepwatch_analytics"
_TOKEN = re.compile(r"(token=).*", re.IGNORECASE | re.DOTALL)


def _signature() -> str:
    """What the published tables look like: a file published under another signature is not reused."""
    parts = [
        (table, t.order, t.date_column,
         [(name, str(c.dtype), c.description) for name, c in t.model.to_schema().columns.items()], t.model.__doc__)
        for table, t in PUBLISHED.items()
    ]  # fmt: skip
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _copy_table(
    conn: duckdb.DuckDBPyConnection, table: str, target: str = "publish", source: str = "marts"
) -> None:
    """Create (or replace) `target`.marts.`table` from `source`.`table`: the published columns, sorted, with
    the table's and every column's COMMENT."""
    published = PUBLISHED[table]
    columns = list(published.model.to_schema().columns)
    conn.execute(
        f"CREATE OR REPLACE TABLE {target}.marts.{table} AS "
        f"SELECT {', '.join(columns)} FROM {source}.{table} ORDER BY {published.order}"
    )
    conn.execute(f"COMMENT ON TABLE {target}.marts.{table} IS {_comment(published.model.__doc__)}")
    for name, column in published.model.to_schema().columns.items():
        conn.execute(f"COMMENT ON COLUMN {target}.marts.{table}.{name} IS {_comment(column.description)}")


def _copy_days(conn: duckdb.DuckDBPyConnection, table: str, start: date, end: date) -> None:
    """Replace the rows of the days [start, end) of a daily-partitioned mart."""
    published = PUBLISHED[table]
    columns = ", ".join(published.model.to_schema().columns)
    window = f"{published.date_column} >= $start AND {published.date_column} < $end"
    conn.execute(f"DELETE FROM publish.marts.{table} WHERE {window}", {"start": start, "end": end})
    conn.execute(
        f"INSERT INTO publish.marts.{table} SELECT {columns} FROM marts.{table} WHERE {window} "
        f"ORDER BY {published.order}",
        {"start": start, "end": end},
    )


def _comment(text: str | None) -> str:
    """A docstring or description as a COMMENT: one line."""
    return sql_literal(" ".join((text or "").split()))


def redact(target: str) -> str:
    """The target as it may be logged: everything after `token=` replaced by `...`."""
    return _TOKEN.sub(r"\1...", target)


class MartsTargetError(Exception):
    """Writing the published marts to HEPWATCH_MARTS_TARGET failed; the message names the (redacted) target."""


def publish_to_target(analytics: os.PathLike[str] | str, target: str, memory_limit: str | None = None) -> int:
    """Write every table of PUBLISHED, as analytics.duckdb holds it, to the database DuckDB attaches from
    `target`, in one transaction there (schema `marts`, tables replaced, COMMENTs as in analytics.duckdb).
    The connection is a new in-memory one with analytics.duckdb attached read-only: the target can receive
    nothing but the published marts. Returns the number of tables written."""
    shown = redact(target)
    with duckdb.connect() as conn:
        limit_memory(conn, memory_limit)
        conn.execute(f"ATTACH {sql_literal(str(analytics))} AS {_SOURCE_ALIAS} (READ_ONLY)")
        step = "attaching"
        try:
            conn.execute(f"ATTACH {sql_literal(target)} AS {TARGET_ALIAS}")
            step = "writing to"
            conn.execute("BEGIN")
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {TARGET_ALIAS}.marts")
            for table in PUBLISHED:
                _copy_table(conn, table, target=TARGET_ALIAS, source=f"{_SOURCE_ALIAS}.marts")
            conn.execute("COMMIT")
            step = "detaching"
            conn.execute(f"DETACH {TARGET_ALIAS}")
        except duckdb.Error as error:
            reason = redact(str(error).replace(target, shown))
            # from None: DuckDB's own error (whose message may hold the whole string) is not chained
            raise MartsTargetError(
                f"publishing the marts to {MARTS_TARGET_ENV}={shown!r} failed while {step} it: {reason}"
            ) from None
    return len(PUBLISHED)


# Rebuilt marts always reach analysts: whatever run rebuilds a mart without publishing it (a UI selection
# of some assets, a backfill of the daily ones), the automation sensor then publishes (and reports) once that
# run is over. Not `eager()`: that waits for every upstream partition to exist, and most days hold no data.
AFTER_ANY_MART_UPDATE = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after any upstream update")


def forget_window_builds(conn: duckdb.DuckDBPyConnection) -> None:
    """Drop the records of rebuilt windows that both the publish and the reports have taken in."""
    conn.execute(read_sql("forget_window_builds.sql"))


def _clear_completed_days(context: dg.AssetExecutionContext, conn: duckdb.DuckDBPyConnection) -> int:
    """Clear the pending days this run completed (every daily asset rebuilt over their reach)."""
    days = completed_days(context)
    if days is None:
        return 0
    record = context.instance.get_run_record_by_id(context.run.run_id)
    began = datetime.fromtimestamp(record.start_time) if record and record.start_time else None
    if began is None:
        return 0
    return pending.clear(conn, *days, buildable_days(), began)


@dg.asset(
    key=["published", "analytics_database"],
    group_name="published",
    kinds={"duckdb"},
    deps=[published.asset for published in PUBLISHED.values()],
    pool=WAREHOUSE_POOL,
    freshness_policy=MART_FRESHNESS,
    automation_condition=AFTER_ANY_MART_UPDATE,
    owners=["team:data-engineering"],
    tags={"domain": "liver_safety"},
)
def analytics_database(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """WAREHOUSE/analytics.duckdb: schema `marts`, no direct identifiers, every table and column commented."""
    paths = warehouse.paths
    staging_file = paths.root / f".analytics-{uuid.uuid4().hex}.duckdb.tmp"
    counts: dict[str, int] = {}
    signature = _signature()
    try:
        with warehouse.connect() as conn:
            # Holding the warehouse connection, no other publish runs: temp files left by a killed one can go.
            for leftover in paths.root.glob(".analytics-*.duckdb.tmp*"):
                leftover.unlink(missing_ok=True)
            started = datetime.now()
            marks = dict(conn.execute("SELECT name, value FROM landing.pending_marks").fetchall())
            # The marts are published into an internal copy that no one else opens (published.duckdb), then
            # that copy is copied under a temporary name and renamed over analytics.duckdb: whatever an
            # analyst did to the published file is gone after the next publish, and publishing a day still
            # costs that day's rows and one file copy.
            pristine = paths.published_copy
            incremental = (
                pristine.exists()
                and marks.get("published_signature") == signature
                and "published_at" in marks
            )
            windows: dict[str, tuple] = {}
            if incremental:
                windows = {
                    table.removeprefix("marts."): (start, end)
                    for table, start, end in conn.execute(
                        "SELECT table_name, min(window_start), max(window_end) FROM landing.window_builds "
                        "WHERE built_at > CAST($at AS TIMESTAMP) GROUP BY ALL",
                        {"at": marks["published_at"]},
                    ).fetchall()
                }
            else:
                for stale in (pristine, pristine.with_name(pristine.name + ".wal")):
                    stale.unlink(missing_ok=True)
            conn.execute(f"ATTACH {sql_literal(str(pristine))} AS publish")
            conn.execute("BEGIN")  # all or nothing: a crash leaves the copy as the last publish left it
            conn.execute("CREATE SCHEMA IF NOT EXISTS publish.marts")
            for table, published in PUBLISHED.items():
                if incremental and published.date_column is not None:
                    if table in windows:
                        _copy_days(conn, table, *windows[table])
                else:
                    _copy_table(conn, table)
                counts[table] = conn.execute(f"SELECT count(*) FROM publish.marts.{table}").fetchall()[0][0]
            conn.execute("COMMIT")
            conn.execute("DETACH publish")
            shutil.copyfile(pristine, staging_file)
            os.replace(staging_file, paths.analytics)
            conn.execute("BEGIN")
            conn.execute(
                "INSERT OR REPLACE INTO landing.pending_marks VALUES ('published_signature', ?), "
                "('published_at', ?)",
                [signature, started.isoformat()],
            )
            forget_window_builds(conn)
            cleared = _clear_completed_days(context, conn)
            conn.execute("COMMIT")
            pending.record_plan(conn, paths.root, buildable_days())
    finally:
        staging_file.unlink(missing_ok=True)
        staging_file.with_name(staging_file.name + ".wal").unlink(missing_ok=True)
    mode = f"incrementally (days rebuilt: {windows})" if incremental else "in full"
    context.log.info(f"published {paths.analytics} {mode}: {counts}")
    target_metadata: dict[str, str | int] = {}
    target = (warehouse.marts_target or "").strip()
    if target:
        # analytics.duckdb is in place and the marks committed: a failing target loses no local publish
        tables = publish_to_target(paths.analytics, target, warehouse.memory_limit)
        context.log.info(f"published {tables} tables to {MARTS_TARGET_ENV}={redact(target)!r}")
        target_metadata = {"marts_target": redact(target), "marts_target_tables": tables}
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(paths.analytics)),
            "dagster/row_count": sum(counts.values()),
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn(
                        f"marts.{table}", type="TABLE", description=" ".join((t.model.__doc__ or "").split())
                    )
                    for table, t in PUBLISHED.items()
                ]
            ),
            **{f"rows/{table}": n for table, n in counts.items()},
            "incremental": incremental,
            "pending_days_cleared": cleared,
            **target_metadata,
        }
    )
