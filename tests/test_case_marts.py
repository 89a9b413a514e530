"""The daily case mart and its neighbours, on rows written by hand (domain.md sections 3-6, contract 4).

All results have ULN 1, so a value is its own x ULN; day offsets are from 2026-06-01.
"""

from datetime import date

import pytest

from tests.sql_harness import add_doses, add_results, build, day, open_scratch


@pytest.fixture
def conn(tmp_path):
    connection = open_scratch(tmp_path)
    yield connection
    connection.close()


def case(conn, patient: str, offset: int, columns: str):
    rows = conn.execute(
        f"SELECT {columns} FROM marts.abnormal_enzyme_cases_daily WHERE patient_key = ? AND case_date = ?",
        [f"pk_{patient:0>20}", day(offset)],
    ).fetchall()
    assert len(rows) == 1, f"expected one case row for {patient} on day {offset}"
    return rows[0] if len(rows[0]) > 1 else rows[0][0]


def test_hys_law_window_edges_and_alp_exclusion(conn):
    d = 40
    add_results(
        conn,
        [
            # a: ALT >= 3 on d-29 (inside [d-29, d]), TBIL > 2 on d  -> potential Hy's law
            ("a", d - 29, "ALT", 4.0), ("a", d, "TBIL", 2.5), ("a", d, "ALT", 1.5),
            # b: ALT >= 3 only on d-30 (outside the window)          -> no
            ("b", d - 30, "ALT", 4.0), ("b", d, "TBIL", 2.5), ("b", d, "ALT", 1.5),
            # c: as a, with ALP = 2.0 x ULN in the window (initial cholestasis) -> no
            ("c", d - 29, "ALT", 4.0), ("c", d, "TBIL", 2.5), ("c", d, "ALT", 1.5), ("c", d - 10, "ALP", 2.0),
            # e: as c with ALP 1.99 (below 2 x ULN)                    -> yes
            ("e", d - 29, "ALT", 4.0), ("e", d, "TBIL", 2.5), ("e", d, "ALT", 1.5), ("e", d - 10, "ALP", 1.99),
            # f: ALT exactly 3.0 (>= 3 counts) and TBIL exactly 2.0 (> 2 needed) -> no
            ("f", d, "ALT", 3.0), ("f", d, "TBIL", 2.0),
            # g: AST stands for ALT: AST 3.0, TBIL 2.01                -> yes
            ("g", d, "AST", 3.0), ("g", d, "TBIL", 2.01),
        ],
    )  # fmt: skip
    build(conn)
    assert {p: case(conn, p, d, "potential_hys_law") for p in "abcefg"} == {
        "a": True, "b": False, "c": False, "e": True, "f": False, "g": True,
    }  # fmt: skip


def test_dili_case_criteria(conn):
    add_results(
        conn,
        [
            ("a", 0, "ALT", 5.0),  # ALT >= 5 x ULN
            ("b", 0, "ALT", 4.99),
            ("c", 0, "ALP", 2.0),  # ALP >= 2 x ULN
            ("d", 0, "ALT", 3.0), ("d", 0, "TBIL", 2.01),  # ALT >= 3 with TBIL > 2
            ("e", 0, "ALT", 3.0), ("e", 0, "TBIL", 2.0),  # TBIL not > 2
            ("f", 0, "AST", 5.0),  # no ALT that day: AST stands in
            ("g", 0, "ALT", 1.2), ("g", 0, "AST", 6.0),  # ALT measured: AST does not stand in
        ],
    )  # fmt: skip
    build(conn)
    assert {p: case(conn, p, 0, "dili_criteria_met") for p in "abcdefg"} == {
        "a": True, "b": False, "c": True, "d": True, "e": False, "f": True, "g": False,
    }  # fmt: skip


def test_r_nr_and_pattern(conn):
    add_results(
        conn,
        [
            ("a", 0, "ALT", 6.0), ("a", 0, "ALP", 1.2),  # R = 6 / 1.2 = 5 -> hepatocellular
            ("b", 0, "ALT", 4.0), ("b", 0, "ALP", 2.0), ("b", 0, "AST", 9.0),  # R = 2 -> cholestatic; nR 4.5
            ("c", 0, "AST", 6.0), ("c", 0, "ALP", 2.0),  # no ALT: R NULL, nR = 3 -> mixed
            ("d", 0, "ALT", 3.0),  # no ALP: R, nR and pattern NULL
        ],
    )  # fmt: skip
    build(conn)
    columns = "r_ratio, nr_ratio, injury_pattern"
    assert case(conn, "a", 0, columns) == (5.0, 5.0, "hepatocellular")
    assert case(conn, "b", 0, columns) == (2.0, 4.5, "cholestatic")
    assert case(conn, "c", 0, columns) == (None, 3.0, "mixed")
    assert case(conn, "d", 0, columns) == (None, None, None)


