"""Where a step's time goes, by phase, as `seconds/<phase>` materialization metadata: `hepwatch run
--timings` and `make bench-e2e` add them up over a run (start-up, ingestion, staging, validation, marts,
checks, publish, report; the rest of a run's time is Dagster's)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

PHASES = ("ingestion", "staging", "validation", "marts", "checks", "publish", "report")
PREFIX = "seconds/"


class Phases:
    """Seconds spent in each phase of one step."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - started

    def metadata(self) -> dict[str, float]:
        return {f"{PREFIX}{phase}": round(seconds, 3) for phase, seconds in self.seconds.items()}
