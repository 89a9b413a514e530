"""Lab orders: one per patient and test date, with the values the lab measured and what happens to it.

Each order goes to the patient's home lab (sometimes another one) and carries a liver panel (ALT, AST, ALP,
GGT, TBIL; sometimes DBIL, ALB, INR) and often a basic metabolic panel the reader must ignore. A small,
counted share of orders gets a lifecycle (preliminary then final, correction, retraction, resend, late
arrival) or a defect (contract section 3); orders of injured patients stay plain so their ground truth is
exactly what was sent. Orders are made a day at a time and numbered in collection order over the feed;
the kinds are a quota over the eligible orders (a ranking of their numbers), so each is there in its share.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from hepwatch.synthetic.course import true_values
from hepwatch.synthetic.draws import between, one_of
from hepwatch.synthetic.lab_profiles import LABS, OTHER_ANALYTES, LabProfile
from hepwatch.synthetic.population import Patient
from hepwatch.synthetic.ranks import Quota, Ranking

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
CORE_PANEL = ("ALT", "AST", "ALP", "GGT", "TBIL")  # in every liver panel; DBIL, ALB and INR sometimes
OTHER_LABS = {name: sorted(set(LABS) - {name}) for name in LABS}


@dataclass(slots=True)
class Order:
    number: int
    patient: Patient
    lab: LabProfile
    collected: datetime
    values: dict[str, float] = field(default_factory=dict)  # canonical, measured
    liver: tuple[str, ...] = ()
    other_panel: bool = False
    placer: str = ""
    filler: str = ""
    kind: str = "normal"


def _panel(rng: random.Random, values: dict[str, float], injured: bool) -> tuple[str, ...]:
    analytes = list(CORE_PANEL)
    if rng.random() < 0.3 or values["TBIL"] > 1.2:
        analytes.append("DBIL")
    if rng.random() < 0.2 or (injured and values["TBIL"] > 1.5):
        analytes += ["ALB", "INR"]
    return tuple(analytes)


def day_orders(rng: random.Random, day: date, patients: Sequence[Patient]) -> list[Order]:
    """The orders collected on `day` (one per patient tested), in collection order: who, which lab, when.

    Their numbers and kinds come from `OrderBook`, what was measured from `measure`: every lab's writer makes
    this cheap plan of the whole day, and measures only its own lab's orders.
    """
    orders = []
    for patient in patients:
        lab_name = patient.home_lab
        if patient.injury is None and rng.random() < OTHER_LAB_SHARE:
            lab_name = one_of(rng, OTHER_LABS[lab_name])
        collected = datetime.combine(day, time(between(rng, 7, 15), 5 * between(rng, 0, 11)))
        orders.append(Order(0, patient, LABS[lab_name], collected))
    orders.sort(key=lambda o: (o.collected, o.patient.index))
    return orders


def measure(rng: random.Random, order: Order) -> None:
    """What the lab measured: the panel, whether a metabolic panel rode along, and the patient's values."""
    patient, day = order.patient, order.collected.date()
    order.values = values = true_values(patient, day, rng, CORE_PANEL)
    order.liver = _panel(rng, values, patient.injury is not None)
    values.update(true_values(patient, day, rng, order.liver[len(CORE_PANEL) :]))
    order.other_panel = rng.random() < 0.4
    if order.other_panel:
        values.update(true_values(patient, day, rng, OTHER_ANALYTES))


class OrderBook:
    """Numbers orders across the feed (placer, per-lab filler) and gives the eligible ones their kinds.

    Eligible: a patient without a planted injury, collected at least FOLLOW_UP_ROOM_DAYS before the window's
    end (so a later version still falls inside it). Each kind goes to max(its minimum, share x all orders)
    of them, chosen by a ranking of their numbers.
    """

    def __init__(self, rng: random.Random, orders: int, eligible: int, last_eligible: date) -> None:
        counts = {
            kind: max(MIN_ORDERS_PER_KIND.get(kind, 2), round(share * orders))
            for kind, share in ORDER_KIND_SHARES.items()
        }
        self.kinds = Quota(counts, rest="normal")
        self.ranking = Ranking(eligible, rng)
        self.last_eligible = last_eligible
        self.numbers: Counter[str] = Counter()
        self.serials: Counter[str] = Counter()  # orders of each kind so far

    def enter(self, order: Order, labelled: bool = True) -> int:
        """Number the order (with its placer and filler numbers when `labelled`) and set its kind; return its
        serial among orders of that kind."""
        numbers = self.numbers
        numbers["orders"] += 1
        numbers[order.lab.name] += 1
        order.number = numbers["orders"]
        if labelled:
            order.placer = f"HW{order.number:07d}"
            order.filler = f"{order.lab.filler_prefix}{numbers[order.lab.name]:07d}"
        if order.patient.injury is None and order.collected.date() <= self.last_eligible:
            order.kind = self.kinds.name(self.ranking.rank(self.numbers["eligible"]))
            self.numbers["eligible"] += 1
        self.serials[order.kind] += 1
        return self.serials[order.kind] - 1
