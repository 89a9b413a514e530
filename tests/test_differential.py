"""hepwatch's HL7 reader against hl7apy 1.3.5 (hepwatch.hl7.differential, the `parser_agreement` check).

Three sources of messages: the public corpus, messages written by hl7apy's own object API (write with hl7apy,
read with both), and ER7 text with raw escape sequences, odd encoding characters and odd timestamps. A
disagreement anywhere fails; differences are allowed only when a named BY_DESIGN case explains them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Component, Message, Segment, SubComponent
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import hepwatch.hl7.fields as fields_module
import hepwatch.hl7.oru as oru_module
from hepwatch.hl7 import differential
from hepwatch.hl7.differential import (
    BY_DESIGN,
    FieldDisagreement,
    Hl7apyCannotParse,
    compare_in_detail,
    compare_with_hl7apy,
    hepwatch_fields,
    hl7apy_fields,
)
from hepwatch.hl7.encoding import Encoding, Unescaper
from hepwatch.hl7.framing import Block, decode_feed_bytes, split_blocks
from hepwatch.hl7.hl7apy_reading import hl7apy_version
from hepwatch.hl7.oru import read_message
from tests.conftest import CORPUS

CORPUS_FILES = sorted(CORPUS.glob("*.hl7"))
TOLERANT = VALIDATION_LEVEL.TOLERANT

# hl7apy refuses MSH-2 with a 5th (truncation) character unless MSH-12 is 2.7 or later; hepwatch ignores it.
CANNOT_PARSE = {
    "reportstream__CDC_STARLIMS_ELIMS_NoPII_MSH2_5char_v251.hl7": "InvalidEncodingChars: "
    "Invalid encoding chars: Found 5 encoding chars",
}
# (file, field) -> BY_DESIGN case, checked by hand against the file.
EXPECTED_BY_DESIGN = {
    "nextlevelseven__MultiplePid_PriorityHealth_shifted_OBX_v23.hl7": {
        ("MSH-7", ("timestamp_outside_hl7apy_dtm",)),  # `2007100914484648`: 16 digits, no timestamp
    },
    "renalware__WinPath_ALT_value_with_notsign_comment_br_v231.hl7": {
        ("OBX[1]-5", ("formatting_escape_rendered",)),  # `12.8\.br\This result could indicate ...`
    },
    "reportstream__CA_newborn_screening_64NM_utf8_v251.hl7": {
        ("OBX[6]-5", ("formatting_escape_rendered",)),  # the TX report with `\.br\` line breaks
    },
}


def _messages(path):
    return [b for b in split_blocks(decode_feed_bytes(path.read_bytes())) if b.is_message]


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name[:50] for p in CORPUS_FILES])
def test_corpus_reads_the_same_in_hepwatch_and_hl7apy(path):
    for block in _messages(path):
        if path.name in CANNOT_PARSE:
            with pytest.raises(Hl7apyCannotParse) as refused:
                compare_with_hl7apy(block.text)
            assert str(refused.value) == CANNOT_PARSE[path.name]
            continue
        comparison = compare_in_detail(block.text)
        assert comparison.disagreements == []
        expected = EXPECTED_BY_DESIGN.get(path.name, set())
        assert {(d.difference.field, d.cases) for d in comparison.by_design} == expected


def test_corpus_comparison_covers_the_observations():
    fields = hepwatch_fields(_messages(CORPUS / "mirth__donkey_large_ORU_R01_v22_CBC_CMP_liver.hl7")[0].text)
    assert fields["PID[1]-3"] == "1424589^URMC"
    assert sum(key.endswith("]-5") and key.startswith("OBX[") for key in fields) == 84
    assert fields["OBX[1]-3"].startswith("WBC^")


def test_msh_12_with_components_and_unknown_versions_map_to_an_hl7apy_version():
    assert hl7apy_version("2.3.1") == ("2.3.1", None)
    assert hl7apy_version("2.3.1.4")[0] == "2.3.1"
    assert hl7apy_version("2.9")[0] == "2.5"
    assert hl7apy_version("")[0] == "2.5"
    meridian = _messages(CORPUS / "hl7enumerator__MERIDIAN_AUS_AS4700_escapes_H_N_T_X0D_v231.hl7")[0]
    comparison = compare_in_detail(meridian.text)
    assert (comparison.hl7apy_version, comparison.version_note) == ("2.3.1", None)


# Generated messages -------------------------------------------------------------------------------------------

Comp = list[str]  # subcomponents
Rep = list[Comp]
FieldSpec = list[Rep]


@dataclass
class Spec:
    field_sep: str
    encoding: str  # component, repetition, escape, subcomponent
    version: str
    segments: list[tuple[str, dict[int, FieldSpec]]]

    @property
    def enc(self) -> Encoding:
        return Encoding.from_msh(f"MSH{self.field_sep}{self.encoding}{self.field_sep}")


ENCODINGS = [("|", "^~\\&"), ("|", "^~\\$"), ("#", "^~\\&"), ("#", "^~\\$"), ("!", "@*/%"), ("|", "^~\\#")]
VERSIONS = ["2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6"]
TEXT = st.text("abXY01 .-<>/µé†|^~\\&#$@*!%", max_size=6)
WORD = st.text("ABCxyz0129µ", min_size=1, max_size=6)
NUMBER = st.sampled_from(["56", "0.7", "<5", ">1000", "=12", " 7 ", "1e3", "-", "", "NEG"])
STATUS = st.sampled_from(["F", "C", "P", "", "f", " F ", "X"])


def _one(text: str) -> FieldSpec:
    return [[[text]]]


def _field(comp_text=TEXT, reps=1, comps=3, subs=2):
    comp = st.lists(comp_text, min_size=1, max_size=subs)
    return st.lists(st.lists(comp, min_size=1, max_size=comps), min_size=1, max_size=reps)


@st.composite
def timestamps(draw, odd: bool = False):
    """`YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]` or empty; `odd` adds text hl7apy's DTM rules reject."""
    digits = draw(st.sampled_from([4, 6, 8, 10, 12, 14]))
    text = f"{draw(st.integers(1990, 2030))}{draw(st.integers(1, 12)):02}{draw(st.integers(1, 28)):02}"
    text = (
        text + f"{draw(st.integers(0, 23)):02}{draw(st.integers(0, 59)):02}{draw(st.integers(0, 59)):02}"
    )[:digits]
    if digits == 14:
        text += draw(st.sampled_from(["", ".1", ".1234"]))
    text += draw(st.sampled_from(["", "-0500", "+0100"]))
    odd_texts = [f" {text}", f"{text}.12345", "2020-01-01", "2007100914484648"] if odd else []
    return draw(st.sampled_from([text, "", *odd_texts]))


