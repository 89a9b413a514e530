"""Dosing records consistent with each patient's exposure (contract section 2), a day at a time.

Kratom: self-reported doses on most days of each episode (none during a pause or after the last dose),
1 to 3 a day, in g (capsules in mg), the substance written many ways. Methadone: observed at the clinic on
weekdays, take-home doses at weekends. Buprenorphine: dispensed daily doses. A few patients report kava,
which the pipeline keeps as `other`. `DoseDays` knows which patients dose on which days of the window (their
kratom episodes and MOUD courses, cut to the window) and writes a day's rows from that day's own stream.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from hepwatch.synthetic.draws import between, one_of
from hepwatch.synthetic.identities import CLINIC_AUTHORITY
from hepwatch.synthetic.population import Patient, Window

KRATOM_SPELLINGS = ("kratom", "kratom", "Kratom", "Kratom", "KRATOM", "Mitragyna speciosa")
DOSE_COUNT_JITTER = (-1, 0, 0, 0, 1)  # doses on a day, around the patient's habit
RECORDED_DAY_SHARE = 0.75
OFFSET = "-04:00"  # the clinic's summer offset


@dataclass(slots=True)
class DoseRow:
    patient_id: str
    substance: str
    product: str
    dose_amount: str
    dose_unit: str
    taken_at: str
    source: str
    day: date  # the dose date, for splitting rows into monthly files
    kind: str = "dose"  # dose | other_substance | a bad-row reason | correction
    id_authority: str = CLINIC_AUTHORITY
    record_id: str = ""
    clinic_note: str = ""
    blank: str = ""  # a required column left empty on purpose (a `missing_field` row)


def _taken_at(rng: random.Random, day: str, style: str, hours: tuple[int, int]) -> str:
    """`day` (ISO) as written: the date alone, or with a time of day (5-minute steps), or with the offset."""
    if style == "date":
        return day
    moment = f"{day}T{between(rng, *hours):02d}:{5 * between(rng, 0, 11):02d}:00"
    return moment + OFFSET if style == "offset" else moment


def _amount(value: float) -> str:
    return f"{value:g}"


@dataclass(slots=True)
class DoseSpan:
    """Days `first` to `last` (inside the window) on which the patient doses `substance`."""

    patient: Patient
    substance: str  # kratom | moud
    first: date
    last: date
    always: tuple[date, ...] = ()  # days always recorded: an episode's first and last dose


def _spans(patient: Patient, window: Window) -> list[DoseSpan]:
    runs: list[tuple[str, date, date, tuple[date, ...]]] = []
    for episode in patient.kratom:
        ends = (episode.first, episode.last)
        if episode.pause is None:
            runs.append(("kratom", episode.first, episode.last, ends))
        else:
            runs.append(("kratom", episode.first, episode.pause[0] - timedelta(days=1), ends))
            runs.append(("kratom", episode.pause[1] + timedelta(days=1), episode.last, ends))
    if patient.moud is not None and patient.care is not None:
        runs.append(("moud", max(patient.moud.start, patient.care.start), patient.care.end, ()))
    spans = []
    for substance, first, last, always in runs:
        first, last = max(first, window.start), min(last, window.end)
        if first <= last:
            spans.append(DoseSpan(patient, substance, first, last, always))
    return spans


class DoseDays:
    """The dosing patients of each day of the window, in a fixed order, and their rows for a day."""

    def __init__(self, seed: int, patients: list[Patient], window: Window) -> None:
        self.seed, self.window = seed, window
        self.starting: dict[int, list[DoseSpan]] = defaultdict(list)
        self.kava: dict[int, list[tuple[Patient, int]]] = defaultdict(list)
        for patient in patients:
            for span in _spans(patient, window):
                self.starting[window.offset(span.first)].append(span)
            for day, grams in patient.kava:
                if window.start <= day <= window.end:
                    self.kava[window.offset(day)].append((patient, grams))
        self.active: list[DoseSpan] = []

    def rows(self, offset: int) -> tuple[random.Random, list[DoseRow]]:
        """The rows of day `offset` (called for each day in order), and the day's stream for what follows."""
        rng = random.Random(f"hepwatch-synthetic:{self.seed}:dosing:{offset}")
        day = self.window.day(offset)
        self.active = [span for span in self.active if span.last >= day] + self.starting.pop(offset, [])
        rows: list[DoseRow] = []
        iso = day.isoformat()
        for span in self.active:
            if span.substance == "kratom":
                kratom_rows(rng, span, day, iso, rows)
            else:
                moud_row(rng, span.patient, day, iso, rows)
        for patient, grams in self.kava.pop(offset, []):
            row = DoseRow(patient.mrn, "kava", "kava tea", _amount(grams), "g", iso, "self_report", day)
            row.kind = "other_substance"
            rows.append(row)
        return rng, rows


def kratom_rows(rng: random.Random, span: DoseSpan, day: date, iso: str, rows: list[DoseRow]) -> None:
    # the first and last doses are always recorded, so exposure episodes are exactly as planned
    if day not in span.always and rng.random() >= RECORDED_DAY_SHARE:
        return
    patient = span.patient
    habit = patient.kratom_habit
    assert habit is not None
    mrn, style, unit, product = patient.mrn, patient.kratom_style, habit.unit, habit.product
    step = 500.0 if unit == "mg" else 0.5
    random = rng.random
    for _ in range(min(3, max(1, habit.doses_per_day + one_of(rng, DOSE_COUNT_JITTER)))):
        amount = round(habit.dose * (0.8 + 0.4 * random()) / step) * step
        source = "observed" if random() < 0.05 else "self_report"
        rows.append(
            DoseRow(
                mrn,
                one_of(rng, KRATOM_SPELLINGS),
                product if random() < 0.9 else "",
                _amount(amount if amount > step else step),
                unit,
                _taken_at(rng, iso, style, (7, 22)),
                source,
                day,
            )
        )


def moud_row(rng: random.Random, patient: Patient, day: date, iso: str, rows: list[DoseRow]) -> None:
    course = patient.moud
    assert course is not None
    if rng.random() >= 0.95:
        return
    if course.substance == "methadone":
        observed = day.weekday() < 5
        taken = _taken_at(rng, iso, "local" if observed else "date", (7, 10))
        source, product = ("observed" if observed else "dispensed"), "oral solution"
    else:
        taken = _taken_at(rng, iso, "offset", (8, 20))
        source, product = "dispensed", "sublingual film"
    rows.append(DoseRow(patient.mrn, patient.moud_spelling, product, course.amount, "mg", taken, source, day))
