"""One asset per SQL-built table: run its `.sql` file (for a window of days, or whole), then validate it.

Every such asset carries `dagster/row_count`, `dagster/column_schema` from its Pandera model (on the
definition), and the blocking `schema_valid` check, returned with the materialization.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import dagster as dg
import duckdb
import pandera.polars as pa
from dagster._core.execution.context.metadata_logging import (
    AssetMetadataHandle,
    OutputMetadataAccumulator,
    OutputMetadataHandle,
)

from assets.checks import column_schema, schema_valid_spec, schema_valid_table, schema_valid_window
from assets.ingest import load_reference_tables
from assets.partitions import MART_FRESHNESS, WAREHOUSE_POOL, daily_partitions, single_run, window
from assets.resources import Feeds, Monitoring, Warehouse
from assets.tables import bind, replace_table, replace_window, sql
from assets.timing import Phases
from hepwatch.stage import STAGED, replace_days
from hepwatch.stage import connect as stage_connect

# Every SQL-built table, in the order they are defined (upstream first), with its query parameters: a
# whole-history table reads daily ones even when no day was ever built (feeds with nothing datable).
_TABLES: list[tuple[str, Callable[[], str], Callable[[], dict[str, object]]]] = []


def create_missing_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create, empty, the tables no build has created yet (upstream first)."""
    existing = {
        f"{schema}.{name}"
        for schema, name in conn.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
    }
    nothing = date(1900, 1, 1)  # an empty window
    for table, text, params in _TABLES:
        if table not in existing:
            query = text()
            bound = bind(query, {"start": nothing, "end": nothing, **params()})
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM ({query}) LIMIT 0", bound)


# A check computed with the rows of the run's window: (connection, feeds, monitoring, start, end) -> result.
WindowCheck = Callable[[duckdb.DuckDBPyConnection, Feeds, Monitoring, date, date], dg.AssetCheckResult]


def sql_table_asset(
    *,
    key: list[str],
    model: type[pa.DataFrameModel],
    deps: Sequence[dg.AssetDep | dg.AssetsDefinition],
    date_column: str | None = None,
    params: Callable[[], dict[str, object]] = dict,
    window_checks: Sequence[tuple[dg.AssetCheckSpec, WindowCheck]] = (),
    query: Callable[[], str] | None = None,
) -> dg.AssetsDefinition:
    """An asset that builds table `<key[0]>.<key[1]>` from `assets/sql/<key[1]>.sql` (or `query`, for a
    query other code runs too).

    With a `date_column` the asset is daily-partitioned: a run deletes and re-inserts the rows of its
    partition window. Without, the whole table is rebuilt.
    """
    schema, name = key
    table = f"{schema}.{name}"
    partitioned = date_column is not None
    # With a stage location (the Warehouse resource's stage_uri, hepwatch.stage), a daily staged table is
    # Parquet day partitions, built by a step that never opens hepwatch.duckdb
    stageable = schema == "staging" and name in STAGED and date_column == STAGED[name]
    text = query or (lambda: sql(name))
    _TABLES.append((table, text, params))

    @dg.asset(
        key=key,
        description=(model.__doc__ or "").strip(),
        group_name=schema,
        kinds={"duckdb", "sql"},
        deps=list(deps),
        check_specs=[schema_valid_spec(key), *(spec for spec, _ in window_checks)],
        partitions_def=daily_partitions if partitioned else None,
        backfill_policy=single_run if partitioned else None,
        pool=WAREHOUSE_POOL,
        freshness_policy=MART_FRESHNESS if schema == "marts" else None,
        # the column schema is the definition's: a ranged run's materialization of each day would repeat it
        metadata={
            "table": table,
            "sql": f"assets/sql/{name}.sql",
            "dagster/column_schema": column_schema(model),
        },
        owners=["team:data-engineering"],
        tags={"partitioning": "daily" if partitioned else "none", "domain": "liver_safety"},
    )
    def _build(
        context: dg.AssetExecutionContext, warehouse: Warehouse, feeds: Feeds, monitoring: Monitoring
    ) -> dg.MaterializeResult:
        query = text()
        extra: list[dg.AssetCheckResult] = []
        stage = warehouse.stage if stageable else None
        timed = Phases()
        building = "staging" if schema == "staging" else "marts"
        if stage is not None and date_column is not None:
            start, end = window(context)
            with stage_connect(stage, warehouse.memory_limit) as conn:
                load_reference_tables(conn)
                bound = bind(query, {"start": start, "end": end, **params()})
                with timed(building):
                    rows = replace_days(conn, stage, name, query, start, end, bound)
                context.log.info(
                    f"{table}: {rows} rows for {start} to {end} (exclusive), as Parquet in {stage}"
                )
                with timed("validation"):
                    valid = schema_valid_window(model, conn, table, date_column, start, end)
                with timed("checks"):
                    extra = [check(conn, feeds, monitoring, start, end) for _, check in window_checks]
                _row_counts_per_day(context, conn, table, date_column, start, end)
            return dg.MaterializeResult(
                metadata={
                    "window_row_count": rows,
                    "stage": stage.url(stage.path("staging", name)),
                    **timed.metadata(),
                },
                check_results=[valid, *extra],
            )
        with warehouse.connect() as conn:
            if date_column is not None:
                start, end = window(context)
                with timed(building):
                    days = [date.fromisoformat(key) for key in context.partition_keys]
                    rows = replace_window(conn, table, query, date_column, start, end, days, **params())
                context.log.info(f"{table}: {rows} rows for {start} to {end} (exclusive)")
                with timed("validation"):
                    valid = schema_valid_window(model, conn, table, date_column, start, end)
                with timed("checks"):
                    extra = [check(conn, feeds, monitoring, start, end) for _, check in window_checks]
                _row_counts_per_day(context, conn, table, date_column, start, end)
            else:
                with timed(building):
                    create_missing_tables(conn)
                    rows = replace_table(conn, table, query, **params())
                context.log.info(f"{table}: {rows} rows")
                with timed("validation"):
                    valid = schema_valid_table(model, conn, table)
        count_key = "window_row_count" if partitioned else "dagster/row_count"
        return dg.MaterializeResult(
            metadata={count_key: rows, **timed.metadata()},
            check_results=[valid, *extra],
        )

    return _build