@st.composite
def observations(draw, ts, set_id: int) -> dict[int, FieldSpec]:
    value = draw(_field(NUMBER, reps=3, comps=4, subs=1) | _field(TEXT, reps=3, comps=4))
    # No literal `^` at a value's ends: see test_literal_caret_at_the_ends_of_a_value_is_kept.
    value = [[[t.strip("^") for t in c] for c in rep] for rep in value]
    # A repetition without text is left empty: see test_empty_value_repetition_is_not_a_value.
    value = [rep if any(t.strip() for c in rep for t in c) else [[""]] for rep in value]
    return {
        1: _one(str(set_id)),
        2: _one(draw(st.sampled_from(["NM", "SN", "ST", "TX", "CWE", "", "nm"]))),
        3: draw(_field(comps=6)),
        4: _one(draw(TEXT)),
        5: value,
        6: draw(_field(comps=3)),
        7: draw(_field(comps=2)),
        8: draw(_field(st.sampled_from(["H", "L", "A", "", " N"]), reps=3, comps=2, subs=1)),
        11: _one(draw(STATUS)),
        14: _one(draw(ts)),
    }


@st.composite
def patient_group(draw, ts) -> list[tuple[str, dict[int, FieldSpec]]]:
    """PID, maybe an OBX before any OBR, then OBR groups of OBX with NTE and Z-segments between."""
    pid3 = [
        [
            [draw(WORD)],
            [],
            [],
            draw(st.lists(TEXT, min_size=1, max_size=2)),
            [draw(st.sampled_from(["MR", "PI", ""]))],
        ]
    ]
    more = draw(st.lists(st.tuples(TEXT, TEXT, st.sampled_from(["MR", "mr", ""])), max_size=2))
    pid3 += [[[ident], [], [], [authority], [id_type]] for ident, authority, id_type in more]
    group: list[tuple[str, dict[int, FieldSpec]]] = [("PID", {1: _one("1"), 3: pid3})]
    group += [("OBX", draw(observations(ts, 1))) for _ in range(draw(st.integers(0, 1)))]
    for set_id in range(1, draw(st.integers(0, 2)) + 1):
        obr = {2: draw(_field(comps=3)), 3: draw(_field(comps=2)), 7: _one(draw(ts)), 22: _one(draw(ts))}
        group.append(("OBR", {1: _one(str(set_id)), **obr, 25: _one(draw(STATUS))}))
        for n in range(draw(st.integers(0, 3))):
            group.append(("OBX", draw(observations(ts, n + 1))))
            group += [
                (name, {1: _one("1"), 3: draw(_field())})
                for name in draw(st.sampled_from([[], ["NTE"], ["ZXY"]]))
            ]
    return group