def test_grades_and_max_grade_of_the_day_peaks(conn):
    add_results(
        conn,
        [
            ("a", 0, "ALT", 2.0), ("a", 0, "ALT", 3.5),  # two ALT that day: the peak 3.5 -> grade 2
            ("a", 0, "ALP", 2.5), ("a", 0, "GGT", 0.8), ("a", 0, "TBIL", 10.5),  # ALP 1, GGT 0, TBIL 4
        ],
    )  # fmt: skip
    build(conn)
    assert case(conn, "a", 0, "alt_xuln, alt_grade, alp_grade, ggt_grade, tbil_grade, ast_grade, max_grade") == (
        3.5, 2, 1, 0, 4, None, 4,
    )  # fmt: skip


def test_baseline_aware_grading(conn):
    # a: abnormal baseline ALT 2.0 x ULN on day -10, before the first kratom dose on day 0.
    #    Day 20 ALT 5.0: x BL = 5.0 / 2.0 = 2.5 -> grade 1 (x ULN would give grade 2).
    add_results(conn, [("a", -10, "ALT", 2.0), ("a", 20, "ALT", 5.0)])
    # b: normal baseline (0.8): day 20 ALT 5.0 is graded x ULN -> grade 2.
    add_results(conn, [("b", -10, "ALT", 0.8), ("b", 20, "ALT", 5.0)])
    # c: a result 91 days before the first dose is no baseline: day 20 graded x ULN -> grade 2.
    add_results(conn, [("c", -91, "ALT", 2.0), ("c", 20, "ALT", 5.0)])
    # d: baseline ALT 3.5 on day -10 is itself graded x ULN (before the first dose) -> grade 2; on the first
    #    dose day (on treatment) ALT 5.0 is 1.43 x BL -> grade 0 although it is 5 x ULN.
    add_results(conn, [("d", -10, "ALT", 3.5), ("d", 0, "ALT", 5.0)])
    add_doses(conn, [(p, 0, "kratom", 2000.0) for p in "abcd"])
    build(conn)
    assert case(conn, "a", 20, "alt_grade") == 1
    assert case(conn, "b", 20, "alt_grade") == 2
    assert case(conn, "c", 20, "alt_grade") == 2
    assert case(conn, "d", -10, "alt_grade") == 2
    assert case(conn, "d", 0, "alt_grade, max_grade") == (0, 0)


def test_exposure_episodes_split_after_a_gap_over_30_days(conn):
    add_doses(conn, [("a", 0, "kratom", 1000.0), ("a", 30, "kratom", 1000.0)])  # gap 30: one episode
    add_doses(conn, [("b", 0, "kratom", 1000.0), ("b", 31, "kratom", 1000.0)])  # gap 31: two episodes
    add_results(conn, [("a", 0, "ALT", 0.5)])
    build(conn)
    episodes = conn.execute(
        "SELECT right(patient_key, 1), episode_no, episode_start, last_dose_date, exposed_until "
        "FROM staging.exposure_episodes ORDER BY ALL"
    ).fetchall()
    assert episodes == [
        ("a", 1, day(0), day(30), day(60)),
        ("b", 1, day(0), day(0), day(30)),
        ("b", 2, day(31), day(31), day(61)),
    ]


def test_exposure_latency_and_recent_doses_on_case_days(conn):
    add_doses(
        conn,
        [
            ("a", 0, "kratom", 3000.0),
            ("a", 10, "kratom", 2000.0),
            ("a", 14, "kratom", 1000.0),  # day 20 window [14, 20]: 1 g; day 10 (2 g) is outside
            ("a", 14, "methadone", 60.0),
            ("a", 13, "buprenorphine", 8.0),  # day 13 is outside [14, 20]
        ],
    )  # fmt: skip
    add_results(conn, [("a", 20, "ALT", 2.0), ("a", 44, "ALT", 2.0), ("a", 45, "ALT", 2.0)])
    build(conn)
    columns = "kratom_exposed, days_since_kratom_start, days_since_last_kratom_dose, kratom_7d_g, moud"
    assert case(conn, "a", 20, columns) == (True, 20, 6, 1.0, "methadone")
    assert case(conn, "a", 44, columns) == (True, 44, 30, 0.0, "none")  # last dose 14 + 30 = 44: exposed
    assert case(conn, "a", 45, columns) == (False, None, 31, 0.0, "none")  # 45: no longer


def test_new_case_looks_back_30_days(conn):
    add_results(
        conn, [("a", 0, "ALT", 2.0), ("a", 30, "ALT", 2.0), ("b", 0, "ALT", 2.0), ("b", 31, "ALT", 2.0)]
    )
    build(conn)
    assert case(conn, "a", 0, "new_case") is True
    assert case(conn, "a", 30, "new_case") is False  # a case day on day 0 = d-30
    assert case(conn, "b", 31, "new_case") is True  # day 0 = d-31 is outside


