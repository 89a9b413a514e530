"""`generate_feeds`: a whole synthetic feed directory (contract section 2) and its manifest.

Deterministic for a seed: every random choice comes from `random.Random` streams seeded from the seed and
a fixed name, iteration is sorted, no wall-clock time is read, and file mtimes are set from the feed's own
dates (later files later). Git does not keep mtimes, so file names carry the arrival order too: the
dosing corrections file sorts after the monthly files it corrects.
"""

from __future__ import annotations

import calendar
import copy
import json
import os
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from hepwatch.synthetic import manifest
from hepwatch.synthetic.dosing_files import add_bad_rows, assign_record_ids, corrections, render_files
from hepwatch.synthetic.dosing_rows import DoseRow, patient_rows
from hepwatch.synthetic.injuries import add_mild_rises, plant_injuries
from hepwatch.synthetic.injury_truth import injury_record
from hepwatch.synthetic.lab_files import LabFile, group_into_files, render
from hepwatch.synthetic.lab_lifecycle import order_messages
from hepwatch.synthetic.lab_messages import MessagePlan, build_er7
from hepwatch.synthetic.lab_orders import Order, assign_kinds, make_orders
from hepwatch.synthetic.lab_profiles import LABS
from hepwatch.synthetic.population import Patient, Window, draw_population
from hepwatch.synthetic.schedule import assign_tests

NON_RESULT_SHARE = 0.005  # ADT^A08 and ACK messages, each, per order
MIN_NON_RESULT = 2
Stream = Callable[[str], random.Random]


def _non_results(
    rng: random.Random, patients: list[Patient], window: Window, orders: int
) -> list[MessagePlan]:
    plans = []
    for message_type in ("ADT^A08", "ACK"):
        for _ in range(max(MIN_NON_RESULT, round(NON_RESULT_SHARE * orders))):
            lab = LABS[rng.choice(sorted(LABS))]
            sent = datetime.combine(
                window.day(rng.randrange(window.days)), time(rng.randint(6, 22), rng.randrange(60))
            )
            plan = MessagePlan(lab, sent, "non_oru", rng.choice(patients), message_type=message_type)
            plans.append(plan)
    return plans


def _assign_control_ids(plans: list[MessagePlan]) -> None:
    """MSH-10 numbered per facility in sending order."""
    numbers: Counter[str] = Counter()
    for plan in sorted(plans, key=lambda p: (p.lab.name, p.sent)):
        numbers[plan.lab.name] += 1
        plan.control_id = f"{plan.lab.control_prefix}{numbers[plan.lab.name]:06d}"


def _resends(rng: random.Random, originals: list[MessagePlan], window: Window) -> list[MessagePlan]:
    """Byte-identical copies (same MSH-4 and MSH-10) arriving again 1 to 4 days later, in another file."""
    copies = []
    for original in originals:
        resend = copy.copy(original)
        resend.kind = "duplicate_resend"
        resend.sent = min(
            original.sent + timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 5)),
            datetime.combine(window.end, time(23, 0)),
        )
        copies.append(resend)
    return copies


def _lab_plans(
    rng: random.Random, orders: list[Order]
) -> tuple[list[MessagePlan], list[MessagePlan], dict[int, list[MessagePlan]]]:
    """All result messages; the originals to resend; and each injured patient's messages."""
    plans, to_resend = [], []
    by_injured: dict[int, list[MessagePlan]] = {}
    serials: Counter[str] = Counter()
    for order in orders:
        messages = order_messages(rng, order, serials[order.kind])
        serials[order.kind] += 1
        plans += messages
        if order.kind == "duplicate_resend":
            to_resend.append(messages[0])
        if order.patient.injury is not None:
            by_injured.setdefault(order.patient.index, []).extend(messages)
    return plans, to_resend, by_injured


