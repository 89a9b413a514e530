"""The dosing CSV reader against contract.md sections 2 (dosing CSV) and 3 (what bad input gets)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepwatch.dosing import QUARANTINE_SCHEMA, RECORD_SCHEMA, DosingFileRead, read_dosing_csv

HEADER = "record_id,patient_id,substance,dose_amount,dose_unit,taken_at"
GOOD = {
    "record_id": "R1",
    "patient_id": "MRN123",
    "substance": "kratom",
    "dose_amount": "2",
    "dose_unit": "g",
    "taken_at": "2026-06-01T08:30:00",
}


def read(content: str | bytes) -> DosingFileRead:
    """Read a file and check what must hold for every file: nothing dropped, exact column shapes."""
    data = content.encode() if isinstance(content, str) else content
    result = read_dosing_csv(data, "dosing/test.csv")
    assert result.rows_read == result.records.height + result.quarantine.height
    assert result.records.schema == RECORD_SCHEMA
    assert result.quarantine.schema == QUARANTINE_SCHEMA
    if result.unreadable_reason is not None:
        assert result.rows_read == 0
    return result


def csv_text(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    """A well-formed CSV file (RFC 4180 quoting, LF line ends) with the given rows."""
    columns = header or list(GOOD)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def one_row(**changes: str) -> DosingFileRead:
    return read(csv_text([{**GOOD, **changes}]))


def only_record(**changes: str) -> dict:
    result = one_row(**changes)
    assert result.quarantine.height == 0, result.quarantine.to_dicts()
    return result.records.row(0, named=True)


def only_quarantined(**changes: str) -> dict:
    result = one_row(**changes)
    assert result.records.height == 0
    return result.quarantine.row(0, named=True)


def test_a_good_row_becomes_one_record_with_every_column() -> None:
    record = only_record()
    assert record == {
        "line": 2,
        "record_id": "R1",
        "patient_id": "MRN123",
        "id_authority": "",
        "substance": "kratom",
        "substance_as_written": "kratom",
        "product": None,
        "dose_amount": 2.0,
        "dose_unit": "g",
        "dose_mg": 2000.0,
        "taken_at_text": "2026-06-01T08:30:00",
        "dose_date": date(2026, 6, 1),
        "taken_at": datetime(2026, 6, 1, 8, 30),
        "source": None,
    }


# (changed fields, expected reason, words the detail must contain); the reason is the first that applies
# in the order missing_field > bad_number > non_positive_dose > unsupported_unit > bad_datetime.
REASONS = [
    ({"record_id": ""}, "missing_field", "record_id"),
    ({"patient_id": "   "}, "missing_field", "patient_id"),
    ({"substance": ""}, "missing_field", "substance"),
    ({"dose_amount": ""}, "missing_field", "dose_amount"),
    ({"dose_unit": " "}, "missing_field", "dose_unit"),
    ({"taken_at": ""}, "missing_field", "taken_at"),
    ({"patient_id": "", "taken_at": ""}, "missing_field", "patient_id, taken_at"),
    ({"patient_id": "", "dose_amount": "abc", "dose_unit": "tsp"}, "missing_field", "patient_id"),
    ({"dose_amount": "abc"}, "bad_number", "dose_amount 'abc' is not a number"),
    ({"dose_amount": "1,5"}, "bad_number", "decimal separator"),
    ({"dose_amount": "NaN"}, "bad_number", "dose_amount 'NaN' is not a number"),
    ({"dose_amount": "nan"}, "bad_number", "is not a number"),
    ({"dose_amount": "inf"}, "bad_number", "dose_amount 'inf' is not a number"),
    ({"dose_amount": "-Infinity"}, "bad_number", "is not a number"),
    ({"dose_amount": "1e999"}, "bad_number", "too large"),
    ({"dose_amount": "0x10"}, "bad_number", "is not a number"),
    ({"dose_amount": "1_000"}, "bad_number", "is not a number"),
    ({"dose_amount": "2 g"}, "bad_number", "is not a number"),
    ({"dose_amount": "1.2.3"}, "bad_number", "is not a number"),
    ({"dose_amount": "."}, "bad_number", "is not a number"),
    ({"dose_amount": "١"}, "bad_number", "is not a number"),  # Arabic-Indic digit one
    ({"dose_amount": "abc", "dose_unit": "tsp", "taken_at": "yesterday"}, "bad_number", "dose_amount"),
    ({"dose_amount": "0"}, "non_positive_dose", "dose_amount '0' must be greater than 0"),
    ({"dose_amount": "0.000"}, "non_positive_dose", "greater than 0"),
    ({"dose_amount": "-0"}, "non_positive_dose", "greater than 0"),
    ({"dose_amount": "-1.5"}, "non_positive_dose", "dose_amount '-1.5' must be greater than 0"),
    ({"dose_amount": "0", "dose_unit": "tsp"}, "non_positive_dose", "dose_amount"),
    ({"dose_unit": "tsp"}, "unsupported_unit", "dose_unit 'tsp' is not a supported unit"),
    ({"dose_unit": "kg"}, "unsupported_unit", "expected g, mg, mcg or ug"),
    ({"dose_unit": "grams"}, "unsupported_unit", "dose_unit 'grams'"),
    ({"dose_unit": "mg/kg"}, "unsupported_unit", "dose_unit 'mg/kg'"),
    ({"dose_unit": "tsp", "taken_at": "yesterday"}, "unsupported_unit", "dose_unit"),
    ({"taken_at": "yesterday"}, "bad_datetime", "taken_at 'yesterday' is not an ISO 8601 date"),
    ({"taken_at": "01/06/2026"}, "bad_datetime", "expected YYYY-MM-DD"),
    ({"taken_at": "2026-6-1"}, "bad_datetime", "not an ISO 8601"),
    ({"taken_at": "20260601"}, "bad_datetime", "not an ISO 8601"),
    ({"taken_at": "2026-06-01T08"}, "bad_datetime", "not an ISO 8601"),
    ({"taken_at": "2026-06-01T24:00"}, "bad_datetime", "not an ISO 8601"),
    ({"taken_at": "2026-06-01T08:60"}, "bad_datetime", "not an ISO 8601"),
    ({"taken_at": "2026-06-01T08:30:60"}, "bad_datetime", "not an ISO 8601"),
    ({"taken_at": "2026-06-01T08:30:00.1234567"}, "bad_datetime", "not an ISO 8601"),
    ({"taken_at": "2026-06-01Z"}, "bad_datetime", "not an ISO 8601"),
    ({"taken_at": "2026-06-01T08:30+5"}, "bad_datetime", "not an ISO 8601"),
    ({"taken_at": "2026-06-01T08:30:00 EST"}, "bad_datetime", "not an ISO 8601"),
    ({"taken_at": "2026-02-30"}, "bad_datetime", "taken_at '2026-02-30' is not a real calendar date"),
    ({"taken_at": "2025-02-29T10:00"}, "bad_datetime", "not a real calendar date"),
    ({"taken_at": "2026-13-01"}, "bad_datetime", "not a real calendar date"),
    ({"taken_at": "2026-04-31"}, "bad_datetime", "not a real calendar date"),
    ({"taken_at": "2026-06-00"}, "bad_datetime", "not a real calendar date"),
    ({"taken_at": "0000-01-01"}, "bad_datetime", "not a real calendar date"),
    # a dose no feed can hold: before 1900 or after tomorrow (the rows would reach no mart)
    ({"taken_at": "0001-01-01"}, "bad_datetime", "taken_at '0001-01-01' is not a plausible dose date"),
    ({"taken_at": "1899-12-31"}, "bad_datetime", "expected 1900-01-01 to tomorrow"),
    ({"taken_at": "9999-12-31"}, "bad_datetime", "is not a plausible dose date"),
    ({"taken_at": "9999-12-31T23:59:59"}, "bad_datetime", "is not a plausible dose date"),
    # outside 1 microgram to 1 kilogram: 1e308 g would be an infinite total, 1e-320 a subnormal number
    (
        {"dose_amount": "1e308"},
        "bad_number",
        "dose_amount '1e308' dose_unit 'g' is outside the plausible range",
    ),
    ({"dose_amount": "1e-320"}, "bad_number", "1 microgram to 1 kilogram"),
    ({"dose_amount": "1001"}, "bad_number", "outside the plausible range"),
    ({"dose_amount": "0.9", "dose_unit": "ug"}, "bad_number", "outside the plausible range"),
]


@pytest.mark.parametrize(("changes", "reason", "detail"), REASONS)
def test_quarantine_reason_and_detail(changes: dict[str, str], reason: str, detail: str) -> None:
    """Every odd row reaches the quarantine with its reason and a detail that says what was expected."""
    quarantined = only_quarantined(**changes)
    assert quarantined["reason"] == reason
    assert detail in quarantined["detail"]
    assert quarantined["line"] == 2
    assert "MRN123" not in quarantined["detail"]
    assert quarantined["record_id"] == ("R1" if "record_id" not in changes else None)


@pytest.mark.parametrize(
    ("written", "expected"),
    [("2", 2.0), (" 2 ", 2.0), ("+2", 2.0), (".5", 0.5), ("5.", 5.0), ("1e3", 1000.0), ("2.5E-1", 0.25)],
)
def test_dose_amount_accepts_plain_decimals(written: str, expected: float) -> None:
    assert only_record(dose_amount=written, dose_unit="mg")["dose_amount"] == expected


@pytest.mark.parametrize(
    ("amount", "unit", "dose_mg"),
    [
        ("2", "g", 2000.0),
        ("1.5", "g", 1500.0),
        ("0.1", "g", 100.0),
        ("2", "mg", 2.0),
        ("500", "mcg", 0.5),
        ("5", "ug", 0.005),
        ("5", "µg", 0.005),  # U+00B5 micro sign
        ("5", "μg", 0.005),  # U+03BC Greek small mu
        ("8", "MG", 8.0),
        ("3", "G", 3000.0),
        ("250", "Mcg", 0.25),
        ("5", "UG", 0.005),
    ],
)
def test_unit_conversion_to_mg(amount: str, unit: str, dose_mg: float) -> None:
    record = only_record(dose_amount=amount, dose_unit=unit)
    assert record["dose_mg"] == dose_mg
    assert record["dose_unit"] == unit


def test_dose_unit_is_kept_as_written_but_trimmed() -> None:
    assert only_record(dose_unit=" mg ")["dose_unit"] == "mg"


@pytest.mark.parametrize(
    ("taken_at", "dose_date", "taken_at_value"),
    [
        ("2026-06-01", date(2026, 6, 1), None),
        ("2026-06-01T08:30", date(2026, 6, 1), datetime(2026, 6, 1, 8, 30)),
        ("2026-06-01 08:30:15", date(2026, 6, 1), datetime(2026, 6, 1, 8, 30, 15)),
        ("2026-06-01T23:30:00-05:00", date(2026, 6, 1), datetime(2026, 6, 1, 23, 30)),
        ("2026-06-01T00:30:00+09:00", date(2026, 6, 1), datetime(2026, 6, 1, 0, 30)),
        ("2026-06-01T00:30:00+0900", date(2026, 6, 1), datetime(2026, 6, 1, 0, 30)),
        ("2026-06-01T23:59:59Z", date(2026, 6, 1), datetime(2026, 6, 1, 23, 59, 59)),
        ("2026-06-01T23:59:59.5Z", date(2026, 6, 1), datetime(2026, 6, 1, 23, 59, 59, 500000)),
        ("2026-06-01T10:00:00.000001", date(2026, 6, 1), datetime(2026, 6, 1, 10, 0, 0, 1)),
        ("2026-06-01 10:00-03:30", date(2026, 6, 1), datetime(2026, 6, 1, 10, 0)),
        ("2024-02-29", date(2024, 2, 29), None),
        ("2025-12-31T23:59", date(2025, 12, 31), datetime(2025, 12, 31, 23, 59)),
        (" 2026-06-01 ", date(2026, 6, 1), None),
    ],
)
def test_dose_date_is_the_date_as_written(taken_at: str, dose_date: date, taken_at_value: datetime) -> None:
    record = only_record(taken_at=taken_at)
    assert record["dose_date"] == dose_date
    assert record["taken_at"] == taken_at_value
    assert record["taken_at_text"] == taken_at.strip()


@pytest.mark.parametrize(
    ("written", "substance"),
    [
        ("kratom", "kratom"),
        ("KRATOM", "kratom"),
        ("  Kratom ", "kratom"),
        ("Mitragyna speciosa", "kratom"),
        ("MITRAGYNA   SPECIOSA", "kratom"),
        ("mitragyna\tspeciosa", "kratom"),
        ("Methadone", "methadone"),
        ("buprenorphine", "buprenorphine"),
        ("BUPRENORPHINE", "buprenorphine"),
        ("Suboxone", "other"),
        ("tianeptine", "other"),
        ("kratom extract", "other"),
        ("Mitragyna", "other"),
    ],
)
def test_substance_names(written: str, substance: str) -> None:
    record = only_record(substance=written)
    assert record["substance"] == substance
    assert record["substance_as_written"] == written.strip()


def test_column_order_is_free_and_extra_columns_are_ignored() -> None:
    content = (
        "Notes, TAKEN_AT ,Dose_Unit,dose_amount,Substance,Patient_ID,Record_ID,site\n"
        "first dose,2026-06-01,mg,40,methadone,MRN9,R7,clinic A\n"
    )
    record = read(content).records.row(0, named=True)
    assert record["record_id"] == "R7"
    assert record["patient_id"] == "MRN9"
    assert record["substance"] == "methadone"
    assert record["dose_mg"] == 40.0
    assert record["dose_date"] == date(2026, 6, 1)


def test_optional_columns_are_trimmed_and_source_lower_cased() -> None:
    columns = [*GOOD, "id_authority", "product", "source"]
    row = {
        **GOOD,
        "patient_id": " MRN123 ",
        "id_authority": " HOSP-A ",
        "product": " leaf, powder ",
        "source": " Self_Report",
    }
    record = read(csv_text([row], columns)).records.row(0, named=True)
    assert (record["patient_id"], record["id_authority"]) == ("MRN123", "HOSP-A")
    assert record["product"] == "leaf, powder"
    assert record["source"] == "self_report"


def test_empty_optional_cells() -> None:
    columns = [*GOOD, "id_authority", "product", "source"]
    record = read(
        csv_text([{**GOOD, "id_authority": "", "product": " ", "source": ""}], columns)
    ).records.row(0, named=True)
    assert (record["id_authority"], record["product"], record["source"]) == ("", None, None)


def test_missing_required_columns_quarantine_every_row() -> None:
    columns = ["record_id", "patient_id", "substance", "dose_amount"]
    result = read(csv_text([GOOD, {**GOOD, "record_id": "R2"}, {**GOOD, "record_id": "R3"}], columns))
    assert result.unreadable_reason is None
    assert result.rows_read == 3
    assert result.records.height == 0
    assert result.quarantine["reason"].to_list() == ["missing_field"] * 3
    assert result.quarantine["line"].to_list() == [2, 3, 4]
    assert result.quarantine["record_id"].to_list() == ["R1", "R2", "R3"]
    assert set(result.quarantine["detail"]) == {"the header lacks required column(s): dose_unit, taken_at"}


def test_utf8_bom_is_stripped() -> None:
    result = read(b"\xef\xbb\xbf" + csv_text([GOOD]).encode())
    assert result.records["record_id"].to_list() == ["R1"]


def test_latin1_file_is_decoded() -> None:
    content = csv_text([{**GOOD, "product": "café crème"}], [*GOOD, "product"]).encode("latin-1")
    assert read(content).records["product"].to_list() == ["café crème"]


def test_cp1252_file_is_decoded() -> None:
    content = csv_text([{**GOOD, "product": "“red vein” – capsules"}], [*GOOD, "product"]).encode("cp1252")
    assert read(content).records["product"].to_list() == ["“red vein” – capsules"]


def test_crlf_and_cr_line_ends() -> None:
    lines = [HEADER, "R1,P1,kratom,2,g,2026-06-01", "R2,P1,kratom,abc,g,2026-06-01"]
    for end in ("\r\n", "\r"):
        result = read(end.join(lines) + end)
        assert result.records["line"].to_list() == [2]
        assert result.quarantine["line"].to_list() == [3]


def test_quoted_multiline_field_keeps_physical_line_numbers() -> None:
    content = (
        f"{HEADER},product\n"  # line 1
        'R1,P1,kratom,2,g,2026-06-01,"red vein,\n'  # line 2: R1 starts
        "leaf powder\n"  # line 3
        '""fine"" grind"\n'  # line 4: R1 ends
        "R2,P1,kratom,abc,g,2026-06-01,capsules\n"  # line 5
        'R3,P1,kratom,1,g,2026-06-02,"tea, ""hot"""\n'  # line 6
    )
    result = read(content)
    assert result.records["line"].to_list() == [2, 6]
    assert result.records["product"].to_list() == ['red vein,\nleaf powder\n"fine" grind', 'tea, "hot"']
    assert result.quarantine["line"].to_list() == [5]


