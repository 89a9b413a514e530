"""Every dosing row in exactly one place: a record that reaches the marts, or a row in marts.quarantine with
its reason. Odd dates and doses included (nothing leaked, nothing lost)."""

import json
import os

import duckdb

from pipelines.cli import run
from tests.support.hand_feed import write_feeds

ODD_ROWS = (
    "X1,MRN001,HWCLINIC,kratom,,1e308,g,2026-06-02,self_report\n"  # an infinite total if it were kept
    "X2,MRN001,HWCLINIC,kratom,,1e-320,g,2026-06-02,self_report\n"
    "X3,MRN001,HWCLINIC,kratom,,2,g,9999-12-31,self_report\n"
    "X4,MRN001,HWCLINIC,kratom,,2,g,0001-01-01,self_report\n"
    "X5,MRN001,HWCLINIC,kratom,,2,g,1899-12-31,self_report\n"  # before 1900: implausible
    "X6,MRN001,HWCLINIC,kratom,,2,g,1985-03-04,self_report\n"  # history: kept
)


def test_odd_dosing_rows_reach_the_quarantine_and_no_mart_holds_an_infinite_dose(tmp_path):
    feeds, warehouse = write_feeds(tmp_path / "feeds"), tmp_path / "warehouse"
    with (feeds / "dosing" / "2026-06.csv").open("a") as csv:
        csv.write(ODD_ROWS)
    run(str(feeds), str(warehouse))
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as conn:
        held = dict(
            conn.execute(
                "SELECT record_id, reason FROM marts.quarantine WHERE record_id LIKE 'X%' ORDER BY 1"
            ).fetchall()
        )
        largest = conn.execute("SELECT max(total_mg) FROM marts.dosing_daily").fetchall()[0][0]
        kept = conn.execute(
            "SELECT strftime(dose_date, '%Y-%m-%d'), total_mg FROM marts.dosing_daily WHERE dose_date < '2000-01-01'"
        ).fetchall()
    assert held == {
        "X1": "bad_number",
        "X2": "bad_number",
        "X3": "bad_datetime",
        "X4": "bad_datetime",
        "X5": "bad_datetime",
    }
    assert kept == [("1985-03-04", 2000.0)]  # a dose from 1985 is history, kept and built
    # MRN002's 3 g on June 2nd is the largest daily total written in the feed: no absurd dose got in
    assert largest == 3000.0
    # the plan never reaches past the data: its last day is the last result or dose, not 9999-12-31
    plan = json.loads((warehouse / "plan.json").read_text())
    assert plan["data_span"] == ["1985-03-04", "2026-06-05"] and plan["pending"] == []
    # the partitions are the days with data, not the 15,000 calendar days between them
    assert plan["days"] == ["1985-03-04", "2026-06-01", "2026-06-02", "2026-06-03", "2026-06-05"]


def test_every_path_with_a_feed_suffix_gets_a_feed_files_row_with_its_reason(tmp_path):
    feeds, warehouse = write_feeds(tmp_path / "feeds"), tmp_path / "warehouse"
    labs = feeds / "labs"
    os.mkfifo(labs / "pipe.hl7")  # opening it would block the run for ever
    (labs / "loop.hl7").symlink_to("loop.hl7")
    (labs / "folder.hl7").mkdir()
    (labs / "empty.hl7").write_bytes(b"")
    (feeds / "dosing" / "empty.csv").write_bytes(b"")
    run(str(feeds), str(warehouse))
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as conn:
        rows = dict(
            conn.execute(
                "SELECT file, status || ': ' || unreadable_reason FROM marts.feed_files "
                "WHERE status = 'unreadable' ORDER BY file"
            ).fetchall()
        )
    assert rows == {
        "dosing/empty.csv": "unreadable: empty_file",
        "labs/empty.hl7": "unreadable: empty_file",
        "labs/folder.hl7": "unreadable: not a regular file: a directory",
        "labs/loop.hl7": "unreadable: not a readable file: Too many levels of symbolic links",
        "labs/pipe.hl7": "unreadable: not a regular file: a FIFO",
    }


