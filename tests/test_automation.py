"""The feed sensor and the schedules, evaluated with Dagster's own contexts against a test instance: they
follow the plan (WAREHOUSE/plan.json and `stat` of the feed files), one run at a time. The same sensor under
a real daemon is in tests/test_deployment.py."""

import json
import os
import time
from datetime import datetime

import dagster as dg
import pytest

from assets.resources import Feeds, Warehouse
from hepwatch.ingest.feed_files import feed_listing
from hepwatch.pending import PLAN_FILE, record_ingested
from pipelines.automation import daily_build, daily_refresh, feed_file_sensor
from tests.hl7_samples import obx, oru

ALT = "1742-6^ALT^LN"
AN_HOUR_AGO = time.time() - 3600


def write(path, text, mtime=AN_HOUR_AGO):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))


@pytest.fixture
def dirs(tmp_path):
    feeds, warehouse = tmp_path / "feeds", tmp_path / "warehouse"
    (feeds / "labs").mkdir(parents=True)
    warehouse.mkdir()
    return feeds, warehouse


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def tick(dirs, instance, cursor=None):
    feeds, warehouse = dirs
    context = dg.build_sensor_context(
        cursor=cursor,
        instance=instance,
        resources={"feeds": Feeds(directory=str(feeds)), "warehouse": Warehouse(directory=str(warehouse))},
    )
    result = feed_file_sensor(context)
    if isinstance(result, dg.SensorResult):  # one run request, or a skip reason, with partition requests
        return (result.run_requests[0] if result.run_requests else result.skip_reason), (
            result.cursor or context.cursor
        )
    return result, context.cursor


def partition_requests(dirs, instance):
    feeds, warehouse = dirs
    context = dg.build_sensor_context(
        instance=instance,
        resources={"feeds": Feeds(directory=str(feeds)), "warehouse": Warehouse(directory=str(warehouse))},
    )
    result = feed_file_sensor(context)
    return [(type(r).__name__, list(r.partition_keys)) for r in result.dynamic_partitions_requests]


def ingested(dirs):
    """What an ingestion records once it has read the feeds as they are now."""
    feeds, warehouse = dirs
    for kind in ("labs", "dosing"):
        record_ingested(warehouse, kind, feed_listing(feeds, kind))


def plan(dirs, pending, days=None):
    path = dirs[1] / PLAN_FILE
    state = json.loads(path.read_text()) if path.exists() else {}
    state["pending"] = pending
    if days is not None:
        state["days"] = days
    path.write_text(json.dumps(state))


def test_the_days_with_data_become_daily_partitions_in_date_order(dirs, instance):
    ingested(dirs)
    plan(dirs, [], days=["2026-06-03", "2026-06-10"])
    # an instance that never ran the ingestion (the UI's after `hepwatch run`) gets the days plan.json lists
    assert partition_requests(dirs, instance) == [
        ("AddDynamicPartitionsRequest", ["2026-06-03", "2026-06-10"])
    ]
    instance.add_dynamic_partitions("clinical_days", ["2026-06-03", "2026-06-10"])
    assert partition_requests(dirs, instance) == []
    # an earlier day (history imported later): the later keys are added again after it, so that a range of
    # partitions is a range of dates
    plan(dirs, [], days=["2026-06-01", "2026-06-03", "2026-06-05", "2026-06-10"])
    assert partition_requests(dirs, instance) == [
        ("DeleteDynamicPartitionsRequest", ["2026-06-03", "2026-06-10"]),
        ("AddDynamicPartitionsRequest", ["2026-06-01", "2026-06-03", "2026-06-05", "2026-06-10"]),
    ]


def test_new_settled_files_request_one_refresh_run_that_reads_them_all(dirs, instance):
    feeds, _ = dirs
    write(feeds / "labs" / "a.hl7", oru("C1", [obx(1, ALT, "50")]))
    write(feeds / "labs" / "b.hl7", oru("C2", [obx(1, ALT, "60")]))
    request, cursor = tick(dirs, instance)
    assert isinstance(request, dg.RunRequest) and request.job_name == "refresh"
    assert request.tags["hepwatch/reason"] == "2 new or changed feed file(s)"
    # the cursor is one key, however many files there are; the same state gives the same run key, which
    # Dagster runs once
    assert cursor == request.run_key
    assert tick(dirs, instance, cursor)[0].run_key == request.run_key


