"""`make bench`: hepwatch lab ingestion against python-hl7, hl7apy and a plain read, then issue 15's targets.

    .venv/bin/python bench/run_bench.py [--messages 1000000] [--files 200] [--profile 50000]
        [--python-hl7-sample 50000] [--e2e-messages 200000] [--generate-patients 100000]

Part one, ingestion: one generated feed (`hepwatch generate`: a year of about messages / 10.7 patients, one
file per lab; fixed seed, cached under bench/data/ by bench/feeds.py), four measurements, each in its own
child process so that one's memory never counts in another's:

- plain read: the files' bytes, read in 16 MB blocks (the floor: nothing is faster than reading the files);
- python-hl7: `hl7.parse` of `--python-hl7-sample` messages, an equal share from each file (0: every
  message; the messages are cut apart outside the timing);
- hl7apy: `parse_message` (tolerant validation) of the first `--hl7apy-sample` messages, scaled;
- hepwatch: `ingest_lab_files` into a scratch warehouse, end to end: hashing, reading, validating,
  converting, duplicates, pseudonyms, every DuckDB insert and commit, closing the database.

Part two, issue 15's targets (each command in its own process, timed by bench/measure.py):

- `hepwatch run` end to end (a fresh warehouse, an in-memory Dagster instance) on 90 days of the generated
  feed with about `--e2e-messages` messages in 20 lab files (4 labs, a file every 18 sending days) and the
  monthly dosing files; the generator makes about 4.06 messages per patient in 90 days, so 200,000 messages
  take some 49,000 patients (the issue's 20,000 patients would make about 81,000); hl7apy's `parse_message`
  on the first `--hl7apy-sample` messages of that same feed, in the same invocation, for the ratio;
- `hepwatch generate --patients 100000 --days 365` (the command's defaults otherwise) into a scratch
  directory, deleted afterwards.

A targets table ends the output. `--skip-ingestion`, `--skip-e2e` and `--skip-generate` leave a part out.

Peak RSS is the largest sum, over the child and all its descendants (hepwatch's reader processes), of
their resident memory, sampled every 20 ms; `max_single_rss_mb` is the largest one process reached (rusage).
`--files N` also ingests the same messages in about N files (memory must not grow with the number of
files). `--profile M` profiles (cProfile) ingestion of M messages read in one process and prints where the
time goes. Figures go to bench/results.json (the targets under "targets"; bench/run_e2e.py's "e2e" kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(PROJECT))

from feeds import cached_feeds  # noqa: E402
from measure import Measured, python_speed, run_measured  # noqa: E402

from hepwatch.hl7.framing import decode_feed_bytes, split_blocks  # noqa: E402

BLOCK = 16 << 20
DEFAULT_SEED = 20260501
FEED_START, FEED_DAYS, LABS = date(2025, 1, 1), 365, 4
MESSAGES_PER_PATIENT = 10.7  # in a year of `hepwatch generate`


def generate(seed: int, messages: int, files: int = 0) -> Path:
    """A year of the generated feed with about `messages` messages: one file per lab, or about `files` files."""
    lab_file_days = FEED_DAYS if not files else max(1, round(FEED_DAYS * LABS / files))
    patients = max(1, round(messages / MESSAGES_PER_PATIENT))
    return cached_feeds(
        seed=seed, patients=patients, days=FEED_DAYS, start=FEED_START, lab_file_days=lab_file_days
    )


def _feed_messages(feeds: Path) -> int:
    return int(json.loads((feeds / "manifest.json").read_text())["messages"]["total"])


def _feed_file(feeds: Path) -> list[Path]:
    return sorted((feeds / "labs").rglob("*.hl7"))


def _pieces(path: Path) -> Iterator[bytes]:
    """The file in pieces of about BLOCK bytes, each cut just before a message starts (an MSH at the start
    of a line, after the MLLP start byte if any), so that every piece reads as it would in the whole file."""
    rest = b""
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            data = rest + block
            cut = max(data.rfind(b"\x0bMSH|"), data.rfind(b"\rMSH|") + 1, data.rfind(b"\nMSH|") + 1)
            if cut <= 0:
                rest = data
                continue
            yield data[:cut]
            rest = data[cut:]
    if rest.strip():
        yield rest


def _messages(path: Path, limit: int = 0) -> Iterator[str]:
    """The file's messages as text, in order, framing removed (segments end in CR)."""
    count = 0
    for piece in _pieces(path):
        for block in split_blocks(decode_feed_bytes(piece)):
            if block.is_message:
                yield block.text
                count += 1
                if count == limit:
                    return


