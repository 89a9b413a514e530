"""The fast columnar reader (hepwatch.ingest.lab_columns) reads exactly what the reader (read_lab_bytes) reads.

Compared: every ledger row (block index, line, outcome, reason, detail, MSH fields, OBX count), every
quarantined payload, and every OBX row of an accepted message in landing form (all ObservationRecord fields
ingestion uses, the collection time as `collected_at or observed_at`, the observation key of
hl7.identity, the patient pair), plus the line count; on the whole public corpus, every sample lab
file, a generated bench feed, and hand-made files for framing and delimiters the corpus lacks.

The whole 1,000,000-message bench feed is compared by `make bench-identity` (about 4 minutes, outside
`make test`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from hepwatch.hl7 import identity, timestamps
from hepwatch.ingest.lab_columns import LabColumnsReader
from hepwatch.synthetic import lab_messages as messages
from tests.conftest import CORPUS, PROJECT
from tests.reference_lab_ingest import differences
from tests.reference_lab_ingest import observations as landing_observations

SAMPLE_LABS = sorted((PROJECT / "sample_feeds" / "labs").rglob("*.hl7"))
CORPUS_FILES = sorted(CORPUS.glob("*.hl7"))

STANDARD = (
    "MSH|^~\\&|LAB|FAC|HW|CLINIC|20250101120000||ORU^R01|{id}|P|2.5.1\r"
    "PID|1||123^^^AUTH^MR~L9^^^LAB^PI||Doe^Jane\r"
    "OBR|1|P{id}|F{id}|X|||202501011000|||||||||||||||202501011130|||F\r"
    "OBX|1|NM|1742-6^ALT^LN|1|45|U/L|7-56|N|||F\r"
    "OBX|2|NM|1742-6^ALT^LN|1|46|U/L|7-56|N|||F\r"  # the same identity again: repeat number 2
    "OBX|3|SN|1920-8^AST^LN||>^1000|U/L|<40|HH~A|||C|||20250101\r"
    "OBX|4|ST|ALK PHOS^Alk \\T\\ phos^L||12\\S\\3|IU/L|(1.0 - 12.0)||||P\r"
)
ODD = (
    "MSH#$~\\&#LAB#FAC#H#C#20250101120000##ORU$R01#C2#P#2.3\r"  # other delimiters: read by read_message
    "PID#1##999$$$AUTH$MR\rOBR#1#P2#F2#X###\r"
    "OBX#1#NM#1742-6$ALT$LN#1#45#U/L#7-56#N###F###202501010900\r"
)
HAND_MADE = {
    "mixed": "FHS|^~\\&|X\rBHS|^~\\&|Y\r"
    + STANDARD.format(id="C1")
    + "hello world\rnot hl7\r"
    + ODD
    + STANDARD.format(id="C1")
    + "BTS|1\rFTS|1\r",
    "crlf_mllp": "\x0b"
    + STANDARD.format(id="M1").replace("\r", "\r\n")
    + "\x1c\r\n\x0b"
    + STANDARD.format(id="M2").replace("\r", "\r\n")
    + "\x1c\r\n",
    "lf_only": STANDARD.format(id="L1").replace("\r", "\n")
    + "\n\n"
    + STANDARD.format(id="L2").replace("\r", "\n"),
    "bom": "\ufeff" + STANDARD.format(id="B1"),
    "no_pid": "MSH|^~\\&|LAB|FAC|||20250101||ORU^R01|Q1|P|2.5\rOBR|1|A|B\rOBX|1|NM|X^Y|1|1|U/L\r",
    "empty_pid": "MSH|^~\\&|LAB|FAC|||20250101||ORU^R01|Q2|P|2.5\rPID|1||\rOBX|1|NM|X|1|1\r",
    "no_control_id": "MSH|^~\\&|LAB|FAC|||20250101||ORU^R01||P|2.5\rPID|1||1^^^A\r",
    "adt": "MSH|^~\\&|LAB|FAC|||20250101||ADT^A08|A1|P|2.5\rPID|1||1^^^A\r",
    "short_msh": "MSH|^~\\&|LAB\rPID|1||1\r",
    "obx_first": "MSH|^~\\&|LAB|FAC|||202501011230+0100||ORU^R01|Q3|P|2.5\rOBX|1|NM|X|1|1\rPID|1||1\r",
    "odd_times": STANDARD.format(id="T1")
    .replace("20250101120000", "2025010112000")
    .replace("202501011000", "20250101100000.123-05"),
    "escapes": STANDARD.format(id="E1").replace("LAB|FAC", "LAB|F\\F\\AC^X").replace("P{id}", "P\\X41\\"),
    "segment_only": "MSH|^~\\&|LAB|FAC|||20250101||ORU^R01|Q4|P|2.5\rPID|1||1^^^A\rNTE\rZXY|1\rOBX|1|NM|X\r",
}


def assert_identical(data: bytes, reader: LabColumnsReader) -> None:
    assert differences(data, reader) == []


@pytest.fixture(scope="module")
def reader() -> LabColumnsReader:
    return LabColumnsReader()  # one reader for every file, as in a worker: its memos carry over


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name[:50] for p in CORPUS_FILES])
def test_public_corpus(path: Path, reader: LabColumnsReader) -> None:
    assert_identical(path.read_bytes(), reader)


def test_every_sample_lab_file(reader: LabColumnsReader) -> None:
    assert len(SAMPLE_LABS) > 300
    for path in SAMPLE_LABS:
        assert_identical(path.read_bytes(), reader)


@pytest.mark.parametrize("name", sorted(HAND_MADE))
def test_hand_made_files(name: str, reader: LabColumnsReader) -> None:
    assert_identical(HAND_MADE[name].encode("utf-8"), reader)
    assert_identical(HAND_MADE[name].encode("cp1252", errors="replace"), reader)


def test_the_column_wise_paths_on_every_odd_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small pieces read timestamps and keys value by value; large ones column-wise (Polars, DuckDB). The
    odd inputs are small, so they are read again here with the column-wise paths forced."""
    monkeypatch.setattr(timestamps, "SMALL", 0)
    monkeypatch.setattr(identity, "SMALL", 0)
    reader = LabColumnsReader()
    for text in HAND_MADE.values():
        assert_identical(text.encode("utf-8"), reader)
    for path in CORPUS_FILES:
        assert_identical(path.read_bytes(), reader)


