"""Reading and building in batches gives what one at a time gives: dosing files read together, and a long
window of days built in spans (the days with data, not the calendar)."""

from datetime import date, timedelta
from itertools import pairwise

import polars as pl

from assets.tables import SPAN_DAYS, spans
from hepwatch.dosing.reader import read_dosing_csv, read_dosing_files

HEADER = b"record_id,patient_id,substance,dose_amount,dose_unit,taken_at\n"
FILES = [
    (HEADER + b"R1,M1,kratom,2,g,2026-06-01\nR2,M1,kratom,x,g,2026-06-01\n", "a.csv"),
    # other column order, an extra column, a unit error and a quoted field
    (b"taken_at,dose_unit,dose_amount,substance,patient_id,record_id,note\n"
     b'2026-06-02T08:00,mg,500,methadone,M2,R3,"a, b"\n2026-06-02,kg,1,kratom,M2,R4,\n', "b.csv"),
    (b"\x00\x01 binary", "c.csv"),  # unreadable
    (HEADER.replace(b"dose_unit,", b""), "d.csv"),  # the header lacks dose_unit: every row quarantined
]  # fmt: skip


def test_dosing_files_read_together_are_read_as_each_alone():
    together = read_dosing_files(FILES)
    readable = [
        (data, label) for data, label in FILES if read_dosing_csv(data, label).unreadable_reason is None
    ]
    alone = [read_dosing_csv(data, label) for data, label in readable]
    assert together.unreadable_reasons[2] is not None and together.rows_read[2] == 0
    assert together.rows_read == [2, 2, 0, 0]
    for file_no, one in enumerate(alone):
        records = together.records.filter(pl.col("file_no") == file_no).drop("file_no")
        quarantine = together.quarantine.filter(pl.col("file_no") == file_no).drop("file_no")
        assert records.equals(one.records)
        assert quarantine.equals(one.quarantine)
    # by hand: a.csv has one record and one bad number; b.csv one record and one unsupported unit
    assert together.records["record_id"].to_list() == ["R1", "R3"]
    assert together.quarantine.select("record_id", "reason").rows() == [
        ("R2", "bad_number"),
        ("R4", "unsupported_unit"),
    ]


def test_a_long_window_is_built_in_spans_of_days_with_data():
    year = spans(date(2025, 11, 1), date(2026, 11, 2))  # 366 calendar days: two spans
    assert year == [(date(2025, 11, 1), date(2026, 5, 3)), (date(2026, 5, 3), date(2026, 11, 2))]
    assert (year[0][1] - year[0][0]).days == SPAN_DAYS
    # a sparse history of 30 years, one day with data in 50: as many spans as its days need, not 60
    sparse = [date(1996, 2, 7) + timedelta(days=50 * n) for n in range(SPAN_DAYS + 1)]
    assert len(spans(sparse[0], sparse[-1] + timedelta(days=1), sparse)) == 2
    # every day of the window lies in exactly one span
    cut = spans(sparse[0], sparse[-1] + timedelta(days=1), sparse)
    assert cut[0][0] == sparse[0] and cut[-1][1] == sparse[-1] + timedelta(days=1)
    assert all(a[1] == b[0] for a, b in pairwise(cut))
    assert spans(date(2020, 1, 1), date(2020, 1, 5), []) == [(date(2020, 1, 1), date(2020, 1, 5))]
