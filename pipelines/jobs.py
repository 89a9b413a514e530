"""Jobs: read new feed files (`ingest_feeds`), build and publish a range of days (`build_days`), or read new
files and rebuild what is not partitioned by day (`refresh`).

`hepwatch run` launches `ingest_feeds`, then `build_days` for each range of the plan (hepwatch.pending). The
sensor and the schedule follow the same plan: `refresh` when feed files are new or changed, then `build_days`
for the ranges that reading them made pending.
"""

import dagster as dg

INGEST = dg.AssetSelection.groups("ingest")
DAILY = dg.AssetSelection.tag("partitioning", "daily")

ingest_job = dg.define_asset_job(
    "ingest_feeds",
    selection=INGEST,
    description="Read every new or changed feed file into the landing tables; refresh reference tables.",
)

build_days_job = dg.define_asset_job(
    "build_days",
    selection=dg.AssetSelection.all() - INGEST,
    description="Rebuild staged tables and marts for a range of days, the whole-history marts, the reports, "
    "and publish analytics.duckdb. A run that rebuilds every daily asset of a day clears it from the plan.",
)

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all() - DAILY,
    description="Read new or changed feed files, rebuild the whole-history marts (ledger, quarantine, eDISH, "
    "monitoring gaps, episodes), write the latest report, publish analytics.duckdb. The days the files "
    "changed are left pending for `build_days`.",
)
