"""A year of feeds of a regional lab for `make bench-e2e`: labs and dosing, one file per lab per day.

`bench/generate_feed.py` writes one big lab feed for the ingestion benchmark; this writes what a clinic
network's feeds directory looks like after a year (default: 100,000 patients, about 1,000,000 ORU^R01
messages and 3,000,000 dosing rows), with the same string templates (its `LABS`, `_PANEL`, `_patients`):

    labs/<FACILITY>/<YYYY-MM-DD>.hl7   the liver panels collected that day at that lab (OBR-7 that day,
                                       MSH-7 a few hours later), in sending order
    dosing/<YYYY-MM-DD>.csv            the doses taken that day, plus corrections of earlier days' rows

for each of the `days + 1` days from `start` (the last is the "new day" a benchmark adds as an increment).

The population: every patient has a home lab and one dosing period a year (kratom only 40 %, kratom and
methadone or buprenorphine 30 %, MOUD only 30 %). Time is a 365-day cycle: a period starting near the end
of the year wraps to its beginning, so patients are already dosing on the first day and the daily volume is
the same everywhere (it scales linearly with patients and days). Liver panels cluster around the period
(baseline, weeks 2, 4 and 8, then quarterly, some skipped) and the rest are spread at random. About 3 % of
kratom users get a drug-induced liver injury 2 to 8 weeks after starting (ALT/AST 3 to 25 x ULN, a third of
them with TBIL > 2 x ULN and ALP < 2 x ULN: potential Hy's law), tested weekly while it lasts. Small shares
exercise the ledger: exact re-sends, ADT^A08, ORUs without PID-3, preliminary results made final later the
same day, corrected results, bad dosing rows and dosing corrections.

Same arguments, same bytes (per-day random generators, fixed iteration order). Every file's mtime is its day
at 06:00 UTC, so file order is day order. Cached under bench/data/ (gitignored):

    .venv/bin/python bench/generate_year.py [--patients 100000] [--days 365] [--start 2025-11-01] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_feed import _ENZYMES, _LAB_WEIGHTS, _PANEL, LABS, Lab, _patients, _range_text

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
DEFAULT_SEED = 20261124
DEFAULT_START = date(2025, 11, 1)
VERSION = 1  # of the generated data: a cached directory written by another version is written again
CYCLE = 365  # days: a patient's year repeats
MTIME_HOUR = 6  # every file's mtime: its day at 06:00 UTC
DOSING_HEADER = "record_id,patient_id,id_authority,substance,product,dose_amount,dose_unit,taken_at,source\n"
CLINIC_TZ = ZoneInfo("America/New_York")

# ---- rates (per patient and year: volume scales linearly with patients and days) ----------------------

GROUPS = (("kratom", 40), ("kratom+moud", 30), ("moud", 30))
PERIOD_DAYS = (8, 28)  # dosing period length, uniform
KRATOM_DAY = 0.8  # share of the period's days with kratom doses (1 to 3 of them)
MOUD_DAY = 0.95  # share of the period's days with a MOUD dose
KRATOM_SCHEDULE = ((14, 0.8), (28, 0.8), (56, 0.75), (146, 0.7), (236, 0.7), (326, 0.65))  # days after start
MOUD_SCHEDULE = ((90, 0.7), (180, 0.7), (270, 0.7))
BASELINE = 0.85
RANDOM_TESTS = {"kratom": 4.3, "kratom+moud": 4.3, "moud": 6.7}  # mean unscheduled panels a year
INJURY = 0.03  # of kratom users
HYS_LAW = 0.35  # of injuries: TBIL > 2 x ULN without ALP >= 2 x ULN
OTHER_LAB = 0.03  # a panel drawn away from the home lab
PRELIMINARY = 0.04  # P, then F later the same day
CORRECTED = 0.02  # F, then C later the same day
RESEND = 0.01
ADT = 0.002
NO_PID3 = 0.0005
NTE = 0.05
BAD_ROW = 0.001
ROW_CORRECTION = 0.002


@dataclass(frozen=True, slots=True)
class Injury:
    onset: int  # day of the cycle
    rise: int
    plateau: int
    half_life: float
    length: int  # days with a raised shape
    alt: float  # peak, x ULN
    ast: float
    alp: float
    ggt: float
    tbil: float
    hys_law: bool

    def shape(self, day: int) -> float:
        """0 outside the injury; rising to 1, a plateau, then halving every `half_life` days."""
        t = (day - self.onset) % CYCLE
        if t >= self.length:
            return 0.0
        if t < self.rise:
            return 0.15 + 0.85 * t / self.rise
        if t < self.rise + self.plateau:
            return 1.0
        return 0.5 ** ((t - self.rise - self.plateau) / self.half_life)


@dataclass(slots=True)
class Patient:
    mrn: str
    pid: str  # the PID segment
    lab: int
    group: str
    start: int  # day of the cycle the dosing period starts
    length: int
    liver: float  # personal enzyme factor
    kratom_row: str  # a dosing row with `{id}`, `{amount}` and `{taken}` left to fill; empty: no kratom
    kratom_amounts: tuple[str, ...]
    kratom_time: bool  # taken_at with a time of day
    moud_row: str  # the same for methadone or buprenorphine
    moud_source: str
    injury: Injury | None


# ---- the population --------------------------------------------------------------------------------------

_KRATOM_NAMES = ("kratom", "Kratom", "KRATOM")
_KRATOM_PRODUCTS = (("leaf powder", 55), ("capsules", 30), ("tea", 10), ("extract", 5))
_G = tuple(f"{x / 2:g}" for x in range(2, 17))  # 1 to 8 g in half grams


def _population(rng: random.Random, count: int) -> list[Patient]:
    pids = _patients(rng, count)
    patients = []
    for pid in pids:
        mrn = pid.split("^", 1)[0]
        group = rng.choices([g for g, _ in GROUPS], [w for _, w in GROUPS])[0]
        start = rng.randrange(CYCLE)
        length = rng.randint(*PERIOD_DAYS)
        kratom = group != "moud"
        kratom_row = ""
        kratom_amounts: tuple[str, ...] = ()
        if kratom:
            name = "Mitragyna speciosa" if rng.random() < 0.02 else rng.choice(_KRATOM_NAMES)
            product = rng.choices([p for p, _ in _KRATOM_PRODUCTS], [w for _, w in _KRATOM_PRODUCTS])[0]
            base = rng.randrange(2, 11)  # 2 to 6 g
            grams = _G[base - 1 : base + 2]
            if rng.random() < 0.05:  # this clinic writes milligrams
                kratom_amounts, unit = tuple(str(int(float(g) * 1000)) for g in grams), "mg"
            else:
                kratom_amounts, unit = grams, "g"
            kratom_row = f"{{id}},{mrn},HWCLINIC,{name},{product},{{amount}},{unit},{{taken}},self_report\n"
        moud_row = moud_source = ""
        if group != "kratom":
            if rng.random() < 0.6:
                name = rng.choice(("methadone", "Methadone", "METHADONE"))
                amount, product = str(rng.randrange(30, 125, 5)), "oral solution"
                moud_source = "observed" if rng.random() < 0.8 else "dispensed"
            else:
                name = rng.choice(("buprenorphine", "Buprenorphine", "BUPRENORPHINE"))
                amount = str(rng.choice((8, 8, 12, 16, 16, 24)))
                product = "sublingual film" if rng.random() < 0.7 else "sublingual tablet"
                moud_source = "dispensed" if rng.random() < 0.85 else "observed"
            moud_row = f"{{id}},{mrn},HWCLINIC,{name},{product},{amount},mg,{{taken}},{moud_source}\n"
        injury = None
        if kratom and rng.random() < INJURY:
            hys = rng.random() < HYS_LAW
            alt = math.exp(rng.uniform(math.log(3.5), math.log(25)))
            rise, plateau, half = rng.randint(5, 10), rng.randint(3, 14), rng.uniform(6, 14)
            injury = Injury(
                onset=(start + rng.randint(14, 56)) % CYCLE,
                rise=rise,
                plateau=plateau,
                half_life=half,
                length=rise + plateau + int(4 * half),
                alt=alt,
                ast=alt * rng.uniform(0.4, 0.9),
                alp=rng.uniform(0.6, 1.6) if hys else rng.uniform(1.5, 4.0),
                ggt=rng.uniform(2, 10),
                tbil=rng.uniform(2.5, 12) if hys else rng.uniform(0.6, 1.8),
                hys_law=hys,
            )
        patients.append(
            Patient(
                mrn=mrn,
                pid="PID|1||" + pid,
                lab=rng.choices(range(len(LABS)), _LAB_WEIGHTS)[0],
                group=group,
                start=start,
                length=length,
                liver=math.exp(rng.gauss(0.0, 0.4)),
                kratom_row=kratom_row,
                kratom_amounts=kratom_amounts,
                kratom_time=rng.random() < 0.4,
                moud_row=moud_row,
                moud_source=moud_source,
                injury=injury,
            )
        )
    return patients


def _test_days(rng: random.Random, patient: Patient) -> list[int]:
    """The days of the cycle on which the patient has a liver panel drawn."""
    start = patient.start
    days = set()
    if rng.random() < BASELINE:
        days.add(start - rng.randrange(0, 8))
    schedule = MOUD_SCHEDULE if patient.group == "moud" else KRATOM_SCHEDULE
    for offset, share in schedule:
        if rng.random() < share:
            days.add(start + offset + rng.randint(-3, 3))
    mean = RANDOM_TESTS[patient.group]
    for _ in range(int(rng.uniform(0.0, 2.0 * mean + 1.0))):
        days.add(rng.randrange(CYCLE))
    if patient.injury is not None:  # tested weekly while the enzymes are up
        injury = patient.injury
        for t in range(injury.rise - 2, injury.length, 7):
            days.add(injury.onset + t + rng.randint(-1, 1))
    return sorted({day % CYCLE for day in days})


# ---- lab messages ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Obx:
    head: str  # `code^text^LN|1|`
    tail: str  # `|unit|range|`
    low: float
    high: float  # canonical
    factor: float  # canonical to the lab's unit
    decimals: int
    normal_flag: str
    enzyme: bool


def _obx_specs(lab: Lab) -> dict[str, _Obx]:
    """generate_feed's `_obx`, split into its parts that do not change between messages."""
    specs = {}
    for analyte, (code, text, unit, ranges, _, _, decimals) in _PANEL.items():
        low, high = (float(x) for x in ranges.split("-"))
        factor = 1.0
        if analyte in ("TBIL", "DBIL") and lab.si_bilirubin:
            unit, decimals, factor = "umol/L", 0, 17.1
            ranges = f"{low * 17.1:.0f}-{high * 17.1:.0f}"
        elif analyte in _ENZYMES and lab.si_bilirubin:
            unit = "IU/L"
        specs[analyte] = _Obx(
            f"{code}^{text}^LN|1|",
            f"|{unit}|{_range_text(lab, ranges)}|",
            low,
            high,
            factor,
            decimals,
            lab.normal_flag,
            analyte in _ENZYMES,
        )
    return specs


