"""Why a run failed, in one line a user can act on."""

from __future__ import annotations

import os
import re
from pathlib import Path


class RunFailed(Exception):
    """A run that did not succeed; the message is the one-line reason printed to the user."""


_LOCK = re.compile(r'lock on file "([^"]+)": Conflicting lock is held in (\S+) \(PID (\d+)\)')
KEPT = "the published analytics.duckdb is as the last complete run left it, and the next run continues"


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
            f"some space and run again; {KEPT}"
        )
    return None


def failure_reason(result, warehouse: Path) -> str:
    """The reason a run's result failed: the blocking check that failed, else the first failed step's
    error (its known cause when there is one)."""
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
            known = known_cause("\n".join(chain), warehouse)
            if known:
                return known
            last = next((m for m in reversed(chain) if m.strip()), "unknown error")
            return f"step {event.step_key} failed: {last.strip().splitlines()[0]}"
    return "the run failed; see the Dagster event log"
