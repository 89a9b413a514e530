"""Marts analysts query (contract section 4), built in DuckDB SQL from the staged tables."""

from assets.factory import sql_table_asset
from assets.ingest import dosing_feed, lab_feed
from assets.partitions import FIRST_DAY, last_day
from assets.staging import dosing_records, liver_observations
from schemas.marts import DosingDaily, FeedFiles, LabResults, Quarantine

lab_results = sql_table_asset(
    key=["marts", "lab_results"],
    model=LabResults,
    deps=[liver_observations],
    date_column="collected_date",
)

dosing_daily = sql_table_asset(
    key=["marts", "dosing_daily"],
    model=DosingDaily,
    deps=[dosing_records],
    date_column="dose_date",
)

feed_files = sql_table_asset(key=["marts", "feed_files"], model=FeedFiles, deps=[lab_feed, dosing_feed])

quarantine = sql_table_asset(
    key=["marts", "quarantine"],
    model=Quarantine,
    deps=[lab_feed, dosing_feed, liver_observations],
    params=lambda: {"first_day": FIRST_DAY, "last_day": last_day()},
)
