"""The daily report's sections, read from hand-made marts (domain.md section 5 for the stopping signals).

One code path builds one day's report or a window's: these tests check the window path against the
definitions, and that a window's reports are the reports of its days built one by one.
"""

from datetime import timedelta

import pytest

from hepwatch.report import edish_window
from hepwatch.report.daily import build_daily_report, build_daily_reports
from hepwatch.report.rules import read_thresholds, stopping_signal_labels
from tests.sql_harness import add_results, build_for_report, day, open_scratch


def _finish(conn) -> None:
    build_for_report(conn)


@pytest.fixture
def conn(tmp_path):
    connection = open_scratch(tmp_path)
    yield connection
    connection.close()


def signals(conn, first: int, last: int) -> dict[int, set[tuple[str, str]]]:
    """Stopping signals per day offset in [first, last] (marts.stopping_signals, the rows the action list and
    the report read): {(patient suffix, signal label)}."""
    labels = stopping_signal_labels(read_thresholds(conn))
    found: dict[int, set[tuple[str, str]]] = {offset: set() for offset in range(first, last + 1)}
    for signal_date, patient, signal in conn.execute(
        "SELECT signal_date, patient_key, signal FROM marts.stopping_signals "
        "WHERE signal_date BETWEEN ? AND ?",
        [day(first), day(last)],
    ).fetchall():
        found[(signal_date - day(0)).days].add((patient[-1], labels[signal]))
    return found


RUN = "ALT or AST > 5 x ULN for more than 2 weeks"
ABOVE_8 = "ALT or AST > 8 x ULN"
WITH_BILI = "ALT or AST > 3 x ULN with TBIL > 2 x ULN or INR > 1.5"


def test_above_5_for_more_than_two_weeks_holds_from_day_15_until_a_result_at_or_below_5(conn):
    # patient 1: ALT 6 x ULN on day 0, AST 7 on day 10, ALT 4 on day 30 (the run ends), ALT 6 again on day 40
    add_results(conn, [(1, 0, "ALT", 6.0), (1, 10, "AST", 7.0), (1, 30, "ALT", 4.0), (1, 40, "ALT", 6.0)])
    _finish(conn)
    found = signals(conn, 0, 60)
    run_days = {offset for offset, s in found.items() if ("1", RUN) in s}
    # day - start > 14: days 15 to 29; a new run starts on day 40, so days 55 to 60
    assert run_days == set(range(15, 30)) | set(range(55, 61))


def test_above_8_and_with_bilirubin_hold_on_the_day_of_the_results(conn):
    add_results(
        conn,
        [
            (2, 3, "ALT", 9.0),
            (3, 5, "AST", 3.5),
            (3, 5, "TBIL", 2.5),
            (4, 6, "ALT", 3.5),
            (4, 6, "TBIL", 2.0),
        ],
    )
    _finish(conn)
    found = signals(conn, 0, 10)
    assert {offset for offset, s in found.items() if ("2", ABOVE_8) in s} == {3}
    assert {offset for offset, s in found.items() if ("3", WITH_BILI) in s} == {5}
    assert all(("4", WITH_BILI) not in s for s in found.values())  # TBIL exactly 2 x ULN is not above 2


def test_a_windows_reports_are_its_days_reports(conn):
    add_results(
        conn,
        [(1, 0, "ALT", 6.0), (1, 0, "TBIL", 0.5), (1, 10, "AST", 7.0), (1, 20, "ALT", 9.0), (1, 20, "TBIL", 2.5),
         (2, 2, "ALT", 0.5), (2, 2, "TBIL", 0.4), (3, 12, "ALT", 3.2), (3, 12, "TBIL", 0.8), (4, 21, "ALP", 2.5)],
    )  # fmt: skip
    _finish(conn)
    together = list(build_daily_reports(conn, day(0), day(25)))
    assert [r.day for r in together] == [day(n) for n in range(25)]
    for report in together:
        alone = build_daily_report(conn, report.day)
        assert report.html == alone.html, report.day


def test_edish_counts_are_exact_and_big_quadrants_are_sampled(conn, monkeypatch):
    monkeypatch.setattr(edish_window, "EDISH_MAX_POINTS", 10)
    rows = []
    for patient in range(1, 201):  # 200 patients in the normal range
        rows += [(patient, 1, "ALT", 0.8), (patient, 1, "TBIL", 0.5)]
    for patient in range(201, 216):  # 15 potential Hy's law patients
        rows += [(patient, 1, "ALT", 4.0), (patient, 1, "TBIL", 3.0)]
    add_results(conn, rows)
    _finish(conn)
    report = build_daily_report(conn, day(1))
    assert "normal_range 200" in report.html and "potential_hys_law 15" in report.html
    plotted = report.edish_svg.count("<circle")
    # every Hy's law patient; of the normal range, a sample of about 10 (a power-of-2 stride of the hashes)
    assert 15 < plotted < 15 + 40
    assert all(f"pk_{p:0>20}" in report.edish_svg for p in range(201, 216))
    assert "a stable sample by patient_key" in report.html
    later = build_daily_report(conn, day(1) + timedelta(days=3))  # no new result: the same patients shown
    assert later.edish_svg.count("<circle") == plotted
