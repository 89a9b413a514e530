"""One set of thresholds for marts, checks and report: HEPWATCH_THRESHOLDS overrides them all alike.

One patient, all results with ULN 1 (so a value is its x ULN), on 2026-06-01: ALT 4 x ULN and TBIL 2.5 x ULN.
By domain.md section 5 with the default thresholds that is potential Hy's law (ALT >= 3, TBIL > 2, no ALP),
DILI criteria (ALT >= 3 with TBIL > 2), the eDISH upper right quadrant (lines at 3 and 2) and an FDA stopping
signal (ALT > 3 with TBIL > 2). A site that raises the aminotransferase lines to 5 x ULN sees none of them:
ALT 4 is below 5, so eDISH puts the patient upper left (TBIL 2.5 is still above 2).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from assets.ingest import load_reference_tables
from assets.mart_checks import summary_matches_cases
from assets.resources import Warehouse
from assets.signal_checks import new_fda_stopping_signals, new_potential_hys_law
from hepwatch.report.daily import DailyReport, build_daily_report
from hepwatch.settings import THRESHOLDS_ENV
from tests.sql_harness import add_results, build_for_report, day, open_scratch

PATIENT = f"pk_{1:0>20}"
RAISED = {
    "hys_law_aminotransferase_x_uln": 5.0,
    "dili_alt_with_tbil_x_uln": 5.0,
    "edish_alt_x_uln": 5.0,
    "stopping_with_tbil_aminotransferase_x_uln": 5.0,
}
# eDISH's x axis runs from 0.1 to 100 x ULN on a log scale over 320 px from x = 50:
# x(v) = 50 + 320 * (log10(v) + 1) / 3, so the ALT line sits at 207.6 px for 3 and at 231.2 px for 5.
ALT_LINE_AT_3 = '<line x1="207.6" x2="207.6"'
ALT_LINE_AT_5 = '<line x1="231.2" x2="231.2"'


def _warehouse(root: Path) -> DailyReport:
    """The marts of the one patient, built with the thresholds HEPWATCH_THRESHOLDS names (if any), and the
    report of the day."""
    conn = open_scratch(root)
    load_reference_tables(conn)  # as the reference_tables asset does, reading HEPWATCH_THRESHOLDS
    add_results(conn, [(1, 0, "ALT", 4.0), (1, 0, "TBIL", 2.5)])
    build_for_report(conn)
    report = build_daily_report(conn, day(0))
    conn.close()
    return report


def _marts(root: Path) -> tuple[str, bool, bool, int, int]:
    warehouse = Warehouse(directory=str(root))
    with warehouse.connect() as conn:
        quadrant = conn.execute(
            "SELECT quadrant FROM marts.edish WHERE patient_key = ?", [PATIENT]
        ).fetchall()
        hys_law, dili = conn.execute(
            "SELECT potential_hys_law, dili_criteria_met FROM marts.abnormal_enzyme_cases_daily "
            "WHERE patient_key = ? AND case_date = ?",
            [PATIENT, day(0)],
        ).fetchall()[0]
        summary = conn.execute(
            "SELECT hys_law_patients, dili_patients FROM marts.daily_summary WHERE summary_date = ?", [day(0)]
        ).fetchall()[0]
    return quadrant[0][0], hys_law, dili, *summary


def _check(root: Path) -> dg.AssetCheckResult:
    return summary_matches_cases(warehouse=Warehouse(directory=str(root)))


@pytest.fixture
def default(tmp_path, monkeypatch):
    monkeypatch.delenv(THRESHOLDS_ENV, raising=False)
    root = tmp_path / "default"
    root.mkdir()
    return root, _warehouse(root)


@pytest.fixture
def raised(tmp_path, monkeypatch):
    overrides = tmp_path / "site_thresholds.csv"
    overrides.write_text(
        "name,value,source\n"
        + "".join(f"{name},{value},a stricter site policy\n" for name, value in RAISED.items())
    )
    monkeypatch.setenv(THRESHOLDS_ENV, str(overrides))
    root = tmp_path / "raised"
    root.mkdir()
    return root, _warehouse(root)


def _signal_checks_pass(root: Path) -> tuple[bool, bool]:
    """new_potential_hys_law and new_fda_stopping_signals over the day."""
    with Warehouse(directory=str(root)).connect() as conn:
        return tuple(
            check[1](conn, None, None, day(0), day(1)).passed
            for check in (new_potential_hys_law, new_fda_stopping_signals)
        )  # type: ignore[return-value]


def test_default_thresholds_flag_the_patient_everywhere(default):
    root, report = default
    # eDISH upper right; Hy's law and DILI on the day, counted in the summary
    assert _marts(root) == ("potential_hys_law", True, True, 1, 1)
    check = _check(root)
    assert check.passed
    assert check.metadata["hys_law_patient_days"].value == 1
    assert check.metadata["dili_patient_days"].value == 1
    # priority 1 on the action list, and both safety-signal checks warn
    assert report.actions == {
        PATIENT: [
            "FDA stopping signal: ALT or AST > 3 x ULN with TBIL > 2 x ULN or INR > 1.5 (2026-06-01)",
            "potential Hy's law (2026-06-01)",
            "rising grade 2 (2026-06-01)",
        ]
    }
    assert report.action_rows[0]["priority"] == 1
    assert _signal_checks_pass(root) == (False, False)
    assert report.headline["hys_law_patients"] == 1 and report.headline["dili_patients"] == 1
    assert "Quadrants: potential_hys_law 1</p>" in report.html
    assert ALT_LINE_AT_3 in report.edish_svg
    assert "eDISH lines at peak ALT 3 x ULN" in report.html
    assert "some ALT or AST &gt;= 3 x ULN and some TBIL &gt; 2 x ULN in the last 30 days" in report.html


def test_raised_thresholds_change_marts_checks_and_report_alike(raised):
    root, report = raised
    # ALT 4 < 5: left of the eDISH line, TBIL 2.5 > 2 above it; neither Hy's law nor DILI
    assert _marts(root) == ("hyperbilirubinaemia", False, False, 0, 0)
    check = _check(root)
    assert check.passed  # the summary still equals the cases recomputed: both used the raised thresholds
    assert check.metadata["hys_law_patient_days"].value == 0
    assert check.metadata["dili_patient_days"].value == 0
    # ALT 4 x ULN is CTCAE grade 2 and TBIL 2.5 x ULN grade 2: only a rising grade 2 (priority 3) is left to
    # act on, and neither safety-signal check warns
    assert report.actions == {PATIENT: ["rising grade 2 (2026-06-01)"]}
    assert report.action_rows[0]["priority"] == 3
    assert _signal_checks_pass(root) == (True, True)
    assert report.headline["hys_law_patients"] == 0 and report.headline["dili_patients"] == 0
    assert "Quadrants: hyperbilirubinaemia 1</p>" in report.html
    assert ALT_LINE_AT_5 in report.edish_svg and ALT_LINE_AT_3 not in report.edish_svg
    assert "eDISH lines at peak ALT 5 x ULN" in report.html
    assert "some ALT or AST &gt;= 5 x ULN and some TBIL &gt; 2 x ULN in the last 30 days" in report.html
    assert "ALT or AST &gt; 5 x ULN with TBIL &gt; 2 x ULN or INR &gt; 1.5" in report.html
