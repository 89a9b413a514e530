"""Which days a change marks for building (hepwatch.pending): the days of what was landed, and the days of
every earlier version of the same record, since a correction can move it to another day."""

import os
import time
from datetime import date, datetime

from hepwatch.ingest.dosing import ingest_dosing_files
from hepwatch.ingest.feed_files import prefetched
from hepwatch.pending import clear, mark, pending_days
from hepwatch.pseudonym import Pseudonymizer
from hepwatch.warehouse import connect

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
        clear(conn, date(2026, 6, 1), date(2026, 6, 30), date(2026, 6, 30), datetime.now())
        assert pending_days(conn) == set()

        # R1 corrected to June 5th in a later file: June 1st (its old day) and June 5th both change
        _write(feeds, "b.csv", "R1,MRN1,HOSP,kratom,3,g,2026-06-05\n", now - 50)
        ingest_dosing_files(conn, feeds, Pseudonymizer(b"k"))
        mark(conn)
        assert pending_days(conn) == {date(2026, 6, 1), date(2026, 6, 5)}


def test_clear_keeps_days_whose_window_the_build_did_not_cover(tmp_path):
    feeds, warehouse = tmp_path / "feeds", tmp_path / "warehouse"
    _write(
        feeds,
        "a.csv",
        "R1,MRN1,HOSP,kratom,2,g,2026-06-01\nR2,MRN1,HOSP,kratom,2,g,2026-06-20\n",
        1_700_000_000,
    )
    with connect(warehouse) as conn:
        ingest_dosing_files(conn, feeds, Pseudonymizer(b"k"))
        mark(conn)
        # a build of June 1st to 10th, with data up to July 31st: June 1st needs its window to July 1st
        clear(conn, date(2026, 6, 1), date(2026, 6, 10), date(2026, 7, 31), datetime.now())
        assert pending_days(conn) == {date(2026, 6, 1), date(2026, 6, 20)}
        # with data only up to June 10th, the window ends there: June 1st is done
        clear(conn, date(2026, 6, 1), date(2026, 6, 10), date(2026, 6, 10), datetime.now())
        assert pending_days(conn) == {date(2026, 6, 20)}
        # a day marked after the build started stays pending
        clear(conn, date(2026, 6, 1), date(2026, 7, 31), date(2026, 7, 31), datetime(2000, 1, 1))
        assert pending_days(conn) == {date(2026, 6, 20)}


def test_prefetched_keeps_order_and_reads_ahead_a_bounded_number():
    started = []

    def work(n: int) -> int:
        started.append(n)
        return n * n

    results = prefetched(work, range(100), ahead=4)
    assert next(results) == 0
    assert len(started) <= 6  # the first result waited for, 4 ahead, and perhaps one more in flight
    assert [0, *results] == [n * n for n in range(100)]
