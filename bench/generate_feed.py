"""A large, deterministic lab feed for `make bench` (issue 5): ORU^R01 v2.5.1 liver panels, built from templates.

The synthetic feed generator (`hepwatch.synthetic`) builds every message with hl7apy, which is right for the
committed sample feeds and far too slow for a million messages. This one writes the same kind of traffic with
string templates: one hepatic function panel per message (ALT, AST, ALP, GGT, TBIL and one of DBIL, ALB or
INR: six OBX), LOINC codes, U/L, mg/dL and g/dL (one lab sends bilirubin in umol/L and enzymes in IU/L),
reference ranges written several ways, OBX-8 flags, result status mostly F with some P and C, a few `>^1000`
SN values, NTE comments with escape sequences, and a small share of messages that exercise the other ledger
buckets: exact re-sends (duplicates), ADT^A08 (ignored) and ORUs without PID-3 (quarantined).

Same seed and size, same bytes. Files are cached under bench/data/ (gitignored), keyed by seed and size:

    bench/data/s<seed>-m<messages>/labs/feed.hl7            one file (a feeds directory: `--feeds` of it)
    bench/data/s<seed>-m<messages>-f<files>/labs/part-*.hl7 the same messages split into N files

    .venv/bin/python bench/generate_feed.py --messages 1000000 [--files 200] [--seed 20260501]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
DEFAULT_SEED = 20260501
FILE_MTIME = 1_767_225_600  # 2026-01-01T00:00:00Z: every generated file gets it, so file order is path order

# LOINC code, text, unit, range, canonical-unit median, log spread, decimals
_PANEL = {
    "ALT": ("1742-6", "ALT SerPl-cCnc", "U/L", "7-56", 28.0, 0.55, 0),
    "AST": ("1920-8", "AST SerPl-cCnc", "U/L", "10-40", 25.0, 0.5, 0),
    "ALP": ("6768-6", "ALP SerPl-cCnc", "U/L", "44-147", 85.0, 0.35, 0),
    "GGT": ("2324-2", "GGT SerPl-cCnc", "U/L", "9-48", 30.0, 0.7, 0),
    "TBIL": ("1975-2", "Bilirub SerPl-mCnc", "mg/dL", "0.1-1.2", 0.6, 0.45, 1),
    "DBIL": ("1968-7", "Bilirub Direct SerPl-mCnc", "mg/dL", "0.0-0.3", 0.15, 0.5, 2),
    "ALB": ("1751-7", "Albumin SerPl-mCnc", "g/dL", "3.5-5.0", 4.2, 0.08, 1),
    "INR": ("6301-6", "INR PPP", "{INR}", "0.8-1.2", 1.0, 0.1, 2),
}
_ENZYMES = ("ALT", "AST", "ALP", "GGT")


@dataclass(frozen=True)
class Lab:
    application: str
    facility: str
    prefix: str  # of MSH-10
    offset: str  # MSH-7 time zone
    range_style: str  # how OBX-7 is written: dash | lt | paren
    si_bilirubin: bool  # bilirubin in umol/L, enzymes in IU/L
    normal_flag: str


LABS = (
    Lab("SUNQUEST", "NORTHLAB", "NL", "-0500", "dash", False, "N"),
    Lab("EPIC BEAKER", "CITYHOSP", "CH", "-0600", "dash", False, ""),
    Lab("COBAS", "EUROLAB", "EU", "+0100", "paren", True, "N"),
    Lab("LIS", "RURALLAB", "RL", "-0700", "lt", False, "N"),
)
_LAB_WEIGHTS = (45, 30, 15, 10)

_FIRST = (
    "James",
    "Mary",
    "John",
    "Linda",
    "Robert",
    "Susan",
    "Michael",
    "Karen",
    "David",
    "Lisa",
    "Ana",
    "Wei",
)
_LAST = ("Smith", "Jones", "Garcia", "Brown", "Nguyen", "Flores", "White", "Lopez", "Kim", "Patel", "Ramirez")
_STREETS = ("Main St", "Oak St", "Spring St", "Elm Ave", "River Rd", "Hill Dr")
_CITIES = (("Evansville", "IN", "477"), ("Dayton", "OH", "454"), ("Louisville", "KY", "402"))


def _patients(rng: random.Random, count: int) -> list[str]:
    """PID segments (after `PID|1||`) of a fixed population."""
    rows = []
    for number in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, state, zip3 = rng.choice(_CITIES)
        born = datetime(1950, 1, 1) + timedelta(days=rng.randrange(0, 50 * 365))
        sex = rng.choice("FM")
        mrn = 40_000_000 + number * 7 + rng.randrange(7)
        rows.append(
            f"{mrn}^^^HWCLINIC^MR||{last}^{first}^{rng.choice('ABCDEGJKLMNRS')}||{born:%Y%m%d}|{sex}|||"
            f"{rng.randrange(100, 9999)} {rng.choice(_STREETS)}^^{city}^{state}^{zip3}{rng.randrange(10, 99)}^USA"
        )
    return rows


def _range_text(lab: Lab, text: str) -> str:
    if lab.range_style == "paren":
        low, high = text.split("-")
        return f"({low} - {high})"
    if lab.range_style == "lt" and text.split("-")[0] in ("0.0", "0", "7", "10", "9"):
        return "<" + text.split("-")[1]
    return text


def _obx(rng: random.Random, lab: Lab, number: int, analyte: str, status: str, observed: str) -> str:
    code, text, unit, ranges, median, spread, decimals = _PANEL[analyte]
    value = median * rng.lognormvariate(0.0, spread)
    if rng.random() < 0.03 and analyte in _ENZYMES:
        value *= rng.uniform(3, 25)  # an injured liver now and then
    low, high = (float(x) for x in ranges.split("-"))
    flag = "H" if value > high else "L" if value < low else lab.normal_flag
    if analyte in ("TBIL", "DBIL") and lab.si_bilirubin:
        unit, decimals = "umol/L", 0
        value, ranges = value * 17.1, f"{low * 17.1:.0f}-{high * 17.1:.0f}"
    elif analyte in _ENZYMES and lab.si_bilirubin:
        unit = "IU/L"
    value_type, written = "NM", f"{value:.{decimals}f}"
    if analyte in _ENZYMES and value > 1000:
        value_type, written = "SN", ">^1000"
    elif written.strip("0.") == "":
        written = f"{10.0**-decimals:.{decimals}f}"
    return (
        f"OBX|{number}|{value_type}|{code}^{text}^LN|1|{written}|{unit}|{_range_text(lab, ranges)}|{flag}|||"
        f"{status}|||{observed}"
    )


def messages(seed: int, count: int) -> Iterator[str]:
    """`count` messages (ER7 text, CR segment ends, no trailing CR), in sending order."""
    rng = random.Random(seed)
    patients = _patients(rng, max(1000, count // 20))
    sent = datetime(2025, 1, 1)
    step = max(1, int(2 * 365 * 24 * 3600 / max(count, 1)))  # two years of traffic
    next_id = dict.fromkeys((lab.prefix for lab in LABS), 0)
    recent: list[str] = []  # messages that may be sent again (a lab re-sending a batch)
    order = 0
    for _ in range(count):
        roll = rng.random()
        if roll < 0.01 and recent:  # about 1 %: an exact re-send of a recent message
            yield rng.choice(recent)
            continue
        sent += timedelta(seconds=rng.randrange(1, 2 * step))
        lab = rng.choices(LABS, _LAB_WEIGHTS)[0]
        next_id[lab.prefix] += 1
        msh_time = f"{sent:%Y%m%d%H%M%S}{lab.offset}"
        control = f"{lab.prefix}{next_id[lab.prefix]:09d}"
        patient = rng.choice(patients)
        if roll > 0.998:  # 0.2 %: an ADT^A08 on the result feed (ignored)
            yield (
                f"MSH|^~\\&|{lab.application}|{lab.facility}|HEPWATCH|HWCLINIC|{msh_time}||ADT^A08^ADT_A01|"
                f"{control}|P|2.5.1\rEVN|A08|{msh_time}\rPID|1||{patient}"
            )
            continue
        if 0.9975 < roll <= 0.998:  # 0.05 %: an ORU without a patient identifier (quarantined)
            patient = "||" + patient.split("||", 1)[1]
        order += 1
        placer, filler = f"HW{order:09d}", f"{lab.prefix}F{order:09d}"
        collected = sent - timedelta(minutes=rng.randrange(30, 600))
        coll = f"{collected:%Y%m%d%H%M}"
        status = rng.choices("FPC", (92, 4, 4))[0]
        panel = [*_ENZYMES, "TBIL", rng.choice(("DBIL", "ALB", "INR"))]
        segments = [
            f"MSH|^~\\&|{lab.application}|{lab.facility}|HEPWATCH|HWCLINIC|{msh_time}||ORU^R01^ORU_R01|"
            f"{control}|P|2.5.1",
            f"PID|1||{patient}",
            f"ORC|RE|{placer}|{filler}",
            f"OBR|1|{placer}|{filler}|24325-3^Hepatic function panel^LN|||{coll}|||||||||||||||"
            f"{sent:%Y%m%d%H%M}|||{status}",
        ]
        for number, analyte in enumerate(panel, start=1):
            segments.append(_obx(rng, lab, number, analyte, status, coll))
            if rng.random() < 0.01:
                segments.append("NTE|1|L|Hemolyzed specimen\\.br\\Interpret with caution \\T\\ repeat")
        message = "\r".join(segments)
        if len(recent) < 64:
            recent.append(message)
        else:
            recent[rng.randrange(64)] = message
        yield message


def feed_dir(seed: int, count: int, files: int = 1) -> Path:
    return DATA_DIR / (f"s{seed}-m{count}" + (f"-f{files}" if files > 1 else ""))


def generate(seed: int = DEFAULT_SEED, count: int = 1_000_000, files: int = 1, quiet: bool = False) -> Path:
    """The feeds directory holding `count` messages in `files` files; written once, then reused."""
    target = feed_dir(seed, count, files)
    if (target / "labs").is_dir() and (target / "COMPLETE").exists():
        return target
    started = time.perf_counter()
    partial = target.with_name(target.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    labs = partial / "labs"
    labs.mkdir(parents=True)
    per_file = -(-count // files)
    names = (f"part-{n:05d}.hl7" for n in range(files)) if files > 1 else iter(["feed.hl7"])
    out = None
    written = 0
    for number, message in enumerate(messages(seed, count)):
        if number % per_file == 0:
            if out is not None:
                out.close()
            out = (labs / next(names)).open("wb", buffering=4 << 20)
        assert out is not None
        out.write(message.encode())
        out.write(b"\r\n")  # CR ends the last segment; a newline between messages, as many senders write
        written += 1
    if out is not None:
        out.close()
    for path in labs.iterdir():
        os.utime(path, (FILE_MTIME, FILE_MTIME))
    (partial / "COMPLETE").write_text(f"seed {seed}\nmessages {written}\nfiles {files}\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    if not quiet:
        size = sum(p.stat().st_size for p in (target / "labs").iterdir())
        print(
            f"generated {written} messages in {files} file(s), {size / 1e6:.1f} MB, "
            f"in {time.perf_counter() - started:.1f} s: {target}",
            file=sys.stderr,
        )
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=1, help="split the same messages into N files")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    print(generate(args.seed, args.messages, args.files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
