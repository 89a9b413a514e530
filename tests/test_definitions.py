"""The code location loads, and its asset graph and checks are what the contract and the UI promise."""

from datetime import date

import dagster as dg
import duckdb
import polars as pl

from assets.checks import SCHEMA_VALID, column_schema, schema_valid_table
from assets.resources import Feeds, Monitoring, Warehouse
from pipelines.definitions import defs
from schemas.marts import LabResults

EXPECTED_ASSETS = {
    "ingest/reference_tables": set(),
    "ingest/lab_feed": set(),
    "ingest/dosing_feed": set(),
    "staging/liver_observations": {"ingest/lab_feed", "ingest/reference_tables"},
    "staging/dosing_records": {"ingest/dosing_feed"},
    "marts/lab_results": {"staging/liver_observations"},
    "marts/dosing_daily": {"staging/dosing_records"},
    "marts/feed_files": {"ingest/lab_feed", "ingest/dosing_feed"},
    "marts/quarantine": {"ingest/lab_feed", "ingest/dosing_feed", "staging/liver_observations"},
    "staging/exposure_episodes": {"staging/dosing_records", "ingest/reference_tables"},
    "staging/baselines": {"staging/liver_observations", "staging/dosing_records", "ingest/reference_tables"},
    "marts/abnormal_enzyme_cases_daily": {
        "marts/lab_results",
        "staging/baselines",
        "staging/exposure_episodes",
        "staging/dosing_records",
    },
    "marts/daily_summary": {"marts/lab_results", "marts/abnormal_enzyme_cases_daily"},
    "marts/edish": {"marts/lab_results"},
    "marts/monitoring_gaps": {"marts/lab_results", "staging/exposure_episodes", "staging/dosing_records"},
    "marts/liver_injury_episodes": {
        "marts/abnormal_enzyme_cases_daily",
        "marts/lab_results",
        "staging/exposure_episodes",
        "staging/dosing_records",
    },
    "marts/stopping_signals": {"marts/lab_results"},
    "marts/action_list": {
        "marts/abnormal_enzyme_cases_daily",
        "marts/stopping_signals",
        "marts/monitoring_gaps",
        "marts/lab_results",
        "staging/exposure_episodes",
        "staging/dosing_records",
    },
    "reports/daily_report": {
        "marts/stopping_signals",
        "marts/action_list",
        "marts/lab_results",
        "marts/dosing_daily",
        "marts/abnormal_enzyme_cases_daily",
        "marts/daily_summary",
        "marts/edish",
        "marts/monitoring_gaps",
        "marts/liver_injury_episodes",
        "marts/feed_files",
        "marts/quarantine",
        "published/analytics_database",
    },
    "published/analytics_database": {
        "marts/lab_results",
        "marts/dosing_daily",
        "marts/feed_files",
        "marts/quarantine",
        "marts/abnormal_enzyme_cases_daily",
        "marts/daily_summary",
        "marts/edish",
        "marts/monitoring_gaps",
        "marts/liver_injury_episodes",
        "marts/stopping_signals",
        "marts/action_list",
    },
}


def test_asset_graph_snapshot():
    graph = defs().resolve_asset_graph()
    actual = {
        key.to_user_string(): {parent.to_user_string() for parent in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }
    assert actual == EXPECTED_ASSETS


def test_every_staged_and_mart_table_has_a_blocking_schema_check():
    graph = defs().resolve_asset_graph()
    checked = {
        key.asset_key.to_user_string()
        for key in graph.asset_check_keys
        if key.name == SCHEMA_VALID and graph.get_check_spec(key).blocking
    }
    tables = {k for k in EXPECTED_ASSETS if k.startswith(("staging/", "marts/"))}
    assert tables <= checked


def test_publish_and_report_follow_any_upstream_update_and_daily_assets_are_tagged():
    graph = defs().resolve_asset_graph()
    automated = {
        key.to_user_string(): graph.get(key).automation_condition.get_label()
        for key in graph.get_all_asset_keys()
        if graph.get(key).automation_condition is not None
    }
    assert automated == {
        "published/analytics_database": "after any upstream update",
        "reports/daily_report": "after any upstream update",
    }
    daily = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).tags.get("partitioning") == "daily"
    }
    partitioned = {
        key.to_user_string() for key in graph.get_all_asset_keys() if graph.get(key).partitions_def
    }
    assert (
        daily
        == partitioned
        == {
            "staging/liver_observations",
            "staging/dosing_records",
            "marts/lab_results",
            "marts/dosing_daily",
            "marts/abnormal_enzyme_cases_daily",
            "marts/daily_summary",
            "marts/stopping_signals",
        }
    )
    assert all(graph.get(key).owners for key in graph.get_all_asset_keys())