def test_a_generated_bench_feed(reader: LabColumnsReader) -> None:
    text = "".join(m + "\r\n" for m in messages(20260501, 20_000))
    assert_identical(text.encode(), reader)
    columns = reader.read(text)
    outcomes = dict(columns.messages.group_by("outcome").len().iter_rows())
    assert outcomes["accepted"] > 19_000 and outcomes["ignored"] > 10  # and duplicates are the ledger's
    assert columns.rows.height > 110_000


def test_timestamps_read_directly_as_parse_timestamp_reads_them() -> None:
    """The shortcuts of the standard delimiters' field readers (a field without delimiters is read as it
    is; a timestamp of ASCII digits is built directly) give what the general rules give."""
    from hepwatch.hl7.fields import STANDARD, read_timestamp
    from hepwatch.hl7.timestamps import parse_timestamp_by_pattern as parse_timestamp

    class Plain:  # the general rules alone: split, unescape, join
        def text(self, raw: str) -> str:
            comps = STANDARD.components(raw)
            while comps and not comps[-1]:
                comps.pop()
            return "^".join(comps)

        def first(self, raw: str) -> str:
            return STANDARD.unescape(raw.split("~", 1)[0].split("^", 1)[0]).strip()

    fx = Plain()
    _first, _text = STANDARD.first, STANDARD.text

    def _timestamp(raw: str) -> datetime | None:
        return read_timestamp(STANDARD, raw)

    samples = [
        "", "2025", "202501", "20250101", "2025010112", "202501011230", "20250101123045", "2025010112304",
        "20251301", "20250230", "00000101", "20250101123045-0500", "202501011230+01", "20250101.5",
        " 20250101 ", "20250101123045.1234+0100", "2025^01", "２０２５０１０１", "20250101123060",
        "202501011299", "2025010124", "abc", "1999123123595", "19991231235959+9999",
    ]  # fmt: skip
    for raw in samples:
        assert _timestamp(raw) == parse_timestamp(fx.first(raw)), raw
        assert _first(raw) == fx.first(raw), raw
        assert _text(raw) == fx.text(raw), raw
    for raw in ["a&b", "a^b", "a~b", "a\\T\\b", " a ", "", "^", "a^", "&x"]:
        assert _first(raw) == fx.first(raw), raw
        assert _text(raw) == fx.text(raw), raw


def test_timestamps_read_column_wise_as_parse_timestamp_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """The column-wise reading (strptime for the usual 14 digits, the calendar rules for the rest) gives
    what values.parse_timestamp gives: no leap second, no hour 24, no 30 February, no year 0."""
    from hepwatch.hl7.fields import STANDARD as fx
    from hepwatch.hl7.fields import read_timestamp
    from hepwatch.hl7.timestamps import parse_timestamp
    from hepwatch.ingest.piece_builder import Memo

    monkeypatch.setattr(timestamps, "SMALL", 0)
    samples = [
        None, "", "2025", "20250101", "202501011230", "20250101123045", "20250101123045-0500",
        "20250101123045+0130", "20240229120000", "20230229120000", "20250431120000", "20251301120000",
        "20250001120000", "20250100120000", "20250101240000", "20250101236000", "20250101235960",
        "00001231235959", "09991231235959", "10000101000000", "99991231235959", "20250101123045-05",
        "20250101123045.123", " 20250101123045", "20250101123045 ", "2025010112304５", "x20250101123045",
        "20250101123045-0500-0500", "20250101123045^x", "19991231235959+9999", "2025010112304",
        "202501011230-0500", "202402291230", "202302291230", "202501012400", "202501011260", "000012312359",
        "202501011230+05", "2025010112300",
    ]  # fmt: skip
    column = timestamps.parse_timestamps(
        pl.Series("t", samples, dtype=pl.Utf8), Memo(lambda raw: read_timestamp(fx, raw))
    )
    for raw, read in zip(samples, column.to_list(), strict=True):
        assert read == (None if raw is None else parse_timestamp(fx.first(raw))), raw


def test_columns_have_the_landing_types() -> None:
    columns = LabColumnsReader().read(STANDARD.format(id="X1"))
    observations = landing_observations(columns)
    assert observations.schema["collected_at"] == pl.Datetime("us")
    assert observations["observation_key"].str.len_chars().to_list() == [32] * 4  # 128 bits of the SHA-1
    assert observations["collected_at"].null_count() == 0
