"""Parallel, piecewise lab ingestion lands exactly what sequential, record-by-record ingestion lands.

The oracle is `tests/reference_lab_ingest.py`, lab ingestion done the plain way (record by
record, `read_lab_bytes`, one file in memory at a time). Compared: every row and every column of
landing.file_versions, landing.lab_messages, landing.lab_observations, phi.patient_map and phi.quarantine,
ordered, except the wall-clock columns ingested_at and quarantined_at.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import psutil
import pytest

from hepwatch.ingest import labs
from hepwatch.ingest.feed_files import discover, scan_file
from hepwatch.ingest.lab_catalog import Catalog
from hepwatch.ingest.lab_pieces import plan_pieces
from hepwatch.ingest.labs import ingest_lab_files
from hepwatch.pseudonym import Pseudonymizer
from hepwatch.warehouse import connect
from tests import reference_lab_ingest
from tests.conftest import CORPUS, PROJECT

KEY = b"test-key"
TABLES = {
    "landing.file_versions": ("* EXCLUDE (ingested_at)", "ingest_seq"),
    "landing.lab_messages": ("*", "arrival_seq"),
    "landing.lab_observations": ("*", "arrival_seq, obx_index"),
    "phi.patient_map": ("*", "patient_key"),
    "phi.quarantine": ("* EXCLUDE (quarantined_at)", "file, sha256, position"),
}


def landed(warehouse: Path) -> dict[str, list[tuple]]:
    with connect(warehouse) as conn:
        return {
            table: conn.execute(f"SELECT {columns} FROM {table} ORDER BY {order}").fetchall()
            for table, (columns, order) in TABLES.items()
        }


def ingest_reference(feeds: Path, warehouse: Path) -> None:
    with connect(warehouse) as conn:
        reference_lab_ingest.ingest_lab_files(conn, feeds, Pseudonymizer(KEY))


def ingest(feeds: Path, warehouse: Path, **options) -> labs.LabIngestSummary:
    with connect(warehouse) as conn:
        return ingest_lab_files(conn, feeds, Pseudonymizer(KEY), **options)


def assert_same(expected: dict[str, list[tuple]], actual: dict[str, list[tuple]]) -> None:
    for table in TABLES:
        assert len(actual[table]) == len(expected[table]), table
        for number, (want, got) in enumerate(zip(expected[table], actual[table], strict=True)):
            assert got == want, f"{table} row {number}"


def copy_files(files: list[Path], root: Path, feeds: Path) -> Path:
    for path in files:
        target = feeds / "labs" / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return feeds


@pytest.fixture(scope="module")
def corpus_feeds(tmp_path_factory) -> Path:
    feeds = tmp_path_factory.mktemp("corpus") / "feeds"
    return copy_files(sorted(CORPUS.glob("*.hl7")), CORPUS, feeds)


@pytest.fixture(scope="module")
def sample_feeds(tmp_path_factory) -> Path:
    root = PROJECT / "sample_feeds" / "labs"
    feeds = tmp_path_factory.mktemp("samples") / "feeds"
    return copy_files(sorted(root.rglob("*.hl7")), root, feeds)


MODES = {
    "in_process": {"workers": 0},
    "two_workers": {"workers": 2},
    "two_workers_tiny_pieces": {"workers": 2, "piece_bytes": 2_000},
    "in_process_tiny_pieces": {"workers": 0, "piece_bytes": 700},
}


@pytest.fixture(scope="module")
def corpus_reference(corpus_feeds, tmp_path_factory) -> dict[str, list[tuple]]:
    warehouse = tmp_path_factory.mktemp("corpus_reference")
    ingest_reference(corpus_feeds, warehouse)
    return landed(warehouse)


@pytest.fixture(scope="module")
def sample_reference(sample_feeds, tmp_path_factory) -> dict[str, list[tuple]]:
    warehouse = tmp_path_factory.mktemp("sample_reference")
    ingest_reference(sample_feeds, warehouse)
    return landed(warehouse)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_public_corpus_lands_as_before(mode, corpus_feeds, corpus_reference, tmp_path):
    ingest(corpus_feeds, tmp_path, **MODES[mode])
    assert_same(corpus_reference, landed(tmp_path))


@pytest.mark.parametrize("mode", ["in_process", "two_workers", "two_workers_tiny_pieces"])
def test_sample_feeds_land_as_before(mode, sample_feeds, sample_reference, tmp_path):
    summary = ingest(sample_feeds, tmp_path, **MODES[mode])
    assert summary.files == len(sample_reference["landing.file_versions"])
    assert_same(sample_reference, landed(tmp_path))


def test_a_second_run_sees_the_first_runs_messages_as_duplicates(sample_feeds, tmp_path):
    """Duplicates across runs (the warehouse's history) and within a run, in arrival order."""
    files = sorted((sample_feeds / "labs").rglob("*.hl7"))
    first, second = tmp_path / "first", tmp_path / "second"
    copy_files(files[: len(files) // 2], sample_feeds / "labs", first)
    copy_files(files, sample_feeds / "labs", second)
    resent = second / "labs" / "resent" / "again.hl7"  # re-sends a file of the first run, and itself twice
    resent.parent.mkdir()
    resent.write_bytes(files[0].read_bytes() + files[1].read_bytes() + files[0].read_bytes())
    expected, actual = tmp_path / "expected", tmp_path / "actual"
    for feeds in (first, second):
        ingest_reference(feeds, expected)
        ingest(feeds, actual, workers=2, piece_bytes=3_000)
    reference = landed(expected)
    assert_same(reference, landed(actual))
    messages = {row[0]: row for row in reference["landing.file_versions"]}
    assert messages["labs/resent/again.hl7"][8] > 0  # duplicates were found, and found alike


def big_file(feeds: Path, files: list[Path], name: str, transform=lambda b: b) -> Path:
    target = feeds / "labs" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"".join(transform(path.read_bytes()) for path in files))
    return target


@pytest.mark.parametrize(
    "name, transform",
    [
        ("as_written", lambda b: b),  # MLLP frames, CR segments: the sample feed's own framing
        ("crlf", lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b"").replace(b"\r", b"\r\n")),
        ("lf_only", lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b"").replace(b"\r", b"\n")),
        ("latin1", lambda b: b.replace(b"Flores", b"Fl\xf3res")),  # not UTF-8: the whole file is cp1252
        ("bom", lambda b: b"\xef\xbb\xbf" + b),
    ],
)
def test_a_big_file_read_in_pieces_lands_as_read_whole(name, transform, sample_feeds, tmp_path):
    files = sorted((sample_feeds / "labs").rglob("*.hl7"))[:60]
    feeds = tmp_path / "feeds"
    big = big_file(feeds, files, f"{name}.hl7", transform)
    whole, pieces, reference = tmp_path / "whole", tmp_path / "pieces", tmp_path / "reference"
    ingest_reference(feeds, reference)
    ingest(feeds, whole, workers=0)
    summary = ingest(feeds, pieces, workers=2, piece_bytes=5_000)
    scan = scan_file(discover(feeds, "labs")[0], keep_up_to=5_000)
    ranges = plan_pieces(scan, 5_000)
    assert len(ranges) > 10 and ranges[0][0] == 0 and ranges[-1][1] == big.stat().st_size
    assert all(a[1] == b[0] for a, b in pairwise(ranges))
    expected = landed(reference)
    assert_same(expected, landed(whole))
    assert_same(expected, landed(pieces))
    assert summary.files == 1 and summary.outcomes.total() == len(expected["landing.lab_messages"])


