"""Daily partitions by clinical date (collection date for labs, dose date for dosing).

The first day is configurable (HEPWATCH_FIRST_DAY, default 2020-01-01); results dated before it or after
today are reported in marts.quarantine as `collection_date_out_of_range` rather than silently left out.
"""

import os
from datetime import date, timedelta

import dagster as dg

FIRST_DAY = date.fromisoformat(os.environ.get("HEPWATCH_FIRST_DAY", "2020-01-01"))

daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY.isoformat(), end_offset=1)

# One run can cover a whole range of days: each asset deletes its window and inserts it again.
single_run = dg.BackfillPolicy.single_run()

# The daily schedule refreshes the marts every 24 hours: warn when one is 30 hours old, fail at 48.
MART_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=48), warn_window=timedelta(hours=30)
)

# Writers to the internal DuckDB file take turns (DuckDB allows one writing process per file).
WAREHOUSE_POOL = "hepwatch_warehouse"


def window(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """The [start, end) dates of the partitions this run materializes."""
    time_window = context.partition_time_window
    return time_window.start.date(), time_window.end.date()


def last_day() -> date:
    return date.today() + timedelta(days=1)


def buildable_days() -> tuple[date, date]:
    """The first and last clinical day a build may cover (within them, only days the data spans are built)."""
    return FIRST_DAY, date.today()


def run_days(context: dg.AssetCheckExecutionContext | dg.AssetExecutionContext) -> tuple[date, date] | None:
    """The [start, end) dates of the daily partitions a check's run builds, from the run's tags; None when it
    names none, or when the check is called directly (it then looks at every day)."""
    try:
        tags = context.run.tags
    except dg.DagsterError:  # invoked directly: no run
        return None
    first = tags.get("dagster/asset_partition_range_start")
    if first:
        last = tags.get("dagster/asset_partition_range_end", first)
        return date.fromisoformat(first), date.fromisoformat(last) + timedelta(days=1)
    key = tags.get("dagster/partition")
    if key:
        return date.fromisoformat(key), date.fromisoformat(key) + timedelta(days=1)
    return None


def completed_days(context: dg.AssetExecutionContext) -> tuple[date, date] | None:
    """The [start, end) days whose every daily asset this run rebuilt (whatever launched it: `hepwatch run`,
    the sensor, the schedule, the UI or the CLI); None when it rebuilt no day, or only some of their assets."""
    days = run_days(context)
    if days is None:
        return None
    graph = context.job_def.asset_layer.asset_graph  # the whole code location's graph
    daily = {key for key in graph.get_all_asset_keys() if graph.get(key).partitions_def is not None}
    selected = context.run.asset_selection
    if not selected:  # None or empty: the whole job
        selected = set(context.job_def.asset_layer.selected_asset_keys)
    return days if daily <= set(selected) else None
