"""`make bench-e2e`: a year of a regional lab's feeds through `hepwatch run`, end to end.

    .venv/bin/python bench/run_e2e.py [--patients 100000] [--fractions 0.1,0.25,0.5,1]

The feeds (`hepwatch generate --dosing-files daily`, fixed seed, cached under bench/data/ by bench/feeds.py):
100,000 patients, one lab file per lab per day and one dosing file per day; about 1,070,000 ORU^R01 messages
and 4,000,000 dosing rows a year.
For each fraction f of the year (the first 365 f days, every patient), three runs of the `hepwatch` command,
each in its own process (with an in-memory Dagster instance, as `hepwatch run` without DAGSTER_HOME; or
`--instance persistent`, a SQLite instance in a DAGSTER_HOME of each fraction's own):

- full: `hepwatch run` into an empty warehouse;
- no change: the same command again, nothing new in the feeds;
- one new day: the files of the next day (about 2,900 messages and 11,000 dosing rows) added, run again.

Each prints wall time and peak RSS (summed over the process and its reader processes, sampled every 20 ms)
and how many days it built. The figures go to bench/results.json under "e2e", with how each grows from the
smallest fraction to the whole year.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from feeds import cached_feeds  # noqa: E402
from measure import python_speed, run_measured  # noqa: E402

from hepwatch.synthetic import day_files  # noqa: E402

DEFAULT_SEED = 20261124
DEFAULT_START = date(2025, 11, 1)

HEPWATCH = Path(sys.executable).parent / "hepwatch"
TARGETS = {
    "full": 60.0,
    "no_change": 2.0,
    "one_day": 5.0,
}  # seconds, the whole year: the targets hepwatch is held to
RSS_TARGET_MB = 2000.0
PHASES = ("start-up", "ingestion", "staging", "validation", "marts", "checks", "publish", "report", "dagster")


def _link_day(source: Path, feeds: Path, day) -> int:
    files = day_files(source, day)
    for relative in files:
        target = feeds / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(source / relative, target)  # same inode: same bytes and modification time
    return len(files)


def _run(feeds: Path, warehouse: Path, home: Path | None, label: str) -> dict[str, Any]:
    env = {**os.environ, "HEPWATCH_PSEUDONYM_KEY": "bench-e2e-public-key"}
    env.pop("DAGSTER_HOME", None)
    if home is not None:
        env["DAGSTER_HOME"] = str(home)
    measured = run_measured(
        [str(HEPWATCH), "run", "--feeds", str(feeds), "--warehouse", str(warehouse), "--timings"],
        PROJECT,
        env,
    )
    if measured.returncode != 0:
        raise SystemExit(
            f"bench-e2e: {label} failed (exit {measured.returncode}):\n{measured.stderr[-3000:]}"
        )
    summary = next((line for line in measured.stdout.splitlines() if line.startswith("hepwatch: ")), "")
    built = summary.split("), ")[1].split(" of them")[0] if "), " in summary else "0"
    timings = next((line for line in measured.stdout.splitlines() if line.startswith("timings: ")), "")
    phases: dict[str, float] = {}
    for part in timings.removeprefix("timings: ").split(", "):
        if part:
            name, seconds, _ = part.rsplit(" ", 2)
            phases[name] = float(seconds)
    return {
        "seconds": round(measured.seconds, 1),
        "peak_rss_mb": round(measured.peak_rss_bytes / 1e6, 1),
        "days_built": int(built) if built.isdigit() else None,
        "phases": phases,
        "summary": summary,
    }


def _figures(warehouse: Path) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as conn:
        rows = conn.execute(
            "SELECT (SELECT count(*) FROM marts.lab_results), (SELECT sum(messages) FROM marts.feed_files "
            "WHERE kind = 'labs'), (SELECT sum(messages) FROM marts.feed_files WHERE kind = 'dosing'), "
            "(SELECT count(*) FROM marts.abnormal_enzyme_cases_daily)"
        ).fetchall()[0]
    return dict(zip(["lab_results", "lab_messages", "dosing_rows", "case_days"], rows, strict=True))


def bench_fraction(source: Path, days: int, scratch: Path, persistent: bool) -> dict[str, Any]:
    feeds, warehouse = scratch / "feeds", scratch / "warehouse"
    home = scratch / "dagster_home" if persistent else None
    if home is not None:
        home.mkdir(parents=True)
    files = sum(_link_day(source, feeds, DEFAULT_START + timedelta(days=n)) for n in range(days))
    result: dict[str, Any] = {"days": days, "files": files}
    print(f"  {days} days ({files} files): full run ...", flush=True)
    result["full"] = _run(feeds, warehouse, home, "full run")
    result["data"] = _figures(warehouse)
    print(
        f"    {result['full']['seconds']} s, {result['full']['peak_rss_mb']} MB; no-change re-run ...",
        flush=True,
    )
    result["no_change"] = _run(feeds, warehouse, home, "no-change re-run")
    new_day = DEFAULT_START + timedelta(days=days)
    added = _link_day(source, feeds, new_day)
    print(f"    {result['no_change']['seconds']} s; one new day ({new_day}, {added} files) ...", flush=True)
    result["one_day"] = _run(feeds, warehouse, home, "one-day increment")
    print(f"    {result['one_day']['seconds']} s", flush=True)
    result["warehouse_mb"] = round(
        sum(p.stat().st_size for p in warehouse.rglob("*") if p.is_file()) / 1e6, 1
    )
    return result


HISTORY = {"seed": 4, "patients": 1, "days": 10950, "start": date(1996, 1, 1)}  # 177 messages, 30 years
HISTORY_TARGET = 10.0  # seconds: about 100 messages spread over 30 years, full run


def bench_history(scratch: Path) -> dict[str, Any]:
    """A sparse history: one patient's results and doses over 30 years (160 days with data), full run."""
    source = cached_feeds(**HISTORY, quiet=True)  # type: ignore[arg-type]
    result = _run(source, scratch / "warehouse", None, "30-year history run")
    result["data"] = _figures(scratch / "warehouse")
    return result


