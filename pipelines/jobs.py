"""Jobs: read new feed files (`ingest_feeds`), then build and publish a range of days (`build_days`)."""

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
