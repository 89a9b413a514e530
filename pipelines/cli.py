"""The `hepwatch` command (contract section 1).

`hepwatch run` brings every asset up to date for every day present in the feeds, through Dagster, with the
same definitions the UI runs (pipelines.runner). `hepwatch quarantine` prints the quarantine with its raw
payloads. `hepwatch generate` writes a synthetic feed directory.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from hepwatch.settings import settings
from pipelines.failures import KEPT, RunFailed, known_cause
from pipelines.quarantine import print_quarantine
from pipelines.runner import run

__all__ = ["RunFailed", "main", "run"]  # what tests and scripts take from the command


class Terminated(BaseException):
    """SIGTERM, handled like Ctrl-C (exit 130): one line, and what was kept."""


_INTERRUPTED: list[int] = []  # the signals received: DuckDB turns one that lands mid-query into its own error


def _terminate(signum: int, frame: object) -> None:
    _INTERRUPTED.append(signum)
    raise Terminated()


def _interrupted(error: BaseException) -> bool:
    """A signal that landed while DuckDB ran a query: DuckDB raises "Query interrupted" instead."""
    return bool(_INTERRUPTED) or "Query interrupted" in str(error)


def print_summary(warehouse: str, figures: dict[str, object]) -> None:
    from hepwatch.summary import run_summary

    print(run_summary(Path(warehouse), figures))


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
    config = settings()
    run_parser.add_argument("--feeds", default=config.feeds_dir, help="feeds directory (HEPWATCH_FEEDS_DIR)")
    run_parser.add_argument(
        "--warehouse", default=config.warehouse_dir, help="warehouse directory (HEPWATCH_WAREHOUSE_DIR)"
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
        "--warehouse", default=config.warehouse_dir, help="warehouse directory (HEPWATCH_WAREHOUSE_DIR)"
    )
    held.add_argument("--kind", choices=["lab_message", "dosing_row"], help="only this kind")
    held.add_argument("--file", help="only this feed file (path relative to the feeds directory)")
    held.add_argument("--reason", help="only this reason code")
    work = commands.add_parser(
        "worklist",
        help="the day's prioritised action list with patient identifiers, for the clinicians who act",
        description="Print the action list as of DAY (default: the last date in the data), most urgent first, "
        "with each patient's identifier and authority from the restricted store, and write it as CSV beside "
        "phi.duckdb (readable by you alone). Nothing else gains an identifier.",
    )
    work.add_argument(
        "--warehouse", default=config.warehouse_dir, help="warehouse directory (HEPWATCH_WAREHOUSE_DIR)"
    )
    work.add_argument("--date", type=date.fromisoformat, default=None, help="the day (ISO date)")
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
    if args.command == "worklist":
        from pipelines.worklist import print_worklist

        return print_worklist(Path(args.warehouse), args.date)
    warehouse = Path(args.warehouse)
    # The instance's storage would log a traceback for a connection an interrupt closed: the one line
    # below says what happened, and the Dagster event log keeps the details.
    logging.getLogger("sqlalchemy").setLevel(logging.CRITICAL)
    try:
        from hepwatch.warehouse import shared

        # this process is the warehouse's writer for the whole command: it opens the database file once
        # (not before the feeds are known to exist: a mistyped --feeds creates no warehouse)
        with (
            shared(args.warehouse, config.memory_limit)
            if Path(args.feeds).is_dir()
            else contextlib.nullcontext()
        ):
            figures = run(args.feeds, args.warehouse, args.verbose, args.full)
    except RunFailed as failure:
        return _fail(str(failure))
    except (KeyboardInterrupt, Terminated):
        print(f"hepwatch run interrupted: {KEPT}", file=sys.stderr)
        return 130
    except Exception as error:  # anything else: one line, the cause first; --verbose shows the traceback
        if _interrupted(error):
            print(f"hepwatch run interrupted: {KEPT}", file=sys.stderr)
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
        steps: list[tuple[str, float]] = figures.get("slowest_steps", [])  # type: ignore[assignment]
        if steps:
            print("slowest steps: " + ", ".join(f"{step} {seconds:.2f} s" for step, seconds in steps))
    return 0


def _fail(reason: str) -> int:
    print(f"hepwatch run failed: {reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