# ---- the measurements (each runs in a child: `run_bench.py --child NAME ...`) --------------------------


def child_plain_read(feeds: Path, _: argparse.Namespace) -> dict[str, Any]:
    buffer = bytearray(BLOCK)
    view = memoryview(buffer)
    total = 0
    started = time.perf_counter()
    for path in _feed_file(feeds):
        with path.open("rb", buffering=0) as handle:
            while read := handle.readinto(view):
                total += read
    return {"seconds": time.perf_counter() - started, "bytes": total}


def child_python_hl7(feeds: Path, args: argparse.Namespace) -> dict[str, Any]:
    import hl7

    parse = hl7.parse
    parsed = 0
    seconds = 0.0
    batch: list[str] = []
    files = _feed_file(feeds)
    # a sample: an equal share from each file (each lab's habits), `--python-hl7-sample` in all; 0: all
    limit = -(-args.python_hl7_sample // len(files)) if args.python_hl7_sample else 0

    def run(batch: list[str]) -> float:
        started = time.perf_counter()
        for message in batch:
            parse(message)
        return time.perf_counter() - started

    for path in files:
        for message in _messages(path, limit):
            batch.append(message)
            if len(batch) == 10_000:
                seconds += run(batch)
                parsed += len(batch)
                batch = []
    seconds += run(batch)
    parsed += len(batch)
    return {"seconds": seconds, "messages": parsed}


def child_hl7apy(feeds: Path, args: argparse.Namespace) -> dict[str, Any]:
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.parser import parse_message

    sample = list(_messages(_feed_file(feeds)[0], args.hl7apy_sample))
    started = time.perf_counter()
    for message in sample:
        parse_message(message, validation_level=VALIDATION_LEVEL.TOLERANT)
    return {"seconds": time.perf_counter() - started, "messages": len(sample)}


def child_hepwatch(feeds: Path, args: argparse.Namespace) -> dict[str, Any]:
    from hepwatch.ingest.labs import ingest_lab_files
    from hepwatch.pseudonym import Pseudonymizer
    from hepwatch.warehouse import connect

    scratch = Path(tempfile.mkdtemp(prefix="warehouse-", dir=BENCH_DIR / "data"))
    try:
        started = time.perf_counter()
        with connect(scratch) as conn:
            summary = ingest_lab_files(
                conn, feeds, Pseudonymizer(b"bench-key-not-secret"), workers=args.workers
            )
            ingested = time.perf_counter()
        closed = time.perf_counter()
        size = sum(p.stat().st_size for p in scratch.iterdir() if p.is_file())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "seconds": closed - started,
        "ingest_seconds": ingested - started,
        "close_seconds": closed - ingested,
        "files": summary.files,
        "messages": summary.outcomes.total(),
        "outcomes": dict(summary.outcomes),
        "observations": summary.observations,
        "warehouse_mb": round(size / 1e6, 1),
    }


CHILDREN = {
    "plain_read": child_plain_read,
    "python_hl7": child_python_hl7,
    "hl7apy": child_hl7apy,
    "hepwatch": child_hepwatch,
}


def measure(name: str, feeds: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run one measurement in a child process; sample the memory of the child and its descendants."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--feeds", str(feeds)]
    for option in ("workers", "hl7apy_sample", "python_hl7_sample"):
        value = getattr(args, option)
        if value is not None:
            command += [f"--{option.replace('_', '-')}", str(value)]
    measured = run_measured(command, PROJECT)
    if measured.returncode != 0:
        raise SystemExit(f"bench: {name} failed (exit {measured.returncode}): {measured.stderr[-2000:]}")
    out = measured.stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(measured.peak_rss_bytes / 1e6, 1)
    # ru_maxrss of children is cumulative (the largest any waited-for descendant reached so far)
    result["max_single_rss_mb_so_far"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e3, 1
    )
    return result