def _row_counts_per_day(
    context: dg.AssetExecutionContext,
    conn: duckdb.DuckDBPyConnection,
    table: str,
    date_column: str,
    start: date,
    end: date,
) -> None:
    """`dagster/row_count` of each partition the run built, as that day's own count (the window's total is
    `window_row_count`)."""
    counts = dict(
        conn.execute(
            f"SELECT {date_column}, count(*) FROM {table} WHERE {date_column} >= $start AND {date_column} < $end "
            "GROUP BY ALL",
            {"start": start, "end": end},
        ).fetchall()
    )
    add_partition_metadata(
        context,
        {
            key: {"dagster/row_count": counts.get(date.fromisoformat(key), 0)}
            for key in context.partition_keys
        },
    )


def add_partition_metadata(context: dg.AssetExecutionContext, by_key: dict[str, dict[str, object]]) -> None:
    """Metadata for each partition of the run's own range, as `context.add_asset_metadata(..,
    partition_key=key)` adds it, in one step.

    Dagster checks each such call's key against every partition of the definition, read from the instance,
    and copies what was added before: one call per day costs the square of the days (30 s of a 5-year run of
    1,825 days). The keys here are the run's own, so all are added at once; should Dagster's accumulator
    change shape, the public call is used.
    """
    step = getattr(context.op_execution_context, "_step_execution_context", None)
    accumulator = getattr(step, "_metadata_accumulator", None)
    if not isinstance(accumulator, OutputMetadataAccumulator):
        for key, metadata in by_key.items():
            context.add_asset_metadata(metadata, partition_key=key)
        return
    merged: dict[OutputMetadataHandle | AssetMetadataHandle, Mapping[str, Any]] = dict(
        accumulator.per_output_metadata
    )
    for key, metadata in by_key.items():
        handle = AssetMetadataHandle(asset_key=context.asset_key, partition_key=key)
        merged[handle] = {**merged.get(handle, {}), **metadata}
    step._metadata_accumulator = OutputMetadataAccumulator(per_output_metadata=merged)  # type: ignore[union-attr]
