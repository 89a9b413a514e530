"""The monitors' asset checks: each passes on good data and fails, with its severity and metadata, on data
made to break it (contract section 5). Checks are called as plain functions on a real DuckDB warehouse."""

import shutil

import dagster as dg
import pytest

from assets.feed_checks import (
    abnormal_flag_agreement,
    case_volume_anomaly,
    dosing_feed_reconciles,
    lab_feed_quarantine_rate,
    lab_feed_reconciles,
    observation_quarantine_rate,
    unmapped_liver_codes,
)
from assets.mart_checks import no_duplicate_results, summary_matches_cases
from assets.resources import Monitoring, Warehouse
from pipelines.cli import run
from tests.hl7_samples import obx, oru
from tests.sql_harness import add_results, build, open_scratch
from tests.support.hand_feed import write_feeds

ALT = "1742-6^ALT^LN"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("checks")
    feeds = write_feeds(root / "feeds")
    run(str(feeds), str(root / "warehouse"))
    return feeds, root / "warehouse"


@pytest.fixture
def warehouse(built, tmp_path):
    copy = tmp_path / "warehouse"
    shutil.copytree(built[1], copy)
    return Warehouse(directory=str(copy))


def test_ingest_reconciles_passes_then_fails_when_a_landed_message_goes_missing(warehouse):
    assert lab_feed_reconciles(warehouse=warehouse).passed
    assert dosing_feed_reconciles(warehouse=warehouse).passed
    with warehouse.connect() as conn:
        conn.execute("DELETE FROM landing.lab_messages WHERE control_id = 'N-9'")  # the ignored ADT
        conn.execute("DELETE FROM landing.dosing_rows WHERE record_id = 'D4'")
    labs = lab_feed_reconciles(warehouse=warehouse)
    assert not labs.passed and labs.severity == dg.AssetCheckSeverity.ERROR
    assert labs.metadata["not_reconciling"].value == 1
    assert "labs/northlab/2026-06-05.hl7" in labs.metadata["first_not_reconciling"].value
    dosing = dosing_feed_reconciles(warehouse=warehouse)
    assert not dosing.passed and "dosing/2026-06.csv" in dosing.metadata["first_not_reconciling"].value


def test_quarantine_rate_uses_the_configured_limit(warehouse):
    # 1 of the 8 lab messages is quarantined: 12.5%
    default = lab_feed_quarantine_rate(warehouse=warehouse, monitoring=Monitoring())
    assert not default.passed and default.severity == dg.AssetCheckSeverity.WARN
    assert default.metadata["share"].value == 0.125 and default.metadata["limit"].value == 0.02
    assert lab_feed_quarantine_rate(
        warehouse=warehouse, monitoring=Monitoring(quarantine_rate_max=0.2)
    ).passed
    # Current liver observations: ALT 150 and ALP 95 (06-01; AST retracted, GGT only preliminary), ALT and
    # TBIL at EUROLAB, and at MRN003 ALT 80, ALT `see comment`, AST in mmol/s: 2 of 7 quarantined.
    observations = observation_quarantine_rate(
        warehouse=warehouse, monitoring=Monitoring(quarantine_rate_max=0.3)
    )
    assert observations.passed and observations.metadata["share"].value == round(2 / 7, 4)


def test_unmapped_liver_codes_names_the_code(tmp_path):
    feeds = write_feeds(tmp_path / "feeds")
    (feeds / "labs" / "northlab" / "2026-06-02.hl7").write_text(
        oru("N-20", [obx(1, "ALTX^Alanine aminotransferase, new method^L", "30")], placer="P20", filler="F20",
            collected="20260602080000")
    )  # fmt: skip
    run(str(feeds), str(tmp_path / "warehouse"))
    result = unmapped_liver_codes(warehouse=Warehouse(directory=str(tmp_path / "warehouse")))
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["unmapped_codes"].value == 1
    assert "ALTX" in result.metadata["codes"].value


def test_unmapped_liver_codes_passes_when_every_code_maps(warehouse):
    assert unmapped_liver_codes(warehouse=warehouse).passed


def test_no_duplicate_results_and_summary_agreement(warehouse):
    assert no_duplicate_results(dg.build_asset_check_context(), warehouse=warehouse).passed
    assert summary_matches_cases(warehouse=warehouse).passed
    with warehouse.connect() as conn:
        conn.execute("INSERT INTO marts.lab_results SELECT * FROM marts.lab_results WHERE analyte = 'TBIL'")
        conn.execute(
            "UPDATE marts.daily_summary SET new_cases = new_cases + 1 WHERE summary_date = '2026-06-03'"
        )
    duplicates = no_duplicate_results(dg.build_asset_check_context(), warehouse=warehouse)
    assert not duplicates.passed and duplicates.severity == dg.AssetCheckSeverity.ERROR
    assert duplicates.metadata["duplicated_results"].value == 1
    summary = summary_matches_cases(warehouse=warehouse)
    assert not summary.passed and summary.metadata["days_disagreeing"].value == 1
    # 06-03: new cases 2 against 1 recomputed, results 2 against 3 (the duplicated TBIL row)
    assert "| 2026-06-03 | 1 | 1 | 2 | 1 | 2 | 3 |" in summary.metadata["first_disagreements"].value


