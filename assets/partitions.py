"""Daily partitions by clinical date (collection date for labs, dose date for dosing), one per day that holds
data: a clinic's history may span decades with most days empty, and a day without data costs nothing.

The partitions are dynamic (`clinical_days`), kept in date order: ingestion adds the days its files hold,
and the feed sensor adds those `plan.json` lists (a Dagster instance that has not run the ingestion, such as
the UI's after `hepwatch run`). Dagster orders dynamic partitions as they were added, so a day added before
days already there is inserted by deleting and re-adding the later keys: a range of partitions is always a
range of dates. The materialization history of a re-added key is kept (it is stored by key).

A partition owns its own day and the days without data since the previous partition: a run over the
partitions [a, b] rebuilds the dates (the partition before a, b], so `marts.daily_summary`'s rows for days
without results are rebuilt with the day that follows them.

Results are kept from HEPWATCH_FIRST_DAY (default 1900-01-01) to tomorrow; dates outside that are
implausible and reported in marts.quarantine (`collection_date_out_of_range`, `dose_date_out_of_range`).
"""

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import dagster as dg

from hepwatch.settings import settings

CLINICAL_DAYS = "clinical_days"
daily_partitions = dg.DynamicPartitionsDefinition(name=CLINICAL_DAYS)

# One run can cover a whole range of days: each asset deletes its window and inserts it again.
single_run = dg.BackfillPolicy.single_run()

# The daily schedule refreshes the marts every 24 hours: warn when one is 30 hours old, fail at 48.
MART_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=48), warn_window=timedelta(hours=30)
)

# Writers to the internal DuckDB file take turns (DuckDB allows one writing process per file).
WAREHOUSE_POOL = "hepwatch_warehouse"


def first_day() -> date:
    """The first plausible clinical date (HEPWATCH_FIRST_DAY)."""
    return settings().first_day


def last_day() -> date:
    """Tomorrow: the last plausible clinical date (a result may be dated ahead of the server's clock)."""
    return date.today() + timedelta(days=1)


def buildable_days() -> tuple[date, date]:
    """The first and last plausible clinical day; only the days with data between them are partitions."""
    return first_day(), last_day()


def partition_changes(existing: Sequence[str], days: Sequence[date]) -> tuple[list[str], list[str]]:
    """The keys to delete and then add so that the partitions are `existing` plus `days`, in date order:
    the keys from the first new day's place on are deleted and added again in order."""
    wanted = sorted(set(existing) | {day.isoformat() for day in days})
    same = 0
    while same < len(existing) and same < len(wanted) and existing[same] == wanted[same]:
        same += 1
    return list(existing[same:]), wanted[same:]


def add_days(instance: dg.DagsterInstance, days: Sequence[date]) -> int:
    """Make every day in `days` a partition (in date order). Returns the number of keys added."""
    delete, add = partition_changes(instance.get_dynamic_partitions(CLINICAL_DAYS), days)
    for key in delete:
        instance.delete_dynamic_partition(CLINICAL_DAYS, key)
    if add:
        instance.add_dynamic_partitions(CLINICAL_DAYS, add)
    return len(add) - len(delete)


def key_window(keys: Sequence[str], first: str, last: str) -> tuple[date, date]:
    """The [start, end) dates that the partitions [first, last] own: from the day after the partition before
    `first` (the days without data in between belong to `first`) to the day after `last`."""
    position = bisect_left(keys, first)
    start = (
        date.fromisoformat(keys[position - 1]) + timedelta(days=1) if position else date.fromisoformat(first)
    )
    return start, date.fromisoformat(last) + timedelta(days=1)


def _range(tags: Mapping[str, str]) -> tuple[str, str] | None:
    first = tags.get("dagster/asset_partition_range_start")
    if first:
        return first, tags.get("dagster/asset_partition_range_end", first)
    key = tags.get("dagster/partition")
    return (key, key) if key else None


def window(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """The [start, end) dates of the partitions this run materializes (key_window)."""
    keys = context.instance.get_dynamic_partitions(CLINICAL_DAYS)
    partitions = context.partition_key_range
    return key_window(keys, partitions.start, partitions.end)


def run_days(context: dg.AssetCheckExecutionContext | dg.AssetExecutionContext) -> tuple[date, date] | None:
    """The [start, end) dates of the daily partitions a check's run builds, from the run's tags; None when it
    names none, or when the check is called directly (it then looks at every day)."""
    try:
        tags = context.run.tags
    except dg.DagsterError:  # invoked directly: no run
        return None
    found = _range(tags)
    if found is None:
        return None
    return key_window(context.instance.get_dynamic_partitions(CLINICAL_DAYS), *found)


def run_partitions(context: dg.AssetExecutionContext) -> tuple[date, date] | None:
    """The first and last partition (day) a run builds, from its tags; None when it names none."""
    found = _range(context.run.tags)
    return (date.fromisoformat(found[0]), date.fromisoformat(found[1])) if found else None


def completed_days(context: dg.AssetExecutionContext) -> tuple[date, date] | None:
    """The first and last partition whose every daily asset this run rebuilt (whatever launched it:
    `hepwatch run`, the sensor, the schedule, the UI or the CLI); None when it rebuilt no day, or only some
    of their assets."""
    days = run_partitions(context)
    if days is None:
        return None
    graph = context.job_def.asset_layer.asset_graph  # the whole code location's graph
    daily = {key for key in graph.get_all_asset_keys() if graph.get(key).partitions_def is not None}
    selected = context.run.asset_selection
    if not selected:  # None or empty: the whole job
        selected = set(context.job_def.asset_layer.selected_asset_keys)
    return days if daily <= set(selected) else None
