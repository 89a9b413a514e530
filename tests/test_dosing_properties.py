"""Property tests of the dosing CSV reader: whatever the bytes, every data row is a record or quarantined
with a known reason, and no record carries an implausible dose or date (fuzz.invariants.check_dosing, the
invariants `make fuzz` checks at length)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz.invariants import check_dosing

HEADER = "record_id,patient_id,id_authority,substance,dose_amount,dose_unit,taken_at\n"
cells = st.sampled_from(
    ["R1", "M1", "", "kratom", "Methadone", "2", "1e308", "1e-320", "-0", "NaN", "0.001", "g", "mg", "ug", "tsp",
     "2026-06-01", "0001-01-01", "9999-12-31", "2026-02-30", "2026-06-01T08:30:00Z", '"a,b"', '"', "\r"]
)  # fmt: skip
rows = st.lists(st.lists(cells, min_size=0, max_size=9).map(",".join), max_size=12).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(rows)
def test_any_rows_under_a_header_are_each_kept_or_held(body: str) -> None:
    check_dosing((HEADER + body).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_read_without_a_crash(data: bytes) -> None:
    check_dosing(data)
