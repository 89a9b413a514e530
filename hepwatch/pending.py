"""Which days need building: the one plan every path uses (`hepwatch run`, the sensor, the schedule, the UI).

Landed data changes the marts of the clinical days it touches, and of the days whose look-back windows
include them. `mark` turns what was landed since it last ran into `landing.pending_days`: the collection
dates of new observations and of every earlier version of the same observations (a correction can move a
result to another day), and the dose dates of new dosing rows and of every earlier row with the same
record_id. A change of the reference data or of the SQL that builds the tables marks every day. A build run
over [start, end] clears the days it fully rebuilt (`clear`); a day stays pending until then, so a failed
or interrupted build is redone by the next run.

The plan is also kept as a small JSON file beside the warehouse (`plan.json`: the feed files as last
ingested, with size and modification time, the days the data spans and the ranges to build), rewritten by
every step that changes it. The daemon's sensor and schedule read that file, never the database: DuckDB lets
one process write a file, and a reader in the daemon would block the run that writes.

`mark` is idempotent and keeps its high-water marks in the same transaction as the days, so a crash between
landing and marking only delays the marking to the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from hepwatch.warehouse import fetch_value

# Results and doses look back 30 days (Hy's law window, new-case rule, exposure tail, domain.md sections 4
# and 6): a change on day d changes the marts of d to d + 30.
WINDOW_DAYS = 30


def _mark_value(conn: duckdb.DuckDBPyConnection, name: str) -> str | None:
    return fetch_value(conn, "SELECT value FROM landing.pending_marks WHERE name = ?", [name])


def _set_mark(conn: duckdb.DuckDBPyConnection, name: str, value: object) -> None:
    conn.execute("INSERT OR REPLACE INTO landing.pending_marks VALUES (?, ?)", [name, str(value)])


def fingerprint(files: Iterable[Path]) -> str:
    """SHA-256 over the names and contents of the files the marts are built from (reference data, SQL)."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def mark(conn: duckdb.DuckDBPyConnection, reference_fingerprint: str | None = None) -> int:
    """Mark the days changed by data landed since the last call (and every day when the reference
    fingerprint changed). Returns the number of days newly marked."""
    now = datetime.now()
    conn.execute("BEGIN")
    try:
        before = int(fetch_value(conn, "SELECT count(*) FROM landing.pending_days"))
        lab_mark = int(_mark_value(conn, "lab_arrival_seq") or 0)
        dosing_mark = int(_mark_value(conn, "dosing_ingest_seq") or 0)
        lab_last = int(fetch_value(conn, "SELECT coalesce(max(arrival_seq), 0) FROM landing.lab_messages"))
        dosing_last = int(fetch_value(conn, "SELECT coalesce(max(ingest_seq), 0) FROM landing.dosing_rows"))
        if reference_fingerprint is not None and _mark_value(conn, "reference") != reference_fingerprint:
            conn.execute(
                """
                INSERT OR REPLACE INTO landing.pending_days
                SELECT CAST(d AS DATE), $now FROM (
                    SELECT min(day) AS first, max(day) AS last FROM (
                        SELECT collected_date AS day FROM landing.lab_obx UNION ALL
                        SELECT dose_date FROM landing.dosing_rows
                    )
                ), generate_series(CAST(first AS TIMESTAMP), CAST(last AS TIMESTAMP), INTERVAL 1 DAY) AS g(d)
                WHERE first IS NOT NULL
                """,
                {"now": now},
            )
            _set_mark(conn, "reference", reference_fingerprint)
        if lab_last > lab_mark:
            conn.execute(
                """
                INSERT OR REPLACE INTO landing.pending_days
                SELECT DISTINCT collected_date, $now FROM landing.lab_obx
                SEMI JOIN (SELECT key_hi, key_lo FROM landing.lab_obx WHERE arrival_seq > $mark)
                    USING (key_hi, key_lo)
                WHERE collected_date IS NOT NULL
                """,
                {"mark": lab_mark, "now": now},
            )
            _set_mark(conn, "lab_arrival_seq", lab_last)
        if dosing_last > dosing_mark:
            conn.execute(
                """
                INSERT OR REPLACE INTO landing.pending_days
                SELECT DISTINCT dose_date, $now FROM landing.dosing_rows
                SEMI JOIN (SELECT record_id FROM landing.dosing_rows WHERE ingest_seq > $mark) USING (record_id)
                WHERE dose_date IS NOT NULL
                """,
                {"mark": dosing_mark, "now": now},
            )
            _set_mark(conn, "dosing_ingest_seq", dosing_last)
        after = int(fetch_value(conn, "SELECT count(*) FROM landing.pending_days"))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return after - before


