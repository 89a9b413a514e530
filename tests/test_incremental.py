"""Incremental runs: `hepwatch run` rebuilds only the days whose data changed, and what it
publishes is what a run over everything from scratch publishes; with nothing new it builds nothing."""

import hashlib
import shutil
from datetime import date, timedelta

import duckdb
import pytest

from hepwatch.pending import WINDOW_DAYS, build_ranges
from hepwatch.synthetic import generate_feeds
from pipelines.cli import run
from tests.support.backfill import tables

FIRST = date(2026, 6, 1)


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    out = tmp_path_factory.mktemp("incremental") / "feeds"
    generate_feeds(out, patients=25, days=28, seed=5, start=FIRST)
    return out


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_build_ranges_extend_each_changed_day_by_the_look_back_window():
    assert WINDOW_DAYS == 30
    daily = [FIRST + timedelta(days=n) for n in range(28)]  # June 1st to 28th, every day with data
    d, last = date(2026, 6, 10), date(2026, 6, 28)
    assert build_ranges({d}, daily) == [(d, last)]  # d + 30 is past the data: up to the last day
    assert build_ranges({last}, daily) == [(last, last)]  # a new last day: that day alone
    # sparse days: only days with data are partitions, and a range never starts or ends on another day
    sparse = [date(2026, 1, 1), date(2026, 1, 25), date(2026, 3, 15), date(2026, 4, 10), date(2026, 9, 1)]
    first = sparse[0]  # the first collection date
    assert build_ranges({date(2026, 1, 25)}, sparse, first) == [(date(2026, 1, 25), date(2026, 1, 25))]
    assert build_ranges({date(2026, 3, 15)}, sparse, first) == [(date(2026, 3, 15), date(2026, 4, 10))]
    assert build_ranges({date(2026, 9, 1)}, sparse, first) == [(date(2026, 9, 1), date(2026, 9, 1))]
    # a new first day: the next day with data too, however far, for it owns the empty days in between, whose
    # daily_summary rows now exist
    history = [date(2025, 6, 1), *sparse]
    assert build_ranges({date(2025, 6, 1)}, history, date(2025, 6, 1)) == [
        (date(2025, 6, 1), date(2026, 1, 1))
    ]
    # two pending days whose reaches meet: one range
    assert build_ranges({date(2026, 1, 1), date(2026, 3, 15)}, sparse, first) == [
        (date(2026, 1, 1), date(2026, 4, 10))
    ]
    # a day without data (its data moved away) is rebuilt by the partition that owns it, the next one
    assert build_ranges({date(2026, 5, 1)}, sparse, first) == [(date(2026, 9, 1), date(2026, 9, 1))]
    assert build_ranges({date(2026, 9, 2)}, sparse, first) == []  # after the last day with data


def test_adding_files_rebuilds_only_their_days_and_publishes_what_a_full_run_does(
    feeds, tmp_path, monkeypatch
):
    monkeypatch.setenv("HEPWATCH_PSEUDONYM_KEY", "incremental-test")
    for name in ("HEPWATCH_FEEDS_DIR", "HEPWATCH_WAREHOUSE_DIR"):
        monkeypatch.setenv(name, "")
    # the feeds as they stood on the 20th: the files of later days arrive afterwards
    early = tmp_path / "early"
    shutil.copytree(feeds, early)
    late = [p for p in early.rglob("*.*") if p.suffix in (".hl7", ".csv") and "2026-06-2" in p.name]
    late = [p for p in late if p.name >= "2026-06-21"]
    assert late, "the generated feed names files by day"
    for path in late:
        path.unlink()

    warehouse = tmp_path / "warehouse"
    first = run(str(early), str(warehouse))
    assert first["built_days"] == first["days"]  # the first run builds every day

    before = _sha256(warehouse / "analytics.duckdb")
    again = run(str(early), str(warehouse))  # nothing new: nothing built, nothing published again
    assert again["built_days"] == 0 and again["ranges"] == []
    assert _sha256(warehouse / "analytics.duckdb") == before

    shutil.copytree(feeds, early, dirs_exist_ok=True)  # the later files arrive
    added = run(str(early), str(warehouse))
    assert 0 < added["built_days"] < added["days"]
    assert added["ranges"][0][0] > FIRST  # the early days were not rebuilt

    scratch = tmp_path / "scratch"
    full = run(str(feeds), str(scratch))
    assert (added["first_day"], added["last_day"]) == (full["first_day"], full["last_day"])
    assert tables(warehouse) == tables(scratch)
    with duckdb.connect(str(warehouse / "hepwatch.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM landing.pending_days").fetchall() == [(0,)]
