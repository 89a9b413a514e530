"""Which days need building: the one plan every path uses (`hepwatch run`, the sensor, the schedule, the UI).

Landed data changes the marts of the clinical days it touches, and of the days whose look-back windows
include them. `mark` turns what was landed since it last ran into `landing.pending_days`: the collection
dates of new observations and of every earlier version of the same observations (a correction can move a
result to another day), and the dose dates of new dosing rows and of every earlier row with the same
record_id. A change of the reference data or of the SQL that builds the tables marks every day with data.
A build run over the partitions [first, last] clears the days it fully rebuilt (`clear`); a day stays
pending until then, so a failed or interrupted build is redone by the next run.

The plan is also kept as a small JSON file beside the warehouse (`plan.json`: the feed files as last
ingested, with size and modification time, the days with data and the ranges to build), rewritten by
every step that changes it. The daemon's sensor and schedule read that file, never the database: DuckDB lets
one process write a file, and a reader in the daemon would block the run that writes.

`mark` is idempotent and keeps its high-water marks in the same transaction as the days, so a crash between
landing and marking only delays the marking to the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from hepwatch.ingest.feed_files import FEED_KINDS, feed_listing
from hepwatch.warehouse import fetch_value, read_sql

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
                read_sql("pending_mark_all_days.sql"),
                {"now": now},
            )
            _set_mark(conn, "reference", reference_fingerprint)
        if lab_last > lab_mark:
            conn.execute(
                read_sql("pending_mark_lab_days.sql"),
                {"mark": lab_mark, "now": now},
            )
            _set_mark(conn, "lab_arrival_seq", lab_last)
        if dosing_last > dosing_mark:
            conn.execute(
                read_sql("pending_mark_dosing_days.sql"),
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


def data_days(conn: duckdb.DuckDBPyConnection, bounds: tuple[date, date]) -> list[date]:
    """Every clinical day within `bounds` that landed results or doses ever held, in order: the daily
    partitions. A day stays one when a correction moves its data away (its rows must be rebuilt away)."""
    rows = conn.execute(
        read_sql("pending_data_days.sql"),
        {"first": bounds[0], "last": bounds[1]},
    ).fetchall()
    return [row[0] for row in rows]


def first_collection(conn: duckdb.DuckDBPyConnection, bounds: tuple[date, date]) -> date | None:
    """The first day a landed result was collected, within `bounds`: where `marts.daily_summary` starts."""
    return fetch_value(
        conn,
        "SELECT min(collected_date) FROM landing.lab_obx WHERE collected_date BETWEEN $first AND $last",
        {"first": bounds[0], "last": bounds[1]},
    )


def _reach(keys: list[date], day: date, span_start: date | None) -> tuple[int, int] | None:
    """The positions in `keys` of the first and last partition whose marts a change on `day` changes: the
    days with data in [day, day + WINDOW_DAYS]; and when `day` is on or before the first collection date
    (`span_start`: the change may move where `marts.daily_summary` starts), the first day with data after
    it however far, which owns the days without data between them. None when no partition is on or after
    `day`."""
    first = bisect_left(keys, day)
    if first == len(keys):
        return None
    last = max(first, bisect_right(keys, day + timedelta(days=WINDOW_DAYS)) - 1)
    if span_start is not None and day <= span_start:
        last = max(last, min(bisect_right(keys, day), len(keys) - 1))
    return first, last


def build_ranges(
    days: Iterable[date], keys: list[date], span_start: date | None = None
) -> list[tuple[date, date]]:
    """The first and last partition of each range to build: every pending day's reach (_reach) among the
    partitions `keys` (sorted), ranges that overlap or follow each other merged."""
    spans = sorted(reach for day in set(days) if (reach := _reach(keys, day, span_start)) is not None)
    merged: list[list[int]] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return [(keys[first], keys[last]) for first, last in merged]


def data_span(conn: duckdb.DuckDBPyConnection, bounds: tuple[date, date]) -> tuple[date, date] | None:
    """The first and last clinical day that hold landed results or doses, within `bounds` (the plausible
    days); None when there are none."""
    rows = conn.execute(
        read_sql("pending_data_span.sql"),
        {"first": bounds[0], "last": bounds[1]},
    ).fetchall()
    first, last = rows[0]
    return (first, last) if first is not None else None


def span_and_plan(
    conn: duckdb.DuckDBPyConnection, bounds: tuple[date, date]
) -> tuple[list[date], list[tuple[date, date]]]:
    """The days with data (the partitions), and the ranges of them to build now: every pending day with its
    look-back reach."""
    keys = data_days(conn, bounds)
    return keys, build_ranges(pending_days(conn), keys, first_collection(conn, bounds))


def plan(conn: duckdb.DuckDBPyConnection, bounds: tuple[date, date]) -> list[tuple[date, date]]:
    """The ranges of partitions (first, last) to build now (span_and_plan)."""
    return span_and_plan(conn, bounds)[1]


def clear(
    conn: duckdb.DuckDBPyConnection,
    first: date,
    last: date,
    bounds: tuple[date, date],
    marked_before: datetime,
) -> int:
    """After a build of every daily table over the partitions [first, last] that began at `marked_before`:
    clear the pending days it completed, those whose reach lies in [first, last] and that were marked before
    the build began (a day marked meanwhile may hold data the build did not see). Days with no partition on
    or after them can never be built and go too. Returns days cleared."""
    keys = data_days(conn, bounds)
    span_start = first_collection(conn, bounds)
    marked = conn.execute(
        "SELECT day FROM landing.pending_days WHERE marked_at <= $before", {"before": marked_before}
    )
    done = []
    for (day,) in marked.fetchall():
        reach = _reach(keys, day, span_start)
        if reach is None or (keys[reach[0]] >= first and keys[reach[1]] <= last):
            done.append(day)
    if done:
        conn.execute("DELETE FROM landing.pending_days WHERE day IN (SELECT unnest($days))", {"days": done})
    return len(done)


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


def _listings(state: dict[str, Any]) -> dict[str, dict[str, list[int]]]:
    """kind -> the feed files as the last ingestion of that kind found them: relative path -> [size, mtime_ns]."""
    listings = state.get("ingested")
    return listings if isinstance(listings, dict) else {}


def ingested_listing(warehouse: Path, kind: str) -> dict[str, list[int]]:
    """The feed files of one kind as the last ingestion found them (record_ingested); empty when none was
    recorded."""
    return _listings(read_state(warehouse)).get(kind, {})


def changed_files(feeds: Path, warehouse: Path) -> dict[str, tuple[int, int]]:
    """Feed files whose (size, mtime) differ from what the last ingestion of their kind found (`stat` only:
    the sensor's test, and `hepwatch run`'s before it starts a run)."""
    listings = _listings(read_state(warehouse))  # plan.json read once per sensor tick
    changed = {}
    for kind in FEED_KINDS:
        known = listings.get(kind, {})
        for name, stamp in feed_listing(feeds, kind).items():
            if known.get(name) != list(stamp):
                changed[name] = stamp
    return changed


def record_ingested(warehouse_dir: Path, kind: str, listing: dict[str, tuple[int, int]]) -> None:
    """Note the feed files of one kind as an ingestion found them (before reading): the sensor compares
    the feeds directory with this to tell new and changed files without opening a file or the database."""
    state = read_state(warehouse_dir)
    state.setdefault("ingested", {})[kind] = {name: list(stamp) for name, stamp in listing.items()}
    _write_state(warehouse_dir, state)


def record_reference(warehouse_dir: Path, reference_fingerprint: str) -> None:
    """Note the fingerprint of the reference data and SQL the days were marked with (`mark`)."""
    state = read_state(warehouse_dir)
    state["reference"] = reference_fingerprint
    _write_state(warehouse_dir, state)


def record_plan(
    conn: duckdb.DuckDBPyConnection, warehouse_dir: Path, bounds: tuple[date, date]
) -> list[date]:
    """Write the days with data (the partitions), their span and the ranges to build into `plan.json`, for
    the sensor and the schedule. Returns the days with data."""
    keys, ranges = span_and_plan(conn, bounds)
    state = read_state(warehouse_dir)
    state["data_span"] = [keys[0].isoformat(), keys[-1].isoformat()] if keys else None
    state["days"] = [day.isoformat() for day in keys]
    state["pending"] = [[start.isoformat(), end.isoformat()] for start, end in ranges]
    _write_state(warehouse_dir, state)
    return keys
