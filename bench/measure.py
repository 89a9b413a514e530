"""Running a command in a child process while sampling the memory of it and all its descendants."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass
class Measured:
    returncode: int
    seconds: float
    peak_rss_bytes: int  # the largest sum, over the child and its descendants, of resident memory
    stdout: str
    stderr: str


def run_measured(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, every: float = 0.02
) -> Measured:
    """Run `command`; wall time, and peak RSS summed over its process tree, sampled every `every` seconds."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env
    )
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        try:
            root = psutil.Process(process.pid)
        except psutil.Error:
            return
        while not done.is_set():
            try:
                total = root.memory_info().rss
                for child in root.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        total += child.memory_info().rss
                peak[0] = max(peak[0], total)
            except psutil.Error:
                break
            time.sleep(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return Measured(process.returncode, seconds, peak[0], out, err)


def python_speed(loops: int = 20_000_000, times: int = 5) -> float:
    """Seconds this machine takes for a fixed pure-Python loop, the median of `times`: the benchmarks print it
    so that figures from different machines can be compared. A shared machine's speed varies: on the one of
    the README's latest figures single loops took 0.9 to 4.1 s within an hour."""
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        total = 0
        for n in range(loops):
            total += n
        seconds.append(time.perf_counter() - started)
    return round(sorted(seconds)[times // 2], 2)