def test_stray_quote_inside_a_field_does_not_shift_line_numbers() -> None:
    content = (
        f"{HEADER},product\n"
        'R1,P1,kratom,2,g,2026-06-01,5" capsules\n'
        "R2,P1,kratom,2,g,2026-06-01,powder\n"
        "R3,P1,kratom,abc,g,2026-06-01,powder\n"
    )
    result = read(content)
    assert result.records["line"].to_list() == [2, 3]
    assert result.records["product"].to_list() == ['5" capsules', "powder"]
    assert result.quarantine["line"].to_list() == [4]


def test_unclosed_quote_quarantines_the_row_that_swallows_the_rest() -> None:
    content = f'{HEADER},product\nR1,P1,kratom,2,g,2026-06-01,ok\nR2,P1,kratom,"2,g,2026-06-01,x\nR3,P1,kratom,2,g,2026-06-01,y\n'
    result = read(content)
    assert result.records["record_id"].to_list() == ["R1"]
    quarantined = result.quarantine.row(0, named=True)
    assert (quarantined["line"], quarantined["reason"]) == (3, "missing_field")
    assert "quote" in quarantined["detail"]
    assert "R3" in quarantined["raw"]


def test_blank_lines_are_not_rows_but_count_for_line_numbers() -> None:
    content = f"\n{HEADER}\n\nR1,P1,kratom,2,g,2026-06-01\n\n\nR2,P1,kratom,2,g,2026-06-02\n\n"
    result = read(content)
    assert result.rows_read == 2
    assert result.records["line"].to_list() == [4, 7]


