"""ORU^R01 lab result messages to flat records: one per message, one per OBX (domain.md section 7).

Structure: `MSH [SFT] { [PID ...] { [ORC] OBR [NTE] { OBX [NTE] } [SPM ...] } } [DSC]`. The reader walks
segments in order and keeps the latest PID and OBR as context, which also copes with Z-segments, SPM before
OBX and several PID groups in one message. Only the fields hepwatch uses are read:
MSH-4/7/9/10/12, PID-3, OBR-2/3/7/22/25, OBX-2..8/11/14.

Outcomes decided here: `ignored` (not a lab result message), `quarantined` (with a reason code) or
`accepted`. Duplicates (same MSH-4 and MSH-10) are decided by the ingestion ledger, which knows history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hepwatch.hl7.encoding import Encoding, Unescaper
from hepwatch.hl7.framing import Block, decode_feed_bytes, split_blocks
from hepwatch.hl7.values import parse_numeric, parse_timestamp, parse_upper_limit

LAB_RESULT_TYPES = frozenset({("ORU", "R01"), ("ORU", "")})


@dataclass(slots=True)
class MessageRecord:
    index: int  # 0-based position of the block in the file
    line: int  # 1-based line of its first segment
    outcome: str  # accepted | ignored | quarantined
    reason: str | None
    detail: str | None  # actionable text; never carries PID content
    raw: str
    sending_facility: str | None = None
    control_id: str | None = None
    message_time: datetime | None = None
    message_type: str | None = None
    version: str | None = None
    observations: int = 0


@dataclass(slots=True)
class ObservationRecord:
    message_index: int
    obx_index: int  # 0-based position among the message's OBX segments
    patient_id: str
    id_authority: str
    placer_order: str
    filler_order: str
    collected_at: datetime | None
    report_time: datetime | None
    order_status: str
    value_type: str
    code: str
    code_text: str
    code_system: str
    alt_code: str
    alt_text: str
    alt_system: str
    sub_id: str
    value_text: str
    value_repeats: int
    value: float | None
    comparator: str | None
    value_problem: str | None
    unit: str
    reference_range: str
    range_upper: float | None
    abnormal_flags: str
    result_status: str
    observed_at: datetime | None


@dataclass(slots=True)
class FileRead:
    messages: list[MessageRecord] = field(default_factory=list)
    observations: list[ObservationRecord] = field(default_factory=list)


class _Fields:
    """Field access for one message's encoding: `get(fields, n)` -> unescaped components of the first repeat."""

    __slots__ = ("enc", "unescape")

    def __init__(self, enc: Encoding) -> None:
        self.enc = enc
        self.unescape = Unescaper(enc)

    def components(self, value: str) -> list[str]:
        first = value.split(self.enc.repetition, 1)[0]
        return [self.unescape(c.split(self.enc.subcomponent, 1)[0]) for c in first.split(self.enc.component)]

    def text(self, value: str) -> str:
        """The first repetition as text, components joined by `^` (identifiers such as OBR-2 `845439^GHH OE`)."""
        comps = self.components(value)
        while comps and comps[-1] == "":
            comps.pop()
        return "^".join(comps)

    def first(self, value: str) -> str:
        return self.unescape(value.split(self.enc.repetition, 1)[0].split(self.enc.component, 1)[0]).strip()

    def repeats_first_components(self, value: str) -> str:
        reps = [self.first(r) for r in value.split(self.enc.repetition)]
        return "~".join(r for r in reps if r) if any(reps) else ""


def _without_outer_empties(components: list[str]) -> list[str]:
    """Drop empty components at both ends (`^182` is 182), keeping a literal `^` inside a value."""
    start, end = 0, len(components)
    while start < end and not components[start].strip():
        start += 1
    while end > start and not components[end - 1].strip():
        end -= 1
    return components[start:end]


def _has_text(fx: _Fields, repetition: str) -> bool:
    """A repetition carries a value only if some component or subcomponent has text once decoded (`56~^` and
    `56~\\.br\\` have one)."""
    enc = fx.enc
    return any(
        fx.unescape(part).strip()
        for comp in repetition.split(enc.component)
        for part in comp.split(enc.subcomponent)
    )


def _get(fields: list[str], n: int) -> str:
    return fields[n] if n < len(fields) else ""


def _patient_identifier(fx: _Fields, pid3: str) -> tuple[str, str] | None:
    """(id, authority) from PID-3: the MR identifier, else the first with an id (domain.md section 7).

    The authority is CX.4's namespace ID, or its universal ID when the namespace is empty.
    """
    enc = fx.enc
    candidates = []
    for rep in pid3.split(enc.repetition):
        comps = rep.split(enc.component)
        ident = fx.unescape(comps[0].split(enc.subcomponent, 1)[0]).strip() if comps else ""
        if not ident:
            continue
        authority_parts = _get(comps, 3).split(enc.subcomponent)
        authority = fx.unescape(authority_parts[0]).strip() or fx.unescape(_get(authority_parts, 1)).strip()
        id_type = fx.unescape(_get(comps, 4).split(enc.subcomponent, 1)[0]).strip().upper()
        candidates.append((id_type == "MR", ident, authority))
    if not candidates:
        return None
    mr = [c for c in candidates if c[0]]
    _, ident, authority = (mr or candidates)[0]
    return ident, authority


