"""`dagster-webserver` on a free loopback port, started and stopped by tests that ask it what the UI shows."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the project's .venv/bin when the suite runs in it
STARTUP_TIMEOUT = 90


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_webserver(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """`dagster-webserver -w workspace.yaml` on a free loopback port; another port if that one was taken."""
    command = [str(BIN / "dagster-webserver"), "-w", str(PROJECT / "workspace.yaml"), "-h", "127.0.0.1"]
    for _ in range(3):
        port = free_port()
        with log.open("w") as output:
            server = subprocess.Popen(
                [*command, "-p", str(port)],
                cwd=PROJECT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        if serving(url, server):
            return server, url
        stop(server)
        if "address already in use" not in log.read_text().lower():
            break
    pytest.fail(f"dagster-webserver did not answer within {STARTUP_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def serving(url: str, server: subprocess.Popen) -> bool:
    """Wait for /server_info to answer; False if the webserver exits or the time runs out first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    return False


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()  # the webserver stops its code server (a child process) on SIGTERM
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # its own session: only what this test started
            server.wait(timeout=10)
