"""Where hepwatch keeps its data (contract section 4) and how a connection to it is opened.

WAREHOUSE/
  hepwatch.duckdb   internal: landing, ref, staging and marts schemas (one writer at a time)
  phi.duckdb        restricted store, mode 0600: patient map, quarantine with raw payloads, generated key
  analytics.duckdb  what analysts open: a copy of the marts, replaced atomically by the publish step
  published.duckdb  internal: the marts as last published, from which analytics.duckdb is copied
  reports/          daily reports
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from hepwatch.pseudonym import Pseudonymizer
from hepwatch.settings import DOMAIN_SQL_DIR, PSEUDONYM_KEY_ENV, settings


@dataclass(frozen=True)
class WarehousePaths:
    root: Path

    @property
    def internal(self) -> Path:
        return self.root / "hepwatch.duckdb"

    @property
    def restricted(self) -> Path:
        return self.root / "phi.duckdb"

    @property
    def analytics(self) -> Path:
        return self.root / "analytics.duckdb"

    @property
    def published_copy(self) -> Path:
        """The internal copy of what was last published, kept out of analysts' reach."""
        return self.root / "published.duckdb"

    @property
    def reports(self) -> Path:
        return self.root / "reports"


def read_sql(name: str) -> str:
    """The text of `hepwatch/sql/<name>`."""
    return (DOMAIN_SQL_DIR / name).read_text(encoding="utf-8")


def sql_literal(text: str) -> str:
    """`text` as a SQL string literal, for the statements that take no parameters (ATTACH, COPY, COMMENT)."""
    return "'" + text.replace("'", "''") + "'"


def limit_memory(conn: duckdb.DuckDBPyConnection, limit: str | None = None) -> None:
    """Bound the database's memory (HEPWATCH_DUCKDB_MEMORY_LIMIT unless given): every DuckDB that hepwatch
    opens is bounded here, so the setting means one thing."""
    conn.execute(f"SET memory_limit = {sql_literal(limit or settings().memory_limit)}")


