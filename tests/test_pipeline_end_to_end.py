"""`hepwatch run` (through Dagster) on a small hand-written feed whose expected rows are worked out by hand.

Scenario, patient MRN001 at NORTHLAB unless stated (all values checked against domain.md sections 1-2, 7):
  O1  ALT 100 U/L [0-40] F, then corrected to 150 (C, later MSH-7)   -> one result: 150, x ULN 150/40 = 3.75
  O2  AST 60 U/L [0-40] F, then retracted (X)                        -> no result
  O3  ALP 90 U/L [35-105] P, then final 95 F                         -> 95, x ULN 95/105
  O4  GGT 70 U/L P only                                              -> no result (waits)
  M5  ALT 1.5 ukat/L [0.1-0.6] at EUROLAB, MRN002                    -> 90 U/L, ULN 36, x ULN 2.5
      TBIL 34.2 umol/L [<21]                                         -> 2.0 mg/dL, ULN 21/17.1, x ULN 34.2/21
  M6  ALT 80 U/L, no range, MRN003                                   -> ULN 40 default, x ULN 2.0
      ALT `see comment`                                              -> quarantined non_numeric_value
      AST 50 mmol/s                                                  -> quarantined unknown_unit
  M7  resend of M6 (same MSH-4 + MSH-10) in a later file             -> duplicate
  M8  no PID-3                                                       -> message quarantined
  M9  ADT^A08                                                        -> ignored
  M10 ALT with no OBR-7 and no OBX-14                                -> quarantined missing_collection_time
"""

import shutil
import subprocess
import sys
from datetime import date

import duckdb
import pytest

from assets.marts import PUBLISHED
from pipelines.cli import RunFailed, run
from tests.hl7_samples import obx, oru
from tests.support.hand_feed import ALT, write_feeds


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    feeds = write_feeds(root / "feeds")
    warehouse = root / "warehouse"
    figures = run(str(feeds), str(warehouse))
    return feeds, warehouse, figures


def query(warehouse, sql, params=None):
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def test_every_check_ran_and_only_the_quarantine_rates_warn(built):
    # This feed is mostly bad input on purpose: 1 of 8 messages, 2 of 6 dosing rows and 2 of 7 current liver
    # observations are quarantined, all above the 2% default; every other check passes.
    _, _, figures = built
    checks = figures["checks"]
    assert {key for key, status in checks.items() if status != "passed"} == {
        ("ingest/lab_feed", "quarantine_rate"),
        ("ingest/dosing_feed", "quarantine_rate"),
        ("staging/liver_observations", "quarantine_rate"),
    }
    assert {status for status in checks.values()} == {"passed", "warn"}
    names = {name for _, name in checks}
    assert names == {
        "schema_valid", "no_duplicate_results", "summary_matches_cases", "ingest_reconciles",
        "quarantine_rate", "unmapped_liver_codes", "abnormal_flag_agreement", "case_volume_anomaly",
        "parser_agreement", "new_potential_hys_law", "new_fda_stopping_signals", "new_grade3plus_days",
    }  # fmt: skip


def test_days_cover_every_dated_result_and_dose(built):
    _, _, figures = built
    assert (figures["first_day"], figures["last_day"]) == (date(2026, 6, 1), date(2026, 6, 5))


def test_corrections_retractions_and_preliminaries(built):
    _, warehouse, _ = built
    rows = query(
        warehouse,
        "SELECT analyte, value, uln, x_uln, result_status FROM marts.lab_results "
        "WHERE collected_date = DATE '2026-06-01' ORDER BY analyte",
    )
    assert rows == [
        ("ALP", 95.0, 105.0, pytest.approx(95 / 105), "F"),  # preliminary 90 replaced by final 95
        ("ALT", 150.0, 40.0, 3.75, "C"),  # corrected 100 -> 150; x ULN 150 / 40
    ]  # AST retracted (X), GGT only preliminary: neither counts


def test_si_units_are_converted_with_their_ranges(built):
    _, warehouse, _ = built
    rows = query(
        warehouse,
        "SELECT analyte, value, unit, uln, uln_source, x_uln FROM marts.lab_results "
        "WHERE sending_facility = 'EUROLAB' ORDER BY analyte",
    )
    assert rows == [
        ("ALT", pytest.approx(90.0), "U/L", pytest.approx(36.0), "range", pytest.approx(2.5)),  # x 60
        ("TBIL", pytest.approx(2.0), "mg/dL", pytest.approx(21 / 17.1), "range", pytest.approx(34.2 / 21)),
    ]


def test_default_uln_when_the_lab_sends_no_range(built):
    _, warehouse, _ = built
    rows = query(
        warehouse,
        "SELECT value, uln, uln_source, x_uln FROM marts.lab_results WHERE collected_date = DATE '2026-06-05'",
    )
    assert rows == [(80.0, 40.0, "default", 2.0)]


