"""Planted kratom liver injuries and mild enzyme rises unrelated to kratom (domain.md sections 4, 5, 6, 8).

An injury starts `latency` days after the patient's first kratom dose (median about 21 days, 14 to 35),
rises over one to two weeks to a peak, and falls after kratom stops (dechallenge): fast for ALT in
hepatocellular injury, slowly for ALP and bilirubin in cholestatic and mixed injury. Peaks are set in
multiples of the ULN of the lab that tests the patient, so the pattern (R) and potential Hy's law hold for
that lab's ranges. One design reproduces the DILIN kratom series medians (ALT 326, AST 154, ALP 292 U/L,
total bilirubin 9.5 mg/dL).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from statistics import NormalDist

from hepwatch.synthetic.lab_profiles import LABS, uln
from hepwatch.synthetic.population import Episode, Patient, Window

# (pattern, variant), planted in this order so that five injuries cover every pattern and a Hy's law case.
DESIGNS = (
    ("hepatocellular", "hys_law"),
    ("mixed", "dilin"),
    ("cholestatic", "jaundice"),
    ("hepatocellular", "above_reportable"),
    ("mixed", "plain"),
    ("cholestatic", "plain"),
    ("hepatocellular", "plain"),
)
INJURY_SHARE = 0.025  # of kratom users; at least MIN_INJURIES when there are enough users
MIN_INJURIES = 5
MILD_RISE_SHARE = 0.08
# Days from the first dose to onset: LiverTox says 1 to 8 weeks, DILIN a median of about 3 weeks. Onset by
# 5 weeks, so the first grade 2 result (a week or two after onset) is inside the 8 weeks too.
MIN_LATENCY, MAX_LATENCY = 14, 35
INJURY_FOLLOW_UP_DAYS = 90  # the injured are followed (and tested) for this long after the peak
# When, as a share of the rise from onset to peak, each analyte starts rising and reaches its peak.
RISE_TIMING = {
    "ALP": (0.0, 0.6),
    "GGT": (0.0, 0.6),
    "TBIL": (0.3, 1.0),
    "DBIL": (0.3, 1.0),
    "INR": (0.5, 1.0),
}
HALF_LIFE_DAYS: dict[str, dict[str, float]] = {  # by pattern, for the return towards baseline
    "hepatocellular": {"ALT": 5, "AST": 3.5, "ALP": 10, "GGT": 14, "TBIL": 7, "DBIL": 7, "INR": 4, "ALB": 20},
    "mixed": {"ALT": 8, "AST": 6, "ALP": 30, "GGT": 30, "TBIL": 15, "DBIL": 15, "INR": 6, "ALB": 25},
    "cholestatic": {"ALT": 10, "AST": 8, "ALP": 45, "GGT": 45, "TBIL": 25, "DBIL": 25, "INR": 8, "ALB": 30},
}


@dataclass(slots=True)
class Injury:
    pattern: str
    variant: str
    kratom_start: date
    onset: date
    peak_date: date
    last_dose: date
    peaks: dict[str, float]  # canonical units

    @property
    def latency_days(self) -> int:
        return (self.onset - self.kratom_start).days

    def value(self, analyte: str, base: float, day: date) -> float:
        """Log-linear rise from onset to peak, then exponential return towards the baseline.

        ALP (and GGT) reach their peak early and bilirubin rises late, as in cholestatic and mixed injury, so
        an ALP >= 2 x ULN precedes jaundice there and those cases do not read as potential Hy's law.
        """
        peak = self.peaks.get(analyte)
        if peak is None or day <= self.onset:
            return base
        if day <= self.peak_date:
            share = (day - self.onset).days / max(1, (self.peak_date - self.onset).days)
            start, end = RISE_TIMING.get(analyte, (0.0, 1.0))
            share = min(1.0, max(0.0, (share - start) / (end - start)))
            return base * (peak / base) ** share
        half_life = HALF_LIFE_DAYS[self.pattern][analyte]
        return base + (peak - base) * 0.5 ** ((day - self.peak_date).days / half_life)


@dataclass(frozen=True, slots=True)
class MildRise:
    """A transient grade-1 ALT/AST rise (fatty liver, alcohol, exercise...) that has nothing to do with kratom."""

    start: date
    peak_date: date
    end: date
    alt_factor: float

    def factor(self, analyte: str, day: date) -> float:
        if analyte not in ("ALT", "AST", "GGT") or not self.start < day < self.end:
            return 1.0
        if day <= self.peak_date:
            share = (day - self.start).days / max(1, (self.peak_date - self.start).days)
        else:
            share = (self.end - day).days / max(1, (self.end - self.peak_date).days)
        strength = {"ALT": 1.0, "AST": 0.6, "GGT": 0.5}[analyte]
        return 1 + (self.alt_factor - 1) * strength * share


def _peaks(rng: random.Random, variant: str, pattern: str, patient: Patient) -> dict[str, float]:
    """Peak values (canonical) from multiples of the home lab's ULN; R = ALT x ULN / ALP x ULN."""
    lab = LABS[patient.home_lab]
    u = {a: uln(lab, a) for a in ("ALT", "AST", "ALP", "GGT", "TBIL")}
    base = patient.baseline
    if variant == "dilin":
        alp = max(292.0, 2.5 * u["ALP"])
        ratio = min(4.4, max(3.0, (326 / u["ALT"]) / (alp / u["ALP"])))
        alt = ratio * alp / u["ALP"] * u["ALT"]
        peaks = {"ALT": alt, "AST": 154 * alt / 326, "ALP": alp, "TBIL": 9.5, "INR": 1.3, "ALB": 3.3}
    elif variant == "above_reportable":
        peaks = {"ALT": rng.uniform(1100, 1400), "ALP": rng.uniform(1.0, 1.3) * u["ALP"]}
        peaks["TBIL"] = rng.uniform(1.0, 1.5) * u["TBIL"]
    elif pattern == "hepatocellular":
        peaks = {"ALT": rng.uniform(8, 14) * u["ALT"], "ALP": rng.uniform(1.0, 1.3) * u["ALP"]}
        peaks["TBIL"] = rng.uniform(6.0, 8.5) if variant == "hys_law" else rng.uniform(0.8, 1.5) * u["TBIL"]
    elif pattern == "mixed":
        alp_x = rng.uniform(2.2, 2.8)
        peaks = {"ALP": alp_x * u["ALP"], "ALT": alp_x * rng.uniform(3.2, 4.2) * u["ALT"]}
        peaks["TBIL"] = rng.uniform(1.0, 3.0) * u["TBIL"]
    else:
        peaks = {"ALP": rng.uniform(3.0, 5.0) * u["ALP"], "ALT": rng.uniform(1.2, 2.0) * u["ALT"]}
        tbil_x = (3.0, 6.0) if variant == "jaundice" else (1.0, 2.5)
        peaks["TBIL"] = rng.uniform(*tbil_x) * u["TBIL"]
    ast_share = {"hepatocellular": rng.uniform(0.5, 0.7), "mixed": 0.47, "cholestatic": rng.uniform(0.8, 1.0)}
    peaks.setdefault("AST", peaks["ALT"] * ast_share[pattern])
    ggt_x = {"hepatocellular": (2, 3), "mixed": (4, 8), "cholestatic": (6, 12)}[pattern]
    peaks["GGT"] = rng.uniform(*ggt_x) * u["GGT"]
    if peaks["TBIL"] > 1.5:
        peaks["DBIL"] = 0.7 * peaks["TBIL"]
        peaks.setdefault("INR", 1.6 if variant == "hys_law" else 1.15)
        peaks.setdefault("ALB", 3.0 if variant == "hys_law" else 3.8)
    return {a: max(v, base[a]) if a != "ALB" else min(v, base[a]) for a, v in peaks.items()}