_SPECS = [_obx_specs(lab) for lab in LABS]
_ULN = {analyte: float(ranges.split("-")[1]) for analyte, (_, _, _, ranges, *_) in _PANEL.items()}
_MEDIAN = {analyte: spec[4] for analyte, spec in _PANEL.items()}
_SPREAD = {analyte: spec[5] for analyte, spec in _PANEL.items()}
_LAST = ("DBIL", "ALB", "INR")
_NOTE = "NTE|1|L|Hemolyzed specimen\\.br\\Interpret with caution \\T\\ repeat"


def _obx(spec: _Obx, number: int, value: float, status: str, observed: str) -> str:
    flag = "H" if value > spec.high else "L" if value < spec.low else spec.normal_flag
    if spec.enzyme and value > 1000:
        return f"OBX|{number}|SN|{spec.head}>^1000{spec.tail}{flag}|||{status}|||{observed}"
    written = f"{value * spec.factor:.{spec.decimals}f}"
    if written.strip("0.") == "":
        written = f"{10.0**-spec.decimals:.{spec.decimals}f}"
    return f"OBX|{number}|NM|{spec.head}{written}{spec.tail}{flag}|||{status}|||{observed}"


def _panel_values(rng: random.Random, patient: Patient, shape: float) -> dict[str, float]:
    """One panel's values in canonical units: the patient's own level, noise, and the injury if any."""
    gauss = rng.gauss
    liver = patient.liver
    values = {
        "ALT": 28.0 * liver * math.exp(0.3 * gauss(0.0, 1.0)),
        "AST": 25.0 * liver**0.7 * math.exp(0.25 * gauss(0.0, 1.0)),
        "ALP": 85.0 * math.exp(0.3 * gauss(0.0, 1.0)),
        "GGT": 30.0 * liver**1.2 * math.exp(0.4 * gauss(0.0, 1.0)),
        "TBIL": 0.6 * math.exp(0.45 * gauss(0.0, 1.0)),
    }
    last = _LAST[int(rng.random() * 3)]
    if last == "DBIL":  # a part of the total
        values[last] = values["TBIL"] * 0.25 * math.exp(0.3 * gauss(0.0, 1.0))
    else:
        values[last] = _MEDIAN[last] * math.exp(_SPREAD[last] * gauss(0.0, 1.0))
    if shape > 0.0:
        injury = patient.injury
        assert injury is not None
        noise = math.exp(0.1 * gauss(0.0, 1.0))
        for analyte, peak in (
            ("ALT", injury.alt),
            ("AST", injury.ast),
            ("ALP", injury.alp),
            ("GGT", injury.ggt),
            ("TBIL", injury.tbil),
        ):
            values[analyte] = max(values[analyte], shape * peak * _ULN[analyte] * noise)
        if last == "DBIL":
            values["DBIL"] = max(values["DBIL"], 0.6 * values["TBIL"] * noise)
        elif last == "INR" and injury.hys_law:
            values["INR"] = max(values["INR"], 1.0 + 0.1 * shape * injury.tbil)
        elif last == "ALB":
            values["ALB"] *= 1.0 - 0.2 * shape
    return values


