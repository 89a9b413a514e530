"""A run that is killed, or stopped by a blocking check, leaves the published database as it was.

README and contract section 4: `analytics.duckdb` is written as a new file and renamed over the old one at
the end of each successful run, so nobody ever sees half a run; a lab file version is landed in one
transaction, so a crash leaves none of it and the next run reads it again.

A warehouse is built once from `write_feeds`; each test works on its own copy, adds a lab file holding one
new ALT result, and runs `hepwatch run` in a subprocess that is SIGKILLed at a known point:
  build    the real `hepwatch` command, killed as soon as it prints `[2/2] build` (ingest done, build begun)
  ingest   inside the landing transaction of the new file (after its observations are inserted, before COMMIT)
  publish  once the new analytics file is fully written, just before it is renamed over the old one
The two last points are reached through a small harness that holds the process there (it wraps one call,
then calls the same `pipelines.cli.main`), so the kill lands there every time instead of by timing.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import duckdb
import pandera.polars as pa
import pytest

import assets.factory
from pipelines.cli import RunFailed, run
from schemas.marts import LabResults
from tests.hl7_samples import obx, oru
from tests.support.hand_feed import ALT, write_feeds

PROJECT = Path(__file__).resolve().parent.parent
HEPWATCH = Path(sys.executable).parent / "hepwatch"  # the project's .venv/bin/hepwatch
RUN_TIMEOUT = 180

NEW_FILE = "labs/northlab/2026-06-20.hl7"
NEW_RESULT = oru(
    "N-20", [obx(1, ALT, "77")], mrn="MRN003", collected="20260604090000", placer="ORD20", filler="FIL20"
)
NEW_ROW = ("ALT", "2026-06-04", 77.0)  # (analyte, collected_date, value) in marts.lab_results
INTERNAL_FILES = {
    "analytics.duckdb",
    "hepwatch.duckdb",
    "phi.duckdb",
    "hepwatch.duckdb.wal",
    "phi.duckdb.wal",
    "reports",  # the daily reports (a folder)
    "plan.json",  # the plan, as the sensor reads it
    "published.duckdb",  # what was last published
    "published.duckdb.wal",
}
PUBLISH_TEMP = re.compile(r"\.analytics-[0-9a-f]+\.duckdb\.tmp(\.wal)?|\.plan\.json\.\d+\.tmp")
VOLATILE_COLUMNS = {"feed_files": "first_ingested_at"}  # when a file was read differs between warehouses

HARNESS = """
import os, sys, time

point, new_file = sys.argv[1], sys.argv[2]

def hold(where):
    print(f"holding {where}", flush=True)
    time.sleep(600)

if point == "ingest":
    import hepwatch.ingest.labs as labs
    insert_frame = labs.insert_frame

    def insert_then_hold(conn, table, frame, *args, **kwargs):
        insert_frame(conn, table, frame, *args, **kwargs)
        if table == "landing.lab_obx" and frame.height:
            hold("in the landing transaction of " + new_file)

    labs.insert_frame = insert_then_hold
elif point == "publish":
    replace = os.replace

    def hold_then_replace(src, dst, *args, **kwargs):
        if os.path.basename(dst) == "analytics.duckdb":
            hold("before renaming " + os.path.basename(src))
        return replace(src, dst, *args, **kwargs)

    os.replace = hold_then_replace
elif point == "strict":
    # marts/lab_results validated against a stricter model: no value above 50 (the new file holds ALT 77, on
    # a day the run rebuilds)
    import pandera.polars as pa
    import assets.factory
    from schemas.marts import LabResults

    class StricterLabResults(LabResults):
        value: float = pa.Field(ge=0, le=50)

    real = assets.factory.schema_valid_window  # marts/lab_results is daily-partitioned
    assets.factory.schema_valid_window = lambda model, *args: real(
        StricterLabResults if model is LabResults else model, *args
    )

from pipelines.cli import main
sys.exit(main(sys.argv[3:]))
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published(warehouse: Path, drop_volatile: bool = False) -> dict[str, list[tuple]]:
    """Every table of schema marts in analytics.duckdb, opened read-only, rows sorted."""
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as conn:
        tables = conn.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
        content = {}
        for (table,) in tables:
            volatile = VOLATILE_COLUMNS.get(table) if drop_volatile else None
            columns = f"* EXCLUDE ({volatile})" if volatile else "*"
            content[table] = conn.execute(f"SELECT {columns} FROM marts.{table} ORDER BY ALL").fetchall()
    return content