def test_ledger_reconciles_and_a_second_run_reads_nothing(sample_feeds, tmp_path):
    summary = ingest(sample_feeds, tmp_path, workers=2, piece_bytes=4_000)
    with connect(tmp_path) as conn:
        rows = conn.execute(
            """
            SELECT f.file, f.messages, f.accepted + f.duplicates + f.ignored + f.quarantined,
                   count(m.message_index), count(*) FILTER (WHERE m.outcome = 'accepted'), f.accepted,
                   coalesce(sum(m.observations), 0)
            FROM landing.file_versions f LEFT JOIN landing.lab_messages m USING (file, sha256)
            GROUP BY ALL
            """
        ).fetchall()
        for file, read, buckets, ledger, accepted_rows, accepted, _ in rows:
            assert read == buckets == ledger, file
            assert accepted_rows == accepted, file
        landed_observations = conn.execute("SELECT count(*) FROM landing.lab_observations").fetchall()[0][0]
        assert landed_observations == summary.observations == sum(r[6] for r in rows)
    assert ingest(sample_feeds, tmp_path, workers=2).files == 0


MEMORY_PROBE = """
import json, sys, threading, time
from pathlib import Path
import psutil
from hepwatch.ingest.labs import ingest_lab_files
from hepwatch.pseudonym import Pseudonymizer
from hepwatch.warehouse import connect

def main():
    peak = [0]
    done = threading.Event()
    def sample():
        me = psutil.Process()
        while not done.is_set():
            try:
                peak[0] = max(peak[0], me.memory_info().rss + sum(c.memory_info().rss for c in me.children(True)))
            except psutil.Error:
                pass
            time.sleep(0.01)
    threading.Thread(target=sample, daemon=True).start()
    with connect(sys.argv[2]) as conn:
        summary = ingest_lab_files(conn, Path(sys.argv[1]), Pseudonymizer(b"k"), workers=2, piece_bytes=200_000)
    done.set()
    print(json.dumps({"peak": peak[0], "files": summary.files, "messages": summary.outcomes.total()}))

if __name__ == "__main__":
    main()
"""


