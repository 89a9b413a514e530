"""HL7 v2 messages of the synthetic lab feed, built with hl7apy (which knows each version's structures).

A `MessagePlan` says what one message carries; `build_er7` turns it into ER7 text with CR segment ends.
Framing (MLLP, LF, batch envelopes) is applied later, when files are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Group, Message

from hepwatch.synthetic.identities import CLINIC_AUTHORITY
from hepwatch.synthetic.lab_profiles import LabProfile
from hepwatch.synthetic.population import Patient
from hepwatch.synthetic.result_lines import ResultLine


@dataclass(slots=True)
class OrderBlock:
    """One OBR and its OBX lines."""

    placer: str  # OBR-2
    filler: str  # OBR-3
    service: str  # OBR-4
    collected: str  # OBR-7, HL7 timestamp; "" when missing
    reported: str  # OBR-22
    status: str  # OBR-25
    lines: list[ResultLine] = field(default_factory=list)


@dataclass(slots=True)
class MessagePlan:
    lab: LabProfile
    sent: datetime  # MSH-7; also decides the file the message lands in
    kind: str  # what the manifest counts it as
    patient: Patient | None
    blocks: list[OrderBlock] = field(default_factory=list)
    message_type: str = "ORU^R01"  # or ADT^A08, ACK
    omit_patient_id: bool = False
    control_id: str = ""  # MSH-10, assigned in sending order per facility
    er7: str = ""


def hl7_time(moment: datetime, seconds: bool = False) -> str:
    return moment.strftime("%Y%m%d%H%M%S" if seconds else "%Y%m%d%H%M")


def _msh(message: Message, plan: MessagePlan, type_field: str) -> None:
    msh = message.msh
    msh.msh_3 = plan.lab.application
    msh.msh_4 = plan.lab.name
    msh.msh_5 = "HEPWATCH"
    msh.msh_6 = CLINIC_AUTHORITY
    msh.msh_7 = hl7_time(plan.sent, seconds=True) + plan.lab.utc_offset  # never hl7apy's wall-clock default
    msh.msh_9 = type_field
    msh.msh_10 = plan.control_id
    msh.msh_11 = "P"


def _pid(parent: Group, plan: MessagePlan) -> None:
    patient = plan.patient
    assert patient is not None
    identity = patient.identity
    pid = parent.add_segment("PID")
    pid.pid_1 = "1"
    if not plan.omit_patient_id:
        pid.pid_3 = f"{identity.mrn}^^^{CLINIC_AUTHORITY}^MR"
        if plan.lab.extra_identifier:  # a second repetition: the lab's own patient number
            pid.add_field("PID_3").value = f"L{patient.index + 100_000}^^^{plan.lab.name}^PI"
    pid.pid_5 = identity.pid5
    pid.pid_7 = identity.birth_date.strftime("%Y%m%d")
    pid.pid_8 = patient.sex
    pid.pid_11 = identity.pid11


def _observation(parent: Group, line: ResultLine, set_id: int, sub_id: str) -> None:
    obx = parent.add_segment("OBX")
    obx.obx_1 = str(set_id)
    if line.value_type:
        obx.obx_2 = line.value_type
    obx.obx_3 = line.code
    if sub_id:
        obx.obx_4 = sub_id
    if line.value:
        obx.obx_5 = line.value
    if line.unit:
        obx.obx_6 = line.unit
    if line.reference_range:
        obx.obx_7 = line.reference_range
    if line.flags:
        obx.obx_8 = line.flags
    if line.status:
        obx.obx_11 = line.status
    if line.observed_at:
        obx.obx_14 = line.observed_at
    if line.note:
        nte = parent.add_segment("NTE")
        nte.nte_1 = "1"
        nte.nte_3 = line.note


def _result_message(plan: MessagePlan) -> Message:
    version = plan.lab.version
    message = Message("ORU_R01", version=version, validation_level=VALIDATION_LEVEL.TOLERANT)
    _msh(message, plan, "ORU^R01" if version == "2.3" else "ORU^R01^ORU_R01")
    result = message.add_group("ORU_R01_RESPONSE" if version == "2.3" else "ORU_R01_PATIENT_RESULT")
    _pid(result.add_group("ORU_R01_PATIENT"), plan)
    for number, block in enumerate(plan.blocks, start=1):
        order = result.add_group("ORU_R01_ORDER_OBSERVATION")
        if version == "2.5.1":
            orc = order.add_segment("ORC")
            orc.orc_1, orc.orc_2, orc.orc_3 = "RE", block.placer, block.filler
        obr = order.add_segment("OBR")
        obr.obr_1 = str(number)
        obr.obr_2, obr.obr_3, obr.obr_4 = block.placer, block.filler, block.service
        if block.collected:
            obr.obr_7 = block.collected
        obr.obr_22, obr.obr_25 = block.reported, block.status
        for set_id, line in enumerate(block.lines, start=1):
            _observation(order.add_group("ORU_R01_OBSERVATION"), line, set_id, plan.lab.sub_id)
    return message


def _patient_update(plan: MessagePlan) -> Message:
    version = plan.lab.version
    message = Message("ADT_A01", version=version, validation_level=VALIDATION_LEVEL.TOLERANT)
    _msh(message, plan, "ADT^A08" if version == "2.3" else "ADT^A08^ADT_A01")
    evn = message.add_segment("EVN")
    evn.evn_1, evn.evn_2 = "A08", hl7_time(plan.sent, seconds=True)
    _pid(message, plan)
    pv1 = message.add_segment("PV1")
    pv1.pv1_1, pv1.pv1_2 = "1", "O"
    return message


def _acknowledgement(plan: MessagePlan) -> Message:
    message = Message("ACK", version=plan.lab.version, validation_level=VALIDATION_LEVEL.TOLERANT)
    _msh(message, plan, "ACK")
    msa = message.add_segment("MSA")
    msa.msa_1, msa.msa_2 = "AA", f"HW{plan.control_id}"
    return message


def build_er7(plan: MessagePlan) -> str:
    """The message as ER7 text, segments separated by CR, no trailing CR."""
    if plan.message_type == "ADT^A08":
        return _patient_update(plan).to_er7()
    if plan.message_type == "ACK":
        return _acknowledgement(plan).to_er7()
    return _result_message(plan).to_er7()
