"""Out-of-process runs of the ingest and build jobs (a single-run backfill), and the published tables to compare."""

from datetime import date

import dagster as dg
import duckdb

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
