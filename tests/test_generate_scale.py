"""The generator at scale (`hepwatch generate`, as the benchmarks use it): the same bytes whatever the number
of processes, a layout that can be read a day at a time (`--dosing-files daily`, `--lab-file-days`), what
each day's files hold, volume per patient and year, evenly spread, a few patients over decades, and memory
that does not grow with the number of days.

Small generations in temporary directories (a year of 2,000 patients takes a few seconds).
"""

from __future__ import annotations

import calendar
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from hepwatch.dosing import read_dosing_csv
from hepwatch.hl7.framing import decode_feed_bytes, split_blocks
from hepwatch.hl7.oru import read_lab_bytes
from hepwatch.synthetic import day_files, feed_days, generate_feeds

SEED, PATIENTS, DAYS, START = 11, 300, 40, date(2026, 3, 1)
DAY_LIST = [START + timedelta(days=n) for n in range(DAYS)]
FACILITIES = {"NORTHLAB", "CITYHOSP", "EUROLAB", "POCTNET"}
DOSING_REASONS = {"missing_field", "bad_number", "non_positive_dose", "unsupported_unit", "bad_datetime"}


def _generate(out: Path, **arguments) -> dict:
    return generate_feeds(
        out, **{"patients": PATIENTS, "days": DAYS, "seed": SEED, "start": START, **arguments}
    )