def growth(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's growth from the smallest fraction to the largest, against the growth of the data."""
    small, large = results[0], results[-1]
    data = large["days"] / small["days"]
    out: dict[str, Any] = {"data_x": round(data, 2)}
    for run in ("full", "no_change", "one_day"):
        for figure in ("seconds", "peak_rss_mb"):
            factor = large[run][figure] / small[run][figure] if small[run][figure] else None
            out[f"{run}_{figure}_x"] = round(factor, 2) if factor else None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--fractions", default="0.1,0.25,0.5,1")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results.json")
    parser.add_argument(
        "--instance",
        choices=("ephemeral", "persistent"),
        default="ephemeral",
        help="Dagster instance of the runs: in memory (hepwatch run without DAGSTER_HOME), or a SQLite one in a "
        "DAGSTER_HOME of each share's own (every planned and recorded partition event written to disk)",
    )
    args = parser.parse_args(argv)
    source = cached_feeds(  # one day more than the runs read: the new day
        seed=args.seed, patients=args.patients, days=args.days + 1, start=DEFAULT_START, dosing_files="daily"
    )
    fractions = sorted(float(f) for f in args.fractions.split(","))
    print("bench-e2e: 30 years of one patient's feeds (sparse history)", flush=True)
    with tempfile.TemporaryDirectory(prefix="hepwatch-e2e-", dir=BENCH_DIR / "data") as scratch:
        history = bench_history(Path(scratch))
    print(
        f"    {history['data']['lab_messages']} messages, {history['days_built']} days with data built in "
        f"{history['seconds']} s (target {HISTORY_TARGET} s)",
        flush=True,
    )
    results = []
    for fraction in fractions:
        days = max(1, round(args.days * fraction))
        print(f"bench-e2e: {fraction:.0%} of the year", flush=True)
        with tempfile.TemporaryDirectory(prefix="hepwatch-e2e-", dir=BENCH_DIR / "data") as scratch:
            results.append(
                {
                    "fraction": fraction,
                    **bench_fraction(source, days, Path(scratch), args.instance == "persistent"),
                }
            )
    report = {
        "machine": {
            "python_loop_seconds": python_speed(),  # 20M additions: compares machines
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "feeds": {"patients": args.patients, "days": args.days, "seed": args.seed, "source": str(source)},
        "instance": args.instance,
        "targets": {**{f"{k}_seconds": v for k, v in TARGETS.items()}, "full_peak_rss_mb": RSS_TARGET_MB},
        "runs": results,
        "history": {**history, "target_seconds": HISTORY_TARGET},
        "growth": growth(results) if len(results) > 1 else {},
    }
    print()
    print(f"machine: {os.cpu_count()} cpus, 20M-addition Python loop {report['machine']['python_loop_seconds']} s "
          "(the README's figures say which machine they were measured on)")  # fmt: skip
    print(f"{'share':>6} {'days':>5} {'lab msgs':>9} {'dosing':>9} | {'full s':>7} {'MB':>6} | "
          f"{'no-change s':>11} {'MB':>6} | {'+1 day s':>8} {'MB':>6} {'built':>5}")  # fmt: skip
    for r in results:
        print(
            f"{r['fraction']:>6.0%} {r['days']:>5} {r['data']['lab_messages']:>9} {r['data']['dosing_rows']:>9} | "
            f"{r['full']['seconds']:>7} {r['full']['peak_rss_mb']:>6.0f} | {r['no_change']['seconds']:>11} "
            f"{r['no_change']['peak_rss_mb']:>6.0f} | {r['one_day']['seconds']:>8} {r['one_day']['peak_rss_mb']:>6.0f} "
            f"{r['one_day']['days_built']:>5}"
        )
    if report["growth"]:
        print("growth from the smallest share to the whole:", json.dumps(report["growth"]))
    print()
    print("where the time goes (seconds, hepwatch run --timings):")
    print(f"{'share':>6} {'run':>9} | " + " ".join(f"{p:>10}" for p in PHASES))
    for r in results:
        for run in ("full", "no_change", "one_day"):
            phases = r[run]["phases"]
            print(
                f"{r['fraction']:>6.0%} {run:>9} | "
                + " ".join(f"{phases.get(p, 0.0):>10.2f}" for p in PHASES)
            )
    whole = results[-1]
    misses = [
        f"{run} {whole[run]['seconds']} s > {limit} s"
        for run, limit in TARGETS.items()
        if whole[run]["seconds"] > limit
    ]
    if history["seconds"] > HISTORY_TARGET:
        misses.append(f"30-year history {history['seconds']} s > {HISTORY_TARGET} s")
    if whole["full"]["peak_rss_mb"] > RSS_TARGET_MB:
        misses.append(f"full run peak RSS {whole['full']['peak_rss_mb']} MB > {RSS_TARGET_MB} MB")
    print("targets: " + ("all met" if not misses else "missed: " + "; ".join(misses)))
    existing = json.loads(args.out.read_text()) if args.out.exists() else {}
    existing["e2e"] = report
    args.out.write_text(json.dumps(existing, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