def test_a_large_file_that_changes_while_it_is_read_is_named_and_left_for_the_next_run(tmp_path, monkeypatch):
    from hepwatch.ingest import labs
    from hepwatch.ingest.labs import ingest_lab_files
    from hepwatch.pseudonym import Pseudonymizer
    from hepwatch.warehouse import connect

    feeds = write_feeds(tmp_path / "feeds")
    big = "labs/northlab/2026-06-01.hl7"
    small = 64  # bytes per piece: every file here is "large", read in pieces and checked for a change after
    with connect(tmp_path / "warehouse") as conn:
        # the file's size and time after reading differ from before (as when a lab appends to it meanwhile)
        real = labs._stamp_or_none
        monkeypatch.setattr(
            labs, "_stamp_or_none", lambda path: (-1, -1) if path.as_posix().endswith(big) else real(path)
        )
        first = ingest_lab_files(conn, feeds, Pseudonymizer(b"k"), workers=0, piece_bytes=small)
        assert first.changed_files == [big]
        versions = (
            "SELECT sha256 = '', messages, unreadable_reason FROM landing.file_versions "
            "WHERE file = ? ORDER BY ingest_seq"
        )
        # no message of half a file landed; the file has a row that says why
        assert conn.execute(versions, [big]).fetchall() == [
            (True, 0, "changed while it was read: read again by the next run")
        ]
        again = ingest_lab_files(conn, feeds, Pseudonymizer(b"k"), workers=0, piece_bytes=small)
        assert again.changed_files == [big] and len(conn.execute(versions, [big]).fetchall()) == 1  # once
        monkeypatch.setattr(labs, "_stamp_or_none", real)
        second = ingest_lab_files(conn, feeds, Pseudonymizer(b"k"), workers=0, piece_bytes=small)
        assert second.changed_files == [] and second.files == 1  # read whole by the next run
        assert [row[:2] for row in conn.execute(versions, [big]).fetchall()] == [(True, 0), (False, 2)]


def test_a_file_without_line_breaks_is_unreadable_and_read_in_bounded_memory(tmp_path):
    """200 MB of HL7 with every segment end removed (the issue measured 2.2 GB for it): no line of it is ever
    held; the README states the bound, 600 MB of peak RSS for such a file, measured in a child process."""
    import subprocess

    from tests.support.webserver import BIN, PROJECT

    feeds = write_feeds(tmp_path / "feeds")
    one = (
        (feeds / "labs" / "northlab" / "2026-06-01.hl7")
        .read_bytes()
        .replace(b"\r", b" ")
        .replace(b"\n", b" ")
    )
    with (feeds / "labs" / "one-line.hl7").open("wb") as out:
        for _ in range(200_000_000 // len(one) + 1):
            out.write(one)
    # a wrapper process runs the command, so that its peak RSS (and its readers') is all it measures
    wrapper = (
        "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)"
    )
    command = [
        str(BIN / "hepwatch"),
        "run",
        "--feeds",
        str(feeds),
        "--warehouse",
        str(tmp_path / "warehouse"),
    ]
    done = subprocess.run(
        [str(BIN / "python"), "-c", wrapper, *command],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    peak_mb = int(done.stdout.strip().splitlines()[-1]) / 1024
    assert peak_mb < 600, peak_mb
    with duckdb.connect(str(tmp_path / "warehouse" / "analytics.duckdb"), read_only=True) as conn:
        assert conn.execute(
            "SELECT status, unreadable_reason FROM marts.feed_files WHERE file = 'labs/one-line.hl7'"
        ).fetchall() == [("unreadable", "a line longer than 32 MB: not HL7 v2 text (its segments are lines)")]


def test_a_dosing_row_longer_than_any_line_makes_the_file_unreadable():
    from hepwatch.dosing import read_dosing_csv

    header = b"record_id,patient_id,substance,dose_amount,dose_unit,taken_at\n"
    read = read_dosing_csv(header + b"R1,M1,kratom,2,g,2026-06-01," + b"x" * (33 << 20) + b"\n", "big.csv")
    assert read.unreadable_reason == "a line longer than 32 MB: not a dosing CSV" and read.rows_read == 0
    # a long file of short rows is read as usual
    rows = b"".join(b"R%d,M1,kratom,2,g,2026-06-01\n" % i for i in range(1_500_000))
    assert read_dosing_csv(header + rows, "long.csv").records.height == 1_500_000
