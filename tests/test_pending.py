"""Which days a change marks for building (hepwatch.pending): the days of what was landed, and the days of
every earlier version of the same record, since a correction can move it to another day."""

import os
import time
from datetime import date, datetime

from hepwatch.ingest.dosing import ingest_dosing_files
from hepwatch.ingest.feed_files import prefetched
from hepwatch.pending import clear, mark, pending_days, plan
from hepwatch.pseudonym import Pseudonymizer
from hepwatch.warehouse import connect

BOUNDS = (date(2020, 1, 1), date(2026, 12, 31))  # the days a build may cover
HEADER = "record_id,patient_id,id_authority,substance,dose_amount,dose_unit,taken_at\n"


def _write(feeds, name: str, rows: str, mtime: int) -> None:
    path = feeds / "dosing" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + rows)
    os.utime(path, (mtime, mtime))


def test_a_correction_marks_its_old_day_and_its_new_one(tmp_path):
    feeds, warehouse = tmp_path / "feeds", tmp_path / "warehouse"
    now = int(time.time())
    _write(
        feeds, "a.csv", "R1,MRN1,HOSP,kratom,2,g,2026-06-01\nR2,MRN1,HOSP,kratom,2,g,2026-06-02\n", now - 100
    )
    with connect(warehouse) as conn:
        ingest_dosing_files(conn, feeds, Pseudonymizer(b"k"))
        assert mark(conn) == 2
        assert pending_days(conn) == {date(2026, 6, 1), date(2026, 6, 2)}
        assert mark(conn) == 0  # nothing new landed: nothing more marked
        clear(conn, date(2026, 6, 1), date(2026, 6, 30), BOUNDS, datetime.now())
        assert pending_days(conn) == set()

        # R1 corrected to June 5th in a later file: June 1st (its old day) and June 5th both change
        _write(feeds, "b.csv", "R1,MRN1,HOSP,kratom,3,g,2026-06-05\n", now - 50)
        ingest_dosing_files(conn, feeds, Pseudonymizer(b"k"))
        mark(conn)
        assert pending_days(conn) == {date(2026, 6, 1), date(2026, 6, 5)}


def test_clear_keeps_days_whose_reach_the_build_did_not_cover(tmp_path):
    feeds, warehouse = tmp_path / "feeds", tmp_path / "warehouse"
    rows = (
        "R1,MRN1,HOSP,kratom,2,g,2026-06-01\nR2,MRN1,HOSP,kratom,2,g,2026-06-20\n"
        "R3,MRN1,HOSP,kratom,2,g,2026-07-31\nR4,MRN1,HOSP,kratom,2,g,2026-10-01\n"
    )
    _write(feeds, "a.csv", rows, 1_700_000_000)
    june_1, june_20, july_31, oct_1 = (
        date(2026, 6, 1),
        date(2026, 6, 20),
        date(2026, 7, 31),
        date(2026, 10, 1),
    )
    with connect(warehouse) as conn:
        ingest_dosing_files(conn, feeds, Pseudonymizer(b"k"))
        mark(conn)
        # the partitions are the four days with data, and only they are built: June 1st reaches June 20th
        # (within 30 days), each other day only itself; the reaches follow each other: one range
        assert plan(conn, BOUNDS) == [(june_1, oct_1)]
        # a build of June 1st alone: June 1st needs June 20th too, so nothing is complete
        clear(conn, june_1, june_1, BOUNDS, datetime.now())
        assert pending_days(conn) == {june_1, june_20, july_31, oct_1}
        clear(conn, june_1, june_20, BOUNDS, datetime.now())
        assert pending_days(conn) == {july_31, oct_1}
        clear(conn, oct_1, oct_1, BOUNDS, datetime.now())
        assert pending_days(conn) == {july_31}
        assert plan(conn, BOUNDS) == [(july_31, july_31)]
        # a day marked after the build started stays pending
        clear(conn, june_1, oct_1, BOUNDS, datetime(2000, 1, 1))
        assert pending_days(conn) == {july_31}


def test_days_the_bounds_exclude_are_never_planned_and_are_cleared(tmp_path):
    feeds, warehouse = tmp_path / "feeds", tmp_path / "warehouse"
    _write(
        feeds,
        "a.csv",
        "R1,MRN1,HOSP,kratom,2,g,2026-06-01\nR2,MRN1,HOSP,kratom,2,g,9999-12-31\n",
        1_700_000_000,
    )
    with connect(warehouse) as conn:
        ingest_dosing_files(conn, feeds, Pseudonymizer(b"k"))
        mark(conn)
        # a dose dated 9999 lies after the last day a build may cover: the data spans June 1st alone
        assert plan(conn, BOUNDS) == [(date(2026, 6, 1), date(2026, 6, 1))]
        clear(conn, date(2026, 6, 1), date(2026, 6, 1), BOUNDS, datetime.now())
        assert pending_days(conn) == set()


def test_prefetched_keeps_order_and_reads_ahead_a_bounded_number():
    started = []

    def work(n: int) -> int:
        started.append(n)
        return n * n

    results = prefetched(work, range(100), ahead=4)
    assert next(results) == 0
    assert len(started) <= 6  # the first result waited for, 4 ahead, and perhaps one more in flight
    assert [0, *results] == [n * n for n in range(100)]