def _plant_garbage(rng: random.Random, files: list[LabFile], orders: int) -> None:
    candidates = [f for f in files if f.lab.framing in ("lf", "cr") and len(f.messages) >= 2]
    for lab_file in rng.sample(candidates, min(len(candidates), max(1, orders // 1000))):
        lab_file.garbage_after = len(lab_file.messages) // 2


@dataclass(slots=True)
class LabFeed:
    plans: list[MessagePlan]
    files: list[LabFile]
    by_injured: dict[int, list[MessagePlan]]  # patient index -> that patient's messages


def _lab_feed(stream: Stream, people: list[Patient], window: Window, say: Callable[[str], None]) -> LabFeed:
    """Orders -> message plans (lifecycle, defects, non-ORU) -> hl7apy ER7 -> resends -> one file per day."""
    orders = make_orders(stream("orders"), people, window)
    assign_kinds(stream("kinds"), orders, window)
    plans, to_resend, by_injured = _lab_plans(stream("messages"), orders)
    plans += _non_results(stream("non_oru"), people, window, len(orders))
    _assign_control_ids(plans)
    say(f"building {len(plans)} HL7 messages for {len(people)} patients with hl7apy")
    for plan in plans:
        plan.er7 = build_er7(plan)
    plans += _resends(stream("resends"), to_resend, window)
    files = group_into_files(plans)
    _plant_garbage(stream("garbage"), files, len(orders))
    return LabFeed(plans, files, by_injured)


@dataclass(slots=True)
class DosingFeed:
    rows: list[DoseRow]
    corrections: list[DoseRow]
    files: list[tuple[str, bytes, int]]  # relative path, content, rows


def _dosing_feed(stream: Stream, people: list[Patient], window: Window, protected: set[str]) -> DosingFeed:
    rng = stream("dosing")
    rows = patient_rows(rng, people, window)
    rows += add_bad_rows(rng, [r for r in rows if r.kind == "dose"])
    assign_record_ids(rows)
    fixed = corrections(rng, rows, protected)
    return DosingFeed(rows, fixed, render_files(rng, rows, fixed))


def _arrival(relative_path: str, window: Window) -> datetime:
    """When a file arrives: a lab day's file at its day's end, a monthly dosing file at its month's end
    (or the window's), the corrections file and then the manifest the morning after the window."""
    if relative_path.startswith("labs/"):
        return datetime.combine(date.fromisoformat(Path(relative_path).stem), time(23, 50))
    if relative_path.endswith("_corrections.csv") or relative_path == "manifest.json":
        return datetime.combine(window.end + timedelta(days=1), time(6, 0))
    year, month = (int(part) for part in relative_path.split("_")[1][:7].split("-"))
    month_end = min(date(year, month, calendar.monthrange(year, month)[1]), window.end)
    return datetime.combine(month_end, time(23, 55))


def _write_in_arrival_order(out_dir: Path, contents: dict[str, bytes], window: Window) -> None:
    """Write every file and set its mtime from its arrival; ties are broken by path, one second apart."""
    order = sorted(contents, key=lambda path: (_arrival(path, window), path))
    for rank, relative_path in enumerate(order):
        path = out_dir / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(contents[relative_path])
        stamp = calendar.timegm(_arrival(relative_path, window).timetuple()) + rank
        os.utime(path, (stamp, stamp))


def _check_empty(out_dir: Path) -> None:
    for part in ("labs", "dosing", "manifest.json"):
        if (out_dir / part).exists():
            raise FileExistsError(
                f"{out_dir / part} already exists; generate into an empty directory so no stale feed files mix in"
            )


def generate_feeds(
    out_dir: Path,
    patients: int = 300,
    days: int = 90,
    seed: int = 7,
    start: date = date(2026, 6, 1),
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Write a feed directory (labs/ and dosing/ and manifest.json); return the manifest dict."""
    if patients < 1 or days < 7:
        raise ValueError(f"need at least 1 patient and 7 days (got patients={patients}, days={days})")
    say = progress or (lambda _message: None)
    out_dir = Path(out_dir)
    _check_empty(out_dir)

    def stream(name: str) -> random.Random:
        """An independent random stream per purpose, so one part's draws never shift another's."""
        return random.Random(f"hepwatch-synthetic:{seed}:{name}")

    window = Window(start, days)
    people = draw_population(stream("population"), patients, window)
    injured = plant_injuries(stream("injuries"), people, window)
    add_mild_rises(stream("mild_rises"), people, window)
    assign_tests(stream("schedule"), people, window)
    labs = _lab_feed(stream, people, window, say)
    say("writing lab files and dosing records")
    dosing = _dosing_feed(stream, people, window, protected={p.mrn for p in injured})

    result = {
        "generator": "hepwatch.synthetic.generate_feeds",
        "arguments": manifest.arguments(seed, patients, days, start, window),
        "labs": manifest.lab_habits(),
        "patients": manifest.patient_counts(people),
        "files": {"labs": len(labs.files), "dosing": len(dosing.files)},
        "messages": manifest.message_counts(labs.plans, labs.files),
        "dosing": manifest.dosing_counts(dosing.rows, dosing.corrections, dosing.files),
        "planted_injuries": [injury_record(p, labs.by_injured.get(p.index, [])) for p in injured],
    }
    file_rng = stream("lab_files")
    contents = {f.relative_path: render(f, file_rng) for f in labs.files}
    contents |= {path: data for path, data, _ in dosing.files}
    contents["manifest.json"] = (json.dumps(result, indent=2) + "\n").encode("utf-8")
    _write_in_arrival_order(out_dir, contents, window)
    say(f"wrote {len(contents) - 1} feed files and manifest.json to {out_dir}")
    return result
