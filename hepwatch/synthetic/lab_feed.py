"""The lab side of the day loop: what each lab sends on each day of the window, as ER7 text.

A day's orders (`lab_orders`) become messages (`lab_lifecycle`) that wait, by sending day, until their day
comes: a preliminary result's final version tomorrow, a late result days later. On its day, each lab's
messages get their MSH-10 (numbered per facility in sending order over the whole feed) and their ER7 text;
a message chosen for a resend is sent again, byte for byte, 1 to 4 days later. ADT^A08 and ACK messages
(`NON_RESULT_SHARE` of the orders, each) are drawn up front. The feed ends with the window: a result that
would be sent after its last day (collected that evening) is not in it, and counts nowhere.

The labs are independent: the plan of a day's orders (who, which lab, when, numbers, kinds) is cheap and
drawn whole by every `LabFeed`; everything else about a lab's orders comes from that day's and that lab's
own stream. So a `LabFeed` of some labs writes exactly what a `LabFeed` of all of them writes for those
labs, and labs can be written in separate processes.
"""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from hepwatch.synthetic.cohort import Cohort
from hepwatch.synthetic.draws import between
from hepwatch.synthetic.injury_truth import InjuryTruth
from hepwatch.synthetic.lab_lifecycle import order_messages
from hepwatch.synthetic.lab_messages import MessagePlan, build_er7
from hepwatch.synthetic.lab_orders import FOLLOW_UP_ROOM_DAYS, Order, OrderBook, day_orders, measure
from hepwatch.synthetic.lab_profiles import LABS
from hepwatch.synthetic.manifest import MessageTally

NON_RESULT_SHARE = 0.005  # ADT^A08 and ACK messages, each, per order
MIN_NON_RESULT = 2
GARBAGE_EVERY = 1200  # messages, on average, between two non-HL7 blocks (in LF and CR files)


@dataclass(slots=True)
class LabDay:
    """One lab's messages of one sending day, in file order; `garbage_after`: a non-HL7 block goes there."""

    lab: str
    day: date
    messages: list[MessagePlan]
    garbage_after: int | None = None


class LabFeed:
    def __init__(self, seed: int, cohort: Cohort, labs: Iterable[str] = LABS) -> None:
        self.seed, self.cohort, self.window, self.labs = seed, cohort, cohort.window, sorted(labs)
        last_eligible = self.window.end - timedelta(days=FOLLOW_UP_ROOM_DAYS)
        book_rng = self._stream("orders")
        self.book = OrderBook(book_rng, cohort.orders, cohort.eligible_orders, last_eligible)
        self.pending: dict[str, dict[date, list[MessagePlan]]] = {lab: defaultdict(list) for lab in self.labs}
        self.resent: set[int] = set()  # id() of the plans to send again
        self.sequence = 0  # creation order: ties in sending time are numbered in it
        self.control_ids: dict[str, int] = dict.fromkeys(self.labs, 0)
        self.tally = MessageTally()
        self.truth = InjuryTruth()
        self.garbage_planted: set[str] = set()
        for plan in self._non_results():
            if plan.lab.name in self.pending:
                self._send(plan)

    def _stream(self, name: str) -> random.Random:
        return random.Random(f"hepwatch-synthetic:{self.seed}:{name}")

    def _send(self, plan: MessagePlan) -> None:
        plan.sequence, self.sequence = self.sequence, self.sequence + 1
        self.pending[plan.lab.name][plan.sent.date()].append(plan)

    def _non_results(self) -> list[MessagePlan]:
        rng, window, people = self._stream("non_oru"), self.window, self.cohort.patients
        labs = sorted(LABS)
        plans = []
        for message_type in ("ADT^A08", "ACK"):
            for _ in range(max(MIN_NON_RESULT, round(NON_RESULT_SHARE * self.cohort.orders))):
                lab = LABS[rng.choice(labs)]
                day = window.day(rng.randrange(window.days))
                sent = datetime.combine(day, time(rng.randint(6, 22), rng.randrange(60)))
                patient = people[rng.randrange(len(people))]
                plans.append(MessagePlan(lab, sent, "non_oru", patient, message_type=message_type))
        return sorted(plans, key=lambda p: p.sent)

    def day(self, offset: int) -> Iterator[LabDay]:
        """Make the orders collected on day `offset`, then yield each of our labs' messages sent that day."""
        day = self.window.day(offset)
        patients = [self.cohort.patients[index] for index in self.cohort.tested[offset]]
        mine: dict[str, list[tuple[Order, int]]] = defaultdict(list)
        for order in day_orders(self._stream(f"orders:{offset}"), day, patients):
            ours = order.lab.name in self.pending
            serial = self.book.enter(order, labelled=ours)  # every order is numbered, ours or not
            if ours:
                mine[order.lab.name].append((order, serial))
        for lab in self.labs:
            rng = self._stream(f"labs:{offset}:{lab}")
            for order, serial in mine[lab]:
                measure(rng, order)
                plans = order_messages(rng, order, serial)
                if order.kind == "duplicate_resend":
                    self.resent.add(id(plans[0]))
                for plan in plans:
                    self._send(plan)
            lab_day = self._sent_on(lab, day, rng)
            if lab_day is not None:
                yield lab_day

    def _sent_on(self, lab: str, day: date, rng: random.Random) -> LabDay | None:
        plans = self.pending[lab].pop(day, [])
        if not plans:
            return None
        for plan in sorted((p for p in plans if not p.er7), key=lambda p: (p.sent, p.sequence)):
            self.control_ids[lab] += 1
            plan.control_id = f"{plan.lab.control_prefix}{self.control_ids[lab]:06d}"
            plan.er7 = build_er7(plan)
            if id(plan) in self.resent:
                self.resent.discard(id(plan))
                self._send(self._resend(rng, plan))
        plans.sort(key=lambda p: (p.sent, p.control_id))
        for plan in plans:
            self.tally.add(plan)
            if plan.patient is not None and plan.patient.injury is not None:
                self.truth.add(plan.patient, plan)
        return LabDay(lab, day, plans, self._garbage(rng, plans))

    def _resend(self, rng: random.Random, original: MessagePlan) -> MessagePlan:
        """A byte-identical copy (same MSH-4 and MSH-10) arriving again 1 to 4 days later, in another file."""
        resend = copy.copy(original)
        resend.kind = "duplicate_resend"
        resend.sent = min(
            original.sent + timedelta(hours=24 * between(rng, 1, 4) + between(rng, 0, 5)),
            datetime.combine(self.window.end, time(23, 0)),
        )
        return resend

    def _garbage(self, rng: random.Random, plans: list[MessagePlan]) -> int | None:
        """A non-HL7 block in the middle of some LF and CR files: each such lab's first file with two
        messages, then one in about GARBAGE_EVERY messages."""
        lab = plans[0].lab
        if lab.framing not in ("lf", "cr") or len(plans) < 2:
            return None
        if lab.name in self.garbage_planted and rng.random() >= len(plans) / GARBAGE_EVERY:
            return None
        self.garbage_planted.add(lab.name)
        return len(plans) // 2