def test_daily_assets_are_partitioned_and_run_ranges_in_one_run():
    graph = defs().resolve_asset_graph()
    for key in ("staging/liver_observations", "marts/lab_results", "marts/dosing_daily"):
        node = graph.get(dg.AssetKey.from_user_string(key))
        # one partition per day with data (dynamic), not one per calendar day
        assert isinstance(node.partitions_def, dg.DynamicPartitionsDefinition), key
        assert node.partitions_def.name == "clinical_days", key
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key


def test_schema_valid_fails_with_the_failing_rows_in_metadata():
    bad = pl.DataFrame(
        {
            "patient_key": ["pk_" + "0" * 20, "MRN12345"],
            "analyte": ["ALT", "ALT"],
            "code": ["1742-6", "1742-6"],
            "code_system": ["LN", "LN"],
            "collected_at": [None, None],
            "collected_date": [None, None],
            "value": [50.0, -1.0],
            "unit": ["U/L", "U/L"],
            "comparator": [None, None],
            "uln": [40.0, 40.0],
            "uln_source": ["range", "range"],
            "x_uln": [1.25, None],
            "abnormal_flags": [None, None],
            "result_status": ["F", "P"],
            "sending_facility": ["LAB", "LAB"],
        },
        schema_overrides={
            "collected_at": pl.Datetime("us"),
            "collected_date": pl.Date,
            "comparator": pl.Utf8,
            "abnormal_flags": pl.Utf8,
        },
    )
    conn = duckdb.connect()
    conn.register("bad_rows", bad)
    conn.execute("CREATE TABLE lab_results AS SELECT * FROM bad_rows")
    result = schema_valid_table(LabResults, conn, "lab_results")
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    rules = result.metadata["failures_by_rule"].value
    assert "patient_key" in rules and "result_status" in rules and "value" in rules


def test_column_schema_comes_from_the_model_with_descriptions():
    schema = column_schema(LabResults)
    assert [c.name for c in schema.columns][:3] == ["patient_key", "analyte", "code"]
    assert all(c.description for c in schema.columns)