@st.composite
def specs(draw, odd_timestamps: bool = False) -> Spec:
    field_sep, encoding = draw(st.sampled_from(ENCODINGS))
    version = draw(st.sampled_from(VERSIONS))
    ts = timestamps(odd=odd_timestamps)
    msh = {
        4: draw(_field(comps=3)),
        7: _one(draw(ts)),
        9: [[["ORU"], ["R01"], *draw(st.sampled_from([[], [["ORU_R01"]]]))]],
        10: draw(_field(WORD, comps=1)),
        12: _one(version),
    }
    segments: list[tuple[str, dict[int, FieldSpec]]] = [("MSH", msh)]
    for group in draw(st.lists(patient_group(ts), min_size=1, max_size=2)):
        segments += group
    return Spec(field_sep, encoding, version, segments)


def _hl7apy_escapes_faithfully(spec: Spec, text: str) -> bool:
    """hl7apy's escaper leaves text that already looks like `\\H\\` or `\\F\\` alone (it takes it for markup)."""
    esc = spec.enc.escape
    return re.search(f"{re.escape(esc)}[HNFSTRE]{re.escape(esc)}", text) is None


def write_with_hl7apy(spec: Spec) -> str:
    """The message built with hl7apy's object API: every leaf is a value hl7apy escapes on output."""
    e = spec.enc
    chars = {"FIELD": e.field, "COMPONENT": e.component, "SUBCOMPONENT": e.subcomponent,
             "REPETITION": e.repetition, "ESCAPE": e.escape, "SEGMENT": "\r", "GROUP": "\r"}  # fmt: skip
    message = Message(version=spec.version, validation_level=TOLERANT, encoding_chars=chars)
    for name, fields in spec.segments:
        segment = (
            message.msh if name == "MSH" else Segment(name, version=spec.version, validation_level=TOLERANT)
        )
        for n, reps in fields.items():
            for old in [f for f in segment.children if f.name == f"{name}_{n}"]:
                segment.children.remove(old)
            for rep in reps:
                _hl7apy_repetition(segment.add_field(f"{name}_{n}"), rep, spec.version)
        if name != "MSH":
            message.add(segment)
    return message.to_er7()


def _hl7apy_repetition(field, rep: Rep, version: str) -> None:
    names = list(field.structure_by_name or ())
    if names:
        rep = rep[: len(names)]  # hl7apy cannot place components past its structure
    elif field.datatype != "varies" and len(rep) > 1:
        field.datatype = None
    for i, comp in enumerate(rep):
        if field.datatype == "varies":
            component = Component(f"VARIES_{i + 1}", version=version, validation_level=TOLERANT)
            field.children.append(component)
        elif names:
            if not any(comp):
                continue
            component = field.add_component(names[i])
        else:
            component = Component(datatype=field.datatype or "ST", version=version, validation_level=TOLERANT)
            field.add(component)
        sub_names = list(component.structure_by_name or ())
        if sub_names:
            comp = comp[: len(sub_names)]
        elif len(comp) > 1 and component.datatype is not None:
            component.datatype = None
        for k, text in enumerate(comp):
            if sub_names:
                if not text:
                    continue
                sub = component.add_subcomponent(sub_names[k])
            else:
                sub = SubComponent(
                    datatype=component.datatype or "ST", version=version, validation_level=TOLERANT
                )
                component.add(sub)
            sub.value = text or None


