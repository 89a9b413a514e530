"""Marts analysts query (contract section 4), built in DuckDB SQL from the staged tables.

`PUBLISHED` is the one list of them: publishing copies these tables into analytics.duckdb (and the marts
target), the report follows them, and the tests take theirs from it. A new mart is one `mart(...)` below,
with its SQL file and its Pandera model.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dagster as dg
import pandera.polars as pa

from assets.factory import WindowCheck, sql_table_asset
from assets.ingest import dosing_feed, lab_feed
from assets.partitions import first_day, last_day
from assets.signal_checks import new_fda_stopping_signals, new_grade3plus_days, new_potential_hys_law
from assets.staging import baselines, dosing_records, exposure_episodes, liver_observations
from hepwatch.warehouse import read_sql
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
from schemas.signals import ActionList, StoppingSignals


@dataclass(frozen=True)
class PublishedTable:
    """A mart as analysts get it: `marts.<name>` in analytics.duckdb, with the columns of its model."""

    asset: dg.AssetsDefinition
    model: type[pa.DataFrameModel]
    order: str  # the order its rows are written in
    date_column: str | None  # a daily-partitioned mart's: only its rebuilt days are published again


PUBLISHED: dict[str, PublishedTable] = {}


def mart(
    name: str,
    model: type[pa.DataFrameModel],
    deps: Sequence[dg.AssetsDefinition],
    order: str,
    date_column: str | None = None,
    params: Callable[[], dict[str, object]] = dict,
    window_checks: Sequence[tuple[dg.AssetCheckSpec, WindowCheck]] = (),
    query: Callable[[], str] | None = None,
) -> dg.AssetsDefinition:
    """The asset that builds `marts.<name>` from `assets/sql/<name>.sql` (or `query`), entered in PUBLISHED."""
    asset = sql_table_asset(
        key=["marts", name],
        model=model,
        deps=deps,
        date_column=date_column,
        params=params,
        window_checks=window_checks,
        query=query,
    )
    PUBLISHED[name] = PublishedTable(asset, model, order, date_column)
    return asset


def plausible_days() -> dict[str, object]:
    return {"first_day": first_day(), "last_day": last_day()}


lab_results = mart(
    "lab_results",
    LabResults,
    deps=[liver_observations],
    order="collected_at, patient_key, analyte, value",
    date_column="collected_date",
)

dosing_daily = mart(
    "dosing_daily",
    DosingDaily,
    deps=[dosing_records],
    order="dose_date, patient_key, substance",
    date_column="dose_date",
)

feed_files = mart("feed_files", FeedFiles, deps=[lab_feed, dosing_feed], order="file")

quarantine = mart(
    "quarantine",
    Quarantine,
    deps=[lab_feed, dosing_feed, liver_observations],
    order="kind, file, line, control_id, record_id, analyte, reason",
    params=plausible_days,
)

abnormal_enzyme_cases_daily = mart(
    "abnormal_enzyme_cases_daily",
    AbnormalEnzymeCasesDaily,
    deps=[
        lab_results,  # and the 30 days before each case day: the plan (hepwatch.pending) rebuilds them
        baselines,
        exposure_episodes,
        dosing_records,
    ],
    order="case_date, patient_key",
    date_column="case_date",
    window_checks=[new_potential_hys_law, new_grade3plus_days],
)

daily_summary = mart(
    "daily_summary",
    DailySummary,
    deps=[lab_results, abnormal_enzyme_cases_daily],
    order="summary_date",
    date_column="summary_date",
    params=plausible_days,
)

edish = mart("edish", Edish, deps=[lab_results], order="patient_key")

monitoring_gaps = mart(
    "monitoring_gaps",
    MonitoringGaps,
    deps=[lab_results, exposure_episodes, dosing_records],
    order="patient_key",
)

liver_injury_episodes = mart(
    "liver_injury_episodes",
    LiverInjuryEpisodes,
    deps=[abnormal_enzyme_cases_daily, lab_results, exposure_episodes, dosing_records],
    order="patient_key, episode_no",
)

stopping_signals = mart(
    "stopping_signals",
    StoppingSignals,
    deps=[lab_results],
    order="signal_date, patient_key, signal",
    date_column="signal_date",
    window_checks=[new_fda_stopping_signals],
)

action_list = mart(
    "action_list",
    ActionList,
    deps=[
        abnormal_enzyme_cases_daily,
        stopping_signals,
        monitoring_gaps,
        lab_results,
        exposure_episodes,
        dosing_records,
    ],
    order="rank",
    params=lambda: {"start": None, "end": None},  # as of the last date in the data
    query=lambda: read_sql("action_list.sql"),
)