def test_row_of_empty_cells_is_quarantined_not_dropped() -> None:
    result = read(f"{HEADER}\n,,,,,\n , , ,,,\nR1,P1,kratom,2,g,2026-06-01\n")
    assert result.rows_read == 3
    assert result.quarantine.select("line", "reason", "detail").rows() == [
        (2, "missing_field", "the row is empty"),
        (3, "missing_field", "the row is empty"),
    ]
    assert result.quarantine["record_id"].to_list() == [None, None]


def test_ragged_rows() -> None:
    content = (
        f"{HEADER}\n"
        "R1,P1,kratom,2,g,2026-06-01,extra,cells\n"  # longer than the header: extras ignored
        "R2,P1,kratom,2\n"  # shorter: dose_unit and taken_at missing
    )
    result = read(content)
    assert result.records["record_id"].to_list() == ["R1"]
    quarantined = result.quarantine.row(0, named=True)
    assert (quarantined["line"], quarantined["reason"]) == (3, "missing_field")
    assert (
        quarantined["detail"]
        == "required field empty: dose_unit, taken_at (the row has 4 of the header's 6 cells)"
    )


def test_raw_holds_the_row_as_read() -> None:
    content = f'{HEADER},Notes\nR1, MRN123 ,kratom,abc,g,2026-06-01,"said ""2 scoops"""\nR2,P1,kratom,1\n'
    raws = [json.loads(raw) for raw in read(content).quarantine["raw"]]
    assert raws[0] == {
        "record_id": "R1",
        "patient_id": " MRN123 ",
        "substance": "kratom",
        "dose_amount": "abc",
        "dose_unit": "g",
        "taken_at": "2026-06-01",
        "Notes": 'said "2 scoops"',
    }
    assert raws[1]["dose_unit"] == ""


