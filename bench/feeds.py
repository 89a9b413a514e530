"""Feeds for the benchmarks, made by the one generator (`hepwatch generate`) and cached under bench/data/.

A directory is named after the arguments and reused while its COMPLETE file names the same arguments and
the same generator (a digest of hepwatch/synthetic/*.py): the same arguments give the same bytes and
mtimes, so a cached feed is the feed. Written into a `.partial-PID` directory, renamed when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path

from hepwatch.synthetic import generate_feeds

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
SYNTHETIC = BENCH_DIR.parent / "hepwatch" / "synthetic"


def generator_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(SYNTHETIC.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def cached_feeds(
    *,
    seed: int,
    patients: int,
    days: int,
    start: date,
    dosing_files: str = "monthly",
    lab_file_days: int = 1,
    quiet: bool = False,
) -> Path:
    """The feeds directory `hepwatch generate` writes for these arguments: generated once, then reused."""
    arguments = {
        "seed": seed,
        "patients": patients,
        "days": days,
        "start": start.isoformat(),
        "dosing_files": dosing_files,
        "lab_file_days": lab_file_days,
    }
    stamp = json.dumps({**arguments, "generator": generator_digest()}, sort_keys=True) + "\n"
    name = f"feed-s{seed}-p{patients}-d{days}-{start.isoformat()}-{dosing_files}-l{lab_file_days}"
    target = DATA_DIR / name
    complete = target / "COMPLETE"
    if complete.is_file() and complete.read_text() == stamp:
        return target
    partial = target.with_name(f"{name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)

    def say(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    say(f"bench: generating {name} (cached under {DATA_DIR})")
    generate_feeds(
        partial,
        patients=patients,
        days=days,
        seed=seed,
        start=start,
        progress=say,
        dosing_files=dosing_files,
        lab_file_days=lab_file_days,
    )
    (partial / "COMPLETE").write_text(stamp)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target
