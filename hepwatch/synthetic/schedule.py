"""When each synthetic patient has blood drawn for a liver panel (domain.md section 6, monitoring policy).

Kratom users are mostly tested at baseline (90 days before to 7 days after the first dose of an episode),
about every 14 days while the episode is under 8 weeks old, then every 1 to 3 months. Some skip tests or
drop out, which creates the monitoring gaps the marts must find. MOUD-only patients are tested every 1 to
3 months. Injured patients are tested often during their injury; mild rises get a test near their peak.
All of that happens in the patient's care period; besides, every patient has a routine liver panel every
ROUTINE_DAYS (primary care, other clinics of the network), in or out of care, all through the window; a
patient with an enzyme clearly above the ULN is re-tested every 3 to 4 weeks, as an abnormal result is, so a
lasting elevation is one case that goes on (marts' `new_case`), not a new case at every panel. Only dates
inside the feed's window are kept.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from hepwatch.synthetic.draws import between
from hepwatch.synthetic.lab_profiles import LABS, uln
from hepwatch.synthetic.population import Episode, Patient, Window

BASELINE_SHARE = 0.8
SKIP_SHARE = 0.15
DROPOUT_SHARE = 0.08
ROUTINE_DAYS = (45, 90)  # every 6 weeks to 3 months
RAISED_ROUTINE_DAYS = (21, 28)  # raised enzymes: repeated every 3 to 4 weeks
RAISED_SHARE = 1.2  # "raised": above this multiple of the home lab's ULN at baseline


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _episode_tests(rng: random.Random, episode: Episode, until: date, always_baseline: bool) -> list[date]:
    tests = []
    if always_baseline or rng.random() < BASELINE_SHARE:
        current = episode.first + _days(rng.randint(-21, 7))
        tests.append(current)
    else:
        current = episode.first + _days(rng.randint(12, 24))  # first test comes late: no baseline
    dropout_after = rng.randint(1, 4) if rng.random() < DROPOUT_SHARE else None
    while current <= until:
        age = (current - episode.first).days
        current += _days(14 + rng.randint(-3, 3) if age < 56 else rng.randint(30, 90))
        if dropout_after is not None and len(tests) >= dropout_after:
            break
        if rng.random() >= SKIP_SHARE:
            tests.append(current)
    return tests


def _moud_tests(rng: random.Random, care: Window, until: date) -> list[date]:
    current = care.day(rng.randint(0, min(45, care.days - 1)))
    tests = []
    while current <= until:
        tests.append(current)
        current += _days(rng.randint(30, 90))
    return tests


def _injury_tests(rng: random.Random, patient: Patient, until: date) -> list[date]:
    injury = patient.injury
    assert injury is not None
    current = injury.onset + _days(rng.randint(4, 8))
    tests = [injury.peak_date] if injury.peak_date <= until else []  # the peak is always caught
    while current <= until:
        tests.append(current)
        current += _days(
            rng.randint(3, 6) if current <= injury.peak_date + _days(28) else rng.randint(10, 14)
        )
    return tests


def _raised(patient: Patient) -> bool:
    """An enzyme clearly above the home lab's ULN at baseline: known to the clinic, re-tested more often."""
    lab = LABS[patient.home_lab]
    return any(patient.baseline[a] > RAISED_SHARE * uln(lab, a) for a in ("ALT", "AST", "ALP", "GGT"))


def _routine_tests(rng: random.Random, patient: Patient, window: Window) -> list[date]:
    # begun well before the window, so that its first weeks are as busy as the rest (counted in ordinals:
    # every patient has one, so this is the cohort's busiest loop)
    low, high = RAISED_ROUTINE_DAYS if _raised(patient) else ROUTINE_DAYS
    current = window.start.toordinal() - between(rng, 2 * high, 3 * high)
    first, last = window.start.toordinal(), window.end.toordinal()
    tests = []
    while current <= last:
        if current >= first:
            tests.append(date.fromordinal(current))
        current += between(rng, low, high)
    return tests


def assign_tests(rng: random.Random, patient: Patient, window: Window) -> None:
    """Fill `patient.tests` with sorted, distinct collection dates inside the window."""
    care = patient.care
    assert care is not None
    until = min(care.end, window.end)
    tests: list[date] = []
    if patient.kratom:
        for episode in patient.kratom:
            tests += _episode_tests(rng, episode, until, always_baseline=patient.injury is not None)
    else:
        tests += _moud_tests(rng, care, until)
    if patient.injury is not None:
        tests = [t for t in tests if t < patient.injury.onset] + _injury_tests(rng, patient, until)
    if patient.mild_rise is not None:
        tests.append(patient.mild_rise.peak_date + _days(rng.randint(-2, 2)))
    tests += _routine_tests(rng, patient, window)
    patient.tests = sorted({t for t in tests if window.start <= t <= window.end})
