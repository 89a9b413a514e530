"""A patient's true analyte values on a given day, in canonical units (domain.md section 1).

Baseline times day-to-day variation (about 10% for enzymes, domain.md section 8), shifted by a planted
injury or a mild rise when the patient has one.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import date

from hepwatch.synthetic.population import Patient

# Within-person, day-to-day coefficient of variation (log scale sigma), by analyte.
DAY_TO_DAY_SIGMA = {
    "ALT": 0.10,
    "AST": 0.10,
    "ALP": 0.07,
    "GGT": 0.10,
    "TBIL": 0.15,
    "DBIL": 0.15,
    "ALB": 0.04,
    "INR": 0.04,
    "NA": 0.01,
    "CREA": 0.06,
    "GLU": 0.12,
}
INJURY_SIGMA = 0.05  # once injured, the injury dominates the variation


def true_values(patient: Patient, day: date, rng: random.Random, analytes: Iterable[str]) -> dict[str, float]:
    """The `analytes` a lab measures on `day` (only those reported are drawn)."""
    values = {}
    injury, mild_rise, gauss = patient.injury, patient.mild_rise, rng.gauss
    for analyte in analytes:
        base = patient.baseline[analyte]
        sigma = DAY_TO_DAY_SIGMA[analyte]
        value = base
        if injury is not None:
            value = injury.value(analyte, base, day)
            if value != base:
                sigma = INJURY_SIGMA
        if mild_rise is not None:
            value *= mild_rise.factor(analyte, day)
        values[analyte] = value * math.exp(gauss(0, sigma))
    return values
