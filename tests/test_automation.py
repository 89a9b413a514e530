"""The feed sensor and the daily schedule, evaluated with Dagster's own contexts (no daemon needed)."""

import json
import os
import time
from datetime import date, datetime, timedelta

import dagster as dg
import pytest

from pipelines.automation import daily_refresh, day_ranges, feed_file_sensor
from pipelines.resources import Feeds
from tests.hl7_samples import obx, oru

ALT = "1742-6^ALT^LN"
AN_HOUR_AGO = time.time() - 3600


def write(path, text, mtime=AN_HOUR_AGO):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def tick(feeds, cursor=None):
    context = dg.build_sensor_context(cursor=cursor, resources={"feeds": Feeds(directory=str(feeds))})
    results = list(feed_file_sensor(context))
    requests = [r for r in results if isinstance(r, dg.RunRequest)]
    ranges = [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in requests
    ]
    return requests, ranges, context.cursor


def test_day_ranges_extend_each_day_by_its_30_day_windows_and_merge():
    d = date(2026, 6, 1)
    assert day_ranges({d}) == [(d, date(2026, 7, 1))]
    assert day_ranges({d, date(2026, 6, 20)}) == [(d, date(2026, 7, 20))]  # overlapping: merged
    assert day_ranges({d, date(2026, 8, 15)}) == [
        (d, date(2026, 7, 1)),
        (date(2026, 8, 15), date(2026, 9, 14)),
    ]
    assert day_ranges({date(1970, 1, 2)}) == []  # before the first partition: nothing to build


def test_new_file_requests_its_days_once_per_version(tmp_path):
    feeds = tmp_path / "feeds"
    lab = feeds / "labs" / "lab" / "a.hl7"
    write(lab, oru("C1", [obx(1, ALT, "50")], collected="20260601080000"))
    requests, ranges, cursor = tick(feeds)
    assert ranges == [("2026-06-01", "2026-07-01")]
    assert requests[0].tags["hepwatch/feed_file"] == "labs/lab/a.hl7"
    # The same version again, even after a restart with the saved cursor: nothing.
    assert tick(feeds, cursor)[0] == []
    # A changed version (a correction appended): requested again, under a new run key.
    write(lab, lab.read_text() + oru("C2", [obx(1, ALT, "60", status="C")], collected="20260601080000"))
    again, again_ranges, _ = tick(feeds, cursor)
    assert again_ranges == [("2026-06-01", "2026-07-01")]
    assert again[0].run_key != requests[0].run_key


def test_late_results_request_the_old_days_they_touch(tmp_path):
    feeds = tmp_path / "feeds"
    write(feeds / "labs" / "lab" / "a.hl7", oru("C1", [obx(1, ALT, "50")], collected="20260801080000"))
    _, _, cursor = tick(feeds)
    # A file arriving in August with a result collected in May, and one from August.
    late = oru("C2", [obx(1, ALT, "70")], collected="20260510080000", placer="P2", filler="F2") + oru(
        "C3", [obx(1, ALT, "70")], collected="20260802080000", placer="P3", filler="F3"
    )
    write(feeds / "labs" / "lab" / "b.hl7", late)
    _, ranges, _ = tick(feeds, cursor)
    assert ranges == [("2026-05-10", "2026-06-09"), ("2026-08-02", "2026-09-01")]


def test_a_file_still_being_written_is_not_read_until_it_settles(tmp_path):
    feeds = tmp_path / "feeds"
    path = feeds / "labs" / "lab" / "growing.hl7"
    write(path, oru("C1", [obx(1, ALT, "50")], collected="20260601080000")[:40], mtime=time.time())
    requests, _, cursor = tick(feeds)
    assert requests == [] and json.loads(cursor) == {}
    write(path, oru("C1", [obx(1, ALT, "50")], collected="20260601080000"))  # complete, an hour old
    _, ranges, _ = tick(feeds, cursor)
    assert ranges == [("2026-06-01", "2026-07-01")]


def test_dosing_files_request_their_dose_days(tmp_path):
    feeds = tmp_path / "feeds"
    write(
        feeds / "dosing" / "d.csv",
        "record_id,patient_id,substance,dose_amount,dose_unit,taken_at\n"
        "R1,M1,kratom,2,g,2026-06-03T08:00:00\nR2,M1,kratom,2,g,2026-06-05\n",
    )
    _, ranges, _ = tick(feeds)
    assert ranges == [("2026-06-03", "2026-07-05")]


def test_nothing_new_is_a_skip_with_a_reason(tmp_path):
    (tmp_path / "feeds").mkdir()
    context = dg.build_sensor_context(resources={"feeds": Feeds(directory=str(tmp_path / "feeds"))})
    (skip,) = list(feed_file_sensor(context))
    assert isinstance(skip, dg.SkipReason) and "no new feed files" in skip.skip_message


@pytest.mark.parametrize(
    ("scheduled", "partition"),
    [(datetime(2026, 6, 10, 6, 0), "2026-06-09"), (datetime(2026, 1, 1, 6, 0), "2025-12-31")],
)
def test_daily_schedule_refreshes_yesterday(scheduled, partition):
    context = dg.build_schedule_context(scheduled_execution_time=scheduled)
    request = daily_refresh(context)
    assert request.partition_key == partition
    assert request.run_key == f"daily-{partition}"
    assert (scheduled - timedelta(days=1)).date().isoformat() == partition
