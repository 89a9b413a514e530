"""The hepwatch code location: every asset, check, job, schedule and sensor, assembled in one place."""

import dagster as dg

from assets import feed_checks, ingest, mart_checks, marts, publish, report, staging
from assets.resources import resources_from
from hepwatch.settings import settings
from pipelines.alerting import alert_on_failed_runs, alert_on_signals
from pipelines.automation import daily_build, daily_refresh, feed_file_sensor, publish_after_partial_builds
from pipelines.jobs import build_days_job, ingest_job, refresh_job


def build_definitions(resources: dict[str, dg.ConfigurableResource]) -> dg.Definitions:
    """The code location with these resources (`hepwatch run` gives its own directories)."""
    return dg.Definitions(
        assets=dg.load_assets_from_modules([ingest, staging, marts, publish, report]),
        asset_checks=dg.load_asset_checks_from_modules([mart_checks, feed_checks]),
        jobs=[ingest_job, build_days_job, refresh_job],
        sensors=[feed_file_sensor, publish_after_partial_builds, alert_on_signals, alert_on_failed_runs],
        schedules=[daily_refresh, daily_build],
        resources=resources,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The UI's, the daemon's and `dg`'s: resources from the environment (hepwatch.settings)."""
    return build_definitions(resources_from(settings()))
