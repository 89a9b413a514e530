"""Lab orders: one per patient and test date, with the values the lab measured and what happens to it.

Each order goes to the patient's home lab (sometimes another one) and carries a liver panel (ALT, AST, ALP,
GGT, TBIL; sometimes DBIL, ALB, INR) and often a basic metabolic panel the reader must ignore. A small,
counted share of orders gets a lifecycle (preliminary then final, correction, retraction, resend, late
arrival) or a defect (contract section 3); orders of injured patients stay plain so their ground truth is
exactly what was sent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from hepwatch.synthetic.course import true_values
from hepwatch.synthetic.lab_profiles import LABS, LabProfile
from hepwatch.synthetic.population import Patient, Window

ORDER_KIND_SHARES = {
    "preliminary": 0.05,
    "correction": 0.03,
    "retraction": 0.02,
    "duplicate_resend": 0.025,
    "late": 0.03,
    "missing_patient_id": 0.005,
    "missing_collection_time": 0.005,
    "non_numeric_value": 0.01,
    "unknown_unit": 0.006,
    "unmapped_code": 0.006,
}
MIN_ORDERS_PER_KIND = {"retraction": 3}  # one of each of X, D and W; other kinds at least 2
FOLLOW_UP_ROOM_DAYS = 11  # a kind whose later message may come up to this many days after collection
OTHER_LAB_SHARE = 0.1


@dataclass(slots=True)
class Order:
    number: int
    patient: Patient
    lab: LabProfile
    collected: datetime
    values: dict[str, float]  # canonical, measured
    liver: tuple[str, ...]
    other_panel: bool
    placer: str = ""
    filler: str = ""
    kind: str = "normal"


def _panel(rng: random.Random, values: dict[str, float], injured: bool) -> tuple[str, ...]:
    analytes = ["ALT", "AST", "ALP", "GGT", "TBIL"]
    if rng.random() < 0.3 or values["TBIL"] > 1.2:
        analytes.append("DBIL")
    if rng.random() < 0.2 or (injured and values["TBIL"] > 1.5):
        analytes += ["ALB", "INR"]
    return tuple(analytes)


def make_orders(rng: random.Random, patients: list[Patient], window: Window) -> list[Order]:
    orders = []
    for patient in patients:
        for day in patient.tests:
            lab_name = patient.home_lab
            if patient.injury is None and rng.random() < OTHER_LAB_SHARE:
                lab_name = rng.choice(sorted(set(LABS) - {lab_name}))
            collected = datetime.combine(day, time(rng.randint(7, 15), rng.randrange(0, 60, 5)))
            values = true_values(patient, day, rng)
            liver = _panel(rng, values, patient.injury is not None)
            orders.append(Order(0, patient, LABS[lab_name], collected, values, liver, rng.random() < 0.4))
    orders.sort(key=lambda o: (o.collected, o.patient.index))
    filler_numbers = dict.fromkeys(LABS, 0)
    for number, order in enumerate(orders, start=1):
        filler_numbers[order.lab.name] += 1
        order.number = number
        order.placer = f"HW{number:07d}"
        order.filler = f"{order.lab.filler_prefix}{filler_numbers[order.lab.name]:07d}"
    return orders


def assign_kinds(rng: random.Random, orders: list[Order], window: Window) -> None:
    """Give each lifecycle or defect kind its share of eligible orders (at least a couple of each)."""
    last_collection = window.end - timedelta(days=FOLLOW_UP_ROOM_DAYS)
    eligible = [o for o in orders if o.patient.injury is None and o.collected.date() <= last_collection]
    for kind, share in ORDER_KIND_SHARES.items():
        free = [o for o in eligible if o.kind == "normal"]
        count = min(len(free), max(MIN_ORDERS_PER_KIND.get(kind, 2), round(share * len(orders))))
        for order in rng.sample(free, count):
            order.kind = kind
