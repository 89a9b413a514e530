"""The day loop, in parts that can run side by side: some labs' files, the dosing files, or both.

A part walks every day of the window: the orders and messages of its labs (`lab_feed` -> `lab_files`) and,
if it has them, the day's doses (`dosing_rows` -> `dosing_files`). Parts share nothing but the cohort and
the seed, so the files do not depend on how the work is split: with two workers the second part runs in a
forked process (it inherits the cohort) and sends back its counts for the manifest.
"""

from __future__ import annotations

import calendar
import itertools
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hepwatch.synthetic.cohort import PROGRESS_SECONDS, Cohort
from hepwatch.synthetic.dosing_files import DosingFiles
from hepwatch.synthetic.dosing_rows import DoseDays
from hepwatch.synthetic.lab_feed import LabFeed
from hepwatch.synthetic.lab_files import LabFiles
from hepwatch.synthetic.manifest import DosingTally, MessageTally

# Seconds each takes alone for a year of 40,000 patients (a lab's include planning every order of the day,
# which a part does once, PLAN of them), for splitting the work evenly.
COSTS = {"NORTHLAB": 9.2, "CITYHOSP": 5.4, "EUROLAB": 5.1, "POCTNET": 3.2, "dosing": 8.3}
PLAN = 1.2


@dataclass(frozen=True, slots=True)
class Part:
    labs: tuple[str, ...]
    dosing: bool

    @property
    def label(self) -> str:
        return ", ".join([*self.labs, *(["dosing"] if self.dosing else [])])


@dataclass(slots=True)
class PartResult:
    lab_files: list[str] = field(default_factory=list)  # relative paths
    tally: MessageTally = field(default_factory=MessageTally)
    truth: dict[int, dict] = field(default_factory=dict)  # injured patient's index -> its manifest record
    dosing: DosingTally | None = None
    messages_per_day: list[int] = field(default_factory=list)
    dosing_rows_per_day: list[int] = field(default_factory=list)


def split(workers: int) -> list[Part]:
    """The work in `workers` parts (at most one per item), the slowest part as fast as can be."""
    items = sorted(COSTS)
    bins = max(1, min(workers, len(items)))

    def cost(names: list[str]) -> float:
        labs = [name for name in names if name != "dosing"]
        return sum(COSTS[name] for name in names) - PLAN * max(0, len(labs) - 1)

    best: list[list[str]] = []
    for assignment in itertools.product(range(bins), repeat=len(items)):
        groups = [[item for item, b in zip(items, assignment, strict=True) if b == n] for n in range(bins)]
        if all(groups) and (not best or max(map(cost, groups)) < max(map(cost, best))):
            best = groups
    return [Part(tuple(n for n in group if n != "dosing"), "dosing" in group) for group in best]


def arrive(path: Path, moment: datetime) -> None:
    """A file arrives: its mtime is the moment it arrived (UTC)."""
    stamp = calendar.timegm(moment.timetuple())
    os.utime(path, (stamp, stamp))


def write_part(
    part: Part,
    out_dir: Path,
    cohort: Cohort,
    seed: int,
    dosing_layout: str,
    lab_file_days: int,
    say: Callable[[str], None],
) -> PartResult:
    window = cohort.window
    result = PartResult()
    labs = LabFeed(seed, cohort, part.labs)
    lab_files = LabFiles(out_dir, window, lab_file_days, seed, arrive)
    dosing = DosingFiles(out_dir, window, dosing_layout, seed, arrive) if part.dosing else None
    doses = DoseDays(seed, cohort.patients, window) if part.dosing else None
    protected = {p.mrn for p in cohort.injured}
    started = shown = time.perf_counter()
    for offset in range(window.days):
        day = window.day(offset)
        sent = labs.tally.total
        for lab_day in labs.day(offset) if part.labs else ():  # (a part of dosing alone plans no orders)
            path = lab_files.write(lab_day)
            if lab_day.garbage_after is not None:
                labs.tally.garbage.append(path)
        lab_files.end_of_day(day)
        result.messages_per_day.append(labs.tally.total - sent)
        if dosing is not None and doses is not None:
            rows = dosing.record_ids
            rng, day_rows = doses.rows(offset)
            dosing.write_day(day, rng, day_rows, protected)
            result.dosing_rows_per_day.append(dosing.record_ids - rows)
        if time.perf_counter() - shown >= PROGRESS_SECONDS:
            shown = time.perf_counter()
            rows_text = f", {dosing.record_ids:,} dosing rows" if dosing is not None else ""
            say(
                f"  [{part.label}] day {offset + 1:,} of {window.days:,} ({day}): "
                f"{len(lab_files.written):,} lab files, {labs.tally.total:,} messages{rows_text}, "
                f"{shown - started:.0f} s"
            )
    lab_files.close_all()
    if dosing is not None:
        dosing.finish()
        result.dosing = dosing.tally
    result.lab_files, result.tally = lab_files.written, labs.tally
    result.truth = {p.index: labs.truth.record(p) for p in cohort.injured if p.home_lab in part.labs}
    return result


def run_parts(parts: list[Part], write: Callable[[Part], PartResult]) -> list[PartResult]:
    """The first part here, every other one in a forked process of its own (where fork exists)."""
    if len(parts) == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [write(part) for part in parts]
    context = multiprocessing.get_context("fork")
    children = []
    for part in parts[1:]:
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(write, part, send), daemon=True)
        child.start()
        send.close()
        children.append((child, receive))
    try:
        results = [write(parts[0])]
        for child, receive in children:
            outcome, value = receive.recv()
            child.join()
            if outcome == "error":
                raise RuntimeError(f"a generator process failed:\n{value}")
            results.append(value)
    finally:
        for child, _ in children:
            if child.is_alive():
                child.terminate()
    return results


def _child(write: Callable[[Part], PartResult], part: Part, send) -> None:
    try:
        send.send(("ok", write(part)))
    except BaseException:
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()