def test_duplicate_record_id_within_a_file_keeps_both_rows() -> None:
    result = read(csv_text([GOOD, {**GOOD, "dose_amount": "3"}]))
    assert result.records.select("line", "record_id", "dose_amount").rows() == [
        (2, "R1", 2.0),
        (3, "R1", 3.0),
    ]


def test_duplicated_header_name_first_column_wins() -> None:
    result = read(
        "record_id,patient_id,substance,dose_amount,dose_unit,taken_at,dose_amount\nR1,P1,kratom,2,g,2026-06-01,9\n"
    )
    assert result.records["dose_amount"].to_list() == [2.0]


def test_header_only_file_has_no_rows() -> None:
    result = read(HEADER + "\n")
    assert (result.unreadable_reason, result.rows_read) == (None, 0)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty_file"),
        (b"\xef\xbb\xbf", "empty_file"),
        (b"\n\n  \r\n", "empty_file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "not_csv: the file contains NUL bytes"),
        (bytes(range(1, 32)) * 20, "not_csv: "),
        ("record_id,patient_id\n".encode("utf-16"), "not_csv: the file is UTF-16"),
        (b"R1,P1,kratom,2,g,2026-06-01\nR2,P1,kratom,2,g,2026-06-01\n", "no_header"),
        (b"hello world\n", "no_header"),
        (HEADER.encode() + b'\nR1,"unclosed' + b"x" * 200_000, "not_csv: line 2"),  # a field past csv's limit
    ],
)
def test_unreadable_files(content: bytes, reason: str) -> None:
    result = read(content)
    assert result.unreadable_reason is not None
    assert result.unreadable_reason.startswith(reason)
    assert (result.records.height, result.quarantine.height, result.rows_read) == (0, 0, 0)


