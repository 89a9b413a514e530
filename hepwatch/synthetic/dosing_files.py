"""Dosing CSV files, written a day at a time (contract section 2).

Two layouts: `monthly` (one file per month, plus a corrections file named to sort after them) and `daily`
(one file per day, `dosing/<YYYY-MM-DD>.csv`, a correction landing in the file of a day 1 to 7 days later).
Column order differs between files and the second file carries an extra `clinic_note` column. A small,
counted share of rows is bad in each way the pipeline must quarantine (contract section 3); they are extra
rows, so every planned dose is still there; each kind at least MIN_BAD_ROWS times, spread over the window.
Corrections repeat some record_ids with changed content (never those of patients with a planted injury).
"""

from __future__ import annotations

import copy
import csv
import random
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from operator import attrgetter
from pathlib import Path
from typing import IO

from hepwatch.synthetic.dosing_rows import DoseRow
from hepwatch.synthetic.manifest import DosingTally
from hepwatch.synthetic.population import Window

CONTRACT_COLUMNS = (
    "record_id",
    "patient_id",
    "id_authority",
    "substance",
    "product",
    "dose_amount",
    "dose_unit",
    "taken_at",
    "source",
)
REQUIRED_COLUMNS = ("record_id", "patient_id", "substance", "dose_amount", "dose_unit", "taken_at")
BAD_VALUES = {
    "bad_number": ("dose_amount", ("two", "2,5", "approx 3", "3g?")),
    "non_positive_dose": ("dose_amount", ("0", "-2", "0.0")),
    "unsupported_unit": ("dose_unit", ("tablespoon", "teaspoon", "scoop")),
    "bad_datetime": ("taken_at", ("2026-13-45", "yesterday", "2026-06-31", "31/06/2026")),
}
BAD_KINDS = ("missing_field", *BAD_VALUES)
BAD_ROW_SHARE = 0.0006  # of dose rows, for each kind
MIN_BAD_ROWS = 3
CORRECTION_SHARE = 0.004
MIN_CORRECTIONS = 3
CORRECTION_DELAY_DAYS = (1, 7)  # daily layout: a correction arrives in a later day's file
NOTES = (
    "took with food, felt nauseous",
    "missed evening dose",
    "dose per pharmacy label",
    "split dose, AM/PM",
)
Arrive = Callable[[Path, datetime], None]


class _File:
    """One CSV being written: its columns (order drawn per file) and line ends."""

    def __init__(self, path: Path, number: int, rng: random.Random, corrections: bool = False) -> None:
        columns = list(CONTRACT_COLUMNS)
        if corrections:
            columns.append("clinic_note")
        if number > 0 or corrections:
            rng.shuffle(columns)
        if number == 1:
            columns.insert(rng.randint(0, len(columns)), "clinic_note")
        self.path, self.columns, self.rng, self.rows = path, columns, rng, 0
        self.cells = attrgetter(*columns)
        self.notes = number == 1 and not corrections
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle: IO[str] = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.handle, lineterminator="\r\n" if number == 0 else "\n")
        self.writer.writerow(columns)

    def write(self, rows: list[DoseRow]) -> None:
        if self.notes:
            for row in rows:
                row.clinic_note = self.rng.choice(NOTES) if self.rng.random() < 0.05 else ""
        self.writer.writerows(map(self.cells, rows))
        self.rows += len(rows)


