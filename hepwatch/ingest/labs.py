"""Lab feed files into `landing.lab_messages` and the observation tables behind `landing.lab_observations`
(contract section 3).

Every message read is exactly one of accepted, duplicate (same MSH-4 and MSH-10 as one already accepted),
ignored (not a lab result message) or quarantined with a reason code; quarantined payloads go to the
restricted store. One file version is written in one transaction, so a crash leaves none of it behind and
the next run reads it again.

How: this process hashes files in blocks and never holds a large one; a file larger than
`piece_bytes` is cut into pieces on message boundaries (`lab_pieces`), and pieces (or runs of small files)
are read in worker processes, one per core (`lab_reader_process`). Their columns come back in
file order through a bounded window, and this process alone decides duplicates (in arrival order), keys
patients and writes: every piece of a file goes into that file's one landing transaction; the restricted
store's rows (keyed, so a crash before the landing commit is re-done cleanly) are committed first, piece by
piece, through a second cursor. Memory is bounded by the window and the piece size, not by the number or
the size of files.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from hepwatch.ingest.feed_files import (
    VERSION_SCHEMA,
    ScannedFile,
    discover,
    file_stamp,
    known_versions,
    next_value,
    prefetched,
    scan_file,
    unread_files,
    version_row,
)
from hepwatch.ingest.frame_insert import insert_frame
from hepwatch.ingest.lab_catalog import Catalog
from hepwatch.ingest.lab_landing import FileState, Landing, concat, prepare_piece
from hepwatch.ingest.lab_ledger import AcceptedIds
from hepwatch.ingest.lab_pieces import Task, plan_tasks
from hepwatch.ingest.lab_reader_process import read_pieces, start_reader, started
from hepwatch.ingest.piece_columns import PieceColumns
from hepwatch.pseudonym import Pseudonymizer, patient_map_rows
from hepwatch.settings import settings
from hepwatch.warehouse import bulk_load, fetch_value

PIECE_BYTES = (
    16 << 20
)  # a piece of a large file: about 20,000 messages (measured: 24 MB, +300 MB peak RSS, no faster)
PARALLEL_FROM_BYTES = 8 << 20  # less new data than this is read in this process (no worker start-up)
WINDOW_PER_WORKER = 2  # pieces in flight per reader process (measured: 1 leaves the writer waiting)


CHANGED_WHILE_READ = "changed while it was read: read again by the next run"


@dataclass
class LabIngestSummary:
    files: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    observations: int = 0
    unreadable_files: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)  # changed while read: left for the next run


def _write(landing: Landing, conn: duckdb.DuckDBPyConnection, phi: duckdb.DuckDBPyConnection) -> None:
    """The restricted store first (its own transaction, committed: keyed rows, re-done cleanly after a
    crash), then the landing tables into the open landing transaction."""
    if landing.quarantine or landing.patients:
        phi.execute("BEGIN")
        insert_frame(phi, "phi.quarantine", concat(landing.quarantine), "OR REPLACE")
        insert_frame(
            phi,
            "phi.patient_map",
            patient_map_rows(landing.patients),
            "OR IGNORE",
        )
        phi.execute("COMMIT")
    insert_frame(conn, "landing.lab_orders", concat(landing.orders))
    insert_frame(conn, "landing.lab_messages", concat(landing.messages))
    insert_frame(conn, "landing.lab_obx", concat(landing.obx))
    if landing.versions:
        versions = pl.DataFrame(landing.versions, VERSION_SCHEMA, orient="row")
        insert_frame(conn, "landing.file_versions", versions)


def worker_count() -> int:
    """Reader processes: HEPWATCH_INGEST_WORKERS (0 reads in this process), else one per core this process
    may run on."""
    configured = settings().ingest_workers
    if configured is not None:
        return configured
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _Writer:
    """The single writer: lands pieces in file order. A large file's pieces go into one transaction; a run
    of small files (one reader task) goes into one transaction too, written with one insert per table:
    per-statement and per-commit costs would otherwise dominate a feed of many small files."""

    def __init__(
        self, conn: duckdb.DuckDBPyConnection, pseudonymizer: Pseudonymizer, progress: Callable[[str], None]
    ) -> None:
        self.conn = conn
        self.phi = conn.cursor()  # the restricted store's writes, while the landing transaction is open
        self.pseudonymizer = pseudonymizer
        self.progress = progress
        self.catalog = Catalog(conn, pseudonymizer)
        self.ingest_seq = next_value(conn, "ingest_seq", "landing.file_versions")
        self.arrival = next_value(conn, "arrival_seq", "landing.lab_messages")
        self.summary = LabIngestSummary()
        self.landing = Landing()
        self.state: FileState | None = None  # the large file being landed piece by piece
        self.broken = False  # a piece of that file could not be read

    @functools.cached_property
    def accepted_ids(self) -> AcceptedIds:
        """Read when the first file lands: a run with nothing new never loads a million ids."""
        return AcceptedIds(self.conn)

    def _flush(self) -> None:
        """Write what the landed pieces gathered, and start gathering afresh."""
        _write(self.landing, self.conn, self.phi)
        self.landing = Landing()

    def _prepare(self, state: FileState, columns: PieceColumns) -> None:
        prepare_piece(
            self.conn, state, columns, self.accepted_ids, self.pseudonymizer, self.catalog, self.landing
        )

    def land_files(self, files: list[tuple[ScannedFile, PieceColumns | None]]) -> None:
        """Whole files, each read as one piece (None: it could not be read), in one transaction."""
        self.conn.execute("BEGIN")
        done: list[FileState] = []
        for scan, columns in files:
            now = datetime.now()
            if scan.error is not None:
                self.landing.versions.append(
                    version_row(scan.file, "", self.ingest_seq, now, Counter(), scan.error)
                )
                self.ingest_seq += 1
                self.summary.outcomes["unreadable"] += 1
                self.summary.unreadable_files.append(scan.file.relative)
                self.summary.files += 1
                continue
            if columns is None or (scan.data is None and _stamp_or_none(scan.file.path) != scan.stamp):
                self._left_for_next_run(scan, self.landing.versions.append)
                continue
            state = FileState(scan, self.ingest_seq, self.arrival, now, 1)
            self._prepare(state, columns)
            self.landing.versions.append(
                version_row(scan.file, scan.sha256, self.ingest_seq, now, state.outcomes, None)
            )
            self.ingest_seq += 1
            self.arrival += state.blocks
            done.append(state)
        self._flush()
        self.conn.execute("COMMIT")
        self.catalog.committed()
        for state in done:
            self._count(state)

    def land(self, owner: ScannedFile | None, count: int, columns: PieceColumns | None) -> None:
        """One piece of a large file (`owner` set on its first piece)."""
        if owner is not None:
            self.conn.execute("BEGIN")
            self.state = FileState(owner, self.ingest_seq, self.arrival, datetime.now(), count)
            self.broken = False
        state = self.state
        assert state is not None
        if columns is None:
            self.broken = True
        elif not self.broken:
            self._prepare(state, columns)
            self._flush()  # piece by piece: memory stays bounded by the piece
        state.pieces -= 1
        state.landed += 1
        if state.pieces and state.landed % 10 == 0:  # a large file: progress every 10 pieces
            self.progress(
                f"labs: {state.scan.file.relative}: {state.landed} of {state.landed + state.pieces} pieces, "
                f"{state.blocks} messages"
            )
        if state.pieces == 0:
            self.state = None
            self._finish(state)

    def _finish(self, state: FileState) -> None:
        scan = state.scan
        if self.broken or (scan.data is None and _stamp_or_none(scan.file.path) != scan.stamp):
            self.conn.execute("ROLLBACK")  # changed (or vanished) while it was read: the next run reads it
            self.catalog.rolled_back()
            self._left_for_next_run(
                scan,
                lambda row: insert_frame(
                    self.conn, "landing.file_versions", pl.DataFrame([row], VERSION_SCHEMA, orient="row")
                ),
            )
            return
        self.landing.versions.append(
            version_row(scan.file, scan.sha256, self.ingest_seq, state.now, state.outcomes, None)
        )
        self._flush()
        self.conn.execute("COMMIT")
        self.catalog.committed()
        self.ingest_seq += 1
        self.arrival += state.blocks
        self._count(state)

    def _left_for_next_run(self, scan: ScannedFile, record: Callable[[tuple], None]) -> None:
        """A file that changed while it was read: named on the console, and shown in marts.feed_files as
        unreadable for that reason (once) until the next run reads its new version whole."""
        self.progress(f"labs: {scan.file.relative} changed while it was read; left for the next run")
        self.summary.changed_files.append(scan.file.relative)
        recorded = fetch_value(
            self.conn,
            "SELECT count(*) FROM landing.file_versions WHERE file = ? AND sha256 = ''",
            [scan.file.relative],
        )
        if not recorded:
            record(version_row(scan.file, "", self.ingest_seq, datetime.now(), Counter(), CHANGED_WHILE_READ))
            self.ingest_seq += 1

    def _count(self, state: FileState) -> None:
        summary = self.summary
        summary.files += 1
        summary.outcomes.update(state.outcomes)
        summary.observations += state.observations
        if summary.files % 50 == 0:
            self.progress(f"labs: {summary.files} new files, {summary.outcomes.total()} messages")

    def close(self) -> None:
        if self.state is not None:
            self.state = None
            self.conn.execute("ROLLBACK")
            self.catalog.rolled_back()
        self.phi.close()


def _stamp_or_none(path: Path) -> tuple[int, int] | None:
    try:
        return file_stamp(path)
    except OSError:
        return None


def ingest_lab_files(
    conn: duckdb.DuckDBPyConnection,
    feeds_dir: Path,
    pseudonymizer: Pseudonymizer,
    progress: Callable[[str], None] = lambda _: None,
    *,
    workers: int | None = None,
    piece_bytes: int = PIECE_BYTES,
    memory_limit: str | None = None,
    ingested: Mapping[str, Sequence[int]] | None = None,
) -> LabIngestSummary:
    """Read every new lab file version under FEEDS/labs into the landing tables.

    `ingested`: the listing the last ingestion recorded (plan.json), whose unchanged files are not read
    again (`feed_files.unread_files`).

    `workers` reader processes (default: one per core when there are at least PARALLEL_FROM_BYTES of new
    files, else none; 0 reads in this process); a file larger than `piece_bytes` is read in pieces.
    `memory_limit` is the connection's DuckDB memory limit (default: HEPWATCH_DUCKDB_MEMORY_LIMIT), set
    again after ingestion (`bulk_load`).
    """
    known = known_versions(conn, "labs")
    files = unread_files(conn, discover(feeds_dir, "labs"), "labs", ingested)
    if workers is None:
        seen_paths = {file for file, _ in known}
        fresh = sum(f.size_bytes for f in files if f.relative not in seen_paths)
        workers = worker_count() if fresh >= PARALLEL_FROM_BYTES else 0

    def scans() -> Iterator[ScannedFile]:
        for scan in prefetched(lambda feed_file: scan_file(feed_file, keep_up_to=piece_bytes), files):
            if (scan.file.relative, scan.sha256) not in known:
                yield scan

    with bulk_load(conn, memory_limit):
        summary = _ingest(conn, pseudonymizer, progress, workers, piece_bytes, scans())
    progress(f"labs: {summary.files} new files, {summary.outcomes.total()} messages")
    return summary


def _ingest(
    conn: duckdb.DuckDBPyConnection,
    pseudonymizer: Pseudonymizer,
    progress: Callable[[str], None],
    workers: int,
    piece_bytes: int,
    scans: Iterator[ScannedFile],
) -> LabIngestSummary:
    writer = _Writer(conn, pseudonymizer, progress)
    threads = 0  # DuckDB's own threads, to give back when the readers are done (0: unchanged)
    try:
        work = plan_tasks(scans, piece_bytes)
        if workers <= 0:
            for task in work:
                _land_task(task, read_pieces(task.pieces), writer)
        else:
            # the readers need the cores more than DuckDB's own threads do (measured: 27 s, not 30 s, for 1M)
            threads = int(fetch_value(conn, "SELECT current_setting('threads')"))
            conn.execute("SET threads = 1")
            context = multiprocessing.get_context("spawn")  # never fork a process holding DuckDB threads
            with ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=start_reader
            ) as pool:
                for _ in range(workers):
                    pool.submit(started)
                window: deque[tuple[Task, Future[list[PieceColumns | None]]]] = deque()
                for task in work:
                    window.append((task, pool.submit(read_pieces, task.pieces)))
                    while len(window) > workers * WINDOW_PER_WORKER:
                        queued, future = window.popleft()
                        _land_task(queued, future.result(), writer)
                while window:
                    queued, future = window.popleft()
                    _land_task(queued, future.result(), writer)
    finally:
        writer.close()
        if threads:
            conn.execute(f"SET threads = {threads}")
    return writer.summary


def _land_task(task: Task, results: list[PieceColumns | None], writer: _Writer) -> None:
    if all(owner is not None and count == 1 for owner, count in zip(task.owners, task.counts, strict=True)):
        writer.land_files(
            [(owner, columns) for owner, columns in zip(task.owners, results, strict=True) if owner]
        )
        return
    for owner, count, columns in zip(task.owners, task.counts, results, strict=True):
        writer.land(owner, count, columns)
