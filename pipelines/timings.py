"""Where a command's time went, by phase (`hepwatch run --timings`, `make bench-e2e`)."""

from __future__ import annotations

import time
from collections.abc import Sequence

# pipelines.cli imports this (and nothing heavy) as `hepwatch` starts: the command's start, near enough.
PROCESS_STARTED = time.monotonic()

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


def slowest_steps(results: Sequence, count: int = 12) -> list[tuple[str, float]]:
    """The `count` steps that took longest over a command's runs, with their seconds."""
    seconds: dict[str, float] = {}
    for result in results:
        for event in result.all_events:
            if event.event_type_value == "STEP_SUCCESS":
                seconds[event.step_key] = seconds.get(event.step_key, 0.0) + (
                    event.event_specific_data.duration_ms / 1000
                )
    return sorted(seconds.items(), key=lambda item: -item[1])[:count]
