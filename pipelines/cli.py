"""The `hepwatch` command (contract section 1).

`hepwatch run` brings every asset up to date for every day present in the feeds, through Dagster, with the
same definitions the UI runs: the `ingest_feeds` job, then `build_days` over each range of the plan
(hepwatch.pending: the days whose data changed, every day on the first run, or with --full), the same plan
the sensor and the schedules follow.
`hepwatch generate` writes a synthetic feed directory.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import sys
import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from hepwatch.settings import default_feeds_dir, default_warehouse_dir

PROCESS_STARTED = time.monotonic()  # this module is imported first: the command's start, near enough

_GROUP_PHASE = {"ingest": "ingestion", "staging": "staging", "marts": "marts", "published": "publish",
                "reports": "report"}  # fmt: skip


def phase_seconds(results: Sequence, walls: Sequence[float], first_run_at: float) -> dict[str, float]:
    """Seconds by phase over a command's runs (assets.timing): start-up (until the first run), each step's
    time by the group of the asset it builds, less the validation and checks it reports inside it, check
    steps as checks; `dagster` is the rest of the runs' wall time (planning, events, step overhead)."""
    from assets.timing import PHASES, PREFIX

    phases = dict.fromkeys(("start-up", *PHASES, "dagster"), 0.0)
    phases["start-up"] = first_run_at - PROCESS_STARTED
    for result, wall in zip(results, walls, strict=True):
        step_phase: dict[str, str] = {}
        inner: dict[str, dict[str, float]] = {}
        for event in result.all_events:
            if event.event_type_value == "ASSET_MATERIALIZATION" and event.step_key not in inner:
                step_phase[event.step_key] = _GROUP_PHASE.get(event.asset_key.path[0], "marts")
                metadata = event.event_specific_data.materialization.metadata
                inner[event.step_key] = {
                    key.removeprefix(PREFIX): float(value.value)
                    for key, value in metadata.items()
                    if key.startswith(PREFIX) and key.removeprefix(PREFIX) in ("validation", "checks")
                }
        steps = 0.0
        for event in result.all_events:
            if event.event_type_value == "STEP_SUCCESS":
                seconds = event.event_specific_data.duration_ms / 1000
                steps += seconds
                within = inner.get(event.step_key, {})
                for phase, part in within.items():
                    phases[phase] += part
                phases[step_phase.get(event.step_key, "checks")] += seconds - sum(within.values())
        phases["dagster"] += max(0.0, wall - steps)
    return {phase: round(seconds, 2) for phase, seconds in phases.items()}


class RunFailed(Exception):
    """A run that did not succeed; the message is the one-line reason printed to the user."""


class Terminated(BaseException):
    """SIGTERM, handled like Ctrl-C (exit 130): one line, and what was kept."""


_INTERRUPTED: list[int] = []  # the signals received: DuckDB turns one that lands mid-query into its own error


def _terminate(signum: int, frame: object) -> None:
    _INTERRUPTED.append(signum)
    raise Terminated()


def _interrupted(error: BaseException) -> bool:
    """A signal that landed while DuckDB ran a query: DuckDB raises "Query interrupted" instead."""
    return bool(_INTERRUPTED) or "Query interrupted" in str(error)


_LOCK = re.compile(r'lock on file "([^"]+)": Conflicting lock is held in (\S+) \(PID (\d+)\)')
_KEPT = "the published analytics.duckdb is as the last complete run left it, and the next run continues"


def _mount_point(path: Path) -> Path:
    path = path.resolve()
    while not path.exists():
        path = path.parent
    while path.parent != path and os.stat(path.parent).st_dev == os.stat(path).st_dev:
        path = path.parent
    return path