def test_every_message_is_accounted_for_per_file(built):
    _, warehouse, _ = built
    rows = query(
        warehouse,
        "SELECT file, messages, accepted, duplicates, ignored, quarantined, status FROM marts.feed_files "
        "WHERE kind = 'labs' ORDER BY file",
    )
    assert rows == [
        ("labs/eurolab/2026-06-03.hl7", 1, 1, 0, 0, 0, "ok"),
        ("labs/northlab/2026-06-01.hl7", 2, 2, 0, 0, 0, "ok"),
        ("labs/northlab/2026-06-05.hl7", 4, 2, 0, 1, 1, "partly_quarantined"),
        ("labs/northlab/2026-06-07.hl7", 1, 0, 1, 0, 0, "ok"),
    ]


def test_quarantine_says_why(built):
    _, warehouse, _ = built
    rows = query(warehouse, "SELECT kind, reason, analyte FROM marts.quarantine ORDER BY kind, reason")
    assert rows == [
        ("dosing_row", "bad_number", None),
        ("dosing_row", "unsupported_unit", None),
        ("lab_message", "missing_patient_id", None),
        ("lab_observation", "missing_collection_time", "ALT"),
        ("lab_observation", "non_numeric_value", "ALT"),
        ("lab_observation", "unknown_unit", "AST"),
    ]


def test_dosing_daily_in_mg(built):
    _, warehouse, _ = built
    rows = query(
        warehouse, "SELECT dose_date, substance, doses, total_mg FROM marts.dosing_daily ORDER BY 1, 2"
    )
    assert rows == [
        (date(2026, 6, 1), "kratom", 2, 2500.0),  # 2 g + 500 mg
        (date(2026, 6, 1), "methadone", 1, 60.0),
        (date(2026, 6, 2), "kratom", 1, 3000.0),  # Mitragyna speciosa is kratom
    ]


def test_results_and_doses_of_one_patient_share_a_key(built):
    _, warehouse, _ = built
    rows = query(
        warehouse,
        "SELECT count(DISTINCT patient_key) FROM marts.lab_results r "
        "JOIN marts.dosing_daily d USING (patient_key)",
    )
    assert rows == [(2,)]  # MRN001 and MRN002 have both labs and doses


def test_analytics_database_holds_no_identifier(built):
    _, warehouse, _ = built
    identifiers = [
        "MRN001",
        "MRN002",
        "MRN003",
        "TESTSURNAME",
        "TESTGIVEN",
        "19800101",
        "TESTADDRESS",
        "HWCLINIC",
    ]
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as conn:
        columns = conn.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
            "WHERE data_type = 'VARCHAR' AND NOT internal AND database_name = 'analytics'"
        ).fetchall()
        for schema, table, column in columns:
            for identifier in identifiers:
                hits = conn.execute(
                    f'SELECT count(*) FROM {schema}.{table} WHERE "{column}" ILIKE ?', [f"%{identifier}%"]
                ).fetchall()[0][0]
                assert hits == 0, f"{identifier} found in {schema}.{table}.{column}"
    # ... while the restricted store keeps the map and is private to its owner.
    assert oct((warehouse / "phi.duckdb").stat().st_mode & 0o777) == "0o600"


def test_every_published_table_and_column_is_commented(built):
    _, warehouse, _ = built
    missing = query(
        warehouse,
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
        "AND (comment IS NULL OR comment = '')",
    )
    assert missing == []
    tables = query(warehouse, "SELECT table_name FROM duckdb_tables() WHERE comment IS NULL OR comment = ''")
    assert tables == []