# ---- the profile --------------------------------------------------------------------------------------

_STAGES = (  # (stage, substrings of "file:function"), first match wins
    ("duckdb insert/commit", ("frame_insert.py:insert_frame", "_write_file_version", "duckdb")),
    ("observation key (sha1)", ("openssl_sha1", "digest", "hexdigest")),
    (
        "framing (segments, blocks)",
        ("split_segments", "_segment_lines", "lab_columns.py:blocks", "framing.py"),
    ),
    (
        "value parsing (timestamps, numbers, ranges)",
        ("values.py", "timestamps.py", "read_timestamp", "_describe", "read_value", "read_description"),
    ),
    ("reader loop (piece_builder.add_blocks)", ("add_blocks", "observation_groups", "header_outcome")),
    ("field splitting (components, escapes)", ("oru.py", "fields.py", "encoding.py", "split")),
    ("frame building (polars)", ("/polars/", "_polars", "_frame", "observations", "pyarrow", "numpy")),
    ("hashing the file (sha256)", ("sha256", "feed_files.py:scan_file")),
    ("duplicates, pseudonyms", ("duplicates", "patient_key", "hmac", "_land_piece")),
)


def profile(feeds: Path, top: int = 25) -> dict[str, Any]:
    """cProfile of ingestion in one process: own time per function, grouped into stages."""
    import cProfile
    import pstats

    from hepwatch.ingest.labs import ingest_lab_files
    from hepwatch.pseudonym import Pseudonymizer
    from hepwatch.warehouse import connect

    scratch = Path(tempfile.mkdtemp(prefix="warehouse-", dir=BENCH_DIR / "data"))
    profiler = cProfile.Profile()
    try:
        with connect(scratch) as conn:
            profiler.enable()
            ingest_lab_files(conn, feeds, Pseudonymizer(b"bench-key-not-secret"), workers=0)
            profiler.disable()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    stats = pstats.Stats(profiler)
    rows = []
    stages: dict[str, float] = {}
    for (file, _, function), (_, calls, own, _cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((own, calls, f"{Path(file).name}:{function}"))
        where = f"{file}:{function}"
        stage = next((s for s, keys in _STAGES if any(k in where for k in keys)), "other")
        stages[stage] = stages.get(stage, 0.0) + own
    total = sum(r[0] for r in rows)
    rows.sort(reverse=True)
    print(f"\nprofile (cProfile, one process, own time; total {total:.1f} s with profiling overhead)")
    for stage, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:45s} {seconds:7.2f} s  {100 * seconds / total:5.1f} %")
    print("  top functions:")
    for own, calls, where in rows[:top]:
        print(f"    {own:7.2f} s {calls:>10} calls  {where}")
    return {
        "total_seconds": round(total, 2),
        "stages": {k: round(v, 2) for k, v in stages.items()},
        "top": [{"function": w, "own_seconds": round(o, 3), "calls": c} for o, c, w in rows[:top]],
    }


def identity(feeds: Path) -> dict[str, Any]:
    """The fast columnar reader against the reader itself (`read_lab_bytes`) on the whole feed, in pieces of
    about 16 MB (tests/test_lab_columns.py compares smaller feeds in `make test`)."""
    from hepwatch.ingest.lab_columns import LabColumnsReader
    from tests.reference_lab_ingest import differences

    reader = LabColumnsReader()
    compared = 0
    started = time.perf_counter()
    for path in _feed_file(feeds):
        for piece in _pieces(path):  # about 16 MB (some 10,000 messages) at a time, framing as in the file
            found = differences(piece, reader)
            if found:
                raise SystemExit(f"bench: identity: {found} in {path.name} after message {compared}")
            compared += piece.count(b"MSH|")
            print(f"bench: identity: {compared:,} messages identical", file=sys.stderr, flush=True)
    return {"messages": compared, "seconds": round(time.perf_counter() - started, 1)}


