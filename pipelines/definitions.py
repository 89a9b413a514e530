"""The hepwatch code location: every asset, check, job, schedule and sensor, assembled in one place."""

import dagster as dg

from assets import feed_checks, ingest, mart_checks, marts, publish, staging
from pipelines.jobs import build_days_job, ingest_job
from pipelines.resources import default_resources


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=dg.load_assets_from_modules([ingest, staging, marts, publish]),
        asset_checks=dg.load_asset_checks_from_modules([mart_checks, feed_checks]),
        jobs=[ingest_job, build_days_job],
        resources=default_resources(),
    )