def new_rows(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as conn:
        return conn.execute(
            "SELECT analyte, strftime(collected_date, '%Y-%m-%d'), value FROM marts.lab_results "
            "WHERE value = 77"
        ).fetchall()


def run_in_process(feeds: Path, warehouse: Path) -> None:
    """`run` sets HEPWATCH_FEEDS_DIR / HEPWATCH_WAREHOUSE_DIR for the definitions; put them back after."""
    saved = {name: os.environ.get(name) for name in ("HEPWATCH_FEEDS_DIR", "HEPWATCH_WAREHOUSE_DIR")}
    try:
        run(str(feeds), str(warehouse))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def hepwatch_run(feeds: Path, warehouse: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(HEPWATCH), "run", "--feeds", str(feeds), "--warehouse", str(warehouse)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


def kill_when(command: list[str], marker: str, log: Path) -> list[str]:
    """Start `command` in its own session with umask 0, SIGKILL it once a stdout line starts with `marker`."""
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command,
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
            umask=0,  # the most permissive umask: what hepwatch creates must be private all the same
        )
    lines: queue.Queue[str | None] = queue.Queue()

    def read(stdout: IO[str]) -> None:
        for line in stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    assert process.stdout is not None
    threading.Thread(target=read, args=(process.stdout,), daemon=True).start()
    seen: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=RUN_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"no {marker!r} within {RUN_TIMEOUT} s; stdout {seen}; {log.read_text()[-2000:]}")
            if line is None:
                pytest.fail(f"exited ({process.wait()}) before {marker!r}; {seen}; {log.read_text()[-2000:]}")
            seen.append(line)
            if line.startswith(marker):
                break
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: only the process this test started
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, (process.returncode, seen)
    return seen


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """A warehouse built once from write_feeds, and what one built from scratch with the new file holds."""
    root = tmp_path_factory.mktemp("interrupted")
    feeds = write_feeds(root / "feeds")
    warehouse = root / "warehouse"
    run_in_process(feeds, warehouse)
    feeds_with_new = root / "feeds_with_new"
    shutil.copytree(feeds, feeds_with_new)
    (feeds_with_new / NEW_FILE).write_text(NEW_RESULT)
    reference = root / "reference"
    run_in_process(feeds_with_new, reference)
    assert new_rows(reference) == [NEW_ROW]
    return feeds, warehouse, published(reference, drop_volatile=True)


@pytest.fixture
def copy(baseline, tmp_path):
    """This test's own feeds (with the new lab file) and warehouse, and what was published before."""
    feeds, warehouse, _ = baseline
    shutil.copytree(feeds, tmp_path / "feeds")
    shutil.copytree(warehouse, tmp_path / "warehouse")
    (tmp_path / "feeds" / NEW_FILE).write_text(NEW_RESULT)
    analytics = tmp_path / "warehouse" / "analytics.duckdb"
    return tmp_path / "feeds", tmp_path / "warehouse", published(tmp_path / "warehouse"), sha256(analytics)


