"""hepwatch's HL7 reader against hl7apy 1.3.5, field by field (the `parser_agreement` check, contract section 5).

hepwatch's side is what `oru.read_message` returns (`MessageRecord`, `ObservationRecord`), never a second
reading; hl7apy's side is `hl7apy_reading`. Fields are keyed `MSH-10`, `PID[1]-3`, `OBR[2]-7`, `OBX[5]-5`
(1-based position of the segment in the message). Canonical text, the same on both sides:

- MSH-4, OBR-2, OBR-3 (stored joined): first repetition; each component's first subcomponent, decoded,
  stripped; joined by `^`, trailing empty components dropped.
- MSH-10, MSH-12, OBX-2, OBX-4, OBR-25, OBX-11: first repetition's first component (subcomponents kept with
  their separator), decoded, stripped; OBX-2, OBR-25 and OBX-11 upper-cased.
- MSH-9: message code and trigger event (first subcomponents), stripped, upper-cased, joined by `^`, and
  whether hepwatch's rule takes that for a lab result: `ORU^R01 => lab result`.
- MSH-7, OBR-7, OBR-22, OBX-14: the local time as written, ISO 8601 to the second (offset and fractions
  dropped), `""` when empty; hl7apy's side keeps the text when its DTM rules cannot read it.
- PID[k]-3 (only PIDs an OBX follows): `id^authority` of the identifier hepwatch keeps (the MR one, else the
  first with an id; authority = CX.4 namespace, else universal ID).
- OBR[k]-n: only OBRs an OBX reads (the latest OBR since the latest PID, as the reader walks).
- OBX-3: identifier, text, system and the alternate triplet (first subcomponents, stripped).
- OBX-5: first repetition's components, outer empty ones dropped, joined by `^`, stripped; then
  ` => ` and the number `values.parse_numeric` reads from those components (`>1000.0`) or its problem
  (`non_numeric_value`); then ` (+N more repetitions)` when more than one repetition carries text.
- OBX-6: the unit's identifier, else its text. OBX-7: first component, stripped.
- OBX-8: each repetition's first component, stripped, empty ones dropped, joined by `~`.

PID-3 and OBX-3 are read as separate parts on both sides, so a `^` inside a part is written `\\^`: a code
read whole (`1742-6\\^ALT\\^LN`) differs from the same text read as components (`1742-6^ALT^LN`).

Only MSH fields are compared when hepwatch does not accept the message (ignored or quarantined): it reads no
PID/OBR/OBX fields for those. A differing field that one of the `BY_DESIGN` renderings of hl7apy's reading
explains is reported apart, by name, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from hepwatch.hl7.framing import Block
from hepwatch.hl7.hl7apy_reading import (
    Hl7apyCannotParse,
    Hl7apyReading,
    Rendering,
    iso_seconds,
    message_type,
    observation_value,
    parse_with_hl7apy,
    parts,
    read_fields,
    tidy,
)
from hepwatch.hl7.oru import read_message
from hepwatch.hl7.timestamps import parse_timestamp
from hepwatch.hl7.values import NumericValue

__all__ = [
    "BY_DESIGN",
    "ByDesign",
    "Comparison",
    "ExpectedDifference",
    "FieldDisagreement",
    "Hl7apyCannotParse",
    "compare_in_detail",
    "compare_with_hl7apy",
    "hepwatch_fields",
    "hl7apy_fields",
]

ABSENT = "(absent)"
_KEY = re.compile(r"(MSH|PID|OBR|OBX)(?:\[(\d+)\])?-(\d+)")
_SEGMENT_ORDER = {"MSH": 0, "PID": 1, "OBR": 2, "OBX": 3}


@dataclass(frozen=True)
class FieldDisagreement:
    field: str  # e.g. "MSH-10", "PID[1]-3", "OBR[2]-7", "OBX[5]-5"
    hepwatch: str
    hl7apy: str


@dataclass(frozen=True)
class ByDesign:
    fields: str
    why: str
    rendering: Rendering  # hl7apy's reading with hepwatch's rendering of this case


BY_DESIGN: dict[str, ByDesign] = {
    "hex_escape_decoded": ByDesign(
        "any text field",
        "hepwatch decodes \\Xhh..\\ as UTF-8 bytes (\\X0D\\ is a CR, \\XC2B5\\ is µ) so values and units "
        "read as the lab wrote them; hl7apy has no unescaper and HL7 leaves hex data to the application.",
        Rendering(hex_escapes=True),
    ),
    "formatting_escape_rendered": ByDesign(
        "any text field",
        "hepwatch renders \\.br\\ and \\.sp\\ as a line break and drops \\H\\ \\N\\ (highlighting), "
        "\\Cxxyy\\ \\Mxxyyzz\\ (character sets), \\Zxx\\ (local) and other \\.xx\\ formatting commands, "
        "which carry no text; hl7apy keeps them as written.",
        Rendering(formatting_escapes=True),
    ),
    "timestamp_outside_hl7apy_dtm": ByDesign(
        "MSH-7, OBR-7, OBR-22, OBX-14",
        "hepwatch reads timestamps hl7apy's DTM rules reject (surrounding spaces, more than 4 fraction "
        "digits, 2-digit or out-of-range offsets) and reads text that is no timestamp as no time; hl7apy "
        "keeps such a value as plain text.",
        Rendering(timestamp_reader=parse_timestamp),
    ),
}


@dataclass(frozen=True)
class ExpectedDifference:
    cases: tuple[str, ...]  # BY_DESIGN names that explain it
    difference: FieldDisagreement


@dataclass
class Comparison:
    disagreements: list[FieldDisagreement] = field(default_factory=list)
    by_design: list[ExpectedDifference] = field(default_factory=list)
    hl7apy_version: str = ""
    version_note: str | None = None  # set when MSH-12 was mapped to a version hl7apy knows


def _iso(moment: datetime | None) -> str:
    return iso_seconds(moment) if moment is not None else ""


def observation_contexts(segment_ids: Sequence[str]) -> list[tuple[int, int | None]]:
    """For each OBX, in order: (1-based position of the latest PID, of the latest OBR since that PID)."""
    contexts: list[tuple[int, int | None]] = []
    pid, obr, current = 0, 0, None
    for segment_id in segment_ids:
        if segment_id == "PID":
            pid, current = pid + 1, None
        elif segment_id == "OBR":
            obr += 1
            current = obr
        elif segment_id == "OBX":
            contexts.append((pid, current))
    return contexts


def _hepwatch_reading(message_text: str) -> tuple[dict[str, str], bool]:
    segments = tuple(message_text.split("\r"))
    record, observations = read_message(Block(0, 1, segments, True))
    if record.reason == "bad_msh":
        return {}, False
    fields = {
        "MSH-4": tidy(record.sending_facility or ""),
        "MSH-7": _iso(record.message_time),
        "MSH-9": message_type(record.message_type or "", record.reason != "not_lab_result"),
        "MSH-10": record.control_id or "",
        "MSH-12": record.version or "",
    }
    if record.outcome != "accepted":
        return fields, False
    contexts = observation_contexts([s[:3] for s in segments])
    for obs in observations:
        pid, obr = contexts[obs.obx_index]
        fields.setdefault(f"PID[{pid}]-3", parts([obs.patient_id, obs.id_authority]))
        if obr is not None:
            fields.setdefault(f"OBR[{obr}]-2", tidy(obs.placer_order))
            fields.setdefault(f"OBR[{obr}]-3", tidy(obs.filler_order))
            fields.setdefault(f"OBR[{obr}]-7", _iso(obs.collected_at))
            fields.setdefault(f"OBR[{obr}]-22", _iso(obs.report_time))
            fields.setdefault(f"OBR[{obr}]-25", obs.order_status)
        number = NumericValue(obs.value, obs.comparator, obs.value_problem)
        code = [obs.code, obs.code_text, obs.code_system, obs.alt_code, obs.alt_text, obs.alt_system]
        j = obs.obx_index + 1
        fields.update(
            {
                f"OBX[{j}]-2": obs.value_type,
                f"OBX[{j}]-3": parts(code),
                f"OBX[{j}]-4": obs.sub_id,
                f"OBX[{j}]-5": observation_value(obs.value_text, number, obs.value_repeats),
                f"OBX[{j}]-6": obs.unit,
                f"OBX[{j}]-7": obs.reference_range,
                f"OBX[{j}]-8": obs.abnormal_flags,
                f"OBX[{j}]-11": obs.result_status,
                f"OBX[{j}]-14": _iso(obs.observed_at),
            }
        )
    return fields, True


def _keyed(reading: Hl7apyReading, with_segments: bool = True) -> dict[str, str]:
    fields = {f"MSH-{n}": value for n, value in reading.msh.items()}
    if not with_segments:
        return fields
    for j, (pid, obr) in enumerate(observation_contexts(reading.segment_ids), start=1):
        if pid:
            fields[f"PID[{pid}]-3"] = reading.pid3[pid - 1]
        if obr is not None:
            fields.update({f"OBR[{obr}]-{n}": value for n, value in reading.obr[obr - 1].items()})
        fields.update({f"OBX[{j}]-{n}": value for n, value in reading.obx[j - 1].items()})
    return fields


def _field_order(key: str) -> tuple[int, int, int]:
    match = _KEY.fullmatch(key)
    if match is None:
        return (9, 0, 0)
    segment, position, number = match.groups()
    return (_SEGMENT_ORDER[segment], int(position or 0), int(number))


def hepwatch_fields(message_text: str) -> dict[str, str]:
    """The fields as hepwatch's reader returns them, in canonical text (MSH only unless accepted)."""
    return _hepwatch_reading(message_text)[0]