def known_cause(text: str, warehouse: Path) -> str | None:
    """A failure whose cause is known, said in one line with what to do; None for any other."""
    held = _LOCK.search(text)
    if held:
        file, program, pid = held.groups()
        return (
            f"{Path(file).name} is held by another process (PID {pid}, {Path(program).name}): another "
            "hepwatch run, or a program reading it; wait for it to end, or stop it, and run again"
        )
    if "No space left on device" in text or "no space left on device" in text.lower():
        return (
            f"no space left on the file system of {warehouse} (mounted at {_mount_point(warehouse)}): free "
            f"some space and run again; {_KEPT}"
        )
    return None


def _instance():
    import dagster as dg

    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def _failure_reason(result) -> str:
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.blocking:
                key = evaluation.asset_key.to_user_string()
                return f"blocking check {evaluation.check_name} failed on {key}; see its metadata in the UI"
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            chain = []
            while error is not None:
                chain.append(error.message or "")
                error = error.cause or error.context
            known = known_cause("\n".join(chain), Path(os.environ.get("HEPWATCH_WAREHOUSE_DIR", ".")))
            if known:
                return known
            last = next((m for m in reversed(chain) if m.strip()), "unknown error")
            return f"step {event.step_key} failed: {last.strip().splitlines()[0]}"
    return "the run failed; see the Dagster event log"


def _daily_assets(defs) -> set:
    graph = defs.resolve_asset_graph()
    return {key for key in graph.get_all_asset_keys() if graph.get(key).partitions_def is not None}


def _job_assets(defs, job_name: str) -> list:
    return sorted(defs.resolve_job_def(job_name).asset_layer.selected_asset_keys)


def _execute(defs, job_name: str, instance, tags: dict[str, str], verbose: bool, assets=None, walls=None):
    job = defs.resolve_job_def(job_name)
    began = time.monotonic()
    # Without --verbose the console stays quiet: the instance's event log keeps every event, and a failure
    # is reported as one line by the caller.
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}}}
    result = job.execute_in_process(
        instance=instance, tags=tags, run_config=run_config, raise_on_error=False, asset_selection=assets
    )
    if walls is not None:
        walls.append(time.monotonic() - began)
    if not result.success:
        if any(
            event.is_step_failure
            and event.step_failure_data.error.cls_name == "DagsterExecutionInterruptedError"
            for event in result.all_events
        ):
            raise KeyboardInterrupt  # Dagster turned Ctrl-C or SIGTERM into a failed step
        raise RunFailed(_failure_reason(result))
    return result


def _plan(warehouse_dir: str, new_files: int, full: bool) -> tuple[list[date], list[tuple[date, date]]]:
    """The days with data (the daily partitions) and the ranges of them to build: the plan
    (hepwatch.pending), every day with `full`, the last day alone when new files changed no day (the
    whole-history marts and the published copy still change)."""
    from assets.partitions import buildable_days
    from hepwatch.pending import span_and_plan
    from hepwatch.warehouse import WarehousePaths, connect

    with connect(warehouse_dir) as conn:
        days, ranges = span_and_plan(conn, buildable_days())
    if not days:
        return days, []
    if full:
        return days, [(days[0], days[-1])]
    if not ranges and (new_files or not WarehousePaths(Path(warehouse_dir)).analytics.exists()):
        ranges = [(days[-1], days[-1])]
    return days, ranges


def _check_key(warehouse_dir: str) -> None:
    """Refuse a pseudonymization key that does not fit the warehouse before any run starts."""
    from hepwatch.warehouse import PseudonymKeyError, connect, pseudonym_key

    with connect(warehouse_dir) as conn:
        try:
            pseudonym_key(conn)
        except PseudonymKeyError as error:
            raise RunFailed(str(error)) from None