@pytest.mark.parametrize("point", ["build", "ingest", "publish"])
def test_a_killed_run_leaves_the_published_database_intact_and_the_next_run_completes(
    point, copy, baseline, tmp_path
):
    feeds, warehouse, before, before_hash = copy
    args = ["run", "--feeds", str(feeds), "--warehouse", str(warehouse)]
    if point == "build":
        seen = kill_when([str(HEPWATCH), *args], "[2/2] build", tmp_path / "stderr.log")
        assert seen[0].startswith("[1/2] ingest")
    else:
        harness = [sys.executable, "-c", HARNESS, point, NEW_FILE, *args]
        seen = kill_when(harness, "holding", tmp_path / "stderr.log")
        assert seen[-1].startswith("holding")

    analytics = warehouse / "analytics.duckdb"
    assert sha256(analytics) == before_hash  # not a byte of the published file changed
    assert published(warehouse) == before  # and it opens read-only with every table as it was
    assert new_rows(warehouse) == []
    # Restricted stays restricted, whatever the kill left: the warehouse directory is the owner's alone, the
    # restricted store and its write-ahead log are 0600 from their first byte, nothing is world-writable.
    assert warehouse.stat().st_mode & 0o777 == 0o700
    for path in warehouse.rglob("*"):
        mode = path.stat().st_mode & 0o777
        assert not mode & 0o002, (path.name, oct(mode))
        if path.name.startswith("phi.duckdb"):
            assert mode == 0o600, (path.name, oct(mode))
    left = {path.name for path in warehouse.iterdir()}
    strays = left - INTERNAL_FILES
    assert all(PUBLISH_TEMP.fullmatch(name) for name in strays), strays
    if point == "publish":
        assert strays, "killed just before the rename, the fully written new file is left as a temp file"

    # The next run succeeds over whatever the kill left, and publishes the new result exactly once.
    rerun = hepwatch_run(feeds, warehouse)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert new_rows(warehouse) == [NEW_ROW]
    _, _, reference = baseline
    assert published(warehouse, drop_volatile=True) == reference  # same as a warehouse never interrupted
    with duckdb.connect(str(analytics), read_only=True) as conn:
        files = conn.execute("SELECT messages, accepted FROM marts.feed_files WHERE file = ?", [NEW_FILE])
        assert files.fetchall() == [(1, 1)]  # the new file was read exactly once, even when killed mid-ingest


def test_a_negative_value_is_quarantined_not_fatal(copy):
    # A negative ALT is a number, but no liver-panel quantity is below zero: the observation is quarantined
    # as negative_value and the run succeeds (contract section 3: bad input is never fatal).
    feeds, warehouse, _, _ = copy
    (feeds / NEW_FILE).write_text(
        oru("N-21", [obx(1, ALT, "-5")], mrn="MRN003", collected="20260604090000", placer="O21", filler="F21")
    )
    result = hepwatch_run(feeds, warehouse)
    assert result.returncode == 0, result.stderr[-3000:]
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as conn:
        held = conn.execute("SELECT reason, file FROM marts.quarantine WHERE control_id = 'N-21'").fetchall()
        assert held == [("negative_value", NEW_FILE)]
        assert conn.execute("SELECT count(*) FROM marts.lab_results WHERE value < 0").fetchall() == [(0,)]


def test_a_blocking_check_failure_exits_non_zero_with_a_one_line_reason(copy):
    # hepwatch run with marts/lab_results validated against a stricter model (the harness's "strict" point):
    # the blocking schema_valid check fails, nothing downstream is built or published, and the user reads
    # one line saying why, last.
    feeds, warehouse, before, before_hash = copy
    result = subprocess.run(
        [sys.executable, "-c", HARNESS, "strict", NEW_FILE, "run", "--feeds", str(feeds),
         "--warehouse", str(warehouse)],
        cwd=PROJECT, capture_output=True, text=True, timeout=RUN_TIMEOUT,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "hepwatch run failed: blocking check schema_valid failed on marts/lab_results; see its metadata in the UI"
    ]  # nothing else: Dagster's own log lines stay in the instance unless --verbose
    assert "[2/2] build" in result.stdout and "results:" not in result.stdout  # no summary of a failed run
    assert sha256(warehouse / "analytics.duckdb") == before_hash
    assert published(warehouse) == before


class StricterLabResults(LabResults):
    """LabResults, but no value above 50: the new file holds an ALT of 77, on a day the run rebuilds."""

    value: float = pa.Field(ge=0, le=50)


def test_a_blocking_check_failure_on_a_mart_names_the_check_and_the_asset(copy, monkeypatch):
    # The same path on marts/lab_results, with a stricter model substituted for its schema_valid check.
    feeds, warehouse, before, before_hash = copy
    real = assets.factory.schema_valid_window  # marts/lab_results is daily-partitioned

    def stricter(model, *args):
        return real(StricterLabResults if model is LabResults else model, *args)

    monkeypatch.setattr(assets.factory, "schema_valid_window", stricter)
    for name in ("HEPWATCH_FEEDS_DIR", "HEPWATCH_WAREHOUSE_DIR"):
        monkeypatch.setenv(name, "")  # run() sets them; restored after the test
    with pytest.raises(RunFailed) as failure:
        run(str(feeds), str(warehouse))
    assert str(failure.value) == (
        "blocking check schema_valid failed on marts/lab_results; see its metadata in the UI"
    )
    assert sha256(warehouse / "analytics.duckdb") == before_hash
    assert published(warehouse) == before
