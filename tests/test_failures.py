"""One line for every failure, the cause first and what to do (contract section 1: non-zero with a one-line
reason). Each case runs the real `hepwatch` command in its own process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import run
from tests.support.hand_feed import write_feeds
from tests.support.webserver import BIN, PROJECT

HEPWATCH = BIN / "hepwatch"
ENV = dict(os.environ)  # with the tests' pseudonymization key (conftest)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("failures")
    feeds = write_feeds(root / "feeds")
    run(str(feeds), str(root / "warehouse"))
    return feeds, root / "warehouse"


@pytest.fixture
def copy(built, tmp_path):
    feeds, warehouse = built
    shutil.copytree(feeds, tmp_path / "feeds")
    shutil.copytree(warehouse, tmp_path / "warehouse")
    return tmp_path / "feeds", tmp_path / "warehouse"


def hepwatch_run(feeds: Path, warehouse: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(HEPWATCH), "run", "--feeds", str(feeds), "--warehouse", str(warehouse)],
        cwd=PROJECT, env=ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


@pytest.mark.parametrize("name", ["hepwatch.duckdb", "phi.duckdb"])
def test_a_file_another_process_holds_is_named_with_its_pid(copy, name):
    feeds, warehouse = copy
    (feeds / "labs" / "northlab" / "new.hl7").write_text(
        (feeds / "labs" / "northlab" / "2026-06-05.hl7").read_text()
    )
    # this test process holds it: for the internal database as a writer would, for the restricted store as
    # a reader of the quarantine payloads would, and keeps holding it past the run's few seconds of waiting
    with duckdb.connect(str(warehouse / name), read_only=name == "phi.duckdb"):
        done = hepwatch_run(feeds, warehouse)
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith(f"hepwatch run failed: {name} is held by another process (PID {os.getpid()}, ")
    assert "wait for it to end, or stop it, and run again" in line


def test_a_reader_that_lets_go_within_seconds_does_not_fail_the_run(copy):
    feeds, warehouse = copy
    reader = subprocess.Popen(
        [str(BIN / "python"), "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
         "print('open', flush=True); time.sleep(3)", str(warehouse / "phi.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
    done = hepwatch_run(feeds, warehouse)
    reader.wait(timeout=30)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_quarantine_command_prints_payloads_and_lets_go(copy):
    _, warehouse = copy
    done = subprocess.run(
        [str(HEPWATCH), "quarantine", "--warehouse", str(warehouse), "--kind", "dosing_row"],
        cwd=PROJECT, env=ENV, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # write_feeds quarantines D5 (dose 'abc') and D6 (unit 'tablespoon'): both printed with their raw row
    assert '"dose_amount":"abc"' in done.stdout and '"dose_unit":"tablespoon"' in done.stdout
    assert done.stderr.strip() == "2 quarantined"
    with duckdb.connect(str(warehouse / "phi.duckdb")):  # nothing holds it any more
        pass


@pytest.mark.parametrize(("signum", "after"), [(signal.SIGINT, "[1/2] ingest"), (signal.SIGTERM, None)])
def test_an_interrupted_run_says_so_in_one_line_and_exits_130(copy, signum, after):
    feeds, warehouse = copy
    (feeds / "labs" / "northlab" / "new.hl7").write_text(
        (feeds / "labs" / "northlab" / "2026-06-05.hl7").read_text()
    )
    process = subprocess.Popen(
        [str(HEPWATCH), "run", "--feeds", str(feeds), "--warehouse", str(warehouse)],
        cwd=PROJECT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    if after is None:
        _wait_for_handler(process.pid, signum)  # then during start-up (importing Dagster, DuckDB)
    else:
        assert process.stdout.readline().startswith(after)  # during the run
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert "interrupted" in one_line(stderr)
    assert hepwatch_run(feeds, warehouse).returncode == 0  # and the next run completes


def _wait_for_handler(pid: int, signum: int, timeout: float = 30.0) -> None:
    """Until the process catches `signum` (SigCgt in /proc/PID/status): the command's first moment, after
    the interpreter itself has started (on a loaded machine that alone can take more than half a second)."""
    status = Path(f"/proc/{pid}/status")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        caught = next(
            (line.split()[1] for line in status.read_text().splitlines() if line.startswith("SigCgt:")), "0"
        )
        if int(caught, 16) >> (signum - 1) & 1:
            return
        time.sleep(0.01)
    raise AssertionError(f"hepwatch did not install its handler of signal {signum} within {timeout} s")


def test_a_full_disk_is_named_in_one_line(built, tmp_path):
    feeds, _ = built
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(small)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        done = hepwatch_run(feeds, small / "warehouse")
        assert done.returncode == 1
        line = one_line(done.stderr)
        assert line.startswith(
            f"hepwatch run failed: no space left on the file system of {small / 'warehouse'}"
        )
        assert f"(mounted at {small})" in line
    finally:
        subprocess.run(["umount", str(small)], check=False)
