"""`hepwatch worklist`: the action list with identifiers, for the clinic, written only beside phi.duckdb.

On the hand-written feed (tests/support/hand_feed.py) the last date in the data is 2026-06-05. In the 7 days
up to it: MRN001's ALT of 150 U/L [0-40] on 2026-06-01 is 3.75 x ULN, CTCAE grade 2, its first case day
(a rising grade 2); MRN002's ALT of 2.5 x ULN (grade 1) with TBIL 34.2 umol/L [<21] = 1.63 x ULN (grade 2) on
2026-06-03 is a grade-2 case day, its first. Both are priority 3, MRN001 first (worst enzyme 3.75 > 2.5).
MRN003's ALT of 2 x ULN is grade 1. Nobody is past due for monitoring (both kratom users were tested within a
week of their first dose, and 14 days have not passed).
"""

import csv
import stat
import subprocess
import sys

import duckdb
import pytest

from pipelines.runner import run
from tests.hl7_samples import CLINIC
from tests.support.hand_feed import write_feeds


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("worklist")
    feeds = write_feeds(root / "feeds")
    run(str(feeds), str(root / "warehouse"))
    return root / "warehouse"


def worklist(warehouse, *args: str) -> subprocess.CompletedProcess:
    """`hepwatch worklist` as a clinician runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "worklist", "--warehouse", str(warehouse), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_worklist_names_the_patients_in_priority_order(warehouse):
    done = worklist(warehouse)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "hepwatch worklist 2026-06-05: 2 patients, most urgent first"
    assert lines[2].split()[:4] == ["1", "3", CLINIC, "MRN001"]
    assert lines[3].split()[:4] == ["2", "3", CLINIC, "MRN002"]
    assert "rising grade 2 (2026-06-01)" in lines[2] and "rising grade 2 (2026-06-03)" in lines[3]


def test_the_csv_is_the_owners_alone_beside_the_restricted_store(warehouse):
    assert worklist(warehouse, "--date", "2026-06-05").returncode == 0
    written = warehouse / "worklist-2026-06-05.csv"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    with written.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["rank"], r["patient_id"], r["id_authority"]) for r in rows] == [
        ("1", "MRN001", CLINIC),
        ("2", "MRN002", CLINIC),
    ]
    assert float(rows[0]["latest_alt_xuln"]) == 3.75


def test_an_earlier_day_has_its_own_list_and_no_identifier_leaves_the_restricted_store(warehouse):
    done = worklist(warehouse, "--date", "2026-06-02")
    assert (
        done.returncode == 0
        and "1 patient, most urgent first" in done.stdout.splitlines()[0]
        and "MRN001" in done.stdout
    )
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as conn:
        published = conn.execute("SELECT * FROM marts.action_list").fetchall()
    assert len(published) == 2 and "MRN00" not in repr(published)
    for page in (warehouse / "reports").glob("*.html"):
        assert "MRN00" not in page.read_text()
