"""Staged data as Parquet day partitions (HEPWATCH_STAGE_URI): the same marts as with DuckDB staging; a
day's directory holds that day's rows only; re-runs replace days instead of appending; several writers at
once (processes building different days, a multiprocess backfill) give what one writer gives."""

from __future__ import annotations

import multiprocessing
import shutil
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.partitions import buildable_days
from hepwatch import stage
from hepwatch.pending import data_span
from hepwatch.settings import STAGE_ENV, settings
from hepwatch.synthetic import generate_feeds
from hepwatch.warehouse import connect
from pipelines.cli import run
from tests.support.backfill import run_range, tables

FIRST = date(2026, 6, 1)
# Step processes started afresh (spawn): a forkserver started by an earlier test in this process would hand
# its steps that test's environment (HEPWATCH_WAREHOUSE_DIR, HEPWATCH_STAGE_URI).
SPAWNED = {"execution": {"config": {"multiprocess": {"max_concurrent": 2, "start_method": {"spawn": {}}}}}}


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parquet") / "feeds"
    generate_feeds(out, patients=25, days=21, seed=11, start=FIRST)
    return out


@pytest.fixture(scope="module")
def duckdb_staged(feeds: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: a run with the staged tables in DuckDB (HEPWATCH_STAGE_URI unset)."""
    warehouse = tmp_path_factory.mktemp("duckdb-staged") / "warehouse"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HEPWATCH_PSEUDONYM_KEY", "parquet-test")
        patch.delenv(STAGE_ENV, raising=False)
        run(str(feeds), str(warehouse))
    return warehouse


def staged_rows(warehouse: Path, table: str, arrival: bool = True) -> list[tuple]:
    """A staged table's rows; without `arrival`, less the message arrival number (files read in another
    order arrive in another order)."""
    columns = "*" if arrival or table != "liver_observations" else "* EXCLUDE (arrival_seq)"
    with duckdb.connect(str(warehouse / "hepwatch.duckdb"), read_only=True) as conn:
        return conn.execute(f"SELECT {columns} FROM staging.{table} ORDER BY ALL").fetchall()


@pytest.mark.parametrize("location", ["directory", "object storage"])
def test_parquet_staging_publishes_the_same_marts(
    location: str, feeds: Path, duckdb_staged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a directory, and on object storage (fsspec's in-memory file system stands in for s3:// or gs://:
    the same calls, no rename, DuckDB reading and writing through fsspec)."""
    monkeypatch.setenv("HEPWATCH_PSEUDONYM_KEY", "parquet-test")
    uri = str(tmp_path / "stage") if location == "directory" else f"memory://{tmp_path.name}/stage"
    monkeypatch.setenv(STAGE_ENV, uri)
    where = stage.stage_location(settings().stage_uri)
    assert where is not None and where.local == (location == "directory")
    warehouse = tmp_path / "warehouse"
    run(str(feeds), str(warehouse))
    assert tables(warehouse) == tables(duckdb_staged)

    with duckdb.connect(str(warehouse / "hepwatch.duckdb"), read_only=True) as conn:
        kinds = dict(
            conn.execute(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'staging' "
                "AND table_catalog = current_database()"
            ).fetchall()
        )
        landed = {t: conn.execute(f"SELECT count(*) FROM landing.{t}").fetchone()[0] for t in stage.LANDING}
    assert kinds["liver_observations"] == kinds["dosing_records"] == "VIEW"
    with duckdb.connect() as reader:
        where.register(reader)
        for table, column in stage.STAGED.items():
            days = sorted(where.fs.glob(where.path("staging", table, f"{column}=*")))
            assert len(days) >= 15
            for day in days:  # a day's directory holds that day's rows and no other
                found = reader.sql(
                    f"SELECT DISTINCT {column} FROM read_parquet('{where.url(day)}/*.parquet')"
                ).fetchall()
                assert found == [(date.fromisoformat(day.rpartition("=")[2]),)]
            staged = reader.sql(
                f"SELECT * FROM read_parquet('{where.url(where.path('staging', table))}/*/*.parquet') ORDER BY ALL"
            ).fetchall()
            assert staged == staged_rows(duckdb_staged, table)  # DuckDB staging's rows, row for row
        for table, count in landed.items():  # every landing row was exported, once
            exported = reader.sql(
                f"SELECT count(*) FROM read_parquet('{where.url(where.path('landing', table))}/*.parquet')"
            ).fetchall()
            assert exported == [(count,)], table
    if location == "directory":  # the warehouse's own views read the same files
        for table in stage.STAGED:
            assert staged_rows(warehouse, table) == staged_rows(duckdb_staged, table)