class DosingFiles:
    def __init__(self, out_dir: Path, window: Window, layout: str, seed: int, arrive: Arrive) -> None:
        if layout not in ("monthly", "daily"):
            raise ValueError(f"dosing layout must be monthly or daily, not {layout!r}")
        self.out_dir, self.window, self.layout, self.seed, self.arrive = out_dir, window, layout, seed, arrive
        self.tally = DosingTally()
        self.open: _File | None = None
        self.files = 0
        self.record_ids = 0
        self.planted: dict[str, int] = dict.fromkeys((*BAD_KINDS, "correction"), 0)
        self.corrections: dict[date, list[DoseRow]] = defaultdict(list)  # by the day they arrive

    def _owed(self, minimum: int, day: date) -> int:
        """How many of a kind should be planted by `day`, so the minimum is reached evenly over the window."""
        return -(-minimum * (self.window.offset(day) + 1) // self.window.days)

    def write_day(self, day: date, rng: random.Random, rows: list[DoseRow], protected: set[str]) -> None:
        rows = self._with_bad_rows(rng, day, rows)
        number = self.record_ids
        for row in rows:
            number += 1
            row.record_id = f"DOS{number:07d}"
            if row.blank:
                setattr(row, row.blank, "")
        self.record_ids = number
        self.tally.add_all(rows)
        self._plan_corrections(rng, day, rows, protected)
        if self.layout == "daily":  # corrections of earlier days arrive with this day's rows
            arriving = self.corrections.pop(day, [])
            self.tally.add_all(arriving)
            rows += arriving
        if rows:
            self._file_for(day).write(rows)
        if self.open is not None and (self.layout == "daily" or (day + timedelta(days=1)).day == 1):
            self._close(day)

    def _file_for(self, day: date) -> _File:
        if self.open is None:
            name = day.isoformat() if self.layout == "daily" else f"dosing_{day:%Y-%m}"
            path = self.out_dir / "dosing" / f"{name}.csv"
            rng = random.Random(f"hepwatch-synthetic:{self.seed}:dosing-file:{path.name}")
            self.open = _File(path, self.files, rng)
            self.files += 1
        return self.open

    def _close(self, day: date) -> None:
        assert self.open is not None
        self.open.handle.close()
        self.tally.files[f"dosing/{self.open.path.name}"] = self.open.rows
        self.arrive(self.open.path, datetime.combine(day, time(23, 55)))
        self.open = None

    def finish(self) -> None:
        """Close the last file; in the monthly layout, write the corrections file the morning after."""
        if self.open is not None:
            self._close(self.window.end)
        if self.layout == "daily":
            return
        fixed = [row for day in sorted(self.corrections) for row in self.corrections[day]]
        month = f"{self.window.end:%Y-%m}"
        path = self.out_dir / "dosing" / f"dosing_{month}_corrections.csv"
        rng = random.Random(f"hepwatch-synthetic:{self.seed}:dosing-file:{path.name}")
        corrections = _File(path, self.files, rng, corrections=True)
        corrections.write(fixed)
        corrections.handle.close()
        self.tally.add_all(fixed)
        self.tally.files[f"dosing/{path.name}"] = len(fixed)
        self.arrive(path, datetime.combine(self.window.end + timedelta(days=1), time(6, 0)))

    def _with_bad_rows(self, rng: random.Random, day: date, rows: list[DoseRow]) -> list[DoseRow]:
        """Each dose row may be followed by a copy of it with one defect: a missing field or a bad value."""
        doses = [index for index, row in enumerate(rows) if row.kind == "dose"]
        if not doses:
            return rows
        extra: dict[int, list[str]] = defaultdict(list)  # after row i: copies with these defects
        for index in doses:
            draw = rng.random()
            if draw < BAD_ROW_SHARE * len(BAD_KINDS):
                extra[index].append(BAD_KINDS[int(draw / BAD_ROW_SHARE)])
        for kind in BAD_KINDS:
            while self.planted[kind] + sum(k == kind for ks in extra.values() for k in ks) < self._owed(
                MIN_BAD_ROWS, day
            ):
                extra[rng.choice(doses)].append(kind)
        out = []
        for index, row in enumerate(rows):
            out.append(row)
            for kind in extra.get(index, ()):
                out.append(self._spoiled(row, kind))
        return out

    def _spoiled(self, template: DoseRow, kind: str) -> DoseRow:
        row = copy.copy(template)
        row.kind = kind
        serial = self.planted[kind]
        self.planted[kind] += 1
        if kind == "missing_field":
            row.blank = REQUIRED_COLUMNS[serial % len(REQUIRED_COLUMNS)]
        else:
            column, values = BAD_VALUES[kind]
            setattr(row, column, values[serial % len(values)])
        return row

    def _plan_corrections(
        self, rng: random.Random, day: date, rows: list[DoseRow], protected: set[str]
    ) -> None:
        """Later versions of some doses: the amount re-entered (typo fixed) or the time of dosing fixed."""
        candidates = [row for row in rows if row.kind == "dose" and row.patient_id not in protected]
        if not candidates:
            return
        chosen = [row for row in candidates if rng.random() < CORRECTION_SHARE]
        while self.planted["correction"] + len(chosen) < self._owed(MIN_CORRECTIONS, day):
            chosen.append(rng.choice(candidates))
        for template in chosen:
            row = copy.copy(template)
            row.kind = "correction"
            if "T" in row.taken_at and rng.random() < 0.3:
                hour = int(row.taken_at[11:13])
                row.taken_at = f"{row.taken_at[:11]}{(hour + 2) % 24:02d}{row.taken_at[13:]}"
            else:
                row.dose_amount = _corrected_amount(rng, row)
            row.clinic_note = "corrected entry"
            arrives = day
            if self.layout == "daily":
                arrives = day + timedelta(days=rng.randint(*CORRECTION_DELAY_DAYS))
                if arrives > self.window.end:
                    continue  # would arrive after the feed's last day
            self.planted["correction"] += 1
            self.corrections[arrives].append(row)


def _corrected_amount(rng: random.Random, row: DoseRow) -> str:
    """A plausible re-entry: a step of the usual dose size up or down, never to zero."""
    steps = {"methadone": 10.0, "buprenorphine": 4.0}
    step = steps.get(row.substance.lower(), 500.0 if row.dose_unit == "mg" else 0.5)
    amount = float(row.dose_amount)
    return f"{amount + step if amount <= step else amount + rng.choice((-step, step)):g}"
