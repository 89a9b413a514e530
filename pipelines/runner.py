"""`hepwatch run`: the `ingest_feeds` job, then `build_days` over each range of the plan (hepwatch.pending:
the days whose data changed, every day on the first run, or with --full), in this process, with the same
definitions the UI runs and resources that name the command's feeds and warehouse directories.

Dagster is imported only once a run is known to be needed: the command answers at once otherwise.
"""

from __future__ import annotations

import dataclasses
import time
from bisect import bisect_left, bisect_right
from datetime import date
from pathlib import Path

from hepwatch.settings import Settings, settings
from pipelines.failures import RunFailed, failure_reason
from pipelines.timings import PROCESS_STARTED, phase_seconds, slowest_steps


def _instance(config: Settings):
    import dagster as dg

    from pipelines.instance import ephemeral_instance

    return dg.DagsterInstance.get() if config.dagster_home else ephemeral_instance()


def _daily_assets(defs) -> set:
    graph = defs.resolve_asset_graph()
    return {key for key in graph.get_all_asset_keys() if graph.get(key).partitions_def is not None}


def _job_assets(defs, job_name: str) -> list:
    return sorted(defs.resolve_job_def(job_name).asset_layer.selected_asset_keys)


def _alert(instance, run_id: str, warehouse: Path) -> None:
    """Alerts for what the run's checks found (safety signals, failed ERROR checks), as the daemon's run
    status sensors send them after runs it sees; nothing when no channel is configured (HEPWATCH_ALERT_*)."""
    from pipelines.alerting import alert_run

    delivery = alert_run(instance, run_id, warehouse)
    for _, channel, error in delivery.failed:
        print(f"hepwatch run: an alert was not delivered by {channel} ({error}); it is retried next run")
    if delivery.sent:
        print(f"hepwatch run: {len(delivery.sent)} alert message(s) sent")


def _execute(defs, job_name: str, instance, tags: dict[str, str], verbose: bool, warehouse: Path, assets=None,
             walls=None):  # fmt: skip
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
    _alert(instance, result.run_id, warehouse)
    if not result.success:
        if any(
            event.is_step_failure
            and event.step_failure_data.error.cls_name == "DagsterExecutionInterruptedError"
            for event in result.all_events
        ):
            raise KeyboardInterrupt  # Dagster turned Ctrl-C or SIGTERM into a failed step
        raise RunFailed(failure_reason(result, warehouse))
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


def _check_key(config: Settings) -> None:
    """Refuse a pseudonymization key that does not fit the warehouse before any run starts."""
    from hepwatch.warehouse import PseudonymKeyError, connect, pseudonym_key

    with connect(config.warehouse_dir) as conn:
        try:
            pseudonym_key(conn, config.pseudonym_key)
        except PseudonymKeyError as error:
            raise RunFailed(str(error)) from None


def _unchanged(config: Settings) -> dict[str, object] | None:
    """The figures of the warehouse as it stands when nothing calls for a run: every feed file as the last
    ingestion found it (size and modification time: the test the sensor makes), no day pending, the same
    reference data and SQL, and a published database. None when something does."""
    from hepwatch.pending import changed_files, fingerprint, read_state
    from hepwatch.warehouse import WarehousePaths

    feeds, warehouse = Path(config.feeds_dir), Path(config.warehouse_dir)
    state = read_state(warehouse)
    if (
        not WarehousePaths(warehouse).analytics.exists()
        or state.get("pending") != []
        or state.get("reference") != fingerprint(config.reference_inputs())
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


def _print_ingested(ingest) -> int:
    """Print what the ingestion read; returns the number of new feed files."""
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
    return new_files


def run(feeds: str, warehouse: str, verbose: bool = False, full: bool = False) -> dict[str, object]:
    """Ingest, build every day whose tables are out of date (every day with `full`), publish. Returns
    figures for the summary. When nothing changed since the last run (`_unchanged`), no run is needed and
    none is started."""
    if not Path(feeds).is_dir():
        raise RunFailed(f"feeds directory {feeds} does not exist")
    config = dataclasses.replace(
        settings(), feeds_dir=str(Path(feeds).resolve()), warehouse_dir=str(Path(warehouse).resolve())
    )
    _check_key(config)
    unchanged = None if full else _unchanged(config)
    if unchanged is not None:
        print(f"hepwatch run: nothing changed in {feeds} since the last run; the warehouse is up to date")
        seconds = time.monotonic() - PROCESS_STARTED
        return {**unchanged, "seconds": seconds, "phases": {"start-up": round(seconds, 2)}}
    from assets.resources import resources_from
    from pipelines.definitions import build_definitions

    defs = build_definitions(resources_from(config))
    instance = _instance(config)
    where = Path(config.warehouse_dir)
    started = time.monotonic()
    walls: list[float] = []
    print(f"[1/2] ingest: reading new files in {feeds}", flush=True)
    ingest = _execute(defs, "ingest_feeds", instance, {}, verbose, where, walls=walls)
    new_files = _print_ingested(ingest)
    days, ranges = _plan(config.warehouse_dir, new_files, full)
    results = [ingest]
    if not days:
        # Nothing datable (only other message types, quarantined input, results without a collection time):
        # the ledger and the quarantine of what was read are still rebuilt and published.
        print(
            "[2/2] build: no dated results or doses; publishing the feed ledger and the quarantine",
            flush=True,
        )
        whole_history = [key for key in _job_assets(defs, "build_days") if key not in _daily_assets(defs)]
        results.append(_execute(defs, "build_days", instance, {}, verbose, where, whole_history, walls))
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
        # (a run that builds every daily asset of its days clears them from the plan)
        results.append(_execute(defs, "build_days", instance, tags, verbose, where, walls=walls))
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
        "slowest_steps": slowest_steps(results),
    }