def hl7apy_fields(message_text: str) -> dict[str, str]:
    """The same fields read by hl7apy, PID/OBR/OBX included whatever hepwatch decides about the message;
    raises Hl7apyCannotParse when hl7apy rejects the message."""
    return _keyed(read_fields(parse_with_hl7apy(message_text)))


def _combined(cases: Sequence[str]) -> Rendering:
    rendering = Rendering()
    for name in cases:
        case = BY_DESIGN[name].rendering
        rendering = replace(
            rendering,
            hex_escapes=rendering.hex_escapes or case.hex_escapes,
            formatting_escapes=rendering.formatting_escapes or case.formatting_escapes,
            timestamp_reader=rendering.timestamp_reader or case.timestamp_reader,
        )
    return rendering


def compare_in_detail(message_text: str) -> Comparison:
    """Both readings, field by field: real disagreements and the BY_DESIGN differences, each named."""
    parsed = parse_with_hl7apy(message_text)
    ours, accepted = _hepwatch_reading(message_text)
    comparison = Comparison(hl7apy_version=parsed.version, version_note=parsed.version_note)

    def theirs(cases: Sequence[str]) -> dict[str, str]:
        return _keyed(read_fields(parsed, _combined(cases)), with_segments=accepted)

    plain = theirs(())
    keys = sorted(set(ours) | set(plain), key=_field_order)
    differing = [k for k in keys if ours.get(k, ABSENT) != plain.get(k, ABSENT)]
    if not differing:
        return comparison
    names = list(BY_DESIGN)
    every = theirs(names)
    without = {name: theirs([n for n in names if n != name]) for name in names}
    alone = {name: theirs([name]) for name in names}
    for key in differing:
        difference = FieldDisagreement(key, ours.get(key, ABSENT), plain.get(key, ABSENT))
        if every.get(key, ABSENT) != difference.hepwatch:
            comparison.disagreements.append(difference)
            continue
        # Name the cases it cannot be explained without; when any one of several would do, name those.
        needed = [n for n in names if without[n].get(key, ABSENT) != difference.hepwatch]
        enough = [n for n in names if alone[n].get(key, ABSENT) == difference.hepwatch]
        comparison.by_design.append(ExpectedDifference(tuple(needed or enough), difference))
    return comparison


def compare_with_hl7apy(message_text: str) -> list[FieldDisagreement]:
    """The fields where hepwatch and hl7apy read the message differently, BY_DESIGN cases excluded; [] when
    they agree. Raises Hl7apyCannotParse when hl7apy rejects the message."""
    return compare_in_detail(message_text).disagreements