def pending_days(conn: duckdb.DuckDBPyConnection) -> set[date]:
    return {row[0] for row in conn.execute("SELECT day FROM landing.pending_days").fetchall()}


def build_ranges(days: Iterable[date], first: date, last: date) -> list[tuple[date, date]]:
    """Inclusive ranges of days to build: each pending day d with the WINDOW_DAYS after it, within
    [first, last] (the partitions that exist, up to the last day in the data), overlapping ones merged."""
    spans = sorted(
        (max(d, first), min(d + timedelta(days=WINDOW_DAYS), last)) for d in days if d <= last and d >= first
    )
    merged: list[tuple[date, date]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def data_span(conn: duckdb.DuckDBPyConnection, bounds: tuple[date, date]) -> tuple[date, date] | None:
    """The first and last clinical day that hold landed results or doses, within `bounds` (the days that
    can be built); None when there are none. No day after the last is ever built."""
    rows = conn.execute(
        """
        SELECT min(d), max(d) FROM (
            SELECT collected_date AS d FROM landing.lab_obx UNION ALL SELECT dose_date FROM landing.dosing_rows
        ) WHERE d BETWEEN $first AND $last
        """,
        {"first": bounds[0], "last": bounds[1]},
    ).fetchall()
    first, last = rows[0]
    return (first, last) if first is not None else None


def span_and_plan(
    conn: duckdb.DuckDBPyConnection, bounds: tuple[date, date]
) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """The days the data spans, and the inclusive ranges of days to build now: every pending day with its
    look-back reach, within that span."""
    span = data_span(conn, bounds)
    return span, build_ranges(pending_days(conn), *span) if span else []


def plan(conn: duckdb.DuckDBPyConnection, bounds: tuple[date, date]) -> list[tuple[date, date]]:
    """The inclusive ranges of days to build now (span_and_plan)."""
    return span_and_plan(conn, bounds)[1]


def clear(
    conn: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    bounds: tuple[date, date],
    marked_before: datetime,
) -> int:
    """After a build of every daily table over [start, end] (inclusive) that began at `marked_before`: clear
    the pending days it completed, those d whose reach [d, min(d + WINDOW_DAYS, last day in the data)] lies
    in [start, end] and that were marked before the build began (a day marked meanwhile may hold data the
    build did not see). Days outside the data's span can never be built and go too. Returns days cleared."""
    span = data_span(conn, bounds)
    before = int(fetch_value(conn, "SELECT count(*) FROM landing.pending_days"))
    if span is None:
        conn.execute("DELETE FROM landing.pending_days")
    else:
        conn.execute(
            """
            DELETE FROM landing.pending_days
            WHERE day < $first OR day > $last OR (
                day >= $start AND day <= $end AND least(day + $window, $last) <= $end AND marked_at <= $before)
            """,
            {"start": start, "end": end, "first": span[0], "last": span[1], "window": WINDOW_DAYS,
             "before": marked_before},
        )  # fmt: skip
    return before - int(fetch_value(conn, "SELECT count(*) FROM landing.pending_days"))


PLAN_FILE = "plan.json"


def read_state(warehouse_dir: Path) -> dict[str, Any]:
    """What `plan.json` says: `ingested` (kind -> file -> [size, mtime_ns]), `data_span` and `pending`
    (lists of ISO dates). A missing or unreadable file reads as a warehouse that has read nothing."""
    try:
        state = json.loads((warehouse_dir / PLAN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    return state if isinstance(state, dict) else {}


def _write_state(warehouse_dir: Path, state: dict[str, Any]) -> None:
    target = warehouse_dir / PLAN_FILE
    temporary = target.with_name(f".{PLAN_FILE}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    os.replace(temporary, target)  # the sensor never reads half a file


def record_ingested(warehouse_dir: Path, kind: str, listing: dict[str, tuple[int, int]]) -> None:
    """Note the feed files of one kind as an ingestion found them (before reading): the sensor compares
    the feeds directory with this to tell new and changed files without opening a file or the database."""
    state = read_state(warehouse_dir)
    state.setdefault("ingested", {})[kind] = {name: list(stamp) for name, stamp in listing.items()}
    _write_state(warehouse_dir, state)


def record_plan(conn: duckdb.DuckDBPyConnection, warehouse_dir: Path, bounds: tuple[date, date]) -> None:
    """Write the data's span and the ranges to build into `plan.json`, for the sensor and the schedule."""
    span, ranges = span_and_plan(conn, bounds)
    state = read_state(warehouse_dir)
    state["data_span"] = [day.isoformat() for day in span] if span else None
    state["pending"] = [[start.isoformat(), end.isoformat()] for start, end in ranges]
    _write_state(warehouse_dir, state)
