"""Lab feed files: `labs/<LAB>/<YYYY-MM-DD>.hl7`, in each lab's framing, written as the days go by.

By default a file holds one lab's messages of one sending day; with `days_per_file` N, of N days (named
after the first). NORTHLAB frames every message with MLLP (0x0B message 0x1C 0x0D), CITYHOSP ends segments
with LF, EUROLAB wraps each file in an FHS/BHS ... BTS/FTS batch, POCTNET writes bare CR-terminated
messages. Some files start with a UTF-8 BOM (domain.md section 7, contract section 2). A file arrives (its
mtime) at 23:50 on its last day, a second apart from the other labs' files (in the order of their paths).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO

from hepwatch.synthetic.lab_feed import LabDay
from hepwatch.synthetic.lab_messages import hl7_time
from hepwatch.synthetic.lab_profiles import LABS, LabProfile
from hepwatch.synthetic.population import Window

BOM = "\ufeff"
GARBAGE_LINES = (
    "*** LIS EXPORT INTERRUPTED - connection reset by peer ***",
    "resuming queue from checkpoint 4471 (3 messages pending)",
)
ARRIVAL = time(23, 50)
LAB_ORDER = {name: number for number, name in enumerate(sorted(LABS))}


def _batch_header(lab: LabProfile, day: date) -> list[str]:
    stamp = hl7_time(datetime.combine(day, time(23, 55)), seconds=True)
    batch_id = f"{lab.control_prefix}B{day:%Y%m%d}"
    return [
        f"FHS|^~\\&|{lab.application}|{lab.name}|HEPWATCH|HWCLINIC|{stamp}||{day.isoformat()}.hl7||{batch_id}",
        f"BHS|^~\\&|{lab.application}|{lab.name}|HEPWATCH|HWCLINIC|{stamp}||||{batch_id}",
    ]


class _LabFile:
    def __init__(self, path: Path, lab: LabProfile, first: date, last: date, rng: random.Random) -> None:
        self.path, self.lab, self.last, self.messages = path, lab, last, 0
        self.segment_end = "\n" if lab.framing == "lf" else "\r"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle: IO[bytes] = path.open("wb")
        head = BOM if rng.random() < lab.bom_share else ""
        if lab.framing == "batch":
            head += "".join(line + "\r" for line in _batch_header(lab, first))
        if head:
            self.handle.write(head.encode("utf-8"))

    def write(self, lab_day: LabDay) -> None:
        chunks = []
        end = self.segment_end
        for number, plan in enumerate(lab_day.messages, start=1):
            if self.lab.framing == "mllp":
                chunks.append(f"\x0b{plan.er7}\r\x1c\r")
            else:
                chunks.append((plan.er7 if end == "\r" else plan.er7.replace("\r", end)) + end)
            if number == lab_day.garbage_after:
                chunks.append("".join(line + end for line in GARBAGE_LINES))
        self.messages += len(lab_day.messages)
        self.handle.write("".join(chunks).encode("utf-8"))

    def close(self) -> None:
        if self.lab.framing == "batch":
            self.handle.write(f"BTS|{self.messages}\rFTS|1\r".encode())
        self.handle.close()


class LabFiles:
    def __init__(
        self,
        out_dir: Path,
        window: Window,
        days_per_file: int,
        seed: int,
        arrive: Callable[[Path, datetime], None],
    ) -> None:
        if days_per_file < 1:
            raise ValueError(f"days per lab file must be at least 1, not {days_per_file}")
        self.out_dir, self.window, self.days_per_file, self.seed = out_dir, window, days_per_file, seed
        self.arrive = arrive
        self.open: dict[str, _LabFile] = {}
        self.written: list[str] = []  # relative paths, in the order they were closed

    def relative_path(self, lab: str, day: date) -> str:
        """The file a lab's messages sent on `day` go to."""
        offset = self.window.offset(day)
        first = self.window.day(offset - offset % self.days_per_file)
        return f"labs/{lab}/{first.isoformat()}.hl7"

    def write(self, lab_day: LabDay) -> str:
        """Append a lab's messages of a day to its file (opened when needed); return the file's path."""
        current = self.open.get(lab_day.lab)
        relative = self.relative_path(lab_day.lab, lab_day.day)
        if current is None:
            offset = self.window.offset(lab_day.day)
            first = self.window.day(offset - offset % self.days_per_file)
            last = min(first + timedelta(days=self.days_per_file - 1), max(self.window.end, lab_day.day))
            rng = random.Random(f"hepwatch-synthetic:{self.seed}:lab-file:{relative}")
            current = _LabFile(self.out_dir / relative, LABS[lab_day.lab], first, last, rng)
            self.open[lab_day.lab] = current
        current.write(lab_day)
        return relative

    def end_of_day(self, day: date) -> None:
        """Close the files whose last day this is (in path order), at their arrival time."""
        for lab in sorted(self.open):
            if self.open[lab].last <= day:
                self._close(lab)

    def close_all(self) -> None:
        for lab in sorted(self.open):
            self._close(lab)

    def _close(self, lab: str) -> None:
        lab_file = self.open.pop(lab)
        lab_file.close()
        self.written.append(str(lab_file.path.relative_to(self.out_dir)))
        arrival = datetime.combine(lab_file.last, ARRIVAL) + timedelta(seconds=LAB_ORDER[lab])
        self.arrive(lab_file.path, arrival)
