"""Dosing CSV files: one per month, plus a corrections file named to sort after them (contract section 2).

Column order differs between files and one file carries an extra `clinic_note` column. A small, counted
share of rows is bad in each way the pipeline must quarantine (contract section 3); they are extra rows, so
every planned dose is still there. The corrections file repeats some record_ids with changed content.
"""

from __future__ import annotations

import copy
import csv
import io
import random
from collections import defaultdict

from hepwatch.synthetic.dosing_rows import DoseRow

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
BAD_ROW_SHARE = 0.0006
MIN_BAD_ROWS = 3
CORRECTION_SHARE = 0.004
MIN_CORRECTIONS = 3
NOTES = (
    "took with food, felt nauseous",
    "missed evening dose",
    "dose per pharmacy label",
    "split dose, AM/PM",
)


def add_bad_rows(rng: random.Random, rows: list[DoseRow]) -> list[DoseRow]:
    """Extra rows copied from real doses with one defect each: a missing required field or a bad value."""
    count = max(MIN_BAD_ROWS, round(BAD_ROW_SHARE * len(rows)))
    bad = []
    for serial, template in enumerate(rng.sample(rows, count)):
        row = copy.copy(template)
        row.kind = "missing_field"
        row.blank = REQUIRED_COLUMNS[serial % len(REQUIRED_COLUMNS)]
        bad.append(row)
    for kind, (column, values) in BAD_VALUES.items():
        for serial, template in enumerate(rng.sample(rows, count)):
            row = copy.copy(template)
            row.kind = kind
            setattr(row, column, values[serial % len(values)])
            bad.append(row)
    return bad


def assign_record_ids(rows: list[DoseRow]) -> None:
    """IDs in dose-date order, then the planted missing fields are blanked (record_id among them)."""
    rows.sort(key=lambda r: (r.day, r.patient_id, r.taken_at, r.substance, r.kind, r.dose_amount))
    for number, row in enumerate(rows, start=1):
        row.record_id = f"DOS{number:07d}"
        if row.blank:
            setattr(row, row.blank, "")


def _corrected_amount(rng: random.Random, row: DoseRow) -> str:
    """A plausible re-entry: a step of the usual dose size up or down, never to zero."""
    steps = {"methadone": 10.0, "buprenorphine": 4.0}
    step = steps.get(row.substance.lower(), 500.0 if row.dose_unit == "mg" else 0.5)
    amount = float(row.dose_amount)
    return f"{amount + step if amount <= step else amount + rng.choice((-step, step)):g}"


def corrections(rng: random.Random, rows: list[DoseRow], protected: set[str]) -> list[DoseRow]:
    """Later versions of some doses: the amount re-entered (typo fixed) or the time of dosing fixed."""
    candidates = [r for r in rows if r.kind == "dose" and r.patient_id not in protected]
    count = min(len(candidates), max(MIN_CORRECTIONS, round(CORRECTION_SHARE * len(rows))))
    fixed = []
    for template in rng.sample(candidates, count):
        row = copy.copy(template)
        row.kind = "correction"
        if "T" in row.taken_at and rng.random() < 0.3:
            hour = int(row.taken_at[11:13])
            row.taken_at = f"{row.taken_at[:11]}{(hour + 2) % 24:02d}{row.taken_at[13:]}"
        else:
            row.dose_amount = _corrected_amount(rng, row)
        row.clinic_note = "corrected entry"
        fixed.append(row)
    return fixed


def _csv_bytes(rows: list[DoseRow], columns: list[str], line_end: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([getattr(row, column) for column in columns])
    return buffer.getvalue().encode("utf-8")


def render_files(
    rng: random.Random, rows: list[DoseRow], fixed: list[DoseRow]
) -> list[tuple[str, bytes, int]]:
    """(relative path, bytes, row count) per file, in the order they are meant to arrive."""
    by_month: dict[str, list[DoseRow]] = defaultdict(list)
    for row in rows:
        by_month[row.day.strftime("%Y-%m")].append(row)
    files = []
    for number, month in enumerate(sorted(by_month)):
        columns = list(CONTRACT_COLUMNS)
        if number > 0:
            rng.shuffle(columns)
        if number == 1:
            columns.insert(rng.randint(0, len(columns)), "clinic_note")
            for row in by_month[month]:
                row.clinic_note = rng.choice(NOTES) if rng.random() < 0.05 else ""
        line_end = "\r\n" if number == 0 else "\n"
        month_rows = sorted(by_month[month], key=lambda r: r.record_id)
        files.append(
            (f"dosing/dosing_{month}.csv", _csv_bytes(month_rows, columns, line_end), len(month_rows))
        )
    last_month = max(by_month)
    columns = [*CONTRACT_COLUMNS, "clinic_note"]
    rng.shuffle(columns)
    fixed = sorted(fixed, key=lambda r: r.record_id)
    files.append(
        (f"dosing/dosing_{last_month}_corrections.csv", _csv_bytes(fixed, columns, "\n"), len(fixed))
    )
    return files