def _panel(lab: int, values: dict[str, float], status: str, observed: str) -> list[str]:
    specs = _SPECS[lab]
    return [
        _obx(specs[analyte], n, value, status, observed)
        for n, (analyte, value) in enumerate(values.items(), 1)
    ]


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}{minute % 60:02d}"


def _lab_day(
    seed: int, index: int, day: date, patients: list[Patient], tested: list[int]
) -> tuple[dict[int, bytes], dict[str, int]]:
    """The lab files of one day: {lab: file bytes} and counts by kind."""
    rng = random.Random(f"{seed}-labs-{index}")
    random_ = rng.random
    ymd, stamp = f"{day:%Y%m%d}", f"{day:%y%m%d}"
    cycle_day = index % CYCLE
    # per lab: (sending minute, sequence, message) with message = [MSH up to MSH-10, rest, MSH-10 once numbered]
    sent: list[list[tuple[int, int, list[str]]]] = [[] for _ in LABS]
    counts = dict.fromkeys(("oru", "preliminary", "corrected", "resend", "adt", "no_pid3", "injured"), 0)
    sequence = 0
    for order, number in enumerate(tested, 1):
        patient = patients[number]
        lab_index = patient.lab if random_() >= OTHER_LAB else int(random_() * len(LABS))
        lab = LABS[lab_index]
        collected = 360 + int(random_() * 480)  # 06:00 to 14:00
        minute = collected + 90 + int(random_() * 480)  # sent 1.5 to 9.5 hours later, the same day
        coll = ymd + _clock(collected)
        shape = patient.injury.shape(cycle_day) if patient.injury is not None else 0.0
        counts["injured"] += shape > 0.0
        values = _panel_values(rng, patient, shape)
        pid = patient.pid
        roll = random_()
        if roll < NO_PID3:
            pid = "PID|1||||" + pid.split("||", 2)[2]
            counts["no_pid3"] += 1
        if roll > 1.0 - ADT:
            msh_time = f"{ymd}{_clock(minute - 30)}00{lab.offset}"
            adt = [
                f"MSH|^~\\&|{lab.application}|{lab.facility}|HEPWATCH|HWCLINIC|{msh_time}||ADT^A08^ADT_A01|",
                f"|P|2.5.1\rEVN|A08|{msh_time}\r{pid}",
                "",
            ]
            sequence += 1
            sent[lab_index].append((minute - 30, sequence, adt))
            counts["adt"] += 1
        placer, filler = f"HW{stamp}{order:06d}", f"{lab.prefix}F{stamp}{order:06d}"
        versions = ["F"]
        status_roll = random_()
        if status_roll < PRELIMINARY:
            versions = ["P", "F"]
        elif status_roll < PRELIMINARY + CORRECTED:
            versions = ["F", "C"]
        for status in versions:
            if status == "C":
                values["ALT"] *= 0.85 + 0.3 * random_()
                values["AST"] *= 0.85 + 0.3 * random_()
                minute += 30 + int(random_() * 240)
                counts["corrected"] += 1
            elif status == "F" and versions[0] == "P":
                minute += 20 + int(random_() * 120)
            elif status == "P":
                counts["preliminary"] += 1
            minute = min(minute, 1439)
            msh_time = f"{ymd}{_clock(minute)}{int(random_() * 60):02d}{lab.offset}"
            segments = [
                f"|P|2.5.1\r{pid}",
                f"ORC|RE|{placer}|{filler}",
                f"OBR|1|{placer}|{filler}|24325-3^Hepatic function panel^LN|||{coll}|||||||||||||||"
                f"{ymd}{_clock(minute)}|||{status}",
                *_panel(lab_index, values, status, coll),
            ]
            if random_() < NTE:
                segments.insert(3 + int(random_() * 6), _NOTE)
            message = [
                f"MSH|^~\\&|{lab.application}|{lab.facility}|HEPWATCH|HWCLINIC|{msh_time}||ORU^R01^ORU_R01|",
                "\r".join(segments),
                "",
            ]
            sequence += 1
            sent[lab_index].append((minute, sequence, message))
            counts["oru"] += 1
            if random_() < RESEND:  # the same bytes again, later
                sequence += 1
                sent[lab_index].append((min(minute + 1 + int(random_() * 180), 1439), sequence, message))
                counts["resend"] += 1
    files = {}
    for lab_index, items in enumerate(sent):
        if not items:
            continue
        items.sort(key=lambda item: (item[0], item[1]))
        prefix = LABS[lab_index].prefix
        parts = []
        control = 0
        for _, _, message in items:
            if not message[2]:
                control += 1
                message[2] = f"{prefix}{stamp}{control:06d}"
            parts.append(message[0] + message[2] + message[1])
        parts.append("")
        files[lab_index] = "\r\n".join(parts).encode()
    return files, counts


