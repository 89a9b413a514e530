"""`generate_feeds`: a whole synthetic feed directory (contract section 2) and its manifest, day by day.

First the patients are drawn (`cohort`); then, for each day of the window in turn, the lab orders collected
and the messages sent that day and the doses taken are made and appended to their files, which are closed
(and given their mtime) as soon as their last day is written (`feed_parts`; with two workers, half of the
labs, or the other half and the dosing files, in a second process). Memory holds the patients and a few
days of messages waiting to be sent, never the feed; a line of progress is printed every few seconds.

Deterministic for a seed: every random choice comes from a `random.Random` stream named after the seed and
what it is for (a patient, a day and lab, a file), no wall-clock time is read, and file mtimes are set from
the feed's own dates (later files later), whatever the number of workers. Git does not keep mtimes, so file
names carry the arrival order too: the dosing corrections file sorts after the monthly files it corrects.
"""

from __future__ import annotations

import functools
import gc
import json
import os
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter

from hepwatch.synthetic import manifest
from hepwatch.synthetic.cohort import draw_cohort
from hepwatch.synthetic.feed_parts import arrive, run_parts, split, write_part
from hepwatch.synthetic.lab_feed import LabFeed
from hepwatch.synthetic.population import Window

MIN_DAYS = 7
DOSING_LAYOUTS = ("monthly", "daily")
MANIFEST_ARRIVAL = time(6, 0, 1)  # the morning after the window, after the dosing corrections file
MAX_WORKERS = 2  # the work splits well in two (labs, and labs with dosing); more gains little


def _check(out_dir: Path, patients: int, days: int, dosing_files: str, lab_file_days: int) -> None:
    if patients < 1 or days < MIN_DAYS:
        raise ValueError(
            f"need at least 1 patient and {MIN_DAYS} days (got patients={patients}, days={days})"
        )
    if dosing_files not in DOSING_LAYOUTS:
        raise ValueError(f"dosing files must be one of {', '.join(DOSING_LAYOUTS)}, not {dosing_files!r}")
    if lab_file_days < 1:
        raise ValueError(f"days per lab file must be at least 1, not {lab_file_days}")
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
    dosing_files: str = "monthly",
    lab_file_days: int = 1,
    workers: int | None = None,
) -> dict:
    """Write a feed directory (labs/ and dosing/ and manifest.json); return the manifest dict.

    `dosing_files`: "monthly" (and a corrections file) or "daily"; `lab_file_days`: sending days per lab
    file; `workers`: processes (default: up to 2, one per core). The files are the same whatever `workers`.
    """
    out_dir = Path(out_dir)
    _check(out_dir, patients, days, dosing_files, lab_file_days)
    say = progress or (lambda _message: None)
    started = perf_counter()
    window = Window(start, days)
    say(f"drawing {patients:,} patients")
    cohort = draw_cohort(seed, patients, window, say)
    parts = split(workers or min(MAX_WORKERS, os.cpu_count() or 1))
    say(f"writing {days:,} days from {start} into {out_dir} ({len(parts)} processes)")
    write = functools.partial(
        write_part,
        out_dir=out_dir,
        cohort=cohort,
        seed=seed,
        dosing_layout=dosing_files,
        lab_file_days=lab_file_days,
        say=say,
    )
    # The day loop makes millions of short-lived objects and no reference cycles (orders, messages and rows
    # only point at patients and labs), so reference counting frees them all; the cyclic collector would
    # only walk the patients and the waiting messages again and again (a third of the time, and time growing
    # faster than the feed, with 100,000 patients).
    collecting = gc.isenabled()
    gc.disable()
    try:
        results = run_parts(parts, write)
    finally:
        if collecting:
            gc.enable()
    tally = results[0].tally
    for other in results[1:]:
        tally.merge(other.tally)
    dosing = next(r.dosing for r in results if r.dosing is not None)
    truth = {index: record for r in results for index, record in r.truth.items()}
    lab_files = sum(len(r.lab_files) for r in results)
    result: dict = {
        "generator": "hepwatch.synthetic.generate_feeds",
        "arguments": manifest.arguments(seed, patients, days, start, window),
        "layout": {"lab_file_days": lab_file_days, "dosing_files": dosing_files},
        "labs": manifest.lab_habits(),
        "patients": cohort.counts,
        "files": {"labs": lab_files, "dosing": len(dosing.files)},
        "messages": tally.summary(),
        "dosing": dosing.summary(),
        "planted_injuries": [truth[p.index] for p in cohort.injured],
        "per_day": {
            "first_day": start.isoformat(),
            "messages": [sum(day) for day in zip(*(r.messages_per_day for r in results), strict=True)],
            "dosing_rows": next(r.dosing_rows_per_day for r in results if r.dosing is not None),
        },
    }
    path = out_dir / "manifest.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    arrive(path, datetime.combine(window.end + timedelta(days=1), MANIFEST_ARRIVAL))
    say(
        f"wrote {lab_files + len(dosing.files):,} feed files ({tally.total:,} messages, {dosing.summary()['rows']:,} dosing rows) and "
        f"manifest.json to {out_dir} in {perf_counter() - started:.1f} s"
    )
    return result


def lab_messages(seed: int, count: int, start: date = date(2025, 1, 1)) -> Iterator[str]:
    """`count` messages of the lab feed (ER7 text, CR segment ends, no framing), in sending order by lab and
    day, without writing files: a year of the feed for about count / 10 patients, as far as it takes."""
    patients = max(50, count // 8)
    window = Window(start, 365)
    labs = LabFeed(seed, draw_cohort(seed, patients, window))
    made = 0
    for offset in range(window.days):
        for lab_day in labs.day(offset):
            for plan in lab_day.messages:
                yield plan.er7
                made += 1
                if made == count:
                    return
    raise ValueError(f"{patients} patients sent {made} messages in a year, fewer than {count}")