# ---- issue 15's targets: `hepwatch run` end to end, `hepwatch generate` -----------------------------

HEPWATCH = Path(sys.executable).parent / "hepwatch"
# 90 days of the generator, 4 labs with a file every 18 sending days (20 lab files), monthly dosing files;
# about 4.06 messages per patient in 90 days (4,000 patients made 16,246): 200,000 messages, ~49,000 patients
E2E_START, E2E_DAYS, E2E_LAB_FILE_DAYS = date(2025, 1, 1), 90, 18
E2E_MESSAGES_PER_PATIENT = 4.06
ISSUE_E2E_MESSAGES, ISSUE_GENERATE = 200_000, (100_000, 365)  # the issue's scale
TARGETS = {  # issue 15
    "run_messages_per_second": 20_000,
    "run_over_hl7apy": 250,
    "run_peak_rss_mb": 2_000,
    "generate_seconds": 60,
    "generate_peak_rss_mb": 1_000,
}


def e2e_feed(seed: int, messages: int) -> Path:
    """90 days of the generated feed with about `messages` messages in 20 lab files (cached)."""
    patients = max(1, round(messages / E2E_MESSAGES_PER_PATIENT))
    return cached_feeds(
        seed=seed, patients=patients, days=E2E_DAYS, start=E2E_START, lab_file_days=E2E_LAB_FILE_DAYS
    )


def _hepwatch(arguments: list[str], label: str) -> Measured:
    """`hepwatch ARGUMENTS` in its own process (a public pseudonym key, no DAGSTER_HOME: an in-memory
    Dagster instance, as bench/run_e2e.py runs it): bench/measure.py's wall time and peak RSS."""
    env = {**os.environ, "HEPWATCH_PSEUDONYM_KEY": "bench-public-key"}
    env.pop("DAGSTER_HOME", None)
    measured = run_measured([str(HEPWATCH), *arguments], PROJECT, env)
    if measured.returncode != 0:
        raise SystemExit(f"bench: {label} failed (exit {measured.returncode}):\n{measured.stderr[-3000:]}")
    return measured


def _feed_summary(feeds: Path) -> dict[str, Any]:
    manifest = json.loads((feeds / "manifest.json").read_text())
    return {
        "messages": manifest["messages"]["total"],
        "oru_r01": manifest["messages"]["by_type"].get("ORU^R01", 0),
        "lab_files": manifest["files"]["labs"],
        "dosing_files": manifest["files"]["dosing"],
        "dosing_rows": manifest["dosing"]["rows"],
        "patients": manifest["arguments"]["patients"],
        "days": manifest["arguments"]["days"],
        "start": manifest["arguments"]["start"],
        "seed": manifest["arguments"]["seed"],
        "lab_file_days": manifest["layout"]["lab_file_days"],
        "bytes": sum(p.stat().st_size for p in feeds.rglob("*") if p.is_file()),
    }