def write_er7(spec: Spec, inserts: dict[tuple[int, int, int], str] | None = None) -> str:
    """ER7 text with standard escaping; `inserts` adds raw escape sequences at (segment, field, leaf) spots."""
    e = spec.enc
    table = [(e.escape, "E"), (e.field, "F"), (e.component, "S"), (e.subcomponent, "T"), (e.repetition, "R")]

    def escape(text: str) -> str:
        return "".join(
            next((f"{e.escape}{code}{e.escape}" for char, code in table if c == char), c) for c in text
        )

    lines = []
    for s, (name, fields) in enumerate(spec.segments):
        width = max(fields) if fields else 0
        out = [name] if name != "MSH" else ["MSH", spec.encoding]
        for n in range(1 if name != "MSH" else 3, width + 1):
            reps = fields.get(n, [])
            leaf = 0
            rep_texts = []
            for rep in reps:
                comp_texts = []
                for comp in rep:
                    sub_texts = []
                    for text in comp:
                        sub_texts.append(escape(text) + (inserts or {}).get((s, n, leaf), ""))
                        leaf += 1
                    comp_texts.append(e.subcomponent.join(sub_texts))
                rep_texts.append(e.component.join(comp_texts))
            out.append(e.repetition.join(rep_texts))
        lines.append(e.field.join(out))
    return "\r".join(lines)


def _first_sub(field: FieldSpec | None, comp: int = 0) -> str:
    rep = (field or [[[""]]])[0]
    return rep[comp][0] if comp < len(rep) else ""


def _chosen_patient(pid3: FieldSpec) -> str:
    """The identifier domain.md section 7 says hepwatch keeps: the MR one, else the first with an id."""
    with_id = [rep for rep in pid3 if rep[0][0].strip()]
    mr = [rep for rep in with_id if rep[4][0].strip().upper() == "MR"]
    return (mr or with_id)[0][0][0].strip()


def assert_ground_truth(spec: Spec, message_text: str) -> None:
    """hepwatch reads back what was written: checked against the spec, not against either reader."""
    record, observations = read_message(Block(0, 1, tuple(message_text.split("\r")), True))
    msh = spec.segments[0][1]
    assert record.control_id == spec.enc.subcomponent.join(msh[10][0][0]).strip()
    assert record.outcome == "accepted"
    expected, patient = [], ""
    for name, fields in spec.segments:
        if name == "PID":
            patient = _chosen_patient(fields[3])
        elif name == "OBX":
            expected.append((patient, fields))
    assert len(observations) == len(expected)
    for obs, (patient, fields) in zip(observations, expected, strict=True):
        assert obs.patient_id == patient
        assert obs.code == _first_sub(fields[3]).strip()
        # empty or blank components at either end are not part of the value (`^182` is 182, `0^ ` is 0)
        components = [c[0] for c in fields[5][0]]
        while components and not components[-1].strip():
            components.pop()
        while components and not components[0].strip():
            components.pop(0)
        assert obs.value_text == "^".join(components)
        assert obs.reference_range == _first_sub(fields[7]).strip()
        assert obs.result_status == _first_sub(fields[11]).strip().upper()


# hl7apy reads ~100 small messages a second: 100 examples per test, the same ones every run.
SLOW = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SLOW
@given(specs())
def test_messages_written_by_hl7apy_read_the_same_in_hepwatch(spec):
    leaves = [
        t for _, fields in spec.segments for reps in fields.values() for r in reps for c in r for t in c
    ]
    assume(all(_hl7apy_escapes_faithfully(spec, t) for t in leaves))
    message_text = write_with_hl7apy(spec)
    comparison = compare_in_detail(message_text)
    assert comparison.disagreements == []
    assert comparison.by_design == []
    assert_ground_truth(spec, message_text)


RAW_SEQUENCES = {
    "X41": "hex_escape_decoded",
    "XC2B5": "hex_escape_decoded",
    ".br": "formatting_escape_rendered",
    "H": "formatting_escape_rendered",
    "N": "formatting_escape_rendered",
    "Zx1": "formatting_escape_rendered",
    ".sp2": "formatting_escape_rendered",
}