def _unchanged(feeds: Path, warehouse: Path) -> dict[str, object] | None:
    """The figures of the warehouse as it stands when nothing calls for a run: every feed file as the last
    ingestion found it (size and modification time: the test the sensor makes), no day pending, the same
    reference data and SQL, and a published database. None when something does."""
    from hepwatch.pending import changed_files, fingerprint, read_state
    from hepwatch.settings import reference_inputs
    from hepwatch.warehouse import WarehousePaths

    state = read_state(warehouse)
    if (
        not WarehousePaths(warehouse).analytics.exists()
        or state.get("pending") != []
        or state.get("reference") != fingerprint(reference_inputs())
        or changed_files(feeds, warehouse)
    ):
        return None
    days = state.get("days", [])
    return {
        "first_day": days[0] if days else None,
        "last_day": days[-1] if days else None,
        "days": len(days),
        "built_days": 0,
        "ranges": [],
        "checks": {},
    }


def run(feeds: str, warehouse: str, verbose: bool = False, full: bool = False) -> dict[str, object]:
    """Ingest, build every day whose tables are out of date (every day with `full`), publish. Returns
    figures for the summary. When nothing changed since the last run (`_unchanged`), no run is needed and
    none is started."""
    if not Path(feeds).is_dir():
        raise RunFailed(f"feeds directory {feeds} does not exist")
    _check_key(str(Path(warehouse).resolve()))
    unchanged = None if full else _unchanged(Path(feeds), Path(warehouse))
    if unchanged is not None:
        print(f"hepwatch run: nothing changed in {feeds} since the last run; the warehouse is up to date")
        seconds = time.monotonic() - PROCESS_STARTED
        return {**unchanged, "seconds": seconds, "phases": {"start-up": round(seconds, 2)}}
    os.environ["HEPWATCH_FEEDS_DIR"] = str(Path(feeds).resolve())
    os.environ["HEPWATCH_WAREHOUSE_DIR"] = str(Path(warehouse).resolve())
    from pipelines.definitions import defs as load_defs

    defs = load_defs()
    instance = _instance()
    started = time.monotonic()
    walls: list[float] = []
    print(f"[1/2] ingest: reading new files in {feeds}", flush=True)
    ingest = _execute(defs, "ingest_feeds", instance, {}, verbose, walls=walls)
    new_files = 0
    for event in ingest.get_asset_materialization_events():
        metadata = event.materialization.metadata
        name = event.asset_key.path[-1]
        if "new_files" in metadata:
            new_files += int(metadata["new_files"].value)  # type: ignore[call-overload]
            figures = ", ".join(
                f"{k.removeprefix('new_')} {v.value}" for k, v in metadata.items() if k.startswith("new_")
            )
            print(f"      {name}: {figures}", flush=True)
        left = metadata.get("left_for_next_run")
        if left is not None and left.value:
            names = ", ".join(str(f) for f in left.value)  # type: ignore[union-attr]
            print(f"      {name}: left for the next run (changed while it was read): {names}", flush=True)
    days, ranges = _plan(os.environ["HEPWATCH_WAREHOUSE_DIR"], new_files, full)
    results = [ingest]
    if not days:
        # Nothing datable (only other message types, quarantined input, results without a collection time):
        # the ledger and the quarantine of what was read are still rebuilt and published.
        print(
            "[2/2] build: no dated results or doses; publishing the feed ledger and the quarantine",
            flush=True,
        )
        whole_history = [key for key in _job_assets(defs, "build_days") if key not in _daily_assets(defs)]
        results.append(_execute(defs, "build_days", instance, {}, verbose, whole_history, walls))
    elif not ranges:
        print(
            f"[2/2] build: nothing changed; the {len(days)} days with data, {days[0]} to {days[-1]}, are up "
            "to date",
            flush=True,
        )
    for number, (start, end) in enumerate(ranges, start=1):
        count = bisect_right(days, end) - bisect_left(days, start)
        part = f" (range {number} of {len(ranges)})" if len(ranges) > 1 else ""
        print(
            f"[2/2] build: {count} of {len(days)} days with data, {start} to {end}{part}: staged tables, "
            "marts, analytics.duckdb",
            flush=True,
        )
        tags = {
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        }
        results.append(
            _execute(defs, "build_days", instance, tags, verbose, walls=walls)
        )  # clears what it built
    checks = {}
    for result in results:
        for event in result.all_events:
            if event.event_type_value == "ASSET_CHECK_EVALUATION":
                evaluation = event.event_specific_data
                key = (evaluation.asset_key.to_user_string(), evaluation.check_name)
                checks[key] = "passed" if evaluation.passed else evaluation.severity.value.lower()
    return {
        "first_day": days[0] if days else None,
        "last_day": days[-1] if days else None,
        "days": len(days),
        "built_days": sum(bisect_right(days, end) - bisect_left(days, start) for start, end in ranges),
        "ranges": ranges,
        "seconds": time.monotonic() - started,
        "checks": checks,
        "phases": phase_seconds(results, walls, started),
    }


