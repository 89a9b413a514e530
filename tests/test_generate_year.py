"""bench/generate_year.py, the year of feeds behind `make bench-e2e`: determinism, layout, dates, volume.

Small generations (200 patients x 20 days, a few thousand patients for the volume bands) in a temporary
DATA_DIR, so the tests never touch bench/data/.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from hepwatch.dosing import read_dosing_csv
from hepwatch.hl7.oru import read_lab_bytes

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "bench"))

import generate_year  # noqa: E402

SEED, PATIENTS, DAYS, START = 11, 200, 20, date(2026, 3, 1)
DAY_LIST = [START + timedelta(days=n) for n in range(DAYS + 1)]
FACILITIES = {"NORTHLAB", "CITYHOSP", "EUROLAB", "RURALLAB"}


def _generate(
    monkeypatch: pytest.MonkeyPatch, data: Path, patients: int = PATIENTS, days: int = DAYS
) -> Path:
    monkeypatch.setattr(generate_year, "DATA_DIR", data)
    return generate_year.generate(SEED, patients, days, START, quiet=True)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _generate(monkeypatch, tmp_path_factory.mktemp("data"))


def _files(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(path.relative_to(directory)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_same_arguments_give_the_same_bytes(
    year: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    again = _generate(monkeypatch, tmp_path)
    assert again != year
    assert again.name == year.name == f"year-s{SEED}-p{PATIENTS}-d{DAYS}-{START.isoformat()}"
    assert _files(again) == _files(year)
    other = generate_year.generate(SEED + 1, PATIENTS, DAYS, START, quiet=True)
    assert (other / "dosing" / f"{START}.csv").read_bytes() != (year / "dosing" / f"{START}.csv").read_bytes()


def test_a_written_directory_is_reused(year: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generate_year, "DATA_DIR", year.parent)
    written = (year / "COMPLETE").stat().st_ino
    assert generate_year.generate(SEED, PATIENTS, DAYS, START.isoformat(), quiet=True) == year
    assert (year / "COMPLETE").stat().st_ino == written
    assert not list(year.parent.glob("*.partial-*"))


def test_one_file_per_lab_and_day_and_one_dosing_csv_per_day(year: Path) -> None:
    assert {path.name for path in (year / "labs").iterdir()} == FACILITIES
    listed: set[str] = set()
    for day in DAY_LIST:
        files = generate_year.day_files(year, day)
        assert files == generate_year.day_files(year, day.isoformat())
        assert all(not path.is_absolute() for path in files)
        assert files[-1] == Path("dosing", f"{day}.csv")
        labs = files[:-1]
        assert labs  # some lab has panels every day, even at this size
        assert all(path.parent.parent == Path("labs") and path.name == f"{day}.hl7" for path in labs)
        mtime = datetime(day.year, day.month, day.day, 6, tzinfo=UTC).timestamp()
        assert all((year / path).stat().st_mtime == mtime for path in files)
        listed.update(str(path) for path in files)
    written = {str(path.relative_to(year)) for path in year.rglob("*") if path.is_file()}
    assert written == listed | {"COMPLETE", "manifest.json"}
    assert generate_year.day_files(year, DAY_LIST[-1] + timedelta(days=1)) == []

    manifest = json.loads((year / "manifest.json").read_text())
    assert manifest["patients"] == PATIENTS
    assert (manifest["first_day"], manifest["last_day"]) == (str(DAY_LIST[0]), str(DAY_LIST[-1]))
    assert len(manifest["messages_per_day"]) == len(manifest["dosing_rows_per_day"]) == DAYS + 1
    assert sum(manifest["messages_per_day"]) == manifest["messages"]
    assert sum(manifest["dosing_rows_per_day"]) == manifest["dosing_rows"]


def test_lab_files_hold_panels_collected_on_their_day(year: Path) -> None:
    outcomes: dict[str | None, int] = {}
    statuses: set[str] = set()
    messages = 0
    for path in sorted(year.glob("labs/*/*.hl7")):
        day = date.fromisoformat(path.stem)
        read = read_lab_bytes(path.read_bytes())
        assert read.observations
        messages += len(read.messages)
        for message in read.messages:
            outcomes[message.reason] = outcomes.get(message.reason, 0) + 1
            assert message.sending_facility == path.parent.name
            assert message.message_time is not None and message.message_time.date() == day
        for obs in read.observations:
            assert obs.collected_at is not None and obs.collected_at.date() == day
            assert obs.value is not None and obs.value_problem is None
            statuses.add(obs.order_status)
    assert messages == json.loads((year / "manifest.json").read_text())["messages"]
    assert outcomes[None] > 0.99 * messages  # accepted, apart from a few ADT and PID-less messages
    assert statuses >= {"F", "P"}


def test_dosing_csvs_hold_their_days_doses_and_later_corrections(year: Path) -> None:
    seen: dict[str, float] = {}
    corrections = quarantined = 0
    for day in DAY_LIST:
        read = read_dosing_csv((year / "dosing" / f"{day}.csv").read_bytes(), f"{day}.csv")
        assert read.unreadable_reason is None
        quarantined += read.quarantine.height
        assert set(read.quarantine["reason"]) <= {
            "missing_field",
            "bad_number",
            "non_positive_dose",
            "unsupported_unit",
            "bad_datetime",
        }
        for row in read.records.iter_rows(named=True):
            if row["dose_date"] != day:  # a correction: a row of an earlier day again, with another amount
                assert row["dose_date"] < day
                assert seen[row["record_id"]] != row["dose_amount"]
                corrections += 1
            else:
                assert row["record_id"] not in seen
                assert row["id_authority"] == "HWCLINIC"
            seen[row["record_id"]] = row["dose_amount"]
    manifest = json.loads((year / "manifest.json").read_text())
    assert corrections == manifest["dosing_corrections"]
    assert len(seen) + quarantined + corrections == manifest["dosing_rows"]


def test_volume_per_patient_year(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """About 1,000,000 messages and 3,000,000 dosing rows for 100,000 patients over a year: 2,700 to 3,000
    messages and 8,000 to 8,500 dosing rows a day, whatever the number of patients and days."""
    patients, days = 2000, 365
    manifest = json.loads((_generate(monkeypatch, tmp_path, patients, days) / "manifest.json").read_text())
    scale = 100_000 / patients / (days + 1)
    assert 2700 <= manifest["messages"] * scale <= 3000
    assert 8000 <= manifest["dosing_rows"] * scale <= 8500
    kratom_users = manifest["groups"]["kratom"] + manifest["groups"]["kratom+moud"]
    assert 0.6 * patients <= kratom_users <= 0.8 * patients
    assert 0.015 * kratom_users <= manifest["injured_patients"] <= 0.05 * kratom_users
    assert manifest["injured_panels"] > 0 and manifest["hys_law_patients"] > 0