@SLOW
@given(specs(odd_timestamps=True), st.data())
def test_raw_escapes_and_odd_timestamps_differ_only_by_design(spec, data):
    spots = data.draw(
        st.dictionaries(
            st.tuples(st.integers(0, len(spec.segments) - 1), st.integers(2, 8), st.integers(0, 3)),
            st.sampled_from(sorted(RAW_SEQUENCES)),
            max_size=4,
        )
    )
    esc = spec.enc.escape
    message_text = write_er7(spec, {spot: f"{esc}{code}{esc}" for spot, code in spots.items()})
    comparison = compare_in_detail(message_text)
    assert comparison.disagreements == []
    allowed = {RAW_SEQUENCES[code] for code in spots.values()} | {"timestamp_outside_hl7apy_dtm"}
    for expected in comparison.by_design:
        assert expected.cases and set(expected.cases) <= allowed, expected
        if "timestamp_outside_hl7apy_dtm" in expected.cases:
            assert re.fullmatch(r"(MSH|OBR\[\d+\]|OBX\[\d+\])-(7|22|14)", expected.difference.field)


@SLOW
@given(specs())
def test_standard_er7_reads_back_as_written(spec):
    message_text = write_er7(spec)
    assert compare_in_detail(message_text).by_design == []
    assert compare_with_hl7apy(message_text) == []
    assert_ground_truth(spec, message_text)


# The comparison can fail ---------------------------------------------------------------------------------------

MESSAGE = "\r".join(
    [
        "MSH|^~\\&|LAB|NORTH^1.2.3^ISO|||20260601120000||ORU^R01|C-1|P|2.5.1",
        "PID|1||MRN1^^^CLINIC&1.2&ISO^MR",
        "OBR|1|ORD1^EHR|FIL1|||20260601083000",
        "OBX|1|SN|1742-6^ALT^LN||>^1000|U/L|7-56|H|||F",
        "OBX|2|ST|1920-8^AST^LN||see\\S\\note|U/L|0-40||||F",
    ]
)


def test_the_reference_message_agrees():
    assert compare_with_hl7apy(MESSAGE) == []
    assert hepwatch_fields(MESSAGE) == hl7apy_fields(MESSAGE)
    assert hepwatch_fields(MESSAGE)["OBX[1]-5"] == ">^1000 => >1000.0"


def test_hepwatch_splitting_on_the_wrong_component_separator_is_a_disagreement(monkeypatch):
    wrong = Encoding("|", "@", "~", "\\", "&")
    monkeypatch.setattr(oru_module.Encoding, "from_msh", classmethod(lambda cls, msh: wrong))
    assert compare_with_hl7apy(MESSAGE) == [
        FieldDisagreement("MSH-9", "ORU^R01 => not a lab result", "ORU^R01 => lab result")
    ]
    # MSH-9 `ORU` alone is a lab result, so hepwatch reads on and the observations show the mis-split.
    disagreements = {d.field: d for d in compare_with_hl7apy(MESSAGE.replace("|ORU^R01|", "|ORU|"))}
    # The code read whole is not the code read as three components, though both print as 1742-6^ALT^LN.
    assert disagreements["OBX[1]-3"] == FieldDisagreement("OBX[1]-3", "1742-6\\^ALT\\^LN", "1742-6^ALT^LN")
    assert disagreements["OBX[1]-5"] == FieldDisagreement(
        "OBX[1]-5", ">^1000 => non_numeric_value", ">^1000 => >1000.0"
    )
    assert disagreements["PID[1]-3"] == FieldDisagreement("PID[1]-3", "MRN1\\^\\^\\^CLINIC", "MRN1^CLINIC")


def test_hepwatch_swapping_component_and_subcomponent_is_a_disagreement(monkeypatch):
    swapped = Encoding("|", "&", "~", "\\", "^")
    monkeypatch.setattr(oru_module.Encoding, "from_msh", classmethod(lambda cls, msh: swapped))
    fields = {d.field for d in compare_with_hl7apy(MESSAGE)}
    assert {"MSH-4", "MSH-9", "PID[1]-3", "OBR[1]-2", "OBX[1]-3", "OBX[1]-5", "OBX[2]-5"} <= fields