# ---- dosing rows -----------------------------------------------------------------------------------------


def _spoil(rng: random.Random, fields: list[str]) -> str:
    """A bad row (contract section 3) made from a good one's fields."""
    kind = rng.randrange(5)
    if kind == 0:
        fields[rng.choice((1, 3, 5, 6, 7))] = ""  # missing_field
    elif kind == 1:
        fields[5] = rng.choice(("two", "3..5", "~4", "n/a"))  # bad_number
    elif kind == 2:
        fields[5] = rng.choice(("0", "-2", "0.0"))  # non_positive_dose
    elif kind == 3:
        fields[6] = rng.choice(("tabs", "mL", "scoops", "drops"))  # unsupported_unit
    else:
        fields[7] = rng.choice(("yesterday", fields[7][:4] + "-13-45", "31/02/2026"))  # bad_datetime
    return ",".join(fields)


def _dosing_day(
    seed: int,
    index: int,
    day: date,
    patients: list[Patient],
    dosing: list[int],
    corrections: list[str],
    pending: dict[int, list[str]],
    last: int,
) -> tuple[bytes, dict[str, int]]:
    """One day's dosing CSV; schedules corrections of some of its rows into later days' files."""
    rng = random.Random(f"{seed}-dosing-{index}")
    random_ = rng.random
    iso = day.isoformat()
    offset = datetime(day.year, day.month, day.day, 12, tzinfo=CLINIC_TZ).strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    rows = [DOSING_HEADER]
    counts = {"rows": 0, "bad": 0, "corrections": len(corrections)}
    serial = 0
    for number in dosing:
        patient = patients[number]
        new = []
        if patient.kratom_row and random_() < KRATOM_DAY:
            template = patient.kratom_row
            amounts = patient.kratom_amounts
            doses = 1 + int(random_() * 3)
            minute = 420 + int(random_() * 180)
            for _ in range(doses):
                taken = f"{iso}T{minute // 60:02d}:{minute % 60:02d}:00" if patient.kratom_time else iso
                new.append((template, amounts[int(random_() * len(amounts))], taken))
                minute += 240 + int(random_() * 120)
        if patient.moud_row and random_() < MOUD_DAY:
            minute = 420 + int(random_() * 240)
            taken = f"{iso}T{minute // 60:02d}:{minute % 60:02d}:00"
            if patient.moud_source == "dispensed" and random_() < 0.5:
                taken += offset
            new.append((patient.moud_row, "", taken))
        for template, amount, taken in new:
            serial += 1
            record_id = f"Y{index:03d}{serial:06d}"
            row = template.format(id=record_id, amount=amount, taken=taken)
            roll = random_()
            if roll < BAD_ROW:
                row = _spoil(rng, row[:-1].split(",")) + "\n"
                counts["bad"] += 1
            elif roll < BAD_ROW + ROW_CORRECTION:
                later = index + 1 + int(random_() * 7)
                if later <= last:
                    fields = row[:-1].split(",")
                    fields[5] = f"{float(fields[5]) * rng.choice((0.5, 0.75, 1.25, 1.5)):g}"
                    pending.setdefault(later, []).append(",".join(fields) + "\n")
            rows.append(row)
    counts["rows"] = len(rows) - 1
    rows.extend(corrections)
    return "".join(rows).encode(), counts