def test_new_days_replace_partitions_instead_of_appending(
    feeds: Path, duckdb_staged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The feeds of the first 14 days, then all: only the later days' partitions are written again, and
    the result is a from-scratch run's, without a row twice."""
    monkeypatch.setenv("HEPWATCH_PSEUDONYM_KEY", "parquet-test")
    stage_dir = tmp_path / "stage"
    monkeypatch.setenv(STAGE_ENV, str(stage_dir))
    cut = FIRST + timedelta(days=14)
    early = tmp_path / "early"
    for path in feeds.rglob("*"):
        if path.is_file() and not any(str(cut + timedelta(days=k)) in path.name for k in range(30)):
            (early / path.relative_to(feeds)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, early / path.relative_to(feeds))
    assert sum(1 for _ in early.rglob("*.hl7")) < sum(1 for _ in feeds.rglob("*.hl7"))
    warehouse = tmp_path / "warehouse"
    run(str(early), str(warehouse))
    first_day = stage_dir / "staging" / "dosing_records" / f"dose_date={FIRST.isoformat()}" / "data_0.parquet"
    written = first_day.stat().st_mtime_ns

    for path in feeds.rglob("*"):
        if path.is_file() and not (early / path.relative_to(feeds)).exists():
            (early / path.relative_to(feeds)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, early / path.relative_to(feeds))
    figures = run(str(early), str(warehouse))
    assert 0 < figures["built_days"] < figures["days"]  # the later days only
    assert first_day.stat().st_mtime_ns == written  # a day before the new files is left as it was
    assert tables(warehouse) == tables(duckdb_staged)
    for table in stage.STAGED:
        assert staged_rows(warehouse, table, arrival=False) == staged_rows(
            duckdb_staged, table, arrival=False
        )


def _build_range(location: str, start: date, end: date) -> int:
    """One writer: staging.liver_observations for [start, end), as its asset builds it."""
    from assets.ingest import load_reference_tables
    from assets.tables import bind, sql

    query = sql("liver_observations")
    where = stage.stage_location(location)
    assert where is not None
    with stage.connect(where) as conn:
        load_reference_tables(conn)
        bound = bind(query, {"start": start, "end": end})
        return stage.replace_days(conn, where, "liver_observations", query, start, end, bound)


def test_writers_building_different_days_at_once_give_one_writers_partitions(
    feeds: Path, duckdb_staged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Landing exported once; then four processes build four ranges of days at the same time, and the
    partitions they leave are, row for row, DuckDB staging's table."""
    monkeypatch.setenv("HEPWATCH_PSEUDONYM_KEY", "parquet-test")
    stage_dir = tmp_path / "stage"
    monkeypatch.setenv(STAGE_ENV, str(stage_dir))
    where = stage.stage_location(settings().stage_uri)
    assert where is not None
    with duckdb.connect(str(duckdb_staged / "hepwatch.duckdb")) as conn:
        stage.export_landing(conn, where)
        conn.execute("DELETE FROM landing.stage_exports")  # leave the reference warehouse as it was
    with duckdb.connect(str(duckdb_staged / "hepwatch.duckdb"), read_only=True) as conn:
        first, last = conn.execute(
            "SELECT min(collected_date), max(collected_date) + 1 FROM staging.liver_observations"
        ).fetchone()
    step = (last - first) / 4
    bounds = [first, first + step, first + 2 * step, first + 3 * step, last]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        counts = pool.starmap(_build_range, [(str(stage_dir), a, b) for a, b in pairwise(bounds)])
    rows = duckdb.sql(
        f"SELECT * FROM read_parquet('{stage_dir}/staging/liver_observations/*/*.parquet') ORDER BY ALL"
    ).fetchall()
    assert rows == staged_rows(duckdb_staged, "liver_observations")
    assert sum(counts) == len(rows)


@pytest.mark.slow
def test_a_multiprocess_backfill_with_parquet_staging_matches_one_writer(
    feeds: Path, duckdb_staged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dagster's multiprocess executor, two steps at a time, every step taking its turn in the
    `hepwatch_warehouse` pool; each step process reads the stage location from its environment."""
    monkeypatch.setenv("HEPWATCH_PSEUDONYM_KEY", "parquet-test")
    monkeypatch.setenv(STAGE_ENV, str(tmp_path / "stage"))
    monkeypatch.setenv("HEPWATCH_FEEDS_DIR", str(feeds))
    monkeypatch.setenv("HEPWATCH_WAREHOUSE_DIR", str(tmp_path / "parallel"))
    with connect(duckdb_staged) as conn:
        days = data_span(conn, buildable_days())  # the days the reference run built
    assert days is not None
    first, last = days
    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 1}}}) as instance:
        assert run_range(instance, first, last, SPAWNED).success
    assert tables(tmp_path / "parallel") == tables(duckdb_staged)