def test_only_days_above_uln_are_cases(conn):
    add_results(conn, [("a", 0, "ALT", 1.0), ("a", 0, "TBIL", 3.0), ("a", 1, "GGT", 1.01)])
    build(conn)
    days = conn.execute("SELECT case_date FROM marts.abnormal_enzyme_cases_daily ORDER BY 1").fetchall()
    assert days == [(day(1),)]  # x ULN exactly 1.0 is not above; bilirubin alone does not make a case


def test_daily_summary_counts(conn):
    add_results(
        conn,
        [
            ("a", 0, "ALT", 6.0),  # case, grade 3, DILI (ALT >= 5)
            ("b", 0, "ALT", 0.5), ("b", 0, "AST", 0.7),  # tested, no case
            ("c", 0, "ALP", 1.5),  # case, grade 1
            ("c", 2, "ALT", 0.9),  # day 1 has no results but lies in the span
        ],
    )  # fmt: skip
    build(conn)
    rows = conn.execute("SELECT * FROM marts.daily_summary ORDER BY summary_date").fetchall()
    assert rows == [
        (day(0), 4, 3, 2, 2, 1, 1, 0),
        (day(1), 0, 0, 0, 0, 0, 0, 0),
        (day(2), 1, 1, 0, 0, 0, 0, 0),
    ]


def test_edish_quadrants(conn):
    add_results(
        conn,
        [
            ("a", 0, "ALT", 3.0), ("a", 5, "TBIL", 2.1),  # ALT >= 3, TBIL > 2: potential Hy's law
            ("b", 0, "ALT", 8.0), ("b", 0, "TBIL", 2.0),  # TBIL not > 2: Temple's corollary
            ("c", 0, "ALT", 2.9), ("c", 0, "TBIL", 4.0),  # hyperbilirubinaemia
            ("d", 0, "ALT", 1.0), ("d", 3, "ALT", 1.4), ("d", 0, "TBIL", 0.5),  # normal range, peak on day 3
            ("e", 0, "ALT", 9.0),  # no TBIL: no point
        ],
    )  # fmt: skip
    build(conn)
    rows = conn.execute(
        "SELECT right(patient_key, 1), peak_alt_xuln, peak_alt_date, quadrant FROM marts.edish ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("a", 3.0, day(0), "potential_hys_law"),
        ("b", 8.0, day(0), "temples_corollary"),
        ("c", 2.9, day(0), "hyperbilirubinaemia"),
        ("d", 1.4, day(3), "normal_range"),
    ]


def test_monitoring_gaps(conn):
    as_of = 60
    add_doses(conn, [(p, d, "kratom", 2000.0) for p in "abcd" for d in range(0, as_of + 1, 10)])
    add_doses(conn, [("e", d, "kratom", 2000.0) for d in range(-100, -40, 10)])  # episode over by day 60
    add_results(
        conn,
        [
            # a: never tested -> no_baseline, due day 0 + 7, 53 days overdue
            # b: baseline day -10, then day 20 (in the first 56 days) -> due 34, 26 days overdue
            ("b", -10, "ALT", 0.8), ("b", 20, "ALT", 0.9),
            # c: baseline day 3, last test day 50 -> due 64, not yet due
            ("c", 3, "AST", 0.8), ("c", 50, "ALT", 0.9),
            # d: baseline day -20 only -> due day 0 + 14 (the clock starts at the first dose): 46 overdue
            ("d", -20, "ALT", 0.8),
            ("e", -100, "ALT", 0.7),  # e is no longer exposed on day 60: not monitored
        ],
    )  # fmt: skip
    build(conn)
    rows = conn.execute(
        "SELECT right(patient_key, 1), as_of_date, episode_start, last_test_date, due_date, days_overdue, reason "
        "FROM marts.monitoring_gaps ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("a", day(60), day(0), None, day(7), 53, "no_baseline"),
        ("b", day(60), day(0), day(20), day(34), 26, "overdue"),
        ("d", day(60), day(0), day(-20), day(14), 46, "overdue"),
    ]


def test_monitoring_interval_is_90_days_after_the_first_56(tmp_path):
    conn = open_scratch(tmp_path)
    add_doses(conn, [("a", d, "kratom", 2000.0) for d in range(0, 171, 10)])
    add_results(conn, [("a", 0, "ALT", 0.8), ("a", 60, "ALT", 0.9)])  # day 60 test: next due day 150
    build(conn)
    rows = conn.execute("SELECT due_date, days_overdue FROM marts.monitoring_gaps").fetchall()
    assert rows == [(day(150), 20)]  # as of day 170
    assert day(150) == date(2026, 10, 29)
