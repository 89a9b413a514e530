"""Jobs: read new feed files (`ingest_feeds`), build and publish a range of days (`build_days`), or both in
one run (`refresh`, what the sensor and the schedule launch)."""

import dagster as dg

INGEST = dg.AssetSelection.groups("ingest")

ingest_job = dg.define_asset_job(
    "ingest_feeds",
    selection=INGEST,
    description="Read every new or changed feed file into the landing tables; refresh reference tables.",
)

build_days_job = dg.define_asset_job(
    "build_days",
    selection=dg.AssetSelection.all() - INGEST,
    description="Rebuild staged tables and marts for a range of days, then publish analytics.duckdb.",
)

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description="Read new feed files, rebuild the staged tables and marts of a range of days, publish.",
)
