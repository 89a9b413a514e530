"""Which feed files an ingestion reads (hepwatch.ingest.feed_files.unread_files): every file whose version it
cannot know without reading it, and none that the last ingestion read whole and that has not changed since
(same size and modification time in plan.json's listing and in landing.file_versions)."""

import os
from pathlib import Path

from hepwatch.ingest.dosing import ingest_dosing_files
from hepwatch.ingest.feed_files import discover, feed_listing, unread_files
from hepwatch.pending import ingested_listing, record_ingested
from hepwatch.pseudonym import Pseudonymizer
from hepwatch.warehouse import connect

HEADER = "record_id,patient_id,id_authority,substance,dose_amount,dose_unit,taken_at\n"


def _write(feeds: Path, name: str, rows: str, mtime: int) -> Path:
    path = feeds / "dosing" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + rows)
    os.utime(path, (mtime, mtime))
    return path


def _ingest(conn, feeds: Path, warehouse: Path) -> int:
    """One ingestion as the dosing_feed asset runs it: listing first, then the read, then the listing kept."""
    listing = feed_listing(feeds, "dosing")
    ingested = ingested_listing(warehouse, "dosing")
    summary = ingest_dosing_files(conn, feeds, Pseudonymizer(b"k"), ingested=ingested)
    record_ingested(warehouse, "dosing", listing)
    return summary.files


def _unread(conn, feeds: Path, warehouse: Path) -> set[str]:
    ingested = ingested_listing(warehouse, "dosing")
    return {f.relative for f in unread_files(conn, discover(feeds, "dosing"), "dosing", ingested)}


def test_only_new_and_changed_files_are_read_again(tmp_path):
    feeds, warehouse = tmp_path / "feeds", tmp_path / "warehouse"
    a = _write(feeds, "a.csv", "R1,MRN1,HOSP,kratom,2,g,2026-06-01\n", 1_700_000_000)
    _write(feeds, "b.csv", "R2,MRN2,HOSP,kratom,2,g,2026-06-02\n", 1_700_000_100)
    with connect(warehouse) as conn:
        assert _unread(conn, feeds, warehouse) == {"dosing/a.csv", "dosing/b.csv"}  # nothing read yet
        assert _ingest(conn, feeds, warehouse) == 2
        assert _unread(conn, feeds, warehouse) == set()  # both read whole, neither changed

        _write(feeds, "c.csv", "R3,MRN3,HOSP,kratom,2,g,2026-06-03\n", 1_700_000_200)  # a new file
        os.utime(a, (1_700_000_300, 1_700_000_300))  # touched: the same bytes, a new time
        assert _unread(conn, feeds, warehouse) == {"dosing/a.csv", "dosing/c.csv"}
        assert _ingest(conn, feeds, warehouse) == 1  # a.csv hashed, found known: only c.csv is new
        assert _unread(conn, feeds, warehouse) == set()

        # a new version of a.csv with a later time: read, and its record lands
        _write(feeds, "a.csv", "R1,MRN1,HOSP,kratom,5,g,2026-06-01\n", 1_700_000_400)
        assert _unread(conn, feeds, warehouse) == {"dosing/a.csv"}
        assert _ingest(conn, feeds, warehouse) == 1
        versions = conn.execute("SELECT count(*) FROM landing.dosing_rows WHERE record_id = 'R1'").fetchone()
        assert versions == (2,)


def test_a_file_that_could_not_be_read_is_read_again(tmp_path):
    feeds, warehouse = tmp_path / "feeds", tmp_path / "warehouse"
    broken = feeds / "dosing" / "broken.csv"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"")  # an empty file: recorded unreadable ("empty_file")
    _write(feeds, "a.csv", "R1,MRN1,HOSP,kratom,2,g,2026-06-01\n", 1_700_000_000)
    with connect(warehouse) as conn:
        _ingest(conn, feeds, warehouse)
        reasons = dict(conn.execute("SELECT file, unreadable_reason FROM landing.file_versions").fetchall())
        assert reasons["dosing/broken.csv"] is not None and reasons["dosing/a.csv"] is None
        assert _unread(conn, feeds, warehouse) == {"dosing/broken.csv"}


def test_a_listing_that_the_database_does_not_bear_out_reads_everything(tmp_path):
    """plan.json kept beside a new (or restored) database: the database holds no such version, so every
    file is read."""
    feeds, warehouse = tmp_path / "feeds", tmp_path / "warehouse"
    _write(feeds, "a.csv", "R1,MRN1,HOSP,kratom,2,g,2026-06-01\n", 1_700_000_000)
    with connect(warehouse) as conn:
        _ingest(conn, feeds, warehouse)
    for name in ("hepwatch.duckdb", "hepwatch.duckdb.wal"):
        (warehouse / name).unlink(missing_ok=True)
    with connect(warehouse) as conn:
        assert _unread(conn, feeds, warehouse) == {"dosing/a.csv"}
        assert _ingest(conn, feeds, warehouse) == 1
        assert conn.execute("SELECT count(*) FROM landing.dosing_rows").fetchone() == (1,)