def test_files_the_warehouse_holds_request_nothing(dirs, instance):
    feeds, _ = dirs
    write(feeds / "labs" / "a.hl7", oru("C1", [obx(1, ALT, "50")]))
    ingested(dirs)
    skip, _ = tick(dirs, instance)
    assert isinstance(skip, dg.SkipReason)
    assert skip.skip_message == "the warehouse holds every feed file version and no day is pending"


def test_a_changed_file_is_new_again(dirs, instance):
    feeds, _ = dirs
    path = feeds / "labs" / "a.hl7"
    write(path, oru("C1", [obx(1, ALT, "50")]))
    ingested(dirs)
    write(path, path.read_text() + oru("C2", [obx(1, ALT, "60", status="C")]))
    request, _ = tick(dirs, instance)
    assert (
        request.job_name == "refresh" and request.tags["hepwatch/reason"] == "1 new or changed feed file(s)"
    )


def test_a_file_still_being_written_waits_until_it_settles(dirs, instance):
    feeds, _ = dirs
    path = feeds / "labs" / "growing.hl7"
    write(path, oru("C1", [obx(1, ALT, "50")])[:40], mtime=time.time())
    skip, _ = tick(dirs, instance)
    assert (
        isinstance(skip, dg.SkipReason)
        and "1 new or changed feed file(s) still settling" in skip.skip_message
    )
    write(path, oru("C1", [obx(1, ALT, "50")]))  # complete, an hour old
    assert tick(dirs, instance)[0].job_name == "refresh"


def test_pending_days_request_one_build_run_per_range_in_order(dirs, instance):
    ingested(dirs)
    plan(dirs, [["2026-06-01", "2026-07-01"], ["2026-08-15", "2026-08-20"]])
    request, _ = tick(dirs, instance)
    assert request.job_name == "build_days"
    assert request.tags["dagster/asset_partition_range_start"] == "2026-06-01"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-07-01"


def test_new_files_come_before_pending_days(dirs, instance):
    feeds, _ = dirs
    plan(dirs, [["2026-06-01", "2026-06-01"]])
    write(feeds / "labs" / "a.hl7", oru("C1", [obx(1, ALT, "50")]))
    assert tick(dirs, instance)[0].job_name == "refresh"


def test_nothing_is_requested_while_a_run_is_queued_or_in_flight(dirs, instance):
    feeds, _ = dirs
    write(feeds / "labs" / "a.hl7", oru("C1", [obx(1, ALT, "50")]))
    run = instance.create_run_for_job(
        dg.GraphDefinition("some_job").to_job(), status=dg.DagsterRunStatus.STARTED
    )
    skip, _ = tick(dirs, instance)
    assert isinstance(skip, dg.SkipReason) and "queued or in flight" in skip.skip_message
    instance.report_run_canceled(run)
    assert isinstance(tick(dirs, instance)[0], dg.RunRequest)


def test_daily_build_requests_every_pending_range(dirs):
    feeds, warehouse = dirs
    ingested(dirs)
    resources = {"feeds": Feeds(directory=str(feeds)), "warehouse": Warehouse(directory=str(warehouse))}
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 9, 1, 6, 30), resources=resources
    )
    assert isinstance(daily_build(context), dg.SkipReason)
    plan(dirs, [["2026-05-10", "2026-06-09"], ["2026-08-30", "2026-08-31"]])  # late data, and yesterday
    write(feeds / "labs" / "unread.hl7", oru("C9", [obx(1, ALT, "50")]))  # new files do not hold builds back
    requests = daily_build(context)
    ranges = [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in requests
    ]
    assert ranges == [("2026-05-10", "2026-06-09"), ("2026-08-30", "2026-08-31")]
    assert len({r.run_key for r in requests}) == 2


def test_daily_refresh_reads_new_files_every_morning():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 9, 1, 6, 0))
    request = daily_refresh(context)
    assert request.run_key == "daily-2026-09-01" and request.partition_key is None