def test_hepwatch_not_decoding_an_escape_is_a_disagreement(monkeypatch):
    monkeypatch.setattr(fields_module, "Unescaper", lambda enc: lambda value: value)
    assert compare_with_hl7apy(MESSAGE) == [
        FieldDisagreement("OBX[2]-5", "see\\S\\note => non_numeric_value", "see^note => non_numeric_value")
    ]


def test_a_field_shifted_for_one_reader_is_a_disagreement(monkeypatch):
    parse = differential.parse_with_hl7apy
    shifted = MESSAGE.replace("OBX|1|SN|1742-6^ALT^LN||", "OBX|1|SN|1742-6^ALT^LN|||")
    monkeypatch.setattr(differential, "parse_with_hl7apy", lambda text: parse(shifted))
    fields = {d.field: (d.hepwatch, d.hl7apy) for d in compare_with_hl7apy(MESSAGE)}
    assert fields["OBX[1]-5"] == (">^1000 => >1000.0", " => missing_value")
    assert fields["OBX[1]-6"] == ("U/L", ">")


def test_a_segment_only_one_reader_sees_is_reported_as_absent(monkeypatch):
    parse = differential.parse_with_hl7apy
    monkeypatch.setattr(differential, "parse_with_hl7apy", lambda text: parse(text + "\rOBX|3|NM|X^Y^L||1"))
    disagreements = compare_with_hl7apy(MESSAGE)
    assert FieldDisagreement("OBX[3]-3", "(absent)", "X^Y^L") in disagreements


def test_a_message_hl7apy_refuses_raises():
    with pytest.raises(Hl7apyCannotParse):
        compare_with_hl7apy(MESSAGE.replace("MSH|^~\\&|", "MSH|^~^&|", 1))


def test_by_design_cases_say_why():
    assert set(BY_DESIGN) == {
        "hex_escape_decoded",
        "formatting_escape_rendered",
        "timestamp_outside_hl7apy_dtm",
    }
    assert all(case.why and case.fields for case in BY_DESIGN.values())


def test_hex_escape_is_named_not_hidden():
    message = MESSAGE.replace("see\\S\\note", "a\\X0D\\b")
    comparison = compare_in_detail(message)
    assert comparison.disagreements == []
    ((expected),) = comparison.by_design
    assert expected.cases == ("hex_escape_decoded",)
    assert expected.difference == FieldDisagreement(
        "OBX[2]-5", "a\rb => non_numeric_value", "a\\X0D\\b => non_numeric_value"
    )
    assert Unescaper(Encoding())("a\\X0D\\b") == "a\rb"


def test_empty_value_repetition_is_not_a_value():
    # found by this comparison: `56~^` was counted as two values and quarantined as multiple_values
    message = MESSAGE.replace("OBX|1|SN|1742-6^ALT^LN||>^1000|", "OBX|1|NM|1742-6^ALT^LN||56~^|")
    assert compare_with_hl7apy(message) == []


def test_blank_trailing_component_of_a_value_is_no_text():
    # found by this comparison: `0^ ` read as `0` by hepwatch and `0^` by hl7apy's side; both now drop a blank
    # outer component, and the number is 0 (as `^0` and `>^0^` already were)
    message = MESSAGE.replace("||see\\S\\note|", "||0^ |")
    assert compare_with_hl7apy(message) == []
    assert hepwatch_fields(message)["OBX[2]-5"] == "0 => 0.0"


def test_literal_caret_at_the_ends_of_a_value_is_kept():
    # found by this comparison: value_text used to strip an escaped `^` (`\\S\\5`) off a value's ends
    message = MESSAGE.replace("||see\\S\\note|", "||\\S\\5|")
    assert compare_with_hl7apy(message) == []


def test_a_version_2_7_truncation_character_agrees():
    message = MESSAGE.replace("MSH|^~\\&|", "MSH|^~\\&#|").replace("|2.5.1", "|2.7")
    comparison = compare_in_detail(message.replace("see\\S\\note", "a#b"))
    assert (comparison.disagreements, comparison.by_design, comparison.hl7apy_version) == ([], [], "2.7")