def injury_count(kratom_users: int) -> int:
    return min(kratom_users, max(MIN_INJURIES, round(INJURY_SHARE * kratom_users)))


def latency(stratum: int, count: int, rng: random.Random) -> int:
    """Log-normal around a median of 21 days, kept within MIN_LATENCY to MAX_LATENCY days.

    Stratified: injury number k draws from its own one of `count` equal-probability slices (`stratum`, a
    ranking of k), so even five injuries spread around the median instead of clustering by chance.
    """
    draw = 21 * math.exp(0.35 * NormalDist().inv_cdf((stratum + rng.random()) / count))
    return min(MAX_LATENCY, max(MIN_LATENCY, round(draw)))


def plant_injury(rng: random.Random, patient: Patient, design: int, latency: int, window: Window) -> None:
    """Injure a kratom user: rewrite the kratom history and care period around an injury of DESIGNS[design].

    The first dose falls inside the window when the window is long enough (in a window of under 63 days by
    shortening the latency, never below MIN_LATENCY), so the whole course (exposure, onset, peak, dechallenge)
    is in the feed; the patient is followed for INJURY_FOLLOW_UP_DAYS after the peak.
    """
    pattern, variant = DESIGNS[design % len(DESIGNS)]
    if variant == "above_reportable":
        patient.home_lab = "NORTHLAB"  # a lab that caps enzymes at 1000 and sends `>^1000`
    rise = rng.randint(7, 14)
    latest_onset = max(5, window.days - rise - 14)
    if latency > latest_onset >= MIN_LATENCY:  # a short window: a shorter (still plausible) latency fits
        latency = latest_onset
    earliest = latency if latency <= latest_onset else min(latest_onset, max(5, latency - 30))
    onset = window.day(rng.randint(earliest, latest_onset))
    start = onset - timedelta(days=latency)
    peak_date = onset + timedelta(days=rise)
    last_dose = max(onset + timedelta(days=3), peak_date - timedelta(days=rng.randint(0, 4)))
    patient.kratom = [Episode(start, last_dose)]
    patient.mild_rise = None
    care_start = start  # MOUD, when the patient has it, began with kratom or some weeks before
    if patient.moud is not None and not patient.both_from_start:
        care_start -= timedelta(days=rng.randint(14, 60))
    patient.care = Window(care_start, (peak_date - care_start).days + INJURY_FOLLOW_UP_DAYS)
    if patient.moud is not None:
        patient.moud = replace(patient.moud, start=care_start)
    patient.injury = Injury(
        pattern, variant, start, onset, peak_date, last_dose, _peaks(rng, variant, pattern, patient)
    )


def add_mild_rise(rng: random.Random, patient: Patient) -> None:
    """Sometimes (MILD_RISE_SHARE), a grade-1 rise somewhere in the patient's care period."""
    care = patient.care
    assert care is not None
    if patient.injury is not None or rng.random() >= MILD_RISE_SHARE:
        return
    start = care.day(rng.randint(0, max(0, care.days - 15)))
    peak = start + timedelta(days=rng.randint(4, 10))
    target = rng.uniform(1.3, 2.6) * uln(LABS[patient.home_lab], "ALT")
    factor = max(1.3, target / patient.baseline["ALT"])
    patient.mild_rise = MildRise(start, peak, peak + timedelta(days=rng.randint(6, 15)), factor)
