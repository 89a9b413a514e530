"""The messages each order produces, by kind (domain.md section 7, contract section 3).

`normal`: one final message a few hours after collection. `late`: the same, 3 to 10 days later.
`preliminary`: a P message, then the F message the next day. `correction`: final, then a C message with
a changed ALT. `retraction`: final, then X, D or W. Defects: no PID-3, no collection time (no OBR-7, no
OBX-14), a non-numeric ALT, an ALT in an unknown unit, an extra liver-looking code that maps to nothing.
Resent duplicates are copies of built messages, made in `feed_writer`.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, timedelta

from hepwatch.synthetic.draws import between
from hepwatch.synthetic.lab_messages import MessagePlan, OrderBlock, hl7_time
from hepwatch.synthetic.lab_orders import Order
from hepwatch.synthetic.lab_profiles import LabProfile
from hepwatch.synthetic.result_lines import ResultLine, abnormal_flag, format_number, result_line

NON_NUMERIC_TEXTS = (("see comment", "Specimen hemolyzed; please recollect."), ("## TEST CANCELLED ##", ""))
UNMAPPED_CODES = ("ALTX^Alanine aminotransferase, new method^L", "1783-0^Alkaline phosphatase Bld-cCnc^LN")
UNKNOWN_UNIT = "mmol/s"
RETRACTION_STATUSES = ("X", "D", "W")


def _blocks(rng: random.Random, order: Order, status: str, sent: datetime) -> list[OrderBlock]:
    lab = order.lab
    collected = hl7_time(order.collected)
    lines = [result_line(rng, lab, a, order.values[a], status, collected) for a in order.liver]
    blocks = [
        OrderBlock(order.placer, order.filler, lab.panel_code, collected, hl7_time(sent), status, lines)
    ]
    if order.other_panel:
        other = [result_line(rng, lab, a, order.values[a], status, collected) for a in ("NA", "CREA", "GLU")]
        placer, filler = f"{order.placer}B", f"{order.filler}B"
        blocks.append(
            OrderBlock(placer, filler, lab.other_panel_code, collected, hl7_time(sent), status, other)
        )
    return blocks


def _alt(block: OrderBlock) -> ResultLine:
    return next(line for line in block.lines if line.analyte == "ALT")


def _unmapped_line(lab: LabProfile, order: Order, serial: int) -> ResultLine:
    loinc_only = "^LN" in lab.habits["ALT"].code and "^L^" not in lab.habits["ALT"].code
    code = UNMAPPED_CODES[serial % 2] if loinc_only else UNMAPPED_CODES[0]
    analyte = "ALP" if code.startswith("1783-0") else "ALT"
    habit = lab.habits[analyte]
    value = format_number(habit, habit.to_lab_unit(order.values[analyte]))
    flags = abnormal_flag(lab, analyte, float(value)) if habit.range_text else ""  # agrees with the range
    return ResultLine(None, code, "NM", value, habit.unit, habit.range_text, flags, "F", "")


def _apply_defect(order: Order, blocks: list[OrderBlock], plan: MessagePlan, serial: int) -> None:
    liver = blocks[0]
    alt = _alt(liver)
    if order.kind == "missing_patient_id":
        plan.omit_patient_id = True
    elif order.kind == "missing_collection_time":
        for block in blocks:
            block.collected = ""
            for line in block.lines:
                line.observed_at = ""
    elif order.kind == "non_numeric_value":
        alt.value, alt.note = NON_NUMERIC_TEXTS[serial % len(NON_NUMERIC_TEXTS)]
        alt.value_type, alt.flags, alt.canonical = "ST", "", None
    elif order.kind == "unknown_unit":
        alt.unit = UNKNOWN_UNIT
    elif order.kind == "unmapped_code":
        liver.lines.insert(liver.lines.index(alt) + 1, _unmapped_line(order.lab, order, serial))


def _sent_after(
    rng: random.Random, moment: datetime, days: tuple[int, int], hours: tuple[int, int]
) -> datetime:
    minutes = 60 * (24 * between(rng, *days) + between(rng, *hours)) + between(rng, 0, 59)
    return moment + timedelta(minutes=minutes)


def _later_version(first: MessagePlan, sent: datetime, kind: str) -> MessagePlan:
    """A later message about the same order: the liver OBR of the first message, reported at `sent`."""
    liver = copy.copy(first.blocks[0])
    liver.lines = [copy.copy(line) for line in liver.lines]
    liver.reported = hl7_time(sent)
    return MessagePlan(first.lab, sent, kind, first.patient, [liver])


def _corrected(rng: random.Random, blocks: list[OrderBlock], lab: LabProfile) -> None:
    """ALT changed by 20 to 40 percent, OBX-11 and OBR-25 `C`; the other results are resent unchanged."""
    liver = blocks[0]
    liver.status = "C"
    alt = _alt(liver)
    habit = lab.habits["ALT"]
    before = float(alt.value)
    text = format_number(habit, before * rng.choice((0.7, 0.8, 1.25, 1.4)))
    while text == alt.value:  # too small a value for the change to show as written (ALT 1 U/L): double it
        before *= 2
        text = format_number(habit, before)
    alt.value, alt.status, alt.canonical = text, "C", float(text) / habit.per_canonical
    alt.flags = abnormal_flag(lab, "ALT", float(text))


def _retracted(blocks: list[OrderBlock], status: str) -> None:
    if status == "W":  # wrong patient: the whole panel is withdrawn
        for line in blocks[0].lines:
            line.status = "W"
        return
    alt = _alt(blocks[0])
    blocks[0].lines = [alt]
    alt.status = status
    if status == "X":
        alt.value, alt.flags, alt.canonical = "", "", None


def order_messages(rng: random.Random, order: Order, serial: int) -> list[MessagePlan]:
    """The messages of one order, in sending order; `serial` counts orders of the same kind."""
    lab, kind = order.lab, order.kind
    first_sent = _sent_after(rng, order.collected, (0, 0), (3, 8))
    if kind == "late":
        first_sent = _sent_after(rng, order.collected, (3, 10), (0, 6))
    if kind == "preliminary":
        sent = _sent_after(rng, order.collected, (0, 0), (1, 2))
        final_sent = _sent_after(rng, order.collected, (1, 1), (0, 4))
        return [
            MessagePlan(lab, sent, "preliminary", order.patient, _blocks(rng, order, "P", sent)),
            MessagePlan(
                lab,
                final_sent,
                "final_after_preliminary",
                order.patient,
                _blocks(rng, order, "F", final_sent),
            ),
        ]
    first_kind = kind if kind not in ("correction", "retraction", "duplicate_resend") else "normal"
    first = MessagePlan(lab, first_sent, first_kind, order.patient, _blocks(rng, order, "F", first_sent))
    _apply_defect(order, first.blocks, first, serial)
    plans = [first]
    if kind == "correction":
        later = _later_version(first, _sent_after(rng, first_sent, (1, 5), (0, 6)), "correction")
        _corrected(rng, later.blocks, lab)
        plans.append(later)
    elif kind == "retraction":
        later = _later_version(first, _sent_after(rng, first_sent, (1, 4), (0, 6)), "retraction")
        _retracted(later.blocks, RETRACTION_STATUSES[serial % len(RETRACTION_STATUSES)])
        plans.append(later)
    return plans
