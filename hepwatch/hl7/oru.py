"""ORU^R01 lab result messages to flat records: one per message, one per OBX (domain.md section 7).

Structure: `MSH [SFT] { [PID ...] { [ORC] OBR [NTE] { OBX [NTE] } [SPM ...] } } [DSC]`. The reader walks
segments in order and keeps the latest PID and OBR as context (`observation_groups`). Only the fields
hepwatch uses are read (by `fields.py`): MSH-4/7/9/10/12, PID-3, OBR-2/3/7/22/25, OBX-2..8/11/14.

This is the reader: what a message and each OBX mean is decided here and in `fields.py`. Bulk ingestion
(`hepwatch.ingest.lab_columns`) calls the same rules (`header_outcome`, `observation_groups` and the field
readers), only once per distinct field text.

Outcomes decided here: `ignored` (not a lab result message), `quarantined` (with a reason code) or
`accepted`. Duplicates (same MSH-4 and MSH-10) are decided by the ingestion ledger, which knows history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hepwatch.hl7.encoding import Encoding
from hepwatch.hl7.fields import (
    Fields,
    field_at,
    patient_identifier,
    read_description,
    read_message_type,
    read_timestamp,
    read_value,
)
from hepwatch.hl7.framing import Block, decode_feed_bytes, split_blocks


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
    # fields.read_value's, in its order
    value_type: str
    value_text: str
    value_repeats: int
    value: float | None
    comparator: str | None
    value_problem: str | None
    # fields.read_description's, in its order
    code: str
    code_text: str
    code_system: str
    alt_code: str
    alt_text: str
    alt_system: str
    sub_id: str
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


LAB_RESULT_TYPES = frozenset({("ORU", "R01"), ("ORU", "")})


def header_outcome(
    msg_type: str, trigger: str, message_type: str | None, control_id: str | None
) -> tuple[str, str | None, str | None]:
    """(outcome, reason, detail) of a message by its MSH alone: accepted means "read on"."""
    if (msg_type, trigger) not in LAB_RESULT_TYPES:
        return "ignored", "not_lab_result", f"message type {message_type or '(none)'} is not ORU^R01"
    if not control_id:
        return "quarantined", "missing_control_id", "MSH-10 (message control ID) is empty"
    return "accepted", None, None


_OBX_BEFORE_PID = "OBX before any PID segment with an identifier"
_EMPTY_PID = "PID-3 (patient identifier list) has no identifier"
_NO_PID = "the message has no PID segment"


def observation_groups(
    segments: Sequence[str], separator: str, patient_of: Callable[[str], Any]
) -> str | list[tuple[Any, list[str], list[str]]]:
    """The OBX segments of an accepted message, grouped by context: (patient, OBR fields or [], OBX segments)
    for each run of OBX under the same PID and OBR; or why the message is quarantined `missing_patient_id`.

    The latest PID and OBR are the context, which also copes with Z-segments, SPM before OBX and several
    PID groups in one message. `patient_of(PID-3)` is the patient, or None when PID-3 has no identifier.
    """
    groups: list[tuple[Any, list[str], list[str]]] = []
    obx: list[str] | None = None  # the current group's OBX segments
    patient = None
    saw_pid = False
    obr: list[str] = []
    for segment in segments:
        seg_id = segment[:3]
        if seg_id == "OBX":
            if obx is None:
                if patient is None:
                    return _OBX_BEFORE_PID
                obx = []
                groups.append((patient, obr, obx))
            obx.append(segment)
        elif seg_id == "PID":
            saw_pid = True
            pid = segment.split(separator, 4)
            patient = patient_of(pid[3] if len(pid) > 3 else "")
            if patient is None:
                return _EMPTY_PID
            obr, obx = [], None
        elif seg_id == "OBR":
            obr, obx = segment.split(separator), None
    return groups if saw_pid else _NO_PID


def read_message(block: Block) -> tuple[MessageRecord, list[ObservationRecord]]:
    """One message block to its ledger record and (when accepted) its OBX records."""
    raw = block.text
    msh = block.segments[0]
    record = MessageRecord(block.index, block.line, "quarantined", None, None, raw)
    if len(msh) < 8 or msh[3].isalnum() or msh[3] in " \t":
        record.reason, record.detail = "bad_msh", "MSH-1/MSH-2 do not hold valid encoding characters"
        return record, []
    fx = Fields(Encoding.from_msh(msh))
    sep = fx.enc.field
    msh_fields = ["", *msh.split(sep)]  # MSH-n is msh_fields[n]: MSH-1 is the separator itself
    record.sending_facility = fx.text(field_at(msh_fields, 4)) or None
    record.message_time = read_timestamp(fx, field_at(msh_fields, 7))
    msg_type, trigger, record.message_type = read_message_type(fx, field_at(msh_fields, 9))
    record.control_id = fx.first(field_at(msh_fields, 10)) or None
    record.version = fx.first(field_at(msh_fields, 12)) or None
    record.outcome, record.reason, record.detail = header_outcome(
        msg_type, trigger, record.message_type, record.control_id
    )
    if record.outcome != "accepted":
        return record, []
    groups = observation_groups(block.segments[1:], sep, lambda pid3: patient_identifier(fx, pid3))
    if isinstance(groups, str):
        record.outcome, record.reason, record.detail = "quarantined", "missing_patient_id", groups
        return record, []
    observations: list[ObservationRecord] = []
    for patient, obr, segments in groups:
        for segment in segments:
            observations.append(_observation(fx, segment.split(sep), obr, patient, block, len(observations)))
    record.observations = len(observations)
    return record, observations


def _observation(
    fx: Fields,
    obx: list[str],
    obr: list[str],
    patient: tuple[str, str],
    block: Block,
    obx_index: int,
) -> ObservationRecord:
    read = (
        block.index,
        obx_index,
        *patient,
        fx.text(field_at(obr, 2)),
        fx.text(field_at(obr, 3)),
        read_timestamp(fx, field_at(obr, 7)) if obr else None,
        read_timestamp(fx, field_at(obr, 22)),
        fx.first(field_at(obr, 25)).upper(),
        *read_value(fx, field_at(obx, 2), field_at(obx, 5)),
        *read_description(
            fx,
            field_at(obx, 3),
            field_at(obx, 4),
            field_at(obx, 6),
            field_at(obx, 7),
            field_at(obx, 8),
            field_at(obx, 11),
        ),
        read_timestamp(fx, field_at(obx, 14)),
    )
    return ObservationRecord(*read)


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