def test_materialize_reports_row_count_and_column_schema_on_every_asset(tmp_path):
    from tests.support.hand_feed import write_feeds

    feeds = write_feeds(tmp_path / "feeds")
    definitions = defs()
    assets = list(definitions.assets)
    resources = {
        "feeds": Feeds(directory=str(feeds)),
        "warehouse": Warehouse(directory=str(tmp_path / "warehouse")),
        "monitoring": Monitoring(),
    }
    instance = dg.DagsterInstance.ephemeral()
    # the ingestion makes the days with data partitions; then every asset over a range of them
    ingest = [a for a in assets if a.group_names_by_key and set(a.group_names_by_key.values()) == {"ingest"}]
    ingested = dg.materialize(ingest, resources=resources, instance=instance)
    assert ingested.success
    lab_feed = next(
        e.materialization.metadata
        for e in ingested.get_asset_materialization_events()
        if e.asset_key.path == ["ingest", "lab_feed"]
    )
    import duckdb

    with duckdb.connect(str(tmp_path / "warehouse" / "hepwatch.duckdb"), read_only=True) as conn:
        observations = conn.execute("SELECT count(*) FROM landing.lab_observations").fetchall()[0][0]
    assert observations > 0 and lab_feed["observations_total"].value == observations
    assert lab_feed["new_observations"].value == observations  # the first ingestion: all of them new
    # results collected June 1st, 3rd and 5th, doses June 1st and 2nd: nothing on June 4th
    with_data = ["2026-06-01", "2026-06-02", "2026-06-03", "2026-06-05"]
    assert instance.get_dynamic_partitions("clinical_days") == with_data
    result = dg.materialize(
        assets,
        resources=resources,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-06-01",
            "dagster/asset_partition_range_end": "2026-06-05",
        },
    )
    assert result.success
    seen = {}
    graph = definitions.resolve_asset_graph()
    for event in result.get_asset_materialization_events():
        # the column schema on the materialization, or on the definition (the SQL-built tables: the same for
        # every day, so not repeated in each day's materialization of a ranged run)
        metadata = {**graph.get(event.asset_key).metadata, **event.materialization.metadata}
        seen[event.asset_key.to_user_string()] = {"dagster/row_count", "dagster/column_schema"} <= set(
            metadata
        )
    assert set(seen) == set(EXPECTED_ASSETS)
    assert all(seen.values()), [key for key, ok in seen.items() if not ok]
    partitions = {
        e.partition
        for e in result.get_asset_materialization_events()
        if e.asset_key.path[-1] == "lab_results"
    }
    assert partitions == set(with_data)
    # each partition's row count is that day's own, not the window's
    import duckdb

    with duckdb.connect(str(tmp_path / "warehouse" / "analytics.duckdb"), read_only=True) as conn:
        per_day = dict(
            conn.execute(
                "SELECT strftime(collected_date, '%Y-%m-%d'), count(*) FROM marts.lab_results GROUP BY 1"
            ).fetchall()
        )
    reported = {
        e.partition: e.materialization.metadata["dagster/row_count"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.path[-1] == "lab_results"
    }
    assert reported == {day: per_day.get(day, 0) for day in reported}
    assert len(set(reported.values())) > 1  # the days differ, so a window-wide figure would show here


def test_schema_valid_window_validates_in_chunks_of_whole_days(tmp_path):
    import duckdb

    from assets.checks import schema_valid_window
    from schemas.marts import DosingDaily

    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute(
        "CREATE TABLE d (patient_key VARCHAR, dose_date DATE, substance VARCHAR, doses INTEGER, total_mg DOUBLE)"
    )
    key = "pk_" + "a" * 20
    conn.execute(
        "INSERT INTO d SELECT ?, DATE '2026-06-01' + CAST(i AS INTEGER), 'kratom', 1, 3000 FROM range(10) t(i)",
        [key],
    )
    start, end = date(2026, 6, 1), date(2026, 6, 11)
    whole = schema_valid_window(DosingDaily, conn, "d", "dose_date", start, end)
    chunked = schema_valid_window(DosingDaily, conn, "d", "dose_date", start, end, chunk_rows=3)
    assert whole.passed and chunked.passed
    assert whole.metadata["rows_checked"].value == chunked.metadata["rows_checked"].value == 10
    # a bad value on the 9th day is found in its chunk
    conn.execute("UPDATE d SET substance = 'tea' WHERE dose_date = DATE '2026-06-09'")
    bad = schema_valid_window(DosingDaily, conn, "d", "dose_date", start, end, chunk_rows=3)
    assert not bad.passed and "substance" in bad.metadata["failures_by_rule"].value
    conn.execute("UPDATE d SET substance = 'kratom'")
    # (patient_key, dose_date, substance) is unique per the model: a copy of day 1's row on day 1 again is
    # caught within its chunk
    conn.execute("INSERT INTO d SELECT * FROM d WHERE dose_date = DATE '2026-06-01'")
    again = schema_valid_window(DosingDaily, conn, "d", "dose_date", start, end, chunk_rows=3)
    assert not again.passed
    conn.close()


def test_schema_valid_window_checks_a_models_unique_columns_across_chunks(tmp_path):
    import duckdb
    import pandera.polars as pa

    from assets.checks import schema_valid_window

    class Keyed(pa.DataFrameModel):
        key: str = pa.Field(unique=True)
        day: pl.Date

    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute(
        "CREATE TABLE k AS SELECT 'k' || i AS key, DATE '2026-06-01' + CAST(i AS INTEGER) AS day FROM range(6) t(i)"
    )
    start, end = date(2026, 6, 1), date(2026, 6, 7)
    assert schema_valid_window(Keyed, conn, "k", "day", start, end, chunk_rows=2).passed
    conn.execute(
        "INSERT INTO k VALUES ('k0', DATE '2026-06-06')"
    )  # day 1's key again on day 6: another chunk
    found = schema_valid_window(Keyed, conn, "k", "day", start, end, chunk_rows=2)
    assert not found.passed
    assert "unique across the window" in found.metadata["failures_by_rule"].value
    assert "k0" in found.metadata["first_failing_cases"].value
    conn.close()


def test_uniqueness_rules_are_checked_in_duckdb_within_one_chunk_and_over_a_whole_table(tmp_path):
    import duckdb
    import pandera.polars as pa

    from assets.checks import schema_valid_table, schema_valid_window

    class Episodes(pa.DataFrameModel):
        patient_key: str
        episode_no: pl.Int32 = pa.Field(ge=1)
        day: pl.Date

        class Config:
            unique = ("patient_key", "episode_no")

    conn = duckdb.connect(str(tmp_path / "u.duckdb"))
    conn.execute(
        "CREATE TABLE e AS SELECT * FROM (VALUES ('p1', 1, DATE '2026-06-01'), ('p1', 2, DATE '2026-06-01'), "
        "('p2', 1, DATE '2026-06-02')) t(patient_key, episode_no, day)"
    )
    start, end = date(2026, 6, 1), date(2026, 6, 3)
    assert schema_valid_table(Episodes, conn, "e").passed
    assert schema_valid_window(Episodes, conn, "e", "day", start, end).passed
    # p1's episode 2 twice, on the same day (one chunk); and a rule Pandera checks on the rows: episode 0
    conn.execute("INSERT INTO e VALUES ('p1', 2, DATE '2026-06-01'), ('p3', 0, DATE '2026-06-02')")
    for found in (
        schema_valid_table(Episodes, conn, "e"),
        schema_valid_window(Episodes, conn, "e", "day", start, end),
    ):
        assert not found.passed
        rules = found.metadata["failures_by_rule"].value
        assert "patient_key, episode_no" in rules and "unique" in rules
        assert "episode_no" in rules and "greater_than_or_equal_to(1)" in rules
        cases = found.metadata["first_failing_cases"].value
        assert "('p1', 2)" in cases
        assert found.metadata["failure_cases"].value == 2  # the pair once, episode 0 once
    conn.close()
