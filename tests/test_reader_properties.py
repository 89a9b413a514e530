"""Properties of the HL7 reader for any input (hypothesis; derandomized, so every run sees the same examples).

1. Any bytes: `read_lab_bytes` never raises, every block ends in exactly one bucket and the ledger adds up
   (`fuzz.invariants.check_read`, shared with the fuzzer `fuzz/fuzz_reader.py`).
2. Round trip: a message written from generated field values, with random encoding characters and proper
   escaping, reads back as the same values, whatever the framing (CR, LF, CRLF, MLLP, FHS/BHS batch, BOM).

tests/test_differential.py compares the reader with hl7apy on generated messages; this file checks the reader
against the values it was written from, with encodings and texts hl7apy cannot write.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.fuzz_reader import DICTIONARY, SEED_MESSAGES
from fuzz.invariants import check_deterministic, check_fast_reader, check_read
from hepwatch.hl7.oru import read_lab_bytes

FAST = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# 1. Any bytes --------------------------------------------------------------------------------------------------

TOKENS = st.sampled_from([t.encode() for t in DICTIONARY])
HL7ISH = st.lists(
    TOKENS | st.binary(max_size=6) | st.sampled_from([b"\r", b"\n", b"|", b"^"]), max_size=60
).map(b"".join)
MUTATED = st.builds(
    lambda seed, cut, insert: seed[:cut] + insert + seed[cut:],
    st.sampled_from([m.encode() for m in SEED_MESSAGES]),
    st.integers(0, 400),
    st.binary(max_size=8) | TOKENS,
)


@FAST
@given(st.binary(max_size=400) | HL7ISH | MUTATED)
def test_any_bytes_are_read_without_a_crash_and_the_ledger_adds_up(data):
    check_read(data)
    check_deterministic(data)


@FAST
@given(st.binary(max_size=400) | HL7ISH | MUTATED)
def test_the_fast_columnar_reader_reads_any_bytes_exactly_as_the_reader(data):
    check_fast_reader(data)


@FAST
@given(st.text(max_size=200), st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_any_text_in_any_encoding_is_read(text, codec):
    data = text.encode(codec, errors="replace")
    check_read(data)


# 2. Round trip -------------------------------------------------------------------------------------------------

# Delimiters: printable, not alphanumeric, not a space (MSH-1 may not be one), distinct.
DELIMITERS = "|^~\\&#$@*!%/:;?+=<>,{}[]'\"`_-."
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(DELIMITERS + "\r\n\x0b\x1c"),
    max_size=12,
)
WORD = st.text(string.ascii_letters + string.digits + DELIMITERS, min_size=1, max_size=8)
NUMBER_TEXT = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False).map(str)


@dataclass
class Obx:
    value_type: str
    code: list[str]  # 6 components: code, text, system, alternate code, text, system
    sub_id: str
    values: list[str]  # repetitions of OBX-5 (one component each)
    unit: str
    reference_range: str
    flags: list[str]  # repetitions of OBX-8
    status: str


@dataclass
class Message:
    delimiters: str  # field, component, repetition, escape, subcomponent
    facility: str
    control_id: str
    patient_id: str
    authority: str
    placer: str
    filler: str
    observations: list[Obx] = field(default_factory=list)


@st.composite
def observations(draw) -> Obx:
    return Obx(
        value_type=draw(st.sampled_from(["NM", "ST", "TX", "", "SN"])),
        code=draw(st.lists(TEXT, min_size=6, max_size=6)),
        sub_id=draw(TEXT),
        values=draw(st.lists(TEXT | NUMBER_TEXT, min_size=1, max_size=3)),
        unit=draw(TEXT),
        reference_range=draw(TEXT),
        flags=draw(st.lists(TEXT, min_size=1, max_size=3)),
        status=draw(st.sampled_from(["F", "C", "P", "", "Z", "f"]) | TEXT),
    )


@st.composite
def messages(draw) -> Message:
    delimiters = "".join(draw(st.permutations(DELIMITERS))[:5])
    return Message(
        delimiters=delimiters,
        facility=draw(TEXT),
        control_id=draw(WORD.filter(lambda w: w.strip())),
        patient_id=draw(WORD.filter(lambda w: w.strip())),
        authority=draw(TEXT),
        placer=draw(TEXT),
        filler=draw(TEXT),
        observations=draw(st.lists(observations(), max_size=4)),
    )


def escape(message: Message, text: str) -> str:
    """HL7 escaping of one leaf: delimiters as \\F\\ \\S\\ \\R\\ \\E\\ \\T\\, control characters as \\Xhh\\."""
    f, c, r, e, s = message.delimiters
    codes = {f: "F", c: "S", r: "R", e: "E", s: "T"}
    out = []
    for char in text:
        if char in codes:
            out.append(f"{e}{codes[char]}{e}")
        elif char in "\r\n\x0b\x1c":
            out.append(f"{e}X{ord(char):02X}{e}")
        else:
            out.append(char)
    return "".join(out)


def write(message: Message) -> str:
    f, c, r, e, s = message.delimiters

    def esc(text: str) -> str:
        return escape(message, text)

    segments = [
        f"MSH{f}{c}{r}{e}{s}{f}LIS{f}{esc(message.facility)}{f}{f}{f}20260601120000{f}{f}ORU{c}R01{f}"
        f"{esc(message.control_id)}{f}P{f}2{esc('.')}5{esc('.')}1",
        f"PID{f}1{f}{f}{esc(message.patient_id)}{c}{c}{c}{esc(message.authority)}{c}MR",
        f"OBR{f}1{f}{esc(message.placer)}{f}{esc(message.filler)}{f}LFT{f}{f}{f}20260601083000",
    ]
    for n, o in enumerate(message.observations, start=1):
        fields = [
            "OBX",
            str(n),
            o.value_type,
            c.join(esc(part) for part in o.code),
            esc(o.sub_id),
            r.join(esc(v) for v in o.values),
            esc(o.unit),
            esc(o.reference_range),
            r.join(esc(flag) for flag in o.flags),
            "",
            "",
            esc(o.status),
        ]
        segments.append(f.join(fields))
    return "\r".join(segments) + "\r"


FRAMINGS = {
    "CR": lambda texts: "".join(texts),
    "LF": lambda texts: "".join(t.replace("\r", "\n") for t in texts),
    "CRLF": lambda texts: "".join(t.replace("\r", "\r\n") for t in texts),
    "MLLP": lambda texts: "".join(f"\x0b{t}\x1c\r" for t in texts),
    "batch": lambda texts: "FHS|^~\\&|LAB\rBHS|^~\\&|LAB\r" + "".join(texts) + f"BTS|{len(texts)}\rFTS|1\r",
    "BOM": lambda texts: "\ufeff" + "".join(texts),
}


def _has_text(text: str) -> bool:
    return bool(text.strip())


@settings(FAST, max_examples=250)
@given(st.lists(messages(), min_size=1, max_size=3), st.sampled_from(sorted(FRAMINGS)))
def test_written_fields_read_back_as_written(written, framing):
    data = FRAMINGS[framing]([write(m) for m in written]).encode()
    read = check_read(data)
    assert [(m.outcome, m.control_id) for m in read.messages] == [
        ("accepted", w.control_id.strip()) for w in written
    ]
    observations = iter(read.observations)
    for index, message in enumerate(written):
        record = read.messages[index]
        assert record.sending_facility == (message.facility or None)
        assert record.message_type == "ORU^R01" and record.version == "2.5.1"
        for o in message.observations:
            got = next(observations)
            assert got.message_index == index
            assert (got.patient_id, got.id_authority) == (
                message.patient_id.strip(),
                message.authority.strip(),
            )
            assert (got.placer_order, got.filler_order) == (message.placer, message.filler)
            code = [part.strip() for part in o.code]
            assert [
                got.code,
                got.code_text,
                got.code_system,
                got.alt_code,
                got.alt_text,
                got.alt_system,
            ] == code
            assert got.value_type == o.value_type
            assert got.sub_id == o.sub_id.strip()
            assert got.value_text == (o.values[0] if _has_text(o.values[0]) else "")
            assert got.value_repeats == sum(1 for v in o.values if _has_text(v))
            assert got.unit == o.unit.strip()
            assert got.reference_range == o.reference_range.strip()
            assert got.abnormal_flags == "~".join(flag.strip() for flag in o.flags if flag.strip())
            assert got.result_status == o.status.strip().upper()
            if o.value_type != "SN" and _is_plain_number(o.values[0]):
                assert got.value == float(o.values[0]) and got.value_problem is None
    assert next(observations, None) is None


def _is_plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text and all(ch in "0123456789." for ch in text)


@FAST
@given(messages())
def test_the_same_message_reads_the_same_in_every_framing(message):
    readings = {
        name: read_lab_bytes(frame([write(message)]).encode()) for name, frame in sorted(FRAMINGS.items())
    }
    baseline = readings.pop("CR")
    for name, read in readings.items():
        assert read.observations == baseline.observations, name
        assert [(m.outcome, m.reason, m.control_id) for m in read.messages] == [
            (m.outcome, m.reason, m.control_id) for m in baseline.messages
        ], name
