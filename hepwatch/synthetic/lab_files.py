"""Lab feed files: `labs/<LAB>/<YYYY-MM-DD>.hl7`, one per lab and sending day, in each lab's framing.

NORTHLAB frames every message with MLLP (0x0B message 0x1C 0x0D), CITYHOSP ends segments with LF, EUROLAB
wraps each day's messages in an FHS/BHS ... BTS/FTS batch, POCTNET writes bare CR-terminated messages. Some
files start with a UTF-8 BOM (domain.md section 7, contract section 2).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from hepwatch.synthetic.lab_messages import MessagePlan, hl7_time
from hepwatch.synthetic.lab_profiles import LabProfile

BOM = "\ufeff"
GARBAGE_LINES = (
    "*** LIS EXPORT INTERRUPTED - connection reset by peer ***",
    "resuming queue from checkpoint 4471 (3 messages pending)",
)


@dataclass(slots=True)
class LabFile:
    lab: LabProfile
    day: date
    messages: list[MessagePlan]
    garbage_after: int | None = None  # insert a non-HL7 block after this many messages

    @property
    def relative_path(self) -> str:
        return f"labs/{self.lab.name}/{self.day.isoformat()}.hl7"


def group_into_files(plans: list[MessagePlan]) -> list[LabFile]:
    by_file: dict[tuple[str, date], list[MessagePlan]] = defaultdict(list)
    for plan in plans:
        by_file[(plan.lab.name, plan.sent.date())].append(plan)
    files = []
    for (_, day), messages in sorted(by_file.items()):
        messages.sort(key=lambda p: (p.sent, p.control_id))
        files.append(LabFile(messages[0].lab, day, messages))
    return files


def _batch_header(lab: LabProfile, day: date) -> list[str]:
    stamp = hl7_time(datetime.combine(day, datetime.min.time()).replace(hour=23, minute=55), seconds=True)
    batch_id = f"{lab.control_prefix}B{day:%Y%m%d}"
    return [
        f"FHS|^~\\&|{lab.application}|{lab.name}|HEPWATCH|HWCLINIC|{stamp}||{day.isoformat()}.hl7||{batch_id}",
        f"BHS|^~\\&|{lab.application}|{lab.name}|HEPWATCH|HWCLINIC|{stamp}||||{batch_id}",
    ]


def render(lab_file: LabFile, rng: random.Random) -> bytes:
    """The file's bytes: framed messages, the garbage block where planted, maybe a BOM."""
    lab = lab_file.lab
    chunks: list[str] = []
    segment_end = "\n" if lab.framing == "lf" else "\r"
    if lab.framing == "batch":
        chunks += [line + "\r" for line in _batch_header(lab, lab_file.day)]
    for number, plan in enumerate(lab_file.messages, start=1):
        if lab.framing == "mllp":
            chunks.append(f"\x0b{plan.er7}\r\x1c\r")
        else:
            chunks.append(plan.er7.replace("\r", segment_end) + segment_end)
        if number == lab_file.garbage_after:
            chunks.append("".join(line + segment_end for line in GARBAGE_LINES))
    if lab.framing == "batch":
        chunks += [f"BTS|{len(lab_file.messages)}\r", "FTS|1\r"]
    text = "".join(chunks)
    if rng.random() < lab.bom_share:
        text = BOM + text
    return text.encode("utf-8")
