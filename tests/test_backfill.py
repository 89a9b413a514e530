"""A backfill over more than 10 daily partitions through the multiprocess executor, writers sharing the
`hepwatch_warehouse` pool (limit 1), gives the same marts as one in-process `hepwatch run`."""

import os
from datetime import date

import dagster as dg
import pytest

from hepwatch.synthetic import generate_feeds
from pipelines.cli import run
from tests.support.backfill import MULTIPROCESS, run_range, tables

FIRST = date(2026, 6, 1)


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    out = tmp_path_factory.mktemp("backfill") / "feeds"
    generate_feeds(out, patients=25, days=21, seed=11, start=FIRST)
    return out


@pytest.mark.slow
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
