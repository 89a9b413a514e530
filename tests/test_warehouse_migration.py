"""A warehouse of the older layout (observations in one wide table), or before landing.lab_patients
(patient_key on every landing.lab_obx row), is moved, on first connect, into the normalised landing tables
behind the landing.lab_observations view, and reads back row for row."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from hepwatch.ingest.labs import ingest_lab_files
from hepwatch.pseudonym import Pseudonymizer
from hepwatch.warehouse import connect
from tests.conftest import PROJECT

SAMPLE_LABS = sorted((PROJECT / "sample_feeds" / "labs").rglob("*.hl7"))[:20]


def _ingested(tmp_path: Path) -> tuple[Path, list[tuple], list[str]]:
    """A warehouse of 20 sample lab files in today's layout, and its landing.lab_observations (rows, columns)."""
    feeds = tmp_path / "feeds" / "labs"
    feeds.mkdir(parents=True)
    for path in SAMPLE_LABS:
        shutil.copy(path, feeds / path.name)
    warehouse = tmp_path / "warehouse"
    with connect(warehouse) as conn:
        ingest_lab_files(conn, feeds.parent, Pseudonymizer(b"k"), workers=0)
        expected = conn.execute(
            "SELECT * FROM landing.lab_observations ORDER BY arrival_seq, obx_index"
        ).fetchall()
        columns = [d[0] for d in conn.description]
    assert len(expected) > 100
    return warehouse, expected, columns


def test_a_wide_observation_table_is_migrated_row_for_row(tmp_path: Path) -> None:
    warehouse, expected, columns = _ingested(tmp_path)

    # Turn it back into the older layout: one wide table (keys as 40 hex digits, as they were).
    conn = duckdb.connect(str(warehouse / "hepwatch.duckdb"))
    conn.execute(
        "CREATE TABLE landing.wide AS SELECT * REPLACE (observation_key || 'abcd1234' AS observation_key) "
        "FROM landing.lab_observations"
    )
    conn.execute("DROP VIEW landing.lab_observations")
    for table in ("lab_obx", "lab_orders", "lab_descriptions", "lab_patients"):
        conn.execute(f"DROP TABLE landing.{table}")
    conn.execute("ALTER TABLE landing.wide RENAME TO lab_observations")
    conn.close()

    with connect(warehouse) as conn:
        kind = conn.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_schema = 'landing' "
            "AND table_name = 'lab_observations' AND table_catalog = current_database()"
        ).fetchall()
        migrated = conn.execute(
            "SELECT * FROM landing.lab_observations ORDER BY arrival_seq, obx_index"
        ).fetchall()
        assert [d[0] for d in conn.description] == columns
        descriptions = conn.execute("SELECT count(*) FROM landing.lab_descriptions").fetchall()[0][0]
    assert kind == [("VIEW",)]
    assert migrated == expected  # the key's first 32 hex digits are kept, so every key is what it was
    assert descriptions < len(expected) / 2  # each distinct description once


def test_patient_keys_on_every_observation_row_are_numbered_once(tmp_path: Path) -> None:
    warehouse, expected, columns = _ingested(tmp_path)
    patients = len({row[columns.index("patient_key")] for row in expected})

    # The layout before landing.lab_patients: the key itself on every landing.lab_obx row.
    conn = duckdb.connect(str(warehouse / "hepwatch.duckdb"))
    conn.execute(
        "CREATE TABLE landing.keyed AS SELECT o.* EXCLUDE (patient_id), p.patient_key "
        "FROM landing.lab_obx AS o JOIN landing.lab_patients AS p USING (patient_id)"
    )
    conn.execute("DROP VIEW landing.lab_observations")
    conn.execute("DROP VIEW landing.lab_observations_ids")
    conn.execute("DROP TABLE landing.lab_obx")
    conn.execute("DROP TABLE landing.lab_patients")
    conn.execute("ALTER TABLE landing.keyed RENAME TO lab_obx")
    conn.close()

    with connect(warehouse) as conn:
        migrated = conn.execute(
            "SELECT * FROM landing.lab_observations ORDER BY arrival_seq, obx_index"
        ).fetchall()
        numbered = conn.execute(
            "SELECT count(*), count(DISTINCT patient_key) FROM landing.lab_patients"
        ).fetchall()
        columns = {row[0] for row in conn.execute("DESCRIBE landing.lab_obx").fetchall()}
    assert migrated == expected
    assert numbered == [(patients, patients)]  # each key once
    assert "patient_key" not in columns and "patient_id" in columns
