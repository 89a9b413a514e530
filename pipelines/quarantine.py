"""`hepwatch quarantine`: the restricted store's quarantine, raw payloads included."""

from __future__ import annotations

import os
import sys
from pathlib import Path


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