def published_tables(warehouse) -> dict[str, list[tuple]]:
    tables = query(warehouse, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'")
    return {t: query(warehouse, f"SELECT * FROM marts.{t} ORDER BY ALL") for (t,) in tables}


def test_rerun_over_unchanged_feeds_changes_nothing(built, tmp_path):
    feeds, warehouse, _ = built
    copy = tmp_path / "warehouse"
    shutil.copytree(warehouse, copy)
    before = published_tables(copy)
    assert set(before) == set(PUBLISHED)
    run(str(feeds), str(copy))
    assert published_tables(copy) == before
    assert query(copy, "SELECT sum(messages) FROM marts.feed_files") == [(1 + 2 + 4 + 1 + 6,)]


def test_a_late_result_changes_its_day_and_the_days_whose_windows_hold_it_and_nothing_else(built, tmp_path):
    # MRN003 has a case day on 06-05 (ALT 2.0 x ULN). A late ALT 3.0 x ULN (120 / 40) collected on 06-03
    # adds a result and a case day on 06-03, which makes 06-05 no longer a new case (06-03 lies in
    # [06-05 - 30, 06-05 - 1]); the daily summary of both days changes; nothing else does.
    feeds, warehouse, _ = built
    feeds_copy, warehouse_copy = tmp_path / "feeds", tmp_path / "warehouse"
    shutil.copytree(feeds, feeds_copy)
    shutil.copytree(warehouse, warehouse_copy)
    before = published_tables(warehouse_copy)
    late = oru(
        "N-13", [obx(1, ALT, "120")], mrn="MRN003", collected="20260603070000", placer="O13", filler="F13"
    )
    (feeds_copy / "labs" / "northlab" / "2026-06-20.hl7").write_text(late)
    run(str(feeds_copy), str(warehouse_copy))
    after = published_tables(warehouse_copy)
    changed = {t for t in before if before[t] != after[t]}
    # ... and MRN003's injury episode now starts on 06-03 instead of 06-05
    assert changed == {
        "lab_results", "abnormal_enzyme_cases_daily", "daily_summary", "feed_files", "liver_injury_episodes",
    }  # fmt: skip
    added = set(after["lab_results"]) - set(before["lab_results"])
    assert [(r[1], r[5], r[6]) for r in added] == [("ALT", date(2026, 6, 3), 120.0)]
    assert set(before["lab_results"]) <= set(after["lab_results"])
    days = query(
        warehouse_copy,
        "SELECT case_date, alt_xuln, alt_grade, new_case FROM marts.abnormal_enzyme_cases_daily "
        "WHERE patient_key = (SELECT patient_key FROM marts.lab_results WHERE value = 120.0) ORDER BY 1",
    )
    assert days == [(date(2026, 6, 3), 3.0, 1, True), (date(2026, 6, 5), 2.0, 1, False)]
    summary_changed = {row[0] for row in set(after["daily_summary"]) ^ set(before["daily_summary"])}
    assert summary_changed == {date(2026, 6, 3), date(2026, 6, 5)}
    unchanged_cases = [r for r in before["abnormal_enzyme_cases_daily"] if r[0] != date(2026, 6, 5)]
    assert set(unchanged_cases) <= set(after["abnormal_enzyme_cases_daily"])


def test_a_late_correction_in_a_new_file_replaces_the_old_value(built, tmp_path):
    feeds, warehouse, _ = built
    feeds_copy, warehouse_copy = tmp_path / "feeds", tmp_path / "warehouse"
    shutil.copytree(feeds, feeds_copy)
    shutil.copytree(warehouse, warehouse_copy)
    late = oru(
        "N-11", [obx(1, ALT, "120", status="C")], collected="20260601083000", message_time="20260610090000"
    )
    (feeds_copy / "labs" / "northlab" / "2026-06-10.hl7").write_text(late)
    run(str(feeds_copy), str(warehouse_copy))
    rows = query(warehouse_copy, "SELECT value FROM marts.lab_results WHERE analyte = 'ALT' AND code = '1742-6' "
                 "AND collected_date = DATE '2026-06-01'")  # fmt: skip
    assert rows == [(120.0,)]


def test_missing_feeds_directory_fails_with_a_reason(tmp_path):
    with pytest.raises(RunFailed, match="does not exist"):
        run(str(tmp_path / "nowhere"), str(tmp_path / "warehouse"))


def test_an_analyst_holding_the_database_open_does_not_block_a_run(built, tmp_path):
    feeds, warehouse, _ = built
    copy = tmp_path / "warehouse"
    shutil.copytree(warehouse, copy)
    analyst = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"c = duckdb.connect({str(copy / 'analytics.duckdb')!r}, read_only=True)\n"
            "print(c.execute('SELECT count(*) FROM marts.lab_results').fetchall()[0][0], flush=True)\n"
            "sys.stdin.readline()\n"
            "print(c.execute('SELECT count(*) FROM marts.lab_results').fetchall()[0][0], flush=True)\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        before = analyst.stdout.readline().strip()
        (feeds_copy := tmp_path / "feeds").mkdir()
        shutil.copytree(feeds, feeds_copy, dirs_exist_ok=True)
        (feeds_copy / "labs" / "northlab" / "2026-06-11.hl7").write_text(
            oru("N-12", [obx(1, ALT, "55")], collected="20260604083000", placer="ORD12", filler="FIL12")
        )
        run(str(feeds_copy), str(copy))  # must not raise while the analyst holds the old file open
        out, _ = analyst.communicate("\n", timeout=30)
    finally:
        analyst.kill()
    assert out.strip() == before  # the analyst's open handle still reads the complete previous state
    assert query(copy, "SELECT count(*) FROM marts.lab_results") == [(int(before) + 1,)]
