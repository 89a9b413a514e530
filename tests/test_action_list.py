"""marts.action_list and the safety-signal checks on hand-written rows (values worked out by hand).

Results have ULN 1 (value = x ULN); day offsets from 2026-06-01 (day 0). CTCAE v5 ALT grades against the
ULN (domain.md section 3): 1 above 1 to 3, 2 above 3 to 5, 3 above 5 to 20. Patients:
  A  ALT 4 and TBIL 2.5 on day 10: potential Hy's law (ALT >= 3, TBIL > 2, no ALP) and the FDA stopping
     signal ALT > 3 with TBIL > 2                                                     -> priority 1
  B  ALT 6 on day 12: grade 3                                                         -> priority 2
  C  ALT 2 on day 5 (grade 1), ALT 4 on day 11 (grade 2, higher than day 5)            -> priority 3 (rising)
  D  ALT 4.5 on day 3, ALT 4 on day 11 (grade 2, lower than day 3)                     -> not listed
  E  kratom 2 g a day on days 0 to 15, never tested: no baseline, due day 7; the last date in the data is
     day 16 (F's result), so 9 days overdue; kratom over [10, 16] 12 g, over [-18, 9] 20 g -> priority 4
  F  ALT 0.5 on day 16 (normal: the last date in the data)                            -> not listed
"""

from datetime import timedelta

import pytest

from assets.signal_checks import new_fda_stopping_signals, new_grade3plus_days, new_potential_hys_law
from hepwatch.warehouse import read_sql
from tests.sql_harness import add_doses, add_results, build, day, open_scratch


def key(patient: str) -> str:
    return f"pk_{patient:0>20}"


@pytest.fixture
def conn(tmp_path):
    connection = open_scratch(tmp_path)
    add_results(
        connection,
        [
            ("a", 10, "ALT", 4.0),
            ("a", 10, "TBIL", 2.5),
            ("b", 12, "ALT", 6.0),
            ("c", 5, "ALT", 2.0),
            ("c", 11, "ALT", 4.0),
            ("d", 3, "ALT", 4.5),
            ("d", 11, "ALT", 4.0),
            ("f", 16, "ALT", 0.5),
        ],
    )
    add_doses(connection, [("e", d, "kratom", 2000.0) for d in range(16)])
    build(connection)
    yield connection
    connection.close()


def test_todays_list_is_in_priority_order_with_the_reasons_and_the_rules(conn):
    rows = conn.execute(
        "SELECT as_of_date, rank, patient_key, priority, rules FROM marts.action_list ORDER BY rank"
    ).fetchall()
    assert rows == [
        (day(16), 1, key("a"), 1, "CTCAE v5; FDA 2009 DILI guidance"),
        (day(16), 2, key("b"), 2, "CTCAE v5"),
        (day(16), 3, key("c"), 3, "CTCAE v5"),
        (day(16), 4, key("e"), 4, "hepwatch monitoring policy"),
    ]
    reasons = dict(conn.execute("SELECT patient_key, reasons FROM marts.action_list").fetchall())
    assert reasons[key("a")] == (
        "FDA stopping signal: ALT or AST > 3 x ULN with TBIL > 2 x ULN or INR > 1.5 (2026-06-11); "
        "potential Hy's law (2026-06-11); rising grade 2 (2026-06-11)"
    )
    assert reasons[key("b")] == "grade 3 (2026-06-13)"
    assert reasons[key("e")] == "monitoring: no baseline, 9 days overdue"


def test_each_row_carries_latest_values_trend_and_the_kratom_dose(conn):
    a = conn.execute(
        "SELECT latest_alt_xuln, latest_tbil_xuln, latest_result_date, amino_trend, days_since_kratom_start "
        "FROM marts.action_list WHERE patient_key = ?",
        [key("a")],
    ).fetchall()
    assert a == [(4.0, 2.5, day(10), None, None)]  # one ALT result: no trend; no kratom
    c_trend = conn.execute("SELECT amino_trend FROM marts.action_list WHERE patient_key = ?", [key("c")])
    assert c_trend.fetchall() == [("up",)]  # 2 then 4
    e = conn.execute(
        "SELECT days_since_kratom_start, kratom_7d_g, kratom_prior_28d_g, due_date, days_overdue "
        "FROM marts.action_list WHERE patient_key = ?",
        [key("e")],
    ).fetchall()
    assert e == [(16, 12.0, 20.0, day(7), 9)]


def test_a_finding_stays_on_the_list_for_seven_days(conn):
    def listed(as_of: int) -> set[str]:
        rows = conn.execute(
            f"SELECT patient_key FROM ({read_sql('action_list.sql')})",
            {"start": day(as_of), "end": day(as_of) + timedelta(days=1)},
        ).fetchall()
        return {patient for (patient,) in rows}

    assert key("a") in listed(16)  # day 10 lies in [10, 16]
    assert key("a") not in listed(17)  # [11, 17]
    assert key("b") in listed(18) and key("b") not in listed(19)  # day 12


@pytest.mark.parametrize(
    ("check", "fires_for"),
    [
        (new_potential_hys_law, {key("a")}),
        (new_fda_stopping_signals, {key("a")}),
        (new_grade3plus_days, {key("b")}),
    ],
)
def test_signal_checks_warn_on_the_patients_built_to_trigger_them(conn, check, fires_for):
    _, evaluate = check
    result = evaluate(conn, None, None, day(0), day(17))
    assert result.severity.value == "WARN" and not result.passed
    found = {row["patient_key"] for row in result.metadata["found_json"].value}
    assert found == fires_for
    assert result.metadata["patients"].value == len(fires_for)


def test_signal_checks_stay_quiet_just_under_their_thresholds(tmp_path):
    # G: ALT 2.9 with TBIL 2.5 (not >= 3: no Hy's law; not > 3: no stopping signal); H: ALT 8.0 (not > 8,
    # though grade 3); I: ALT 5.0 (grade 2: grade 3 starts above 5).
    connection = open_scratch(tmp_path)
    add_results(
        connection,
        [("g", 1, "ALT", 2.9), ("g", 1, "TBIL", 2.5), ("h", 2, "ALT", 8.0), ("i", 3, "ALT", 5.0)],
    )
    build(connection)
    for _, evaluate in (new_potential_hys_law, new_fda_stopping_signals):
        result = evaluate(connection, None, None, day(0), day(10))
        assert result.passed, result.metadata
    grade3 = new_grade3plus_days[1](connection, None, None, day(0), day(10))
    assert {row["patient_key"] for row in grade3.metadata["found_json"].value} == {key("h")}
    connection.close()


def test_a_signal_already_raised_in_the_30_days_before_is_not_new(tmp_path):
    # J: potential Hy's law on day 1 and again on day 20; a check over days [15, 25) finds nothing new.
    connection = open_scratch(tmp_path)
    add_results(
        connection,
        [("j", 1, "ALT", 4.0), ("j", 1, "TBIL", 3.0), ("j", 20, "ALT", 4.0), ("j", 20, "TBIL", 3.0)],
    )
    build(connection)
    _, evaluate = new_potential_hys_law
    assert evaluate(connection, None, None, day(15), day(25)).passed
    assert not evaluate(connection, None, None, day(0), day(10)).passed
    connection.close()
