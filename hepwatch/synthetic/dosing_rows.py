"""Dosing records consistent with each patient's exposure (contract section 2).

Kratom: self-reported doses on most days of each episode (none during a pause or after the last dose),
1 to 3 a day, in g (capsules in mg), the substance written many ways. Methadone: observed at the clinic on
weekdays, take-home doses at weekends. Buprenorphine: dispensed daily doses. A few patients report kava,
which the pipeline keeps as `other`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from hepwatch.synthetic.identities import CLINIC_AUTHORITY
from hepwatch.synthetic.population import Episode, Patient, Window

KRATOM_SPELLINGS = ("kratom", "kratom", "Kratom", "Kratom", "KRATOM", "Mitragyna speciosa")
RECORDED_DAY_SHARE = 0.75
OTHER_SUBSTANCE_SHARE = 0.03
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


def _taken_at(rng: random.Random, day: date, style: str, hours: tuple[int, int]) -> str:
    if style == "date":
        return day.isoformat()
    moment = datetime.combine(day, time(rng.randint(*hours), rng.randrange(0, 60, 5)))
    return moment.isoformat() + (OFFSET if style == "offset" else "")


def _amount(value: float) -> str:
    return f"{value:g}"


def _episode_days(episode: Episode) -> list[date]:
    days, day = [], episode.first
    while day <= episode.last:
        if episode.pause is None or not episode.pause[0] <= day <= episode.pause[1]:
            days.append(day)
        day += timedelta(days=1)
    return days


def kratom_rows(rng: random.Random, patient: Patient) -> list[DoseRow]:
    habit = patient.kratom_habit
    assert habit is not None
    style = rng.choices(["date", "local", "offset"], [0.6, 0.3, 0.1])[0]
    rows = []
    for episode in patient.kratom:
        for day in _episode_days(episode):
            # the first and last doses are always recorded, so exposure episodes are exactly as planned
            if day not in (episode.first, episode.last) and rng.random() >= RECORDED_DAY_SHARE:
                continue
            doses = min(3, max(1, habit.doses_per_day + rng.choice((-1, 0, 0, 0, 1))))
            for _ in range(doses):
                step = 500.0 if habit.unit == "mg" else 0.5
                amount = max(step, round(habit.dose * rng.uniform(0.8, 1.2) / step) * step)
                source = "observed" if rng.random() < 0.05 else "self_report"
                rows.append(
                    DoseRow(
                        patient.mrn,
                        rng.choice(KRATOM_SPELLINGS),
                        habit.product if rng.random() < 0.9 else "",
                        _amount(amount),
                        habit.unit,
                        _taken_at(rng, day, style, (7, 22)),
                        source,
                        day,
                    )
                )
    return rows


def moud_rows(rng: random.Random, patient: Patient, window: Window) -> list[DoseRow]:
    course = patient.moud
    assert course is not None
    rows = []
    day = max(course.start, window.start)
    spelled = rng.choice((course.substance, course.substance.capitalize(), course.substance.upper()))
    while day <= window.end:
        if rng.random() < 0.95:
            if course.substance == "methadone":
                observed = day.weekday() < 5
                taken = _taken_at(rng, day, "local", (7, 10)) if observed else day.isoformat()
                source, product = ("observed" if observed else "dispensed"), "oral solution"
            else:
                taken, source, product = (
                    _taken_at(rng, day, "offset", (8, 20)),
                    "dispensed",
                    "sublingual film",
                )
            rows.append(
                DoseRow(patient.mrn, spelled, product, _amount(course.dose_mg), "mg", taken, source, day)
            )
        day += timedelta(days=1)
    return rows


def other_substance_rows(rng: random.Random, patient: Patient, window: Window) -> list[DoseRow]:
    first = window.day(rng.randint(0, max(0, window.days - 10)))
    rows = []
    for offset in sorted(rng.sample(range(10), rng.randint(3, 6))):
        day = first + timedelta(days=offset)
        amount = _amount(rng.choice((2, 3, 4)))
        rows.append(
            DoseRow(patient.mrn, "kava", "kava tea", amount, "g", day.isoformat(), "self_report", day)
        )
        rows[-1].kind = "other_substance"
    return rows


def patient_rows(rng: random.Random, patients: list[Patient], window: Window) -> list[DoseRow]:
    kava_users = {p.index for p in patients if rng.random() < OTHER_SUBSTANCE_SHARE}
    kava_users = kava_users or {rng.choice(patients).index}  # at least one, even in a tiny feed
    rows = []
    for patient in patients:
        if patient.kratom:
            rows += kratom_rows(rng, patient)
        if patient.moud is not None:
            rows += moud_rows(rng, patient, window)
        if patient.index in kava_users:
            rows += other_substance_rows(rng, patient, window)
    return rows
