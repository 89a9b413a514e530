"""marts.liver_injury_episodes on hand-written rows (RUCAM bands from domain.md section 6).

Results have ULN 1 (value = x ULN); day offsets from 2026-06-01; kratom doses of 2 g.
"""

import pytest

from tests.sql_harness import add_doses, add_results, build, day, open_scratch


@pytest.fixture
def conn(tmp_path):
    connection = open_scratch(tmp_path)
    yield connection
    connection.close()


def episodes(conn, patient: str, columns: str) -> list[tuple]:
    return conn.execute(
        f"SELECT {columns} FROM marts.liver_injury_episodes WHERE patient_key = ? ORDER BY episode_no",
        [f"pk_{patient:0>20}"],
    ).fetchall()


def kratom(conn, patient: str, days) -> None:
    add_doses(conn, [(patient, d, "kratom", 2000.0) for d in days])


def test_case_days_30_days_apart_are_one_episode_31_are_two(conn):
    add_results(
        conn, [("a", 0, "ALT", 2.0), ("a", 30, "ALT", 2.0), ("b", 0, "ALT", 2.0), ("b", 31, "ALT", 2.0)]
    )
    build(conn)
    assert episodes(conn, "a", "onset_date, last_case_date, case_days") == [(day(0), day(30), 2)]
    assert episodes(conn, "b", "onset_date, case_days") == [(day(0), 1), (day(31), 1)]


@pytest.mark.parametrize(
    ("onset", "band", "points"),
    [(4, "under_5_days", None), (5, "5_to_90_days", 2), (90, "5_to_90_days", 2), (91, "over_90_days", None)],
)
def test_latency_bands(conn, onset, band, points):
    kratom(conn, "a", range(0, 100, 10))  # one exposure episode from day 0 (doses every 10 days)
    add_results(conn, [("a", onset, "ALT", 3.0)])
    build(conn)
    assert episodes(conn, "a", "kratom_start, latency_days, rucam_latency_band, rucam_latency_points") == [
        (day(0), onset, band, points)
    ]


def test_no_kratom_means_no_latency(conn):
    add_results(conn, [("a", 0, "ALT", 3.0)])
    build(conn)
    assert episodes(
        conn, "a", "kratom_start, latency_days, rucam_latency_band, kratom_stopped, rechallenge"
    ) == [(None, None, None, None, False)]


def test_dechallenge_alt_within_8_and_30_days(conn):
    # Kratom days 0 to 10, then stopped. ALT peaks at 10 x ULN on day 12 (after the last dose).
    # a: 4.9 on day 20 (8 days after the peak, below half of 10)           -> within 8 and within 30 days
    # b: 5.0 on day 20 (exactly half: not a fall by more than half), 4.0 on day 42 (30 days) -> 30 only
    # c: 5.0 on day 20, 4.0 on day 43 (31 days)                            -> neither
    for patient, later in (("a", [(20, 4.9)]), ("b", [(20, 5.0), (42, 4.0)]), ("c", [(20, 5.0), (43, 4.0)])):
        kratom(conn, patient, [0, 5, 10])
        add_results(conn, [(patient, 8, "ALT", 3.0), (patient, 12, "ALT", 10.0)])
        add_results(conn, [(patient, d, "ALT", x) for d, x in later])
    build(conn)
    columns = "pattern_at_onset, kratom_stopped, alt_halved_8d, alt_halved_30d"
    assert episodes(conn, "a", columns) == [(None, "during_injury", True, True)]
    assert episodes(conn, "b", columns) == [(None, "during_injury", False, True)]
    assert episodes(conn, "c", columns) == [(None, "during_injury", False, False)]


def test_dechallenge_alp_or_tbil_within_180_days(conn):
    # Cholestatic: ALT 1.5 with ALP 4 on day 12 (R 0.375), after kratom stopped on day 10.
    # a: ALP 0.9 on day 192 (180 days after the peak: below half of 4) -> true; b: on day 193 -> false
    for patient, when in (("a", 192), ("b", 193)):
        kratom(conn, patient, [0, 10])
        add_results(conn, [(patient, 12, "ALT", 1.5), (patient, 12, "ALP", 4.0), (patient, when, "ALP", 0.9)])
    build(conn)
    columns = "pattern_at_onset, kratom_stopped, alp_or_tbil_halved_180d"
    assert episodes(conn, "a", columns) == [("cholestatic", "before_onset", True)]
    assert episodes(conn, "b", columns)[0][2] is False


def test_resolution_needs_every_measured_enzyme_and_bilirubin_at_or_below_uln(conn):
    add_results(
        conn,
        [
            ("a", 0, "ALT", 4.0), ("a", 20, "ALT", 2.0),  # case days 0 and 20
            ("a", 25, "ALT", 0.8), ("a", 25, "TBIL", 1.5),  # ALT back, bilirubin not: not resolved
            ("a", 30, "ALT", 0.9), ("a", 30, "TBIL", 0.7),  # all at or below ULN: resolved on day 30
        ],
    )  # fmt: skip
    build(conn)
    assert episodes(conn, "a", "last_case_date, resolution_date") == [(day(20), day(30))]