def test_memory_does_not_grow_with_the_number_of_files(tmp_path):
    """The same 8,000 messages as 20 files and as 200: the peak memory of the ingesting process tree (the
    writer and its readers) stays the same within a tolerance; no timing is asserted."""
    from hepwatch.synthetic import lab_messages as messages

    texts = [m + "\r\n" for m in messages(11, 8_000)]
    peaks = {}
    for files in (20, 200):
        feeds = tmp_path / f"feeds{files}"
        (feeds / "labs").mkdir(parents=True)
        size = len(texts) // files
        for number in range(files):
            (feeds / "labs" / f"part-{number:04d}.hl7").write_text(
                "".join(texts[number * size : (number + 1) * size])
            )
        probe = tmp_path / "probe.py"
        probe.write_text(MEMORY_PROBE)
        result = subprocess.run(
            [sys.executable, str(probe), str(feeds), str(tmp_path / f"warehouse{files}")],
            capture_output=True, text=True, cwd=PROJECT, timeout=300,
            env={**os.environ, "PYTHONPATH": str(PROJECT)},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        assert figures["files"] == files and figures["messages"] == 8_000
        peaks[files] = figures["peak"]
    assert peaks[200] <= peaks[20] * 1.25 + 40e6, {k: round(v / 1e6) for k, v in peaks.items()}


def test_the_reader_processes_are_gone_after_a_run(sample_feeds, tmp_path):
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    ingest(sample_feeds, tmp_path, workers=2)
    time.sleep(0.2)
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    assert after <= before


def test_patient_numbers_follow_patient_keys_whatever_the_identifiers_hold(tmp_path: Path) -> None:
    """The writer looks patients up by their two identifiers joined with U+001F, or as a pair when an
    identifier holds U+001F itself (an HL7 hex escape can write it): either way two patients get the same
    landing.lab_patients number exactly when they get the same patient_key."""
    import polars as pl

    from hepwatch.ingest.piece_columns import PATIENT_SCHEMA

    pairs = [("A\x1fB", "C"), ("X", "B\x1fC"), ("A", "B"), (" A", "B "), ("A", "C")]
    pseudonymizer = Pseudonymizer(KEY)
    with connect(tmp_path / "w") as conn:
        catalog = Catalog(conn, pseudonymizer)
        frame = pl.DataFrame(pairs, schema=PATIENT_SCHEMA, orient="row")
        ids = catalog.patient_ids(conn, frame, pl.Series(range(len(pairs)))).to_list()
        plain = catalog.patient_ids(conn, frame[2:], pl.Series([0, 1, 2])).to_list()  # the joined-text path
        keys = dict(conn.execute("SELECT patient_id, patient_key FROM landing.lab_patients").fetchall())
    expected = [pseudonymizer.patient_key(*pair) for pair in pairs]
    assert [keys[i] for i in ids] == expected
    assert plain == ids[2:]
    assert len(set(ids)) == 4  # (" A", "B ") is ("A", "B"): identifiers are trimmed (contract section 2)
