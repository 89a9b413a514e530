"""Staged tables: the current version of each observation and dosing record, by clinical date."""

from assets.factory import sql_table_asset
from assets.ingest import dosing_feed, lab_feed, reference_tables
from assets.parser_agreement import parser_agreement, parser_agreement_spec
from schemas.staging import Baselines, DosingRecords, ExposureEpisodes, LiverObservations

liver_observations = sql_table_asset(
    key=["staging", "liver_observations"],
    model=LiverObservations,
    deps=[lab_feed, reference_tables],
    date_column="collected_date",
    window_checks=[(parser_agreement_spec(["staging", "liver_observations"]), parser_agreement)],
)

dosing_records = sql_table_asset(
    key=["staging", "dosing_records"],
    model=DosingRecords,
    deps=[dosing_feed],
    date_column="dose_date",
)

exposure_episodes = sql_table_asset(
    key=["staging", "exposure_episodes"],
    model=ExposureEpisodes,
    deps=[dosing_records, reference_tables],
)

baselines = sql_table_asset(
    key=["staging", "baselines"],
    model=Baselines,
    deps=[liver_observations, dosing_records, reference_tables],
)