def test_rechallenge_within_90_days_of_restarting_after_a_dechallenge(conn):
    # Kratom days 0-10, stopped; injury days 15-20 (kratom stopped before onset: a dechallenge).
    # Kratom restarts on day 100 (a new exposure episode: gap over 30 days).
    # a: new injury on day 150 (50 days after restarting) -> rechallenge; b: on day 191 (91 days) -> no
    for patient, onset in (("a", 150), ("b", 191)):
        kratom(conn, patient, [0, 5, 10, *range(100, 200, 10)])
        add_results(
            conn, [(patient, 15, "ALT", 3.0), (patient, 20, "ALT", 2.0), (patient, onset, "ALT", 3.0)]
        )
    build(conn)
    columns = "episode_no, kratom_start, kratom_stopped, rechallenge"
    assert episodes(conn, "a", columns) == [
        (1, day(0), "before_onset", False),
        (2, day(100), "not_stopped", True),
    ]
    assert episodes(conn, "b", columns)[1][3] is False


def daily_kratom(conn, patient: str, days, mg: float) -> None:
    add_doses(conn, [(patient, d, "kratom", mg) for d in days])


def test_dose_reduced_after_onset_with_a_strong_alt_response(conn):
    # 4 g a day on days 0 to 19: the 7 days before onset (day 20) hold 28 g. From day 20 on, 1 g a day.
    # 7-day totals: day 20 = 6 x 4 + 1 = 25, day 21 = 22, day 22 = 19, day 23 = 16, day 24 = 13 (<= 14, half
    # of 28): the change is on day 24, 13 g. Hepatocellular (ALT only, nR from ALT): ALT 6 on day 20, peak
    # 8 on day 25, 3.9 on day 30 (5 days after the peak, below half of 8), 30 days from the change or less.
    daily_kratom(conn, "a", range(0, 20), 4000.0)
    daily_kratom(conn, "a", range(20, 60), 1000.0)
    add_results(
        conn, [("a", 20, "ALT", 6.0), ("a", 20, "ALP", 1.0), ("a", 25, "ALT", 8.0), ("a", 30, "ALT", 3.9)]
    )
    build(conn)
    assert episodes(
        conn,
        "a",
        "pattern_at_onset, kratom_7d_g_before_onset, dose_change, dose_change_date, kratom_7d_g_after_change, "
        "response_after_change, rechallenge_after_dose_rise",
    ) == [("hepatocellular", 28.0, "reduced", day(24), 13.0, "strong", False)]


def test_dose_stopped_without_a_fall_and_never_lowered(conn):
    # b: 2 g a day on days 0 to 9, none after: onset day 10 (14 g in the 7 days before). 7-day totals from
    # day 10: 12, 10, 8, 6 (day 13: <= 7, the change, reduced), ..., day 16: 0. The change is the first day
    # at or below half: day 13, 6 g, so `reduced` (the stop comes later). Cholestatic: ALT 1.2, ALP 3 on
    # day 10; ALP 2.0 on day 40 is not below half of 3: no response.
    daily_kratom(conn, "b", range(0, 10), 2000.0)
    add_results(conn, [("b", 10, "ALT", 1.2), ("b", 10, "ALP", 3.0), ("b", 40, "ALP", 2.0)])
    # c: 2 g every day from day 0 to 60, onset day 10: never lowered.
    daily_kratom(conn, "c", range(0, 61), 2000.0)
    add_results(conn, [("c", 10, "ALT", 3.0), ("c", 35, "ALT", 2.5)])
    # d: 3 g on day 0 to 6 only, then nothing: onset day 20, no kratom in the 7 days before: NULL.
    daily_kratom(conn, "d", range(0, 7), 3000.0)
    add_results(conn, [("d", 20, "ALT", 3.0)])
    build(conn)
    columns = "dose_change, dose_change_date, kratom_7d_g_after_change, response_after_change"
    assert episodes(conn, "b", columns) == [("reduced", day(13), 6.0, "none")]
    assert episodes(conn, "c", columns) == [("not_lowered", None, None, None)]
    assert episodes(conn, "d", columns) == [(None, None, None, None)]


def test_stopping_is_the_limit_of_a_reduction_and_a_dose_rise_can_rechallenge(conn):
    # e: 3 g a day on days 0 to 9 (21 g before onset day 10), none on days 10 to 29: 7-day totals 18, 15,
    # 12, 9 (day 13: <= 10.5, reduced). f: 5 g on day 9 only (5 g before onset day 10); none after: the
    # 7-day total on day 16 is 0 and on days 10 to 15 it is 5 (> 2.5): the change is day 16, stopped.
    # e restarts 3 g a day on days 30 to 40: on day 30 the 7-day total is 3 g (<= 10.5), day 33: 12 > 10.5,
    # a dose rise; ALT 4.0 on day 45 reaches the episode's peak (4.0 on day 10) again: positive rechallenge.
    daily_kratom(conn, "e", range(0, 10), 3000.0)
    daily_kratom(conn, "e", range(30, 41), 3000.0)
    add_results(conn, [("e", 10, "ALT", 4.0), ("e", 20, "ALT", 1.5), ("e", 45, "ALT", 4.0)])
    daily_kratom(conn, "f", [9], 5000.0)
    add_results(conn, [("f", 10, "ALT", 2.0)])
    build(conn)
    columns = "dose_change, dose_change_date, rechallenge_after_dose_rise"
    assert episodes(conn, "e", columns)[0] == ("reduced", day(13), True)
    assert episodes(conn, "f", columns) == [("stopped", day(16), False)]