def bench_run(args: argparse.Namespace) -> dict[str, Any]:
    """`hepwatch run` on the issue's scenario into a fresh warehouse; hl7apy on the same feed's messages."""
    feeds = e2e_feed(args.seed, args.e2e_messages)
    feed = {**_feed_summary(feeds), "path": str(feeds.relative_to(PROJECT))}
    child_plain_read(feeds, args)  # warm the page cache, as for the ingestion measurements
    print(f"bench: hepwatch run on {feed['messages']:,} messages ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="warehouse-", dir=BENCH_DIR / "data") as scratch:
        command = ["run", "--feeds", str(feeds), "--warehouse", str(Path(scratch) / "warehouse"), "--timings"]
        measured = _hepwatch(command, "hepwatch run")
    lines = measured.stdout.splitlines()
    timings = next((line for line in lines if line.startswith("timings: ")), "")
    phases = {}
    for part in timings.removeprefix("timings: ").split(", "):
        if part:
            name, seconds, _ = part.rsplit(" ", 2)
            phases[name] = float(seconds)
    print("bench: hl7apy on the same feed ...", file=sys.stderr, flush=True)
    hl7apy = measure("hl7apy", feeds, args)
    hl7apy_rate = hl7apy["messages"] / hl7apy["seconds"]
    hl7apy["messages_per_second"] = round(hl7apy_rate)
    rate = feed["messages"] / measured.seconds  # every message of the feed (ORU^R01 and the few others)
    return {
        "feed": feed,
        "seconds": round(measured.seconds, 2),
        "messages_per_second": round(rate),
        "peak_rss_mb": round(measured.peak_rss_bytes / 1e6, 1),
        "phases": phases,
        "summary": next((line for line in lines if line.startswith("hepwatch: ")), ""),
        "hl7apy": hl7apy,
        "over_hl7apy": round(rate / hl7apy_rate, 1),
    }


def bench_generate(args: argparse.Namespace) -> dict[str, Any]:
    """`hepwatch generate --patients P --days D` (its defaults otherwise) into a scratch directory."""
    patients, days = args.generate_patients, args.generate_days
    print(f"bench: hepwatch generate --patients {patients} --days {days} ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="generate-", dir=BENCH_DIR / "data") as scratch:
        out = Path(scratch) / "feeds"
        command = ["generate", "--patients", str(patients), "--days", str(days), "--out", str(out)]
        measured = _hepwatch(command, "hepwatch generate")
        feed = _feed_summary(out)
    return {
        "feed": feed,
        "seconds": round(measured.seconds, 2),
        "peak_rss_mb": round(measured.peak_rss_bytes / 1e6, 1),
    }


def targets_table(run: dict[str, Any] | None, gen: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Issue 15's rows, each with its figure as measured, its target and whether it is met."""
    rows = []

    def row(figure: str, value: float, shown: str, target: float, least: bool, unit: str) -> None:
        met = value >= target if least else value < target
        bound = f"{'>=' if least else '<'} {target:,}{unit}"
        rows.append({"figure": figure, "measured": value, "shown": shown, "target": bound, "met": met})

    if run is not None:
        f = run["feed"]
        row(f"hepwatch run, {f['messages'] / 1000:,.0f}k msgs end to end", run["messages_per_second"],
            f"{run['messages_per_second']:,} msg/s", TARGETS["run_messages_per_second"], True, "")  # fmt: skip
        row("  vs hl7apy parse_message (same run)", run["over_hl7apy"], f"{run['over_hl7apy']:,.0f} x",
            TARGETS["run_over_hl7apy"], True, " x")  # fmt: skip
        row("  peak RSS", run["peak_rss_mb"], f"{run['peak_rss_mb']:,.0f} MB", TARGETS["run_peak_rss_mb"],
            False, " MB")  # fmt: skip
    if gen is not None:
        f = gen["feed"]
        row(f"hepwatch generate {f['patients'] / 1000:g}k patients x {f['days']} days", gen["seconds"],
            f"{gen['seconds']:.1f} s", TARGETS["generate_seconds"], False, " s")  # fmt: skip
        row("  peak RSS", gen["peak_rss_mb"], f"{gen['peak_rss_mb']:,.0f} MB",
            TARGETS["generate_peak_rss_mb"], False, " MB")  # fmt: skip
    return rows


def print_targets(targets: dict[str, Any], args: argparse.Namespace) -> None:
    run, gen = targets.get("run"), targets.get("generate")
    if run is not None:
        f, h = run["feed"], run["hl7apy"]
        print(
            f"\nhepwatch run feed: {f['messages']:,} messages ({f['oru_r01']:,} ORU^R01) in {f['lab_files']} lab "
            f"files, {f['dosing_rows']:,} dosing rows in {f['dosing_files']} files; {f['patients']:,} patients, "
            f"{f['days']} days from {f['start']} ({f['path']})"
        )
        print(f"  {run['seconds']:.1f} s, {run['summary']}")
        print(f"  hl7apy parse_message: {h['messages']:,} messages of it, {h['messages_per_second']:,} msg/s")
    if gen is not None:
        f = gen["feed"]
        print(
            f"hepwatch generate: {f['messages']:,} messages in {f['lab_files']} lab files, "
            f"{f['dosing_rows']:,} dosing rows, {f['bytes'] / 1e6:,.0f} MB (deleted)"
        )
    print("\nissue 15 targets (make bench):")
    print(f"{'figure':46s} {'measured':15s} {'target':15s} met")
    for r in targets["table"]:
        print(f"{r['figure']:46s} {r['shown']:15s} {r['target']:15s} {'yes' if r['met'] else 'NO'}")
    scale = []
    if run is not None and args.e2e_messages != ISSUE_E2E_MESSAGES:
        scale.append(f"--e2e-messages {args.e2e_messages}")
    if gen is not None and (args.generate_patients, args.generate_days) != ISSUE_GENERATE:
        scale.append(f"--generate-patients {args.generate_patients} --generate-days {args.generate_days}")
    if scale:
        print(f"note: not the issue's scale ({', '.join(scale)}): the targets are for the issue's figures")
    missed = [r["figure"].strip() for r in targets["table"] if not r["met"]]
    print("targets: " + ("all met" if not missed else "missed: " + "; ".join(missed)))


# ---- the run ------------------------------------------------------------------------------------------


def bench_ingestion(args: argparse.Namespace) -> dict[str, Any]:
    """Part one: plain read, hepwatch ingestion, python-hl7 and hl7apy on the `--messages` feed; printed."""
    feeds = generate(args.seed, args.messages)
    size = sum(path.stat().st_size for path in _feed_file(feeds))
    count = _feed_messages(feeds)
    results: dict[str, Any] = {
        "feed": {
            "messages": count,
            "seed": args.seed,
            "bytes": size,
            "files": len(_feed_file(feeds)),
            "path": str(feeds.relative_to(PROJECT)),
        },
    }
    child_plain_read(feeds, args)  # warm the page cache: every measurement reads from memory
    for name in ("plain_read", "hepwatch", "python_hl7", "hl7apy"):
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        results[name] = measure(name, feeds, args)
    if args.files:
        split = generate(args.seed, args.messages, args.files)
        print(f"bench: hepwatch on {args.files} files ...", file=sys.stderr, flush=True)
        results[f"hepwatch_{args.files}_files"] = measure("hepwatch", split, args)

    rate = {}
    for name in ("plain_read", "hepwatch", "python_hl7", "hl7apy"):
        r = results[name]
        messages = r.get("messages", count)
        seconds = r["seconds"]
        rate[name] = messages / seconds
        r["messages_per_second"] = round(rate[name])
        r["mb_per_second"] = round(size / 1e6 / seconds * messages / count, 1)
    hep = rate["hepwatch"]
    results["ratios"] = {
        "hepwatch_over_python_hl7": round(hep / rate["python_hl7"], 1),
        "hepwatch_over_hl7apy": round(hep / rate["hl7apy"], 1),
        "hepwatch_time_over_plain_read_time": round(rate["plain_read"] / hep, 1),
    }
    if args.profile:
        sample = generate(args.seed, args.profile)
        results["profile"] = profile(sample)

    print(
        f"\nfeed: {count} messages, {size / 1e6:.1f} MB ({feeds.relative_to(PROJECT)}), {os.cpu_count()} cores"
    )
    print(
        f"{'':24s} {'messages/s':>12s} {'MB/s':>9s} {'seconds':>9s} {'peak RSS MB':>12s} {'hepwatch is':>14s}"
    )
    python_hl7 = results["python_hl7"]["messages"]
    labels = {"plain_read": "plain read", "hepwatch": "hepwatch ingestion",
              "python_hl7": "python-hl7 parse" + (f" ({python_hl7})" if python_hl7 < count else ""),
              "hl7apy": f"hl7apy parse ({results['hl7apy']['messages']})"}  # fmt: skip
    for name, label in labels.items():
        r = results[name]
        speed = "" if name == "hepwatch" else f"{hep / rate[name]:.2f} x"
        print(
            f"{label:24s} {r['messages_per_second']:>12,} {r['mb_per_second']:>9.1f} {r['seconds']:>9.2f} "
            f"{r['peak_rss_mb']:>12.0f} {speed:>14s}"
        )
    h = results["hepwatch"]
    print(f"hepwatch: {h['outcomes']}, {h['observations']} observations, warehouse {h['warehouse_mb']} MB")
    for key, value in results.items():
        if key.startswith("hepwatch_") and key.endswith("_files"):
            print(f"{key}: {value['seconds']:.2f} s, {value['messages'] / value['seconds']:,.0f} messages/s, "
                  f"peak RSS {value['peak_rss_mb']:.0f} MB (one file: {h['peak_rss_mb']:.0f} MB)")  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--files", type=int, default=0, help="also ingest the feed split into N files")
    parser.add_argument(
        "--workers", type=int, default=None, help="hepwatch reader processes (default: cores)"
    )
    parser.add_argument("--hl7apy-sample", type=int, default=2000)
    parser.add_argument("--python-hl7-sample", type=int, default=50_000, help="0: every message")
    parser.add_argument("--profile", type=int, default=0, help="profile ingestion of this many messages")
    parser.add_argument("--profile-only", action="store_true", help="only the profile (with --profile M)")
    parser.add_argument(
        "--identity", action="store_true", help="only compare the fast reader with the reader"
    )
    parser.add_argument("--skip-ingestion", action="store_true", help="leave out part one (--messages)")
    parser.add_argument(
        "--e2e-messages",
        type=int,
        default=ISSUE_E2E_MESSAGES,
        help="about this many messages in 90 days for `hepwatch run` (issue 15: 200,000)",
    )
    parser.add_argument("--skip-e2e", action="store_true", help="leave out the `hepwatch run` row")
    parser.add_argument("--generate-patients", type=int, default=ISSUE_GENERATE[0])
    parser.add_argument("--generate-days", type=int, default=ISSUE_GENERATE[1])
    parser.add_argument("--skip-generate", action="store_true", help="leave out the `hepwatch generate` row")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results.json")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--feeds", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.feeds, args)))
        return 0

    if args.identity:
        print(json.dumps(identity(generate(args.seed, args.messages))))
        return 0
    if args.profile_only:
        profile(generate(args.seed, args.profile or 50_000))
        return 0
    (BENCH_DIR / "data").mkdir(exist_ok=True)
    load_before = os.getloadavg()
    machine = {
        "python_loop_seconds": python_speed(),  # 20M additions: compares machines (bench/measure.py)
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_before": [round(x, 2) for x in load_before],
    }
    results: dict[str, Any] = {} if args.skip_ingestion else bench_ingestion(args)
    results["machine"] = machine
    targets: dict[str, Any] = {}
    if not args.skip_e2e:
        targets["run"] = bench_run(args)
    if not args.skip_generate:
        targets["generate"] = bench_generate(args)
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if targets:
        targets["table"] = targets_table(targets.get("run"), targets.get("generate"))
        targets["targets"] = TARGETS
        targets["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        targets["machine"] = machine
        results["targets"] = targets
        print_targets(targets, args)
    print(f"machine: {machine['cpus']} cpus, 20M-addition Python loop {machine['python_loop_seconds']} s")
    print(f"load average before {load_before[0]:.2f}, after {machine['load_average_after'][0]:.2f}")
    # keep the figures other benchmarks wrote there (bench/run_e2e.py's `e2e`, ...)
    existing = json.loads(args.out.read_text()) if args.out.exists() else {}
    # (and, when the ingestion part was left out, the ingestion figures and their machine as they were)
    kept = {
        key: value
        for key, value in existing.items()
        if key.startswith("e2e") or (args.skip_ingestion and key != "targets")
    }
    args.out.write_text(json.dumps({**results, **kept}, indent=2) + "\n")
    print(f"figures: {args.out.relative_to(PROJECT) if args.out.is_relative_to(PROJECT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
