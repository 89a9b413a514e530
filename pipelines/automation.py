"""What runs without anyone pressing a button: the feed sensor, the daily schedule, and the automation that
publishes marts rebuilt by a partial selection.

Both the sensor and the schedule decide from the plan (hepwatch.pending) as `WAREHOUSE/plan.json` keeps it
and from `stat` of the feed files: they never open the warehouse (DuckDB lets one process write a file, and a
reader in the daemon would block the run that writes) and never read a feed file (a tick has a time limit).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import dagster as dg

from assets.partitions import CLINICAL_DAYS, partition_changes
from assets.resources import Feeds, Warehouse
from hepwatch.pending import PLAN_FILE, changed_files, read_state
from hepwatch.settings import settings
from pipelines.jobs import build_days_job, refresh_job

# How often the sensors tick is part of their definition, so it is read when the code location loads.
TICK_SECONDS = settings().sensor_interval_seconds

# Runs the daemon launches for the plan execute their steps in the run's own process: the steps take turns
# in the writers' pool anyway, and a process per step costs seconds of start-up each (a backfill launched
# from the UI keeps Dagster's default, a process per step, where Parquet staging steps can run side by side).
IN_PROCESS: dict[str, object] = {"execution": {"config": {"in_process": {}}}}

# A run queued or in flight makes the sensor wait: one writer at a time, and what the
# run reads or builds changes the plan.
_ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


@dataclass(frozen=True)
class Next:
    """The next run the plan calls for: its job, tags and a key that names this state of the plan."""

    job: str
    tags: dict[str, str]
    key: str
    reason: str


def read_new_files(feeds: Path, warehouse: Path, settle_seconds: float, now: float) -> Next | str:
    """One `refresh` run for the new or changed feed files that have settled (unchanged for
    `settle_seconds`); else why there is none."""
    changed = changed_files(feeds, warehouse)
    settled = {name: stamp for name, stamp in changed.items() if now - stamp[1] / 1e9 >= settle_seconds}
    if not settled:
        if changed:
            return f"{len(changed)} new or changed feed file(s) still settling ({settle_seconds:.0f} s)"
        return "the warehouse holds every feed file version"
    digest = hashlib.sha256(repr(sorted(settled.items())).encode()).hexdigest()[:16]
    waiting = len(changed) - len(settled)
    reason = f"{len(settled)} new or changed feed file(s)" + (
        f", {waiting} still settling" if waiting else ""
    )
    return Next(refresh_job.name, {"hepwatch/reason": reason}, f"files:{digest}", reason)


def partition_requests(
    instance: dg.DagsterInstance, warehouse: Path
) -> list[dg.DeleteDynamicPartitionsRequest | dg.AddDynamicPartitionsRequest]:
    """The days with data that plan.json lists and the instance does not have as partitions yet (an instance
    that has not run the ingestion, such as the UI's after `hepwatch run`), in date order."""
    days = [date.fromisoformat(day) for day in read_state(warehouse).get("days", [])]
    delete, add = partition_changes(instance.get_dynamic_partitions(CLINICAL_DAYS), days)
    requests: list[dg.DeleteDynamicPartitionsRequest | dg.AddDynamicPartitionsRequest] = []
    if delete:
        requests.append(dg.DeleteDynamicPartitionsRequest(CLINICAL_DAYS, delete))
    if add:
        requests.append(dg.AddDynamicPartitionsRequest(CLINICAL_DAYS, add))
    return requests


def pending_builds(warehouse: Path) -> list[Next]:
    """One `build_days` run per range of the plan, in order of days."""
    try:  # a new plan.json (any ingestion or build rewrites it) is a new state of the plan
        version = (warehouse / PLAN_FILE).stat().st_mtime_ns
    except OSError:
        version = 0
    return [
        Next(
            build_days_job.name,
            {
                "dagster/asset_partition_range_start": start,
                "dagster/asset_partition_range_end": end,
                "hepwatch/reason": f"pending days {start} to {end}",
            },
            f"days:{start}:{end}:{version}",
            f"pending days {start} to {end}",
        )
        for start, end in read_state(warehouse).get("pending", [])
    ]


@dg.sensor(
    jobs=[refresh_job, build_days_job],
    minimum_interval_seconds=TICK_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Follows the plan, one run at a time: when feed files are new or changed and have not "
    "changed for the Feeds resource's settle_seconds (HEPWATCH_SENSOR_SETTLE_SECONDS, 30), one `refresh` run "
    "reads them all; then one `build_days` "
    "run per range of days that became pending. Waits while any run is queued or in flight. Adds the days with "
    "data as daily partitions. Reads only `stat` of the feed files and WAREHOUSE/plan.json, never a feed file "
    "or the database.",
)
def feed_file_sensor(context: dg.SensorEvaluationContext, feeds: Feeds, warehouse: Warehouse):
    active = context.instance.get_run_records(filters=dg.RunsFilter(statuses=_ACTIVE), limit=1)
    if active:
        return dg.SkipReason(f"run {active[0].dagster_run.run_id[:8]} is queued or in flight; waiting for it")
    partitions = partition_requests(context.instance, warehouse.paths.root)
    files = read_new_files(feeds.path, warehouse.paths.root, feeds.settle_seconds, time.time())
    builds = pending_builds(warehouse.paths.root)
    if isinstance(files, Next):
        first = files  # read first: what the files hold may make more days pending
    elif builds:
        first = builds[0]
    else:
        return dg.SensorResult(
            skip_reason=f"{files} and no day is pending", dynamic_partitions_requests=partitions
        )
    # The run key names this state of the plan: a run that failed is not launched again until something
    # changes (a file, or the plan), and the cursor holds one key, however many files there are.
    request = dg.RunRequest(run_key=first.key, job_name=first.job, tags=first.tags, run_config=IN_PROCESS)
    return dg.SensorResult(run_requests=[request], cursor=first.key, dynamic_partitions_requests=partitions)


@dg.schedule(
    job=refresh_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 06:00 UTC, whatever the sensor did: read new or changed feed files, rebuild the "
    "whole-history marts, write the latest report, publish analytics.duckdb.",
)
def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    scheduled = context.scheduled_execution_time or datetime.now()
    return dg.RunRequest(
        run_key=f"daily-{scheduled.date()}", tags={"hepwatch/reason": "daily refresh"}, run_config=IN_PROCESS
    )


@dg.schedule(
    job=build_days_job,
    cron_schedule="30 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 06:30 UTC, after `daily_refresh`: one `build_days` run for each range of days "
    "still pending (late data included), as WAREHOUSE/plan.json has them.",
)
def daily_build(context: dg.ScheduleEvaluationContext, warehouse: Warehouse):
    scheduled = context.scheduled_execution_time or datetime.now()
    builds = pending_builds(warehouse.paths.root)
    if not builds:
        return dg.SkipReason("no day is pending")
    return [
        dg.RunRequest(run_key=f"daily-{scheduled.date()}-{number}", tags=run.tags, run_config=IN_PROCESS)
        for number, run in enumerate(builds)
    ]


publish_after_partial_builds = dg.AutomationConditionSensorDefinition(
    "publish_after_partial_builds",
    target=dg.AssetSelection.assets(["published", "analytics_database"], ["reports", "daily_report"]),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=TICK_SECONDS,
    description="Publishes analytics.duckdb and writes the reports after any run that rebuilt marts without "
    "them (a selection of assets or a backfill of daily ones from the UI or the CLI).",
)
