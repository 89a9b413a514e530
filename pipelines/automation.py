"""The feed sensor and the daily schedule: what runs without anyone pressing a button.

The sensor never opens the warehouse: DuckDB lets one process write a file, and even a read-only reader in
another process (the daemon) would block the run that writes. It decides from the feed files alone.
"""

import json
import os
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import dagster as dg

from assets.partitions import FIRST_DAY, last_day
from hepwatch.dosing import read_dosing_csv
from hepwatch.hl7.oru import read_lab_bytes
from hepwatch.ingest.feed_files import FEED_KINDS, discover, read_version
from hepwatch.pending import build_ranges
from pipelines.jobs import refresh_job
from pipelines.resources import Feeds

SETTLE_SECONDS = float(os.environ.get("HEPWATCH_SENSOR_SETTLE_SECONDS", "30"))


def clinical_dates(kind: str, data: bytes) -> set[date]:
    """The collection dates (labs) or dose dates (dosing) a file version holds."""
    if kind == "labs":
        read = read_lab_bytes(data)
        return {
            stamp.date()
            for obs in read.observations
            if (stamp := obs.collected_at or obs.observed_at) is not None
        }
    records = read_dosing_csv(data, "sensor").records
    return set(records["dose_date"].to_list()) if records.height else set()


def day_ranges(days: set[date]) -> list[tuple[date, date]]:
    """Merge [d, d + WINDOW_DAYS] for each day into disjoint ranges, within the partitions that exist."""
    return build_ranges(days, FIRST_DAY, last_day() - timedelta(days=1))


@dg.sensor(
    job=refresh_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the feeds directory. A new or changed file that has stopped changing for "
    "HEPWATCH_SENSOR_SETTLE_SECONDS (30) is read once per version: one `refresh` run per range of days its "
    "contents touch, each day extended by the 30 days whose windows include it.",
)
def feed_file_sensor(
    context: dg.SensorEvaluationContext, feeds: Feeds
) -> Iterator[dg.RunRequest | dg.SkipReason]:
    cursor: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    now = time.time()
    requested = settling = 0
    for kind in FEED_KINDS:
        for feed_file in discover(feeds.path, kind):
            if now - feed_file.path.stat().st_mtime < SETTLE_SECONDS:
                settling += 1  # still being written, perhaps: look again next tick
                continue
            version = read_version(feed_file)
            if version.data is None or cursor.get(feed_file.relative) == version.sha256:
                continue
            for start, end in day_ranges(clinical_dates(kind, version.data)):
                requested += 1
                yield dg.RunRequest(
                    run_key=f"{feed_file.relative}@{version.sha256[:16]}:{start}",
                    tags={
                        "dagster/asset_partition_range_start": start.isoformat(),
                        "dagster/asset_partition_range_end": end.isoformat(),
                        "hepwatch/feed_file": feed_file.relative,
                    },
                )
            cursor[feed_file.relative] = version.sha256
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    if not requested:
        yield dg.SkipReason(
            f"no new feed file versions ({settling} file(s) still settling)"
            if settling
            else "no new feed files"
        )


@dg.schedule(
    job=refresh_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 06:00 UTC: read any new feed files, rebuild yesterday's partitions and the "
    "unpartitioned marts, publish analytics.duckdb.",
)
def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    scheduled = context.scheduled_execution_time or datetime.now()
    yesterday = (scheduled - timedelta(days=1)).date().isoformat()
    return dg.RunRequest(run_key=f"daily-{yesterday}", partition_key=yesterday)
