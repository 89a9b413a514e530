"""Synthetic clinic population: sex, individual liver-test baselines, treatment group, care and exposure.

Baselines follow NHANES 2017-2018 (domain.md section 8): per sex and analyte, log-normal with the published
median and sigma = ln(p95 / median) / 1.645. Groups: kratom only, MOUD (methadone or buprenorphine) only,
and kratom with MOUD (some starting both at once, some adding kratom to an existing MOUD course).

Each patient is followed by the clinic for a care period of 4 to 16 weeks, placed anywhere that overlaps
the feed's window (so a feed of any length is as busy on its first day as on its last, and its volume grows
linearly with patients and days); kratom use, MOUD and the monitoring schedule happen in that period, and
only what falls inside the window is written. Every patient is drawn from a random stream of its own, so a
patient is the same whichever others are drawn, and in whatever batches.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from hepwatch.synthetic.identities import Identity, draw_identity
from hepwatch.synthetic.lab_profiles import HOME_LAB_WEIGHTS

if TYPE_CHECKING:
    from hepwatch.synthetic.injuries import Injury, MildRise

# (median, p95) by sex, NHANES 2017-2018 adults 20+, survey-weighted (domain.md section 8).
NHANES = {
    "M": {"ALT": (22, 61), "AST": (21, 46), "ALP": (73, 118), "GGT": (25, 102), "TBIL": (0.5, 1.2)},
    "F": {"ALT": (15, 41), "AST": (18, 34), "ALP": (75, 124), "GGT": (16, 58), "TBIL": (0.3, 0.8)},
}
GROUP_SHARES = {"kratom_only": 0.37, "kratom_and_moud": 0.33, "moud_only": 0.30}  # kratom users first
MALE_SHARE = 0.62  # people treated for opioid use disorder are more often men
CARE_DAYS = (14, 56)  # how long the clinic follows a patient: 2 to 8 weeks
KRATOM_STYLES = (("date", "local", "offset"), (0.6, 0.3, 0.1))  # how a patient's kratom doses are timed


@dataclass(frozen=True, slots=True)
class Window:
    """The feed's main period: `days` days from `start`; kratom histories (and baseline tests) begin earlier."""

    start: date
    days: int

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    def day(self, offset: int) -> date:
        return self.start + timedelta(days=offset)

    def offset(self, day: date) -> int:
        return (day - self.start).days


@dataclass(slots=True)
class Episode:
    """Kratom use from `first` to `last` dose; `pause` is a break of under 30 days inside the episode."""

    first: date
    last: date
    pause: tuple[date, date] | None = None


@dataclass(frozen=True, slots=True)
class KratomHabit:
    product: str
    unit: str  # g, or mg for capsules
    dose: float  # per dose, in `unit`
    doses_per_day: int


@dataclass(frozen=True, slots=True)
class MoudCourse:
    substance: str  # methadone | buprenorphine
    dose_mg: float
    start: date

    @property
    def amount(self) -> str:
        return f"{self.dose_mg:g}"


@dataclass(slots=True)
class Patient:
    index: int
    identity: Identity
    sex: str
    group: str
    home_lab: str
    baseline: dict[str, float]  # canonical units
    kratom: list[Episode] = field(default_factory=list)
    kratom_habit: KratomHabit | None = None
    moud: MoudCourse | None = None
    both_from_start: bool = False
    injury: Injury | None = None
    mild_rise: MildRise | None = None
    tests: list[date] = field(default_factory=list)
    care: Window | None = None  # the period the clinic follows the patient (may overlap the window's edges)
    kratom_style: str = "date"  # kratom doses written as a date, a local time, or a time with an offset
    moud_spelling: str = ""  # how the clinic writes this patient's MOUD substance
    kava: list[tuple[date, int]] = field(default_factory=list)  # days and grams of kava (kept as other)

    @property
    def mrn(self) -> str:
        return self.identity.mrn


def draw_baseline(rng: random.Random, sex: str) -> dict[str, float]:
    """Individual baselines; ALT and AST share part of their variation, as they do in people."""
    shared = rng.gauss(0, 1)
    z = {
        "ALT": shared,
        "AST": 0.7 * shared + 0.71 * rng.gauss(0, 1),
        "ALP": rng.gauss(0, 1),
        "GGT": 0.4 * shared + 0.92 * rng.gauss(0, 1),
        "TBIL": rng.gauss(0, 1),
    }
    baseline = {}
    for analyte, (median, p95) in NHANES[sex].items():
        sigma = math.log(p95 / median) / 1.645
        baseline[analyte] = median * math.exp(sigma * z[analyte])
    baseline["DBIL"] = baseline["TBIL"] * rng.uniform(0.2, 0.35)
    baseline["ALB"] = rng.gauss(4.3, 0.25)
    baseline["INR"] = rng.gauss(1.0, 0.05)
    baseline["NA"] = rng.gauss(140, 2)
    baseline["CREA"] = (1.0 if sex == "M" else 0.8) * math.exp(rng.gauss(0, 0.15))
    baseline["GLU"] = 95 * math.exp(rng.gauss(0, 0.12))
    return baseline