# ---- the directory ---------------------------------------------------------------------------------------


def year_dir(seed: int, patients: int, days: int, start: date) -> Path:
    return DATA_DIR / f"year-s{seed}-p{patients}-d{days}-{start.isoformat()}"


def _mtime(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, MTIME_HOUR, tzinfo=UTC).timestamp())


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def day_files(directory: Path, day: date | str) -> list[Path]:
    """The files of one day, relative to `directory`: its lab files (labs with panels that day) and dosing CSV."""
    name = _as_date(day).isoformat()
    labs = sorted(Path("labs", lab.name, f"{name}.hl7") for lab in (directory / "labs").iterdir())
    found = [path for path in labs if (directory / path).is_file()]
    dosing = Path("dosing", f"{name}.csv")
    return [*found, dosing] if (directory / dosing).is_file() else found


def generate(
    seed: int = DEFAULT_SEED,
    patients: int = 100_000,
    days: int = 365,
    start: date | str = DEFAULT_START,
    quiet: bool = False,
) -> Path:
    """The feeds directory of `patients` patients over `days + 1` days from `start`; written once, then reused."""
    start = _as_date(start)
    if not 1 <= days <= 999 or not 1 <= patients <= 5_000_000:
        raise ValueError("days must be 1 to 999 and patients 1 to 5,000,000")
    target = year_dir(seed, patients, days, start)
    if (target / "COMPLETE").is_file() and (target / "COMPLETE").read_text().startswith(
        f"version {VERSION}\n"
    ):
        return target
    started = time.perf_counter()
    say: Callable[[str], None] = (lambda _: None) if quiet else (lambda text: print(text, file=sys.stderr))
    partial = target.with_name(target.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    for lab in LABS:
        (partial / "labs" / lab.facility).mkdir(parents=True)
    (partial / "dosing").mkdir()

    rng = random.Random(seed)
    population = _population(rng, patients)
    tests: list[list[int]] = [[] for _ in range(CYCLE)]
    dosing: list[list[int]] = [[] for _ in range(CYCLE)]
    for number, patient in enumerate(population):
        for cycle_day in _test_days(rng, patient):
            tests[cycle_day].append(number)
        for cycle_day in range(patient.start, patient.start + patient.length):
            dosing[cycle_day % CYCLE].append(number)

    totals: dict[str, int] = {}
    messages_per_day, rows_per_day, bytes_total = [], [], 0
    pending: dict[int, list[str]] = {}
    for index in range(days + 1):
        day = start + timedelta(days=index)
        mtime = _mtime(day)
        files, counts = _lab_day(seed, index, day, population, tests[index % CYCLE])
        for lab_index, data in files.items():
            path = partial / "labs" / LABS[lab_index].facility / f"{day.isoformat()}.hl7"
            path.write_bytes(data)
            os.utime(path, (mtime, mtime))
            bytes_total += len(data)
        messages_per_day.append(sum(counts[k] for k in ("oru", "resend", "adt")))
        data, dose_counts = _dosing_day(
            seed, index, day, population, dosing[index % CYCLE], pending.pop(index, []), pending, days
        )
        path = partial / "dosing" / f"{day.isoformat()}.csv"
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))
        bytes_total += len(data)
        rows_per_day.append(dose_counts["rows"] + dose_counts["corrections"])
        for key, value in (*counts.items(), *dose_counts.items()):
            totals[key] = totals.get(key, 0) + value
        if (index + 1) % 30 == 0:
            say(
                f"  day {index + 1}/{days + 1}: {sum(messages_per_day)} messages, {sum(rows_per_day)} dosing rows, "
                f"{time.perf_counter() - started:.0f} s"
            )

    injured = [p for p in population if p.injury is not None]
    manifest = {
        "generator": "bench/generate_year.py",
        "version": VERSION,
        "arguments": {"seed": seed, "patients": patients, "days": days, "start": start.isoformat()},
        "first_day": start.isoformat(),
        "last_day": (start + timedelta(days=days)).isoformat(),
        "patients": patients,
        "groups": {name: sum(p.group == name for p in population) for name, _ in GROUPS},
        "home_labs": {lab.facility: sum(p.lab == i for p in population) for i, lab in enumerate(LABS)},
        "injured_patients": len(injured),
        "hys_law_patients": sum(p.injury.hys_law for p in injured if p.injury is not None),
        "messages": sum(messages_per_day),
        "oru_messages": totals["oru"],
        "preliminary_messages": totals["preliminary"],
        "corrected_messages": totals["corrected"],
        "resent_messages": totals["resend"],
        "adt_messages": totals["adt"],
        "messages_without_pid3": totals["no_pid3"],
        "injured_panels": totals["injured"],
        "dosing_rows": sum(rows_per_day),
        "bad_dosing_rows": totals["bad"],
        "dosing_corrections": totals["corrections"],
        "bytes": bytes_total,
        "messages_per_day": messages_per_day,
        "dosing_rows_per_day": rows_per_day,
    }
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (partial / "COMPLETE").write_text(f"version {VERSION}\nseed {seed}\npatients {patients}\ndays {days}\n")
    for path in (partial / "manifest.json", partial / "COMPLETE"):
        os.utime(path, (mtime, mtime))  # the last day's: same arguments, same bytes and times
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    say(
        f"generated {patients} patients, {days + 1} days: {manifest['messages']} messages, "
        f"{manifest['dosing_rows']} dosing rows, {bytes_total / 1e6:.0f} MB, "
        f"in {time.perf_counter() - started:.1f} s: {target}"
    )
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365, help="days of history; one more day is written")
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    print(generate(args.seed, args.patients, args.days, args.start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