def print_summary(warehouse: str, figures: dict[str, object]) -> None:
    from hepwatch.summary import run_summary

    print(run_summary(Path(warehouse), figures))


def print_quarantine(warehouse: Path, kind: str | None, file: str | None, reason: str | None) -> int:
    """Print the restricted store's quarantine, raw payloads included. The file is opened read-only and
    closed as soon as the rows are read (milliseconds), so it never holds up a run: runs wait a few seconds
    for a reader to let go (hepwatch.warehouse.shared)."""
    import duckdb

    from hepwatch.warehouse import WarehousePaths

    restricted = WarehousePaths(warehouse).restricted
    if not restricted.exists():
        print(
            f"hepwatch quarantine: {restricted} does not exist (no run has written it yet)", file=sys.stderr
        )
        return 1
    filters = {"kind": kind, "file": file, "reason": reason}
    where = " AND ".join(f"{name} = ${name}" for name, value in filters.items() if value) or "true"
    with duckdb.connect(str(restricted), read_only=True) as conn:
        rows = conn.execute(
            f"SELECT kind, file, line, control_id, reason, detail, raw_payload FROM quarantine WHERE {where} "
            "ORDER BY kind, file, position",
            {name: value for name, value in filters.items() if value},
        ).fetchall()
    try:
        for kind_, file_, line, control_id, reason_, detail, payload in rows:
            where_ = f"line {line}" + (f", MSH-10 {control_id}" if control_id else "")
            print(f"== {kind_} {file_} {where_}: {reason_}: {detail or ''}")
            print((payload or "").replace("\r", "\n").rstrip("\n"))
    except BrokenPipeError:  # `| head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    print(f"{len(rows)} quarantined", file=sys.stderr)
    return 0


