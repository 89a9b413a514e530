"""A backfill over more than 10 daily partitions through the multiprocess executor, writers sharing the
`hepwatch_warehouse` pool (limit 1), gives the same marts as one in-process `hepwatch run`."""

import os
from datetime import date

import dagster as dg
import duckdb
import pytest

from hepwatch.synthetic import generate_feeds
from pipelines.cli import run

FIRST = date(2026, 6, 1)
# Two step processes at a time, forked from a server that has already imported the code location.
MULTIPROCESS = {
    "execution": {
        "config": {
            "multiprocess": {
                "max_concurrent": 2,
                "start_method": {"forkserver": {"preload_modules": ["pipelines.definitions"]}},
            }
        }
    }
}


def ingest_job() -> dg.JobDefinition:
    from pipelines.definitions import defs

    return defs().resolve_job_def("ingest_feeds")


def build_days_job() -> dg.JobDefinition:
    from pipelines.definitions import defs

    return defs().resolve_job_def("build_days")


def run_range(instance: dg.DagsterInstance, first: date, last: date, run_config: dict):
    """`ingest_feeds`, then `build_days` over the days [first, last] as one run (a single-run backfill), both
    out of process. Returns the build's result."""
    ingested = dg.execute_job(dg.reconstructable(ingest_job), instance=instance, run_config=run_config)
    assert ingested.success
    return dg.execute_job(
        dg.reconstructable(build_days_job),
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
        run_config=run_config,
    )


def tables(warehouse) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as conn:
        names = [n for (n,) in conn.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        # feed_files records when each file was first read, which differs between two warehouses by design
        return {
            n: conn.execute(f"SELECT * EXCLUDE (first_ingested_at) FROM marts.{n} ORDER BY ALL").fetchall()
            if n == "feed_files"
            else conn.execute(f"SELECT * FROM marts.{n} ORDER BY ALL").fetchall()
            for n in names
        }


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    out = tmp_path_factory.mktemp("backfill") / "feeds"
    generate_feeds(out, patients=25, days=21, seed=11, start=FIRST)
    return out


def test_multiprocess_backfill_matches_an_in_process_run(feeds, tmp_path, monkeypatch):
    monkeypatch.setenv("HEPWATCH_PSEUDONYM_KEY", "backfill-test")
    sequential = tmp_path / "sequential"
    figures = run(str(feeds), str(sequential))
    assert figures["days"] >= 10

    parallel = tmp_path / "parallel"
    monkeypatch.setenv("HEPWATCH_FEEDS_DIR", str(feeds))
    monkeypatch.setenv("HEPWATCH_WAREHOUSE_DIR", str(parallel))
    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 1}}}) as instance:
        # One run over every day (a single-run backfill), steps in parallel processes.
        first, last = figures["first_day"], figures["last_day"]
        results = [run_range(instance, first, last, MULTIPROCESS)]
        assert all(r.success for r in results)
        materialized = {
            e.partition
            for r in results
            for e in r.get_asset_materialization_events()
            if e.asset_key.path == ["marts", "abnormal_enzyme_cases_daily"]
        }
        assert len(materialized) == figures["days"] >= 10  # one partition per day with data
    published = tables(sequential)
    with_rows = {str(row[5]) for row in published["lab_results"]} | {
        str(row[1]) for row in published["dosing_daily"]
    }
    assert with_rows <= materialized and all(
        first.isoformat() <= day <= last.isoformat() for day in materialized
    )
    assert tables(parallel) == published
    assert os.path.exists(parallel / "analytics.duckdb")
