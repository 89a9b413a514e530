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


def run_days(context: dg.AssetCheckExecutionContext) -> tuple[date, date] | None:
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