def _files(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(path.relative_to(directory)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def _utc(day: date, hour: int, minute: int, second: int = 0) -> float:
    return calendar.timegm(
        datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC).timetuple()
    )


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("daily") / "feeds"
    _generate(out, dosing_files="daily", workers=1)
    return out


@pytest.fixture(scope="module")
def manifest(daily: Path) -> dict:
    return json.loads((daily / "manifest.json").read_text())


def test_the_same_bytes_and_mtimes_whatever_the_number_of_processes(daily: Path, tmp_path: Path) -> None:
    _generate(tmp_path / "two", dosing_files="daily", workers=2)
    assert _files(tmp_path / "two") == _files(daily)
    _generate(tmp_path / "other", dosing_files="daily", seed=SEED + 1, workers=2)
    day = f"dosing/{START}.csv"
    assert (tmp_path / "other" / day).read_bytes() != (daily / day).read_bytes()


def test_one_file_per_lab_and_day_and_one_dosing_csv_per_day(daily: Path, manifest: dict) -> None:
    assert {path.name for path in (daily / "labs").iterdir()} == FACILITIES
    assert feed_days(daily) == DAY_LIST  # nothing before the window's first day, nothing after its last
    lab_order = sorted(FACILITIES)
    listed: set[str] = set()
    for day in DAY_LIST:
        files = day_files(daily, day)
        assert files == day_files(daily, day.isoformat())
        assert all(not path.is_absolute() for path in files)
        assert files[-1] == Path("dosing", f"{day}.csv")
        labs = files[:-1]
        assert len(labs) >= 2  # at this size most labs send something every day
        assert all(path.parent.parent == Path("labs") and path.name == f"{day}.hl7" for path in labs)
        for path in labs:  # a lab's file arrives at 23:50, the labs a second apart; the dosing file at 23:55
            assert (daily / path).stat().st_mtime == _utc(day, 23, 50, lab_order.index(path.parent.name))
        assert (daily / files[-1]).stat().st_mtime == _utc(day, 23, 55)
        listed.update(str(path) for path in files)
    written = {str(path.relative_to(daily)) for path in daily.rglob("*") if path.is_file()}
    assert written == listed | {"manifest.json"}
    assert day_files(daily, DAY_LIST[-1] + timedelta(days=1)) == []
    assert manifest["layout"] == {"lab_file_days": 1, "dosing_files": "daily"}
    per_day = manifest["per_day"]
    assert per_day["first_day"] == str(START)
    assert len(per_day["messages"]) == len(per_day["dosing_rows"]) == DAYS
    assert sum(per_day["messages"]) == manifest["messages"]["total"]
    assert sum(per_day["dosing_rows"]) == manifest["dosing"]["rows"] - manifest["dosing"]["corrections"]


def test_a_days_lab_files_hold_the_messages_sent_that_day(daily: Path, manifest: dict) -> None:
    """MSH-7 is the day of the file (a resend keeps its first MSH-7, 1 to 4 days earlier); results were
    collected that day or up to 11 days before (late results, later versions)."""
    outcomes: dict[str | None, int] = {}
    statuses: set[str] = set()
    messages = 0
    first_seen: dict[tuple[str | None, str | None], date] = {}
    for path in sorted(daily.glob("labs/*/*.hl7")):
        day = date.fromisoformat(path.stem)
        read = read_lab_bytes(path.read_bytes())
        messages += sum(1 for m in read.messages if m.reason != "not_hl7")
        for message in read.messages:
            outcomes[message.reason] = outcomes.get(message.reason, 0) + 1
            if message.reason == "not_hl7":
                continue
            assert message.sending_facility == path.parent.name
            assert message.message_time is not None
            key = (message.sending_facility, message.control_id)
            if key in first_seen:  # a resend: the same message, arriving again
                assert 1 <= (day - first_seen[key]).days <= 5
            else:
                assert message.message_time.date() == day
                first_seen[key] = day
        for obs in read.observations:
            if obs.collected_at is not None:
                assert 0 <= (day - obs.collected_at.date()).days <= 11
            statuses.add(obs.order_status)
    assert messages == manifest["messages"]["total"]
    assert outcomes[None] > 0.97 * messages  # accepted, but for non-ORU, PID-less and garbage blocks
    assert statuses >= {"F", "P", "C"}


def test_a_days_dosing_csv_holds_its_doses_and_later_corrections(daily: Path, manifest: dict) -> None:
    seen: dict[str, tuple] = {}
    corrections = quarantined = 0
    for day in DAY_LIST:
        read = read_dosing_csv((daily / "dosing" / f"{day}.csv").read_bytes(), f"{day}.csv")
        assert read.unreadable_reason is None
        quarantined += read.quarantine.height
        assert set(read.quarantine["reason"]) <= DOSING_REASONS
        for row in read.records.iter_rows(named=True):
            content = (row["dose_amount"], row["taken_at"])
            if row["dose_date"] != day:  # a correction of a row of the week before, with changed content
                assert 1 <= (day - row["dose_date"]).days <= 7
                assert seen[row["record_id"]] != content
                corrections += 1
            else:
                assert row["record_id"] not in seen
                assert row["id_authority"] == "HWCLINIC"
            seen[row["record_id"]] = content
    assert corrections == manifest["dosing"]["corrections"] >= 3
    assert quarantined == sum(manifest["dosing"]["bad_rows"].values())
    assert len(seen) + quarantined + corrections == manifest["dosing"]["rows"]


def test_lab_files_of_several_days_hold_the_same_messages(daily: Path, tmp_path: Path) -> None:
    weekly = tmp_path / "weekly"
    manifest = _generate(weekly, lab_file_days=7)
    first_days = {str(START + timedelta(days=n)) for n in range(0, DAYS, 7)}
    assert {path.stem for path in weekly.glob("labs/*/*.hl7")} == first_days
    assert manifest["files"]["labs"] == len(list(weekly.glob("labs/*/*.hl7"))) <= 4 * len(first_days)

    def messages(feed: Path) -> dict[str, list[str]]:
        by_lab = {}
        for lab in FACILITIES:
            texts = []
            for path in sorted(feed.glob(f"labs/{lab}/*.hl7")):
                text = decode_feed_bytes(path.read_bytes())
                texts += [block.text for block in split_blocks(text) if block.is_message]
            by_lab[lab] = texts
        return by_lab

    assert messages(weekly) == messages(daily)


def test_volume_per_patient_and_year_evenly_spread(tmp_path: Path) -> None:
    """About 1,070,000 messages and 4,000,000 dosing rows a year for 100,000 patients (2,900 messages and
    11,000 rows a day), whatever the number of patients, and as many on the first days as later."""
    patients, days = 2000, 365
    manifest = generate_feeds(tmp_path / "year", patients=patients, days=days, seed=SEED, start=START)
    scale = 100_000 / patients
    assert 990_000 <= manifest["messages"]["total"] * scale <= 1_150_000
    assert 3_700_000 <= manifest["dosing"]["rows"] * scale <= 4_300_000
    per_day = manifest["per_day"]
    for figure in ("messages", "dosing_rows"):
        whole = sum(per_day[figure]) / days
        first_tenth = sum(per_day[figure][: days // 10]) / (days // 10)
        assert 0.88 * whole <= first_tenth <= 1.12 * whole, figure
    kratom_users = manifest["patients"]["kratom_users"]
    assert 0.68 * patients <= kratom_users <= 0.72 * patients
    injured = manifest["planted_injuries"]
    assert 0.02 * kratom_users <= len(injured) <= 0.03 * kratom_users
    assert any(i["hys_law"] for i in injured)


def test_one_patient_over_thirty_years(tmp_path: Path) -> None:
    """A few hundred messages spread over thirty years: routine panels every few months all along."""
    first = date(1996, 1, 1)
    manifest = generate_feeds(tmp_path / "decades", patients=1, days=11_000, seed=SEED, start=first)
    days = feed_days(tmp_path / "decades")
    assert 100 <= manifest["messages"]["total"] <= 500
    assert first <= days[0] <= first + timedelta(days=120)
    assert first + timedelta(days=10_999 - 120) <= days[-1] <= first + timedelta(days=10_999)
    assert manifest["files"]["labs"] == len(list((tmp_path / "decades").glob("labs/*/*.hl7")))


_MEMORY_PROBE = """
import resource, sys
from datetime import date
from pathlib import Path
from hepwatch.synthetic import generate_feeds
generate_feeds(Path(sys.argv[1]), patients=1500, days=int(sys.argv[2]), seed=3, workers=1)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def test_memory_does_not_grow_with_the_number_of_days(tmp_path: Path) -> None:
    """Files are written as the days go by: four times the days (and the data) take about the same memory."""
    peaks = {}
    for days in (120, 480):
        result = subprocess.run(
            [sys.executable, "-c", _MEMORY_PROBE, str(tmp_path / f"d{days}"), str(days)],
            capture_output=True,
            text=True,
            check=True,
        )
        peaks[days] = int(result.stdout.split()[-1])
    assert peaks[480] <= 1.2 * peaks[120] + 10e6, {k: round(v / 1e6) for k, v in peaks.items()}


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.cli import main

    out = tmp_path / "feeds"
    arguments = ["generate", "--out", str(out), "--patients", "30", "--days", "14", "--seed", "5"]
    assert main([*arguments, "--dosing-files", "daily", "--lab-file-days", "7", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "drawing 30 patients" in printed and f"manifest.json to {out} in" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["layout"] == {"lab_file_days": 7, "dosing_files": "daily"}
    assert {path.stem for path in out.glob("labs/*/*.hl7")} <= {"2026-06-01", "2026-06-08"}
    assert main(arguments) == 1  # the directory holds a feed already
    assert "already exists" in capsys.readouterr().err
