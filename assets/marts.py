"""Marts analysts query (contract section 4), built in DuckDB SQL from the staged tables."""

from assets.factory import sql_table_asset
from assets.ingest import dosing_feed, lab_feed
from assets.partitions import FIRST_DAY, last_day
from assets.staging import baselines, dosing_records, exposure_episodes, liver_observations
from schemas.marts import (
    AbnormalEnzymeCasesDaily,
    DailySummary,
    DosingDaily,
    Edish,
    FeedFiles,
    LabResults,
    LiverInjuryEpisodes,
    MonitoringGaps,
    Quarantine,
)

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

abnormal_enzyme_cases_daily = sql_table_asset(
    key=["marts", "abnormal_enzyme_cases_daily"],
    model=AbnormalEnzymeCasesDaily,
    deps=[
        lab_results,  # and the 30 days before each case day: the plan (hepwatch.pending) rebuilds them
        baselines,
        exposure_episodes,
        dosing_records,
    ],
    date_column="case_date",
)

daily_summary = sql_table_asset(
    key=["marts", "daily_summary"],
    model=DailySummary,
    deps=[lab_results, abnormal_enzyme_cases_daily],
    date_column="summary_date",
    params=lambda: {"first_day": FIRST_DAY, "last_day": last_day()},
)

edish = sql_table_asset(key=["marts", "edish"], model=Edish, deps=[lab_results])

monitoring_gaps = sql_table_asset(
    key=["marts", "monitoring_gaps"],
    model=MonitoringGaps,
    deps=[lab_results, exposure_episodes, dosing_records],
)

liver_injury_episodes = sql_table_asset(
    key=["marts", "liver_injury_episodes"],
    model=LiverInjuryEpisodes,
    deps=[abnormal_enzyme_cases_daily, lab_results, exposure_episodes, dosing_records],
)
