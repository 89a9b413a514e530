"""What must hold for any bytes given to `read_lab_bytes` (contract section 3: nothing is lost).

Used by the fuzzer (fuzz/fuzz_reader.py) and the property tests (tests/test_reader_properties.py). A broken
invariant raises AssertionError with a short reason; a crash of the reader is any other exception.
"""

from __future__ import annotations

import math
from collections import Counter

from hepwatch.hl7.framing import decode_feed_bytes, is_envelope, split_blocks, split_segments
from hepwatch.hl7.oru import FileRead, read_lab_bytes

OUTCOMES = frozenset({"accepted", "ignored", "quarantined"})


def check_read(data: bytes, read: FileRead | None = None) -> FileRead:
    """Read `data` (unless given its reading) and check the ledger's arithmetic; returns the reading."""
    read = read_lab_bytes(data) if read is None else read
    text = decode_feed_bytes(data)
    blocks = split_blocks(text)

    # Every non-blank line that is not a batch envelope is in exactly one block, in file order.
    lines = [line for line in split_segments(text) if line.strip() and not is_envelope(line)]
    assert [segment for block in blocks for segment in block.segments] == lines, "a line is in no block"

    # One message record per block, in order; each in exactly one bucket, with a reason unless accepted.
    assert [m.index for m in read.messages] == list(range(len(blocks))), "blocks and records differ"
    for message, block in zip(read.messages, blocks, strict=True):
        assert message.outcome in OUTCOMES, message.outcome
        assert (message.outcome == "accepted") == (message.reason is None), (message.outcome, message.reason)
        assert message.raw == block.text, "the raw text kept is not the block's"
        assert block.is_message or message.reason == "not_hl7", "stray text not quarantined as not_hl7"
    buckets = Counter(m.outcome for m in read.messages)
    assert sum(buckets.values()) == len(read.messages)

    # Observations only from accepted messages: one per OBX segment, numbered in order.
    per_message = Counter(o.message_index for o in read.observations)
    for message, block in zip(read.messages, blocks, strict=True):
        obx = sum(1 for s in block.segments[1:] if s[:3] == "OBX") if message.outcome == "accepted" else 0
        assert per_message[message.index] == message.observations == obx, "OBX count differs"
    for message_index in per_message:
        indexes = [o.obx_index for o in read.observations if o.message_index == message_index]
        assert indexes == list(range(len(indexes))), "OBX numbering has gaps"

    # Numbers are finite; a value and its problem exclude each other; a ULN is above zero.
    for o in read.observations:
        assert (o.value is None) == (o.value_problem is not None), (o.value, o.value_problem)
        assert o.value is None or math.isfinite(o.value), o.value
        assert o.range_upper is None or (math.isfinite(o.range_upper) and o.range_upper > 0), o.range_upper
        assert o.comparator in (None, "<", ">", "<=", ">="), o.comparator
        assert o.value_repeats >= 0
    return read


def check_deterministic(data: bytes) -> None:
    """Reading the same bytes twice gives the same records."""
    assert read_lab_bytes(data) == read_lab_bytes(data), "two readings of the same bytes differ"


_FAST_READER = None


def check_fast_reader(data: bytes) -> None:
    """The columnar reader used for bulk ingestion (`hepwatch.ingest.lab_columns`) reads exactly what the
    reader reads: every ledger row, quarantined payload, observation (with its key) and patient."""
    global _FAST_READER
    from hepwatch.ingest.lab_columns import LabColumnsReader
    from tests.reference_lab_ingest import differences

    if _FAST_READER is None:
        _FAST_READER = LabColumnsReader()  # one reader for every input, as in an ingestion worker
    found = differences(data, _FAST_READER)
    assert not found, f"fast reader: {found}"


DOSING_REASONS = frozenset(
    {"missing_field", "bad_number", "non_positive_dose", "unsupported_unit", "bad_datetime"}
)


def check_dosing(data: bytes) -> None:
    """Any bytes as a dosing CSV: no crash; every data row a record or quarantined with a known reason and a
    detail; every record's dose finite, within the plausible range, dated 1900 to tomorrow; read twice,
    read alike."""
    from hepwatch.dosing import read_dosing_csv
    from hepwatch.dosing.rules import DOSE_MG_MAX, DOSE_MG_MIN, EARLIEST_DOSE_DATE, latest_dose_date

    read = read_dosing_csv(data, "fuzz.csv")
    if read.unreadable_reason is not None:
        assert read.records.height == read.quarantine.height == read.rows_read == 0, "unreadable yet rows"
        return
    assert read.rows_read == read.records.height + read.quarantine.height, "a row is neither kept nor held"
    lines = read.records["line"].to_list() + read.quarantine["line"].to_list()
    assert len(set(lines)) == len(lines), "a line is both kept and held, or held twice"
    assert set(read.quarantine["reason"].to_list()) <= DOSING_REASONS, "unknown reason"
    assert all(read.quarantine["detail"].to_list()), "a quarantined row without a detail"
    for dose_mg, day in read.records.select("dose_mg", "dose_date").iter_rows():
        assert math.isfinite(dose_mg) and DOSE_MG_MIN <= dose_mg <= DOSE_MG_MAX, f"implausible dose {dose_mg}"
        assert EARLIEST_DOSE_DATE <= day <= latest_dose_date(), f"implausible date {day}"
    again = read_dosing_csv(data, "fuzz.csv")
    assert again.records.equals(read.records) and again.quarantine.equals(read.quarantine), (
        "not deterministic"
    )