def test_abnormal_flag_agreement(tmp_path):
    feeds = write_feeds(tmp_path / "feeds")
    flagged = [
        obx(1, ALT, "100", reference_range="0-40", flags="H"),  # 2.5 x ULN, H: agrees
        obx(2, "1920-8^AST^LN", "30", reference_range="0-40", flags="N"),  # 0.75, N: agrees
        obx(3, "6768-6^ALP^LN", "200", reference_range="35-105", flags="N"),  # 1.9 x ULN flagged N: disagrees
        obx(
            4, "2324-2^GGT^LN", "20", reference_range="0-60", flags="A"
        ),  # A says nothing about high: skipped
        # 0.6 / 1.2 = 0.5 x ULN flagged H (among other flags): disagrees
        obx(5, "1975-2^TBIL^LN", "0.6", unit="mg/dL", reference_range="0.1-1.2", flags="A~H"),
    ]
    (feeds / "labs" / "northlab" / "2026-06-04.hl7").write_text(
        oru("N-30", flagged, mrn="MRN009", placer="P30", filler="F30", collected="20260604080000")
    )
    run(str(feeds), str(tmp_path / "warehouse"))
    result = abnormal_flag_agreement(
        warehouse=Warehouse(directory=str(tmp_path / "warehouse")), monitoring=Monitoring()
    )
    assert result.metadata["results_compared"].value == 4
    assert result.metadata["disagreeing"].value == 2
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN  # 2/4 > 5%
    relaxed = abnormal_flag_agreement(
        warehouse=Warehouse(directory=str(tmp_path / "warehouse")),
        monitoring=Monitoring(abnormal_flag_disagreement_max=0.5),  # 2/4 is within it
    )
    assert relaxed.passed


def test_case_volume_anomaly(tmp_path):
    conn = open_scratch(tmp_path)
    # One new case every 4th day for 40 days (trailing 28-day mean 7/28 = 0.25), then 6 new cases on day 40.
    add_results(conn, [(f"p{d}", d, "ALT", 2.0) for d in range(0, 40, 4)])
    add_results(conn, [(f"q{i}", 40, "ALT", 2.0) for i in range(6)])
    build(conn)
    conn.close()
    warehouse = Warehouse(directory=str(tmp_path))
    result = case_volume_anomaly(warehouse=warehouse, monitoring=Monitoring())
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["anomalous_days"].value == 1
    assert "2026-07-11" in result.metadata["days"].value  # day 40
    # 6 is below a minimum of 7 new cases: no anomaly.
    assert case_volume_anomaly(warehouse=warehouse, monitoring=Monitoring(case_volume_min_new_cases=7)).passed


def test_parser_agreement_passes_on_real_messages_and_fails_with_both_readings(tmp_path, monkeypatch):
    from datetime import date

    import hepwatch.hl7.encoding
    from assets.parser_agreement import parser_agreement
    from assets.resources import Feeds

    feeds = write_feeds(tmp_path / "feeds")
    (feeds / "labs" / "northlab" / "2026-06-02.hl7").write_text(
        oru("N-40", [obx(1, ALT, "see\\S\\note")], mrn="MRN\\T\\40", placer="P40", filler="F40",
            collected="20260602080000")
    )  # fmt: skip
    run(str(feeds), str(tmp_path / "warehouse"))
    warehouse = Warehouse(directory=str(tmp_path / "warehouse"))
    window = (date(2026, 6, 1), date(2026, 6, 6))
    with warehouse.connect() as conn:
        agreed = parser_agreement(conn, Feeds(directory=str(feeds)), Monitoring(), *window)
    # The messages carrying current staged versions: N-2 (06-01, it replaced N-1), N-40, E-1 and N-6.
    assert agreed.passed and agreed.metadata["messages_compared"].value == 4
    # A reader that stops decoding escapes disagrees with hl7apy on OBX-5 and PID-3 of message N-40.
    monkeypatch.setattr(hepwatch.hl7.encoding.Unescaper, "__call__", lambda self, value: value)
    with warehouse.connect() as conn:
        broken = parser_agreement(conn, Feeds(directory=str(feeds)), Monitoring(), *window)
    assert not broken.passed and broken.severity == dg.AssetCheckSeverity.ERROR
    shown = broken.metadata["first_disagreements"].value
    assert "| N-40 | OBX[1]-5 | see\\S\\note => non_numeric_value | see^note => non_numeric_value |" in shown
    assert "| N-40 | PID[1]-3 | (identifier, not shown) | (identifier, not shown) |" in shown
    assert "MRN" not in shown