@contextmanager
def private_files() -> Iterator[None]:
    """Whatever the process umask, files and folders created meanwhile are the owner's alone (0600, 0700):
    DuckDB creates the restricted store's write-ahead log, and its spill files, whenever it needs them."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def make_root(paths: WarehousePaths) -> None:
    """The warehouse directory, the owner's alone (0700): it holds the restricted store. Other users get the
    marts through HEPWATCH_MARTS_TARGET (a file on a shared volume, MotherDuck, DuckLake)."""
    paths.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if paths.root.stat().st_mode & 0o077:
        paths.root.chmod(0o700)


def restrict_permissions(paths: WarehousePaths) -> None:
    """phi.duckdb (and its write-ahead log) readable and writable by the owner only."""
    for path in (paths.restricted, paths.restricted.with_name(paths.restricted.name + ".wal")):
        if path.exists():
            path.chmod(0o600)


def prepare(conn: duckdb.DuckDBPyConnection, paths: WarehousePaths, memory_limit: str | None = None) -> None:
    """Attach the restricted store as `phi` and create every landing and restricted table that is missing."""
    with private_files():
        conn.execute(f"ATTACH IF NOT EXISTS {sql_literal(str(paths.restricted))} AS phi")
    restrict_permissions(paths)
    limit_memory(conn, memory_limit)
    if _table_type(conn, "landing", "lab_observations") == "BASE TABLE":
        _normalise_observations(conn)
    elif _has_column(conn, "landing", "lab_obx", "patient_key"):
        _number_patients(conn)
    conn.execute(read_sql("warehouse.sql"))
    conn.execute(read_sql("restricted.sql"))


def _table_type(conn: duckdb.DuckDBPyConnection, schema: str, name: str) -> str | None:
    return fetch_value(
        conn,
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [schema, name],
    )


def _has_column(conn: duckdb.DuckDBPyConnection, schema: str, table: str, column: str) -> bool:
    return bool(
        fetch_value(
            conn,
            "SELECT count(*) FROM information_schema.columns WHERE table_catalog = current_database() "
            "AND table_schema = ? AND table_name = ? AND column_name = ?",
            [schema, table, column],
        )
    )


def _number_patients(conn: duckdb.DuckDBPyConnection) -> None:
    """A warehouse from before landing.lab_patients keeps patient_key on every landing.lab_obx row: number
    the keys, once, and keep the numbers (one transaction: all or nothing)."""
    conn.execute("BEGIN")
    conn.execute("ALTER TABLE landing.lab_obx RENAME TO lab_obx_keyed")
    conn.execute(read_sql("warehouse.sql"))
    conn.execute(read_sql("number_patients.sql"))
    conn.execute("COMMIT")


def _normalise_observations(conn: duckdb.DuckDBPyConnection) -> None:
    """An older warehouse keeps observations in one wide table: move them, once, into the
    normalised tables behind the landing.lab_observations view (one transaction: all or nothing)."""
    conn.execute("BEGIN")
    conn.execute("ALTER TABLE landing.lab_observations RENAME TO lab_observations_wide")
    conn.execute(read_sql("warehouse.sql"))
    insert_observations(conn, "landing.lab_observations_wide")
    conn.execute("DROP TABLE landing.lab_observations_wide")
    conn.execute("COMMIT")


def insert_observations(conn: duckdb.DuckDBPyConnection, relation: str | pl.DataFrame) -> None:
    """Rows with landing.lab_observations' columns (a frame, or the name of a table or view) into the
    normalised landing tables (landing.lab_obx, lab_orders, lab_descriptions, lab_patients). Ingestion writes
    those tables directly; this is for migration and for tests that land hand-made observations.
    `observation_key` must be at least 32 hex digits (hepwatch.hl7.identity gives 40): its first 32 are kept."""
    incoming = "hepwatch_incoming_observations"  # the name insert_observations.sql reads
    if isinstance(relation, pl.DataFrame):
        if relation.is_empty():
            return
        conn.register(incoming, relation)
        try:
            conn.execute(read_sql("insert_observations.sql"))
        finally:
            conn.unregister(incoming)
        return
    conn.execute(f"CREATE OR REPLACE TEMP VIEW {incoming} AS SELECT * FROM {relation}")
    try:
        conn.execute(read_sql("insert_observations.sql"))
    finally:
        conn.execute(f"DROP VIEW IF EXISTS {incoming}")


_SHARED: dict[Path, duckdb.DuckDBPyConnection] = {}


LOCK_WAIT_SECONDS = 10.0


def _connect_waiting(database: Path, memory_limit: str | None) -> duckdb.DuckDBPyConnection:
    """Open the internal database (and, in `prepare`, the restricted store) for writing, waiting up to
    LOCK_WAIT_SECONDS while another process holds either: a reader that lets go soon (`hepwatch
    quarantine`, an analyst's quick look) does not fail the run. A holder that stays is named by the error."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        conn = None
        try:
            conn = duckdb.connect(str(database))
            prepare(conn, WarehousePaths(database.parent), memory_limit)
            return conn
        except duckdb.IOException as error:
            if conn is not None:
                conn.close()
            if "Conflicting lock" not in str(error) or time.monotonic() > deadline:
                raise
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        time.sleep(0.25)


@contextmanager
def shared(root: Path | str, memory_limit: str | None = None) -> Iterator[None]:
    """For the length of the block, every connection to this warehouse made in this process (`connect`, the
    Warehouse resource) is a cursor of one open database: the file is opened, and its tables prepared, once
    instead of once per step and check (about 50 ms each on a year's warehouse). For a process that
    is the warehouse's only writer for that time, as `hepwatch run` is."""
    paths = WarehousePaths(Path(root).resolve())
    make_root(paths)
    with private_files():
        conn = _connect_waiting(paths.internal, memory_limit)
        try:
            _SHARED[paths.internal] = conn
            yield
        finally:
            _SHARED.pop(paths.internal, None)
            conn.execute("DETACH DATABASE IF EXISTS phi")
            conn.close()
            restrict_permissions(paths)


@contextmanager
def open_warehouse(
    paths: WarehousePaths,
    opener: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
    memory_limit: str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of the shared database when `shared` is open for this warehouse; else a connection from
    `opener`, prepared, with the restricted store detached and its permissions checked when done."""
    shared_conn = _SHARED.get(paths.internal.resolve())
    if shared_conn is not None:
        cursor = shared_conn.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
        return
    make_root(paths)
    with private_files(), opener() as conn:
        prepare(conn, paths, memory_limit)
        try:
            yield conn
        finally:
            conn.execute("DETACH DATABASE IF EXISTS phi")
            restrict_permissions(paths)


@contextmanager
def connect(root: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A prepared connection outside Dagster (CLI, tests, benchmarks)."""
    paths = WarehousePaths(Path(root))
    with open_warehouse(paths, lambda: closing(duckdb.connect(str(paths.internal)))) as conn:
        yield conn


def insert_frame(
    conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, on_conflict: str = ""
) -> None:
    """Insert a Polars frame by column name; `on_conflict` is "", "OR REPLACE" or "OR IGNORE"."""
    if frame.is_empty():
        return
    conn.register("incoming_frame", frame)
    try:
        conn.execute(f"INSERT {on_conflict} INTO {table} BY NAME SELECT * FROM incoming_frame")
    finally:
        conn.unregister("incoming_frame")


BULK_CHECKPOINT_THRESHOLD = "512MB"
BULK_MEMORY_LIMIT = (
    "800MB"  # DuckDB's own memory while ingesting: appends need little; the readers need the rest
)
_SIZE_UNITS = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4, "KIB": 1 << 10, "MIB": 1 << 20,
               "GIB": 1 << 30, "TIB": 1 << 40}  # fmt: skip


def _size_bytes(text: str) -> float:
    """'1.3 GiB', '800MB' and the like, in bytes."""
    number = text.strip().rstrip("BbIiKkMmGgTt ")
    unit = text.strip()[len(number) :].strip().upper() or "B"
    return float(number) * _SIZE_UNITS[unit]


@contextmanager
def bulk_load(conn: duckdb.DuckDBPyConnection, memory_limit: str | None = None) -> Iterator[None]:
    """For a block of many committed appends (ingestion):

    - DuckDB checkpoints the write-ahead log into the file when it passes 512 MB instead of every 16 MB, so a
      row group on disk is rewritten once, not at each commit that appends to it (a year of lab files: 1 to 2 s
      less); a crash still loses no committed row (the log is replayed on opening). The log is checkpointed
      when the block ends.
    - DuckDB's memory is held to 800 MB (or less when set lower): appends need little, and the cache it
      would otherwise keep is memory the reader processes need (a year of lab files: 450 MB less at peak,
      no slower). `memory_limit` (default: HEPWATCH_DUCKDB_MEMORY_LIMIT) is set again afterwards.
    """
    threshold = fetch_value(conn, "SELECT current_setting('checkpoint_threshold')")
    current = str(fetch_value(conn, "SELECT current_setting('memory_limit')"))
    conn.execute(f"SET checkpoint_threshold = {sql_literal(BULK_CHECKPOINT_THRESHOLD)}")
    if _size_bytes(current) > _size_bytes(BULK_MEMORY_LIMIT):
        conn.execute(f"SET memory_limit = {sql_literal(BULK_MEMORY_LIMIT)}")
    try:
        yield
        conn.execute("CHECKPOINT")  # (within the lower memory limit)
    finally:
        conn.execute(f"SET checkpoint_threshold = {sql_literal(str(threshold))}")
        limit_memory(conn, memory_limit)


def fetch_value(conn: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> Any:
    """First column of the first row, or None. fetchall, because duckdb 2 keeps a half-fetched result open."""
    rows = conn.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


class PseudonymKeyError(Exception):
    """The pseudonymization key given does not fit the warehouse; the message is one line a user can act on."""


def pseudonym_key(conn: duckdb.DuckDBPyConnection, configured: str | None) -> bytes:
    """The warehouse's one key behind `patient_key` (contract section 1).

    It is fixed on first use and kept in the restricted store: `configured` (HEPWATCH_PSEUDONYM_KEY) when
    set, else a new random key. Later, a HEPWATCH_PSEUDONYM_KEY that differs from the stored key is refused, so one patient
    can never get a second `patient_key` (a daemon started without the variable uses the stored key). A
    warehouse built before keys were stored is checked against its patient map before its key is stored.
    """
    given = configured.encode("utf-8") if configured else None
    stored = fetch_value(conn, "SELECT value FROM phi.settings WHERE name = 'pseudonym_key'")
    if stored is not None:
        key = bytes.fromhex(stored)
        if given is not None and given != key:
            raise PseudonymKeyError(
                f"{PSEUDONYM_KEY_ENV} differs from the key this warehouse was built with (kept in phi.duckdb): "
                "unset it, or use another warehouse"
            )
        return key
    known = conn.execute(
        "SELECT patient_key, id_authority, patient_id FROM phi.patient_map LIMIT 1"
    ).fetchall()
    if known:
        if given is None:
            raise PseudonymKeyError(
                f"this warehouse was built with {PSEUDONYM_KEY_ENV} but does not keep it: run once with the "
                "same key set, and it is stored"
            )
        patient_key, authority, patient_id = known[0]
        if Pseudonymizer(given).patient_key(authority, patient_id) != patient_key:
            raise PseudonymKeyError(
                f"{PSEUDONYM_KEY_ENV} is not the key this warehouse's patients were keyed with: set the "
                "original key, or use another warehouse"
            )
    key = given if given is not None else secrets.token_bytes(32)
    conn.execute("INSERT OR IGNORE INTO phi.settings VALUES ('pseudonym_key', ?)", [key.hex()])
    return pseudonym_key(
        conn, configured
    )  # the stored key (another writer may have stored one first), checked again
