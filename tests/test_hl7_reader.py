"""The HL7 reader: framing, encoding characters, escapes, outcomes and fields (domain.md section 7)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hepwatch.hl7.encoding import Encoding, Unescaper
from hepwatch.hl7.framing import split_blocks
from hepwatch.hl7.oru import read_lab_bytes
from tests.hl7_samples import obx, oru

ALT = "1742-6^ALT SerPl-cCnc^LN"


def test_encoding_characters_come_from_each_msh():
    assert Encoding.from_msh("MSH|^~\\&|A") == Encoding("|", "^", "~", "\\", "&")
    assert Encoding.from_msh("MSH|^~\\$|A") == Encoding("|", "^", "~", "\\", "$")  # Denver Health
    assert Encoding.from_msh("MSH|^~\\&#|A") == Encoding("|", "^", "~", "\\", "&")  # 5th char ignored
    assert Encoding.from_msh("MSH#$%@!#A") == Encoding("#", "$", "%", "@", "!")


@pytest.mark.parametrize(
    ("escaped", "decoded"),
    [
        ("A\\F\\B", "A|B"),
        ("A\\S\\B", "A^B"),
        ("Royal London \\T\\ Barts", "Royal London & Barts"),
        ("A\\R\\B", "A~B"),
        ("A\\E\\B", "A\\B"),
        ("line1\\.br\\line2", "line1\nline2"),
        ("\\H\\bold\\N\\", "bold"),
        ("CR\\X0D\\", "CR\r"),
        ("\\X41\\BC", "ABC"),
        ("no escapes", "no escapes"),
    ],
)
def test_escape_sequences(escaped, decoded):
    assert Unescaper(Encoding())(escaped) == decoded


@pytest.mark.parametrize(
    "framing",
    [
        lambda m: "".join(m),
        lambda m: "".join(x.replace("\r", "\n") for x in m),
        lambda m: "".join(x.replace("\r", "\r\n") for x in m),
        lambda m: "".join(f"\x0b{x}\x1c\r" for x in m),
        lambda m: "FHS|^~\\&|LAB\rBHS|^~\\&|LAB\r" + "".join(m) + "BTS|2\rFTS|1\r",
        lambda m: "\ufeff" + "".join(m),
    ],
    ids=["CR", "LF", "CRLF", "MLLP", "FHS/BHS batch", "BOM"],
)
def test_every_framing_yields_the_same_two_messages(framing):
    messages = [oru("C1", [obx(1, ALT, "30")]), oru("C2", [obx(1, ALT, "45")])]
    read = read_lab_bytes(framing(messages).encode())
    assert [(m.outcome, m.control_id) for m in read.messages] == [("accepted", "C1"), ("accepted", "C2")]
    assert [o.value for o in read.observations] == [30.0, 45.0]


def test_stray_text_between_messages_is_its_own_quarantined_block():
    text = oru("C1", [obx(1, ALT, "30")]) + "this is not HL7\rnor is this\r" + oru("C2", [obx(1, ALT, "9")])
    blocks = split_blocks(text)
    assert [(b.is_message, len(b.segments)) for b in blocks] == [(True, 4), (False, 2), (True, 4)]
    read = read_lab_bytes(text.encode())
    assert [(m.outcome, m.reason) for m in read.messages] == [
        ("accepted", None),
        ("quarantined", "not_hl7"),
        ("accepted", None),
    ]


def test_fields_the_pipeline_uses():
    message = oru(
        "CTRL-9",
        [obx(1, "ALT^Alanine aminotransferase^L^1742-6^ALT^LN", "S\\F\\1", flags="H~A", sub_id="2")],
        facility="NORTH^1.2.3^ISO",
        placer="P1^EHR",
    )
    read = read_lab_bytes(message.encode())
    (msg,) = read.messages
    assert (msg.sending_facility, msg.control_id, msg.message_type, msg.version) == (
        "NORTH^1.2.3^ISO", "CTRL-9", "ORU^R01", "2.5.1",
    )  # fmt: skip
    (o,) = read.observations
    assert (o.patient_id, o.id_authority) == ("MRN001", "HWCLINIC")
    assert (o.code, o.code_system, o.alt_code, o.alt_system) == ("ALT", "L", "1742-6", "LN")
    assert (o.placer_order, o.filler_order, o.sub_id) == ("P1^EHR", "FIL1", "2")
    assert o.value_text == "S|1" and o.value_problem == "non_numeric_value"
    assert o.abnormal_flags == "H~A"
    assert o.collected_at.isoformat() == "2026-06-01T08:30:00"


def test_sn_value_with_comparator():
    (o,) = read_lab_bytes(oru("C1", [obx(1, ALT, ">^1000", value_type="SN")]).encode()).observations
    assert (o.value, o.comparator) == (1000.0, ">")


def test_mr_identifier_is_chosen_from_repeating_pid3():
    message = oru("C1", [obx(1, ALT, "30")]).replace(
        "PID|1||MRN001^^^HWCLINIC^MR", "PID|1||999^^^SSA^SS~MRN777^^^HWCLINIC^MR"
    )
    (o,) = read_lab_bytes(message.encode()).observations
    assert (o.patient_id, o.id_authority) == ("MRN777", "HWCLINIC")


def test_authority_falls_back_to_universal_id():
    message = oru("C1", [obx(1, ALT, "30")], authority="&2.16.840.1.113883.19.3.2.1&ISO")
    (o,) = read_lab_bytes(message.encode()).observations
    assert o.id_authority == "2.16.840.1.113883.19.3.2.1"


@pytest.mark.parametrize(
    ("message", "outcome", "reason"),
    [
        (oru("C1", [obx(1, ALT, "30")]).replace("ORU^R01", "ADT^A08"), "ignored", "not_lab_result"),
        (oru("C1", [obx(1, ALT, "30")]).replace("ORU^R01", "ORU"), "accepted", None),  # OLIS: no trigger
        ("MSH|^~\\&|1\r", "ignored", "not_lab_result"),  # bare MSH stub
        (oru("", [obx(1, ALT, "30")]), "quarantined", "missing_control_id"),
        (oru("C1", [obx(1, ALT, "30")], mrn="", authority=""), "quarantined", "missing_patient_id"),
        (oru("C1", [obx(1, ALT, "30")]).replace("PID|", "ZZZ|"), "quarantined", "missing_patient_id"),
    ],
    ids=["ADT", "ORU-no-trigger", "bare-MSH", "no-MSH-10", "empty-PID-3", "no-PID"],
)
def test_message_outcomes(message, outcome, reason):
    (msg,) = read_lab_bytes(message.encode()).messages
    assert (msg.outcome, msg.reason) == (outcome, reason)


def test_collection_time_falls_back_to_obx14():
    segment = obx(1, ALT, "30") + "|||20260602101500"
    (o,) = read_lab_bytes(oru("C1", [segment], collected="").encode()).observations
    assert o.collected_at is None and o.observed_at.isoformat() == "2026-06-02T10:15:00"


def test_latin1_file_is_read():
    message = oru("C1", [obx(1, ALT, "30")], name="MÜLLER^JÖRG").encode("latin-1")
    (msg,) = read_lab_bytes(message).messages
    assert msg.outcome == "accepted"


def test_text_that_only_starts_like_an_envelope_is_kept_as_stray_text():
    # Found while writing fuzz/invariants.py: `FTSE ...` used to be skipped as an FTS envelope segment.
    text = oru("C1", [obx(1, ALT, "30")]) + "FTSE 100 closed higher\rBTS|1\rFTS|1\r"
    read = read_lab_bytes(text.encode())
    assert [(m.outcome, m.reason) for m in read.messages] == [("accepted", None), ("quarantined", "not_hl7")]
    assert read.messages[1].raw == "FTSE 100 closed higher"


def test_a_blank_value_repetition_once_decoded_is_not_a_value():
    (o,) = read_lab_bytes(oru("C1", [obx(1, ALT, "56~\\.br\\")]).encode()).observations
    assert (o.value, o.value_repeats) == (56.0, 1)


@given(st.text(alphabet="\r\n\x0b\x1c\ufeffAB|", max_size=40))
def test_segment_lines_are_the_cr_split_lines_without_outer_line_feeds(text: str) -> None:
    """split_segments' CR LF shortcut changes nothing: a text with a CR is cut on CR and every line loses
    its leading and trailing LFs; a text without is cut on LF (framing, domain.md section 7)."""
    from hepwatch.hl7.framing import split_segments

    cr = "\r" in text
    plain = text.replace("\x0b", "\r" if cr else "\n").replace("\x1c", "")
    lines = [line.strip("\n") for line in plain.split("\r")] if cr else plain.split("\n")
    assert split_segments(text) == [line.lstrip("\ufeff") for line in lines]