def generate(args: argparse.Namespace) -> int:
    from hepwatch.synthetic import generate_feeds

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        generate_feeds(
            Path(args.out),
            patients=args.patients,
            days=args.days,
            seed=args.seed,
            start=args.start,
            progress=say,
            dosing_files=args.dosing_files,
            lab_file_days=args.lab_file_days,
            workers=args.workers,
        )
    except (ValueError, FileExistsError) as error:
        print(f"hepwatch generate: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    # From the command's first moment (its imports of Dagster and DuckDB take seconds), SIGTERM ends it with
    # one line instead of silently; this module imports nothing heavy, so that moment comes at once.
    _INTERRUPTED.clear()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _main(argv)
    except (KeyboardInterrupt, Terminated):  # before a run started (argument parsing, imports)
        print("hepwatch: interrupted before anything was read or written", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)  # (main called in a process of its own, as tests do)


def _main(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="hepwatch", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="ingest the feeds and build every day, through Dagster")
    run_parser.add_argument(
        "--feeds", default=default_feeds_dir(), help="feeds directory (HEPWATCH_FEEDS_DIR)"
    )
    run_parser.add_argument(
        "--warehouse", default=default_warehouse_dir(), help="warehouse directory (HEPWATCH_WAREHOUSE_DIR)"
    )
    run_parser.add_argument("--verbose", action="store_true", help="show Dagster's INFO log lines")
    run_parser.add_argument(
        "--timings",
        action="store_true",
        help="print where the time went, by phase (start-up, ingestion, staging, validation, marts, checks, "
        "publish, report, dagster)",
    )
    run_parser.add_argument(
        "--full",
        action="store_true",
        help="rebuild every day, not only those whose data changed since the last run",
    )
    held = commands.add_parser(
        "quarantine",
        help="print quarantined messages and rows with their raw payloads (from the restricted store)",
    )
    held.add_argument(
        "--warehouse", default=default_warehouse_dir(), help="warehouse directory (HEPWATCH_WAREHOUSE_DIR)"
    )
    held.add_argument("--kind", choices=["lab_message", "dosing_row"], help="only this kind")
    held.add_argument("--file", help="only this feed file (path relative to the feeds directory)")
    held.add_argument("--reason", help="only this reason code")
    gen = commands.add_parser(
        "generate",
        help="write a synthetic feed directory",
        description="Write a synthetic feed directory (labs/, dosing/, manifest.json), a day at a time, "
        "printing progress every few seconds. The same arguments give the same bytes and mtimes.",
    )
    gen.add_argument("--out", required=True, help="an empty or new directory")
    gen.add_argument("--patients", type=int, default=300, help="patients seen over the window (default 300)")
    gen.add_argument("--days", type=int, default=90, help="days in the window, 7 or more (default 90)")
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument(
        "--start", type=date.fromisoformat, default=date(2026, 6, 1), help="first day (ISO date)"
    )
    gen.add_argument(
        "--dosing-files",
        choices=["monthly", "daily"],
        default="monthly",
        help="monthly: dosing_YYYY-MM.csv and a corrections file after them (default); daily: "
        "dosing/YYYY-MM-DD.csv, corrections arriving in a later day's file",
    )
    gen.add_argument(
        "--lab-file-days",
        type=int,
        default=1,
        metavar="N",
        help="sending days per lab file, labs/LAB/FIRST-DAY.hl7 (default 1: a file per lab and day)",
    )
    gen.add_argument(
        "--workers", type=int, default=None, help="processes (default: one per core, at most 2); same output"
    )
    args = parser.parse_args(argv)

    if args.command == "generate":
        return generate(args)
    if args.command == "quarantine":
        return print_quarantine(Path(args.warehouse), args.kind, args.file, args.reason)
    warehouse = Path(args.warehouse)
    # The instance's storage would log a traceback for a connection an interrupt closed: the one line
    # below says what happened, and the Dagster event log keeps the details.
    logging.getLogger("sqlalchemy").setLevel(logging.CRITICAL)
    try:
        from hepwatch.warehouse import shared

        # this process is the warehouse's writer for the whole command: it opens the database file once
        # (not before the feeds are known to exist: a mistyped --feeds creates no warehouse)
        with shared(args.warehouse) if Path(args.feeds).is_dir() else contextlib.nullcontext():
            figures = run(args.feeds, args.warehouse, args.verbose, args.full)
    except RunFailed as failure:
        return _fail(str(failure))
    except (KeyboardInterrupt, Terminated):
        print(f"hepwatch run interrupted: {_KEPT}", file=sys.stderr)
        return 130
    except Exception as error:  # anything else: one line, the cause first; --verbose shows the traceback
        if _interrupted(error):
            print(f"hepwatch run interrupted: {_KEPT}", file=sys.stderr)
            return 130
        if args.verbose:
            raise
        text = f"{type(error).__name__}: {error}"
        return _fail(
            known_cause(text, warehouse) or text.strip().splitlines()[0] + " (--verbose for details)"
        )
    print_summary(args.warehouse, figures)
    if args.timings:
        phases: dict[str, float] = figures["phases"]  # type: ignore[assignment]
        print("timings: " + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in phases.items()))
    return 0


def _fail(reason: str) -> int:
    print(f"hepwatch run failed: {reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