def read_message(block: Block) -> tuple[MessageRecord, list[ObservationRecord]]:
    """One message block to its ledger record and (when accepted) its OBX records."""
    raw = block.text
    msh = block.segments[0]
    record = MessageRecord(block.index, block.line, "quarantined", None, None, raw)
    if len(msh) < 8 or msh[3].isalnum() or msh[3] in " \t":
        record.reason, record.detail = "bad_msh", "MSH-1/MSH-2 do not hold valid encoding characters"
        return record, []
    fx = _Fields(Encoding.from_msh(msh))
    sep = fx.enc.field
    msh_fields = ["", *msh.split(sep)]  # MSH-n is msh_fields[n]: MSH-1 is the separator itself
    record.sending_facility = fx.text(_get(msh_fields, 4)) or None
    record.message_time = parse_timestamp(fx.first(_get(msh_fields, 7)))
    type_comps = fx.components(_get(msh_fields, 9))
    msg_type = type_comps[0].strip().upper()
    trigger = _get(type_comps, 1).strip().upper()
    record.message_type = f"{msg_type}^{trigger}" if trigger else msg_type or None
    record.control_id = fx.first(_get(msh_fields, 10)) or None
    record.version = fx.first(_get(msh_fields, 12)) or None

    if (msg_type, trigger) not in LAB_RESULT_TYPES:
        record.outcome = "ignored"
        record.reason = "not_lab_result"
        record.detail = f"message type {record.message_type or '(none)'} is not ORU^R01"
        return record, []
    if not record.control_id:
        record.reason, record.detail = "missing_control_id", "MSH-10 (message control ID) is empty"
        return record, []

    observations: list[ObservationRecord] = []
    patient: tuple[str, str] | None = None
    saw_pid = False
    obr: list[str] | None = None
    obx_index = 0
    for segment in block.segments[1:]:
        seg_id = segment[:3]
        if seg_id == "PID":
            saw_pid = True
            patient = _patient_identifier(fx, _get(segment.split(sep), 3))
            if patient is None:
                record.reason = "missing_patient_id"
                record.detail = "PID-3 (patient identifier list) has no identifier"
                return record, []
            obr = None
        elif seg_id == "OBR":
            obr = segment.split(sep)
        elif seg_id == "OBX":
            if patient is None:
                record.reason = "missing_patient_id"
                record.detail = "OBX before any PID segment with an identifier"
                return record, []
            observations.append(_observation(fx, segment.split(sep), obr or [], patient, block, obx_index))
            obx_index += 1
    if not saw_pid:
        record.reason, record.detail = "missing_patient_id", "the message has no PID segment"
        return record, []
    record.outcome, record.observations = "accepted", len(observations)
    return record, observations


def _observation(
    fx: _Fields,
    obx: list[str],
    obr: list[str],
    patient: tuple[str, str],
    block: Block,
    obx_index: int,
) -> ObservationRecord:
    code = fx.components(_get(obx, 3))
    value_field = _get(obx, 5)
    value_type = fx.first(_get(obx, 2)).upper()
    value_components = fx.components(value_field)
    numeric = parse_numeric(value_type, value_components)
    unit_comps = fx.components(_get(obx, 6))
    unit = (unit_comps[0].strip() or _get(unit_comps, 1).strip()) if unit_comps else ""
    reference_range = fx.components(_get(obx, 7))[0].strip()
    collected = parse_timestamp(fx.first(_get(obr, 7))) if obr else None
    return ObservationRecord(
        message_index=block.index,
        obx_index=obx_index,
        patient_id=patient[0],
        id_authority=patient[1],
        placer_order=fx.text(_get(obr, 2)),
        filler_order=fx.text(_get(obr, 3)),
        collected_at=collected,
        report_time=parse_timestamp(fx.first(_get(obr, 22))),
        order_status=fx.first(_get(obr, 25)).upper(),
        value_type=value_type,
        code=_get(code, 0).strip(),
        code_text=_get(code, 1).strip(),
        code_system=_get(code, 2).strip(),
        alt_code=_get(code, 3).strip(),
        alt_text=_get(code, 4).strip(),
        alt_system=_get(code, 5).strip(),
        sub_id=fx.first(_get(obx, 4)),
        value_text="^".join(_without_outer_empties(value_components)),
        value_repeats=sum(1 for rep in value_field.split(fx.enc.repetition) if _has_text(fx, rep)),
        value=numeric.value,
        comparator=numeric.comparator,
        value_problem=numeric.problem,
        unit=unit,
        reference_range=reference_range,
        range_upper=parse_upper_limit(reference_range),
        abnormal_flags=fx.repeats_first_components(_get(obx, 8)),
        result_status=fx.first(_get(obx, 11)).upper(),
        observed_at=parse_timestamp(fx.first(_get(obx, 14))),
    )


def read_lab_bytes(data: bytes) -> FileRead:
    """Every block of a lab file to records: messages, stray text (quarantined `not_hl7`) and OBX rows."""
    result = FileRead()
    for index, block in enumerate(split_blocks(decode_feed_bytes(data))):
        if not block.is_message:
            result.messages.append(
                MessageRecord(
                    index,
                    block.line,
                    "quarantined",
                    "not_hl7",
                    f"{len(block.segments)} line(s) of text that are not HL7 segments",
                    block.text,
                )
            )
            continue
        message, observations = read_message(block)
        result.messages.append(message)
        result.observations.extend(observations)
    return result