def group_counts(count: int) -> dict[str, int]:
    """Groups by quota, so even small populations have all three (kratom users first, in rank order)."""
    counts = {group: max(1, round(share * count)) for group, share in GROUP_SHARES.items()}
    for group in reversed(GROUP_SHARES):  # too many (tiny populations): trim the last groups first
        counts[group] -= min(counts[group], max(0, sum(counts.values()) - count))
    counts["kratom_only"] += count - sum(counts.values())
    return counts


def _kratom_habit(rng: random.Random) -> KratomHabit:
    product = rng.choices(["leaf powder", "capsules", "extract", "tea"], [0.55, 0.25, 0.1, 0.1])[0]
    doses = rng.choices([1, 2, 3], [0.5, 0.4, 0.1])[0]
    if product == "capsules":
        return KratomHabit(product, "mg", 500.0 * rng.randint(2, 8), doses)
    if product == "extract":
        return KratomHabit(product, "g", round(rng.uniform(0.5, 1.5), 1), doses)
    return KratomHabit(product, "g", round(rng.uniform(1.0, 5.0) * 2) / 2, doses)


def kratom_episodes(rng: random.Random, first: date, window: Window) -> list[Episode]:
    """One or two episodes from `first`: some stop, some restart after more than 30 days, some pause."""
    end = window.end
    if rng.random() < 0.65:
        episode = Episode(first, end)
    else:
        episode = Episode(first, min(end, first + timedelta(days=rng.randint(14, 45))))
    if episode.last - episode.first > timedelta(days=25) and rng.random() < 0.2:
        pause_start = episode.first + timedelta(days=rng.randint(8, (episode.last - episode.first).days - 14))
        episode.pause = (pause_start, pause_start + timedelta(days=rng.randint(4, 12)))
    episodes = [episode]
    restart = episode.last + timedelta(days=rng.randint(31, 45))
    if episode.last < end and restart <= end - timedelta(days=5) and rng.random() < 0.6:
        episodes.append(Episode(restart, min(end, restart + timedelta(days=rng.randint(15, 60)))))
    return episodes


def _kratom_start(rng: random.Random, window: Window) -> date:
    """Some before the window (baseline may or may not exist), most in its first half, a few later."""
    roll = rng.random()
    if roll < 0.15:
        return window.day(rng.randint(-30, -1))
    if roll < 0.85:
        return window.day(rng.randint(0, max(0, window.days // 2)))
    return window.day(rng.randint(window.days // 2, max(window.days // 2, window.days - 10)))


def _moud_course(rng: random.Random, start: date) -> MoudCourse:
    if rng.random() < 0.6:
        return MoudCourse("methadone", float(rng.randrange(30, 125, 5)), start)
    return MoudCourse("buprenorphine", float(rng.choice([8, 12, 16, 16, 24])), start)


def draw_care(rng: random.Random, window: Window) -> Window:
    """A care period overlapping the window, anywhere: some begin before it, some end after it."""
    days = rng.randint(*CARE_DAYS)
    return Window(window.day(rng.randint(1 - days, window.days - 1)), days)


def draw_patient(
    rng: random.Random, index: int, mrn: int, group: str, window: Window, kava_user: bool
) -> Patient:
    """One patient (without injury, mild rise or tests: see injuries and schedule), from its own stream."""
    sex = "M" if rng.random() < MALE_SHARE else "F"
    identity = draw_identity(rng, mrn, sex, window.start)
    home_lab = rng.choices(list(HOME_LAB_WEIGHTS), list(HOME_LAB_WEIGHTS.values()))[0]
    patient = Patient(index, identity, sex, group, home_lab, draw_baseline(rng, sex))
    care = patient.care = draw_care(rng, window)
    if group != "moud_only":
        patient.kratom = kratom_episodes(rng, _kratom_start(rng, care), care)
        patient.kratom_habit = _kratom_habit(rng)
        patient.kratom_style = rng.choices(*KRATOM_STYLES)[0]
    if group == "moud_only":
        patient.moud = _moud_course(rng, care.start)
    elif group == "kratom_and_moud":
        patient.both_from_start = rng.random() < 0.45
        moud_start = patient.kratom[0].first if patient.both_from_start else care.start
        patient.moud = _moud_course(rng, max(moud_start, care.start))
    if patient.moud is not None:
        name = patient.moud.substance
        patient.moud_spelling = rng.choice((name, name.capitalize(), name.upper()))
    if kava_user:
        first = care.day(rng.randint(0, max(0, care.days - 10)))
        offsets = sorted(rng.sample(range(10), rng.randint(3, 6)))
        patient.kava = [(first + timedelta(days=o), rng.choice((2, 3, 4))) for o in offsets]
    return patient
