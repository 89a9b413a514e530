"""The hepwatch code location: every asset, check, job, schedule and sensor, assembled in one place."""

import dagster as dg

from assets import feed_checks, ingest, mart_checks, marts, publish, report, staging
from assets.resources import default_resources
from pipelines.automation import daily_build, daily_refresh, feed_file_sensor, publish_after_partial_builds
from pipelines.jobs import build_days_job, ingest_job, refresh_job


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=dg.load_assets_from_modules([ingest, staging, marts, publish, report]),
        asset_checks=dg.load_asset_checks_from_modules([mart_checks, feed_checks]),
        jobs=[ingest_job, build_days_job, refresh_job],
        sensors=[feed_file_sensor, publish_after_partial_builds],
        schedules=[daily_refresh, daily_build],
        resources=default_resources(),
    )
