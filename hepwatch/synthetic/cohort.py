"""The feed's patients, drawn one by one from streams of their own, and indexed by the days they are tested.

Quotas that must hold for the whole population (groups, planted injuries, kava users, unique MRNs) come
from rankings (`ranks`), never from lists of all patients; each patient is then drawn from its own random
stream, injured or given a mild rise, and scheduled (population -> injuries -> schedule). What the day loop
needs is kept: the patients, the patients tested on each day of the window, and counts for the manifest.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from hepwatch.synthetic.identities import MRN_COUNT
from hepwatch.synthetic.injuries import add_mild_rise, injury_count, latency, plant_injury
from hepwatch.synthetic.lab_orders import FOLLOW_UP_ROOM_DAYS
from hepwatch.synthetic.population import Patient, Window, draw_patient, group_counts
from hepwatch.synthetic.ranks import Quota, Ranking
from hepwatch.synthetic.schedule import assign_tests

OTHER_SUBSTANCE_SHARE = 0.03  # patients who also report kava (at least one, even in a tiny feed)
PROGRESS_SECONDS = 3.0


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items()))


@dataclass(slots=True)
class Cohort:
    window: Window
    patients: list[Patient]
    tested: list[list[int]]  # day of the window -> indices of the patients tested that day, ascending
    injured: list[Patient]
    counts: dict  # the manifest's `patients`
    orders: int  # tests in the window: one lab order each
    eligible_orders: int  # of them, those that may get a lifecycle or defect (see lab_orders.assign_kind)


class _Draw:
    """Which group, MRN and kava use patient i gets, and whether (and how) it is injured."""

    def __init__(self, stream: Callable[[str], random.Random], patients: int) -> None:
        counts = group_counts(patients)
        self.kratom_only, self.kratom_users = counts["kratom_only"], patients - counts["moud_only"]
        self.groups = Ranking(patients, stream("groups"))
        self.quota = Quota(counts, rest="moud_only")
        self.mrns = Ranking(MRN_COUNT, stream("mrns"))
        self.kava = Ranking(patients, stream("kava"))
        self.kava_users = max(1, round(OTHER_SUBSTANCE_SHARE * patients))
        self.injuries = injury_count(self.kratom_users)
        self.strata = Ranking(self.injuries, stream("latency"))

    def design(self, rank: int) -> int | None:
        """Injury designs alternate between kratom-only users and kratom users on MOUD (ranks first)."""
        if rank < self.kratom_only:
            design = 2 * rank
        elif rank < self.kratom_users:
            design = 2 * (rank - self.kratom_only) + 1
        else:
            return None
        return design if design < self.injuries else None


def draw_cohort(
    seed: int, patients: int, window: Window, say: Callable[[str], None] = lambda _: None
) -> Cohort:
    def stream(name: str) -> random.Random:
        return random.Random(f"hepwatch-synthetic:{seed}:{name}")

    draw = _Draw(stream, patients)
    people: list[Patient] = []
    tested: list[list[int]] = [[] for _ in range(window.days)]
    injured: list[Patient] = []
    counts: Counter[str] = Counter()
    eligible = orders = 0
    last_eligible = window.end.toordinal() - FOLLOW_UP_ROOM_DAYS
    started = shown = time.perf_counter()
    for index in range(patients):
        rng = random.Random(f"hepwatch-synthetic:{seed}:patient:{index}")
        rank = draw.groups.rank(index)
        kava = draw.kava.rank(index) < draw.kava_users
        patient = draw_patient(rng, index, draw.mrns.rank(index), draw.quota.name(rank), window, kava)
        design = draw.design(rank)
        if design is not None:
            stratum = draw.strata.rank(design)
            plant_injury(rng, patient, design, latency(stratum, draw.injuries, rng), window)
            injured.append(patient)
        add_mild_rise(rng, patient)
        assign_tests(rng, patient, window)
        for day in patient.tests:
            tested[window.offset(day)].append(index)
        orders += len(patient.tests)
        if patient.injury is None:
            eligible += sum(1 for day in patient.tests if day.toordinal() <= last_eligible)
        counts.update(
            (f"group:{patient.group}", f"sex:{patient.sex}", f"lab:{patient.home_lab}"),
        )
        counts["kratom_users"] += bool(patient.kratom)
        counts["kratom_and_moud_from_start"] += patient.both_from_start
        counts["with_second_kratom_episode"] += len(patient.kratom) > 1
        counts["with_mild_rise"] += patient.mild_rise is not None
        counts["never_tested"] += not patient.tests
        patient.tests = []  # indexed in `tested`; the day loop needs no more
        people.append(patient)
        if time.perf_counter() - shown >= PROGRESS_SECONDS:
            shown = time.perf_counter()
            say(f"  patients: {index + 1:,} of {patients:,} drawn, {shown - started:.0f} s")

    def part(prefix: str) -> dict[str, int]:
        return _sorted(Counter({k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith(prefix)}))

    summary = {
        "total": patients,
        "by_group": part("group:"),
        "kratom_users": counts["kratom_users"],
        "kratom_and_moud_from_start": counts["kratom_and_moud_from_start"],
        "with_second_kratom_episode": counts["with_second_kratom_episode"],
        "by_sex": part("sex:"),
        "by_home_lab": part("lab:"),
        "with_mild_rise": counts["with_mild_rise"],
        "never_tested": counts["never_tested"],
    }
    return Cohort(window, people, tested, injured, summary, orders, eligible)