def test_many_rows_count_exactly() -> None:
    rows = [
        {**GOOD, "record_id": f"R{i}", "dose_amount": "abc" if i % 7 == 0 else str(i + 1)}
        for i in range(1000)
    ]
    result = read(csv_text(rows))
    assert result.rows_read == 1000
    assert result.quarantine.height == len(range(0, 1000, 7))
    assert result.records["line"].to_list() == [i + 2 for i in range(1000) if i % 7]


CELLS = st.one_of(
    st.sampled_from(
        ["", " ", "R1", "kratom", "Mitragyna speciosa", "2", "0", "abc", "g", "mcg", "2026-06-01"]
    ),
    st.text(alphabet=st.sampled_from('a1,."\n\r éµ-:T+'), max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(
    columns=st.lists(
        st.sampled_from([*GOOD, "id_authority", "product", "source", "notes"]), min_size=2, max_size=8
    ).filter(lambda names: set(names) != {"notes"}),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=9), max_size=8),
)
def test_any_well_quoted_csv_counts_every_row_at_its_line(columns: list[str], rows: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # quotes cells holding CR or LF
    writer.writerow(columns)
    expected_lines, line = [], 2
    for row in rows:
        writer.writerow(row)
        if row:  # csv.writer writes [] as a blank line, [""] as `""`
            expected_lines.append(line)
        line += 1 + sum(cell.replace("\r\n", "\n").count("\n") for cell in row)
    result = read(out.getvalue())
    assert result.unreadable_reason is None
    assert sorted([*result.records["line"], *result.quarantine["line"]]) == expected_lines


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode)))
def test_any_bytes_never_raise_and_every_row_is_counted(content: bytes) -> None:
    read(content)
    read(HEADER.encode() + b"\n" + content)


@pytest.mark.parametrize(
    ("amount", "unit", "taken_at"),
    [("1000", "g", "1900-01-01"), ("1", "ug", "2026-06-01"), ("1000000", "mg", "2026-06-01")],
)
def test_the_bounds_of_a_plausible_dose_are_records(amount: str, unit: str, taken_at: str) -> None:
    assert only_record(dose_amount=amount, dose_unit=unit, taken_at=taken_at)["record_id"] == "R1"
