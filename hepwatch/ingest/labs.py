"""Lab feed files into `landing.lab_messages` and the observation tables behind `landing.lab_observations`
(contract section 3).

Every message read is exactly one of accepted, duplicate (same MSH-4 and MSH-10 as one already accepted),
ignored (not a lab result message) or quarantined with a reason code; quarantined payloads go to the
restricted store. One file version is written in one transaction, so a crash leaves none of it behind and
the next run reads it again.

How (issue 5): this process hashes files in blocks and never holds a large one; a file larger than
`piece_bytes` is cut into pieces on message boundaries (`plan_pieces`), and pieces (or runs of small files)
are read in worker processes, one per core, by `lab_columns.LabColumnsReader`. Their columns come back in
file order through a bounded window, and this process alone decides duplicates (in arrival order), keys
patients and writes: every piece of a file goes into that file's one landing transaction; the restricted
store's rows (keyed, so a crash before the landing commit is re-done cleanly) are committed first, piece by
piece, through a second cursor. Memory is bounded by the window and the piece size, not by the number or
the size of files.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import multiprocessing
import os
import re
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from hepwatch.hl7.framing import decode_feed_bytes
from hepwatch.hl7.oru import MessageRecord, ObservationRecord
from hepwatch.ingest.feed_files import (
    VERSION_SCHEMA,
    ScannedFile,
    discover,
    file_stamp,
    known_versions,
    next_value,
    prefetched,
    scan_file,
    version_row,
)
from hepwatch.ingest.lab_columns import LabColumnsReader, PieceColumns
from hepwatch.pseudonym import Pseudonymizer, patient_map_rows
from hepwatch.warehouse import fetch_value

PIECE_BYTES = (
    16 << 20
)  # a piece of a large file: about 20,000 messages (measured: 24 MB, +300 MB peak RSS, no faster)
PARALLEL_FROM_BYTES = 8 << 20  # less new data than this is read in this process (no worker start-up)
WORKERS_ENV = "HEPWATCH_INGEST_WORKERS"  # reader processes; default one per core, 0 reads in this process
WINDOW_PER_WORKER = 2  # pieces in flight per reader process (measured: 1 leaves the writer waiting)


CHANGED_WHILE_READ = "changed while it was read: read again by the next run"


@dataclass
class LabIngestSummary:
    files: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    observations: int = 0
    unreadable_files: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)  # changed while read: left for the next run


def observation_keys(message: MessageRecord, observations: list[ObservationRecord]) -> list[str]:
    """Identity of each observation across versions (domain.md section 7).

    Facility, placer and filler order numbers, OBX-3 and OBX-4, plus the repeat number when the same
    identity occurs more than once in a message. Without any order number the message control ID stands in,
    so unrelated results never replace each other. (`lab_columns` computes the same keys column-wise; the
    landing tables keep their first 32 hex digits, 128 bits, as two numbers.)
    """
    seen: Counter[tuple[str, ...]] = Counter()
    keys = []
    for obs in observations:
        orders = (obs.placer_order, obs.filler_order)
        if not any(orders):
            orders = ("msg", message.control_id or "")
        identity = (
            message.sending_facility or "",
            *orders,
            obs.code_system,
            obs.code,
            obs.alt_system,
            obs.alt_code,
            obs.code_text if not (obs.code or obs.alt_code) else "",
            obs.sub_id,
        )
        seen[identity] += 1
        digest = hashlib.sha1("\x1f".join((*identity, str(seen[identity]))).encode(), usedforsecurity=False)
        keys.append(digest.hexdigest())
    return keys


def insert_frame(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    on_conflict: str = "",
    select: str = "*",
    params: list | None = None,
) -> None:
    """warehouse.insert_frame, reading the frame through DuckDB's replacement scan (a local variable).

    `conn.register` creates a view in the catalog, and the catalog is transactional: after `unregister` the
    view, and with it the whole frame, stays alive until the transaction ends, so one landing transaction
    per file version would hold every piece of a large file in memory. A replacement scan holds nothing once
    the statement is done. `select` (with `params`) may add or change columns on the way in.
    """
    if frame.is_empty():
        return
    incoming_frame = frame  # noqa: F841 (read by name by the SQL below)
    conn.execute(
        f"INSERT {on_conflict} INTO {table} BY NAME SELECT {select} FROM incoming_frame", params or []
    )


# ---- pieces: what a reader process reads ---------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A whole small file (`data`), or the byte range [start, end) of a large one, cut on message starts."""

    path: str
    start: int
    end: int
    data: bytes | None = None  # the whole file, already read (and hashed) by the writer
    encoding: str = "utf-8"  # the whole file's decoding, for a range
    first: bool = True  # the range that starts the file (where a byte-order mark may be)


_UTF8_BOM = b"\xef\xbb\xbf"
_READER: LabColumnsReader | None = None


def read_piece(piece: Piece) -> PieceColumns:
    """A piece's text, decoded as the whole file is, to columns (in a reader process, or in this one)."""
    global _READER
    if _READER is None:
        _READER = LabColumnsReader()
    if piece.data is not None:
        return _READER.read(decode_feed_bytes(piece.data))
    with open(piece.path, "rb") as handle:
        data = os.pread(handle.fileno(), piece.end - piece.start, piece.start)
    if len(data) != piece.end - piece.start:
        raise OSError(f"{piece.path} changed while it was read")
    if piece.first and data.startswith(_UTF8_BOM):
        data = data[3:]
    text = data.decode(piece.encoding)
    del data
    return _READER.read(text)


def start_reader() -> None:
    """A reader process's initializer: its memory settings, its reader."""
    global _READER
    _keep_freed_memory()
    _READER = LabColumnsReader()
    _READER.duck()


def _started() -> None:
    """A no-op call that makes the pool start a process now (its initializer runs first): the processes
    import and set up (about 0.7 s: Python, Polars, DuckDB) while this process hashes the first files
    (about 1.2 s for 800 MB)."""


def _keep_freed_memory() -> None:
    """In a reader process (glibc only): serve piece-sized buffers (the bytes, the text, its lines) from the
    heap and keep what a piece freed for the next one, instead of mapping and unmapping them each time
    (measured on the 1M-message bench: the readers' system time falls from about 4 s to 3 s)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest: a 16 MB piece is below it
    libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)
    libc.mallopt(_M_TOP_PAD, 64 << 20)


_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # mallopt's parameters (malloc.h)


def read_pieces(pieces: list[Piece | None]) -> list[PieceColumns | None]:
    """A task's pieces; None for a file that could not be read, or that changed or vanished meanwhile."""
    out: list[PieceColumns | None] = []
    for piece in pieces:
        try:
            out.append(None if piece is None else read_piece(piece))
        except OSError:
            out.append(None)
    return out


_CR_START = re.compile(rb"(?<=\r)[\r\n\x0b\x1c]*MSH[^\r\n\x0b\x1c]")
_LF_START = re.compile(rb"(?<=\n)[\n\x0b\x1c]*MSH[^\n\x0b\x1c]")


def plan_pieces(scan: ScannedFile, piece_bytes: int) -> list[tuple[int, int]]:
    """Byte ranges of a file, each about `piece_bytes` long, each cut just after a segment terminator that
    only empty lines separate from a line starting a message.

    framing.split_blocks starts a new block at every line `MSH` + something and keeps no state across it,
    and split_segments' lines of two such ranges are the lines of the whole (the terminator ends the first
    range), so reading ranges apart and renumbering gives the blocks of the whole file. The terminator is
    the file's own (CR when it has any, else LF); every range but the last ends with it, and a last range
    without a CR in a CR file is not cut off (it would be split on LF).
    """
    size = scan.size
    if size <= piece_bytes:
        return [(0, size)]
    pattern = _CR_START if scan.has_cr else _LF_START
    cuts = [0]
    with scan.file.path.open("rb") as handle:
        fd = handle.fileno()
        target = piece_bytes
        while target < size:
            window = 1 << 16
            found = None
            while found is None:
                chunk = os.pread(fd, window + 1024, target - 1)
                match = pattern.search(chunk, 1)
                if match:
                    found = target - 1 + match.start()
                elif target - 1 + len(chunk) >= size:
                    break
                else:
                    window *= 4
            if found is None:
                break
            cuts.append(found)
            target = found + piece_bytes
        if len(cuts) > 1 and scan.has_cr and b"\r" not in os.pread(fd, size - cuts[-1], cuts[-1]):
            cuts.pop()
    cuts.append(size)
    return list(pairwise(cuts))


# ---- the ledger: duplicates in arrival order ----------------------------------------------------------


def _identities(ids: pl.DataFrame) -> pl.Series:
    """(MSH-4, MSH-10) as one text each: a missing facility and an empty one stay apart."""
    return ids.select(
        pl.when(pl.col("sending_facility").is_null())
        .then(pl.lit("\x00"))
        .otherwise(pl.lit("\x01") + pl.col("sending_facility"))
        + pl.lit("\x1f")
        + pl.col("control_id")
    ).to_series()


class AcceptedIds:
    """(MSH-4, MSH-10) of every accepted message, to tell duplicates in arrival order.

    Messages accepted by this run are kept exactly (a set of texts, about 100 bytes each); those accepted
    before it, as sorted 64-bit hashes (8 bytes each) read from the warehouse in batches: a hash seen before
    makes a message a candidate, and candidates are confirmed against landing.lab_messages.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        reader = conn.sql(
            "SELECT sending_facility, control_id FROM landing.lab_messages WHERE outcome = 'accepted'"
        ).to_arrow_reader(1 << 20)
        hashes = []
        for batch in reader:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            hashes.append(_identities(frame).hash().to_numpy())
        self.before = np.sort(np.concatenate(hashes)) if hashes else np.zeros(0, dtype=np.uint64)
        self.run: set[str] = set()

    def duplicates(self, conn: duckdb.DuckDBPyConnection, ids: pl.DataFrame) -> np.ndarray:
        """Which of these accepted messages (sending_facility, control_id, in file order) are duplicates."""
        identities = _identities(ids)
        run = self.run
        texts = identities.to_list()
        # accepted earlier in this run, or earlier in these messages
        duplicate = np.fromiter(map(run.__contains__, texts), dtype=bool, count=len(texts))
        duplicate |= ~identities.is_first_distinct().to_numpy()
        run.update(texts)
        if len(self.before):
            hashes = identities.hash().to_numpy()
            at = np.minimum(np.searchsorted(self.before, hashes), len(self.before) - 1)
            candidates = (self.before[at] == hashes) & ~duplicate
            if candidates.any():
                incoming_ids = ids.filter(pl.Series(candidates)).unique()  # noqa: F841 (read by name below)
                confirmed = conn.execute(
                    "SELECT DISTINCT c.sending_facility, c.control_id FROM incoming_ids c "
                    "JOIN landing.lab_messages m ON m.control_id = c.control_id "
                    "AND m.sending_facility IS NOT DISTINCT FROM c.sending_facility WHERE m.outcome = 'accepted'"
                ).fetchall()
                known = _identities(pl.DataFrame(confirmed, schema=ids.schema, orient="row"))
                duplicate |= candidates & identities.is_in(known.implode()).to_numpy()
        return duplicate


# ---- writing -----------------------------------------------------------------------------------------


_DESCRIPTION_COLUMNS = [
    "code", "code_text", "code_system", "alt_code", "alt_text", "alt_system", "sub_id", "unit", "reference_range",
    "range_upper", "abnormal_flags", "result_status",
]  # fmt: skip


class _Catalog:
    """The writer's ids of landing.lab_descriptions rows (each distinct description once), of
    landing.lab_orders rows (one per OBR context) and of landing.lab_patients rows (one per patient_key),
    inside the current file's transaction."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, pseudonymizer: Pseudonymizer) -> None:
        rows = conn.execute(
            f"SELECT description_id, {', '.join(_DESCRIPTION_COLUMNS)} FROM landing.lab_descriptions"
        ).fetchall()
        self.descriptions: dict[tuple, int] = {tuple(row[1:]): row[0] for row in rows}
        self.next_description = next_value(conn, "description_id", "landing.lab_descriptions")
        self.next_order = next_value(conn, "order_id", "landing.lab_orders")
        self.pseudonymizer = pseudonymizer
        self.patient_keys: dict[str, int] | None = None  # read when a file first lands observations
        self.patient_pairs: dict[str | tuple, int] = {}  # (id_authority, patient_id) as read -> id
        self.next_patient = 0
        self._begin()

    def _begin(self) -> None:
        self.pending: list[tuple] = []  # descriptions first written by the open transaction
        self.pending_keys: list[str] = []  # patient keys ...
        self.pending_pairs: list[str | tuple] = []  # ... and pairs first numbered by it
        self.order_at_begin = self.next_order
        self.description_at_begin = self.next_description
        self.patient_at_begin = self.next_patient

    def patient_ids(
        self, conn: duckdb.DuckDBPyConnection, patients: pl.DataFrame, used: pl.Series
    ) -> pl.Series:
        """The landing.lab_patients id of each patient (PATIENT_SCHEMA row) in `used` (0 for the others);
        new keys are written. A pair seen before in this run costs one dictionary lookup, of one text (the
        two identifiers joined by U+001F), or of the pair when an identifier holds U+001F itself."""
        if self.patient_keys is None:
            rows = conn.execute("SELECT patient_key, patient_id FROM landing.lab_patients").fetchall()
            self.patient_keys = dict(rows)
            self.next_patient = self.patient_at_begin = max(self.patient_keys.values(), default=0) + 1
        by_pair, by_key = self.patient_pairs, self.patient_keys
        chosen = patients[used]
        pairs: list[tuple[str, str]] | None = None
        if chosen.select(pl.any_horizontal(pl.all().str.contains("\x1f", literal=True)).any()).item():
            pairs = chosen.rows()
        texts = pairs or chosen.select(pl.concat_str(pl.all(), separator="\x1f")).to_series().to_list()
        ids = [0] * patients.height
        new = []
        for i, text in zip(used.to_list(), texts, strict=True):
            found = by_pair.get(text)
            if found is None:
                pair = text if isinstance(text, tuple) else tuple(text.split("\x1f"))
                key = self.pseudonymizer.patient_key(*pair)
                found = by_key.get(key)
                if found is None:
                    found = by_key[key] = self.next_patient
                    self.next_patient += 1
                    self.pending_keys.append(key)
                    new.append((found, key))
                by_pair[text] = found
                self.pending_pairs.append(text)
            ids[i] = found
        if new:
            frame = pl.DataFrame(new, schema={"patient_id": pl.Int32, "patient_key": pl.Utf8}, orient="row")
            insert_frame(conn, "landing.lab_patients", frame)
        return pl.Series("patient_id", ids, dtype=pl.Int32)

    def description_ids(self, conn: duckdb.DuckDBPyConnection, descriptions: pl.DataFrame) -> pl.Series:
        """The id of each of a piece's description rows; new ones are written."""
        ids, new = [], []
        for row in descriptions.select(_DESCRIPTION_COLUMNS).iter_rows():
            found = self.descriptions.get(row)
            if found is None:
                found = self.descriptions[row] = self.next_description
                self.next_description += 1
                self.pending.append(row)
                new.append((found, *row))
            ids.append(found)
        if new:
            frame = pl.DataFrame(new, schema=["description_id", *_DESCRIPTION_COLUMNS], orient="row")
            insert_frame(conn, "landing.lab_descriptions", frame)
        return pl.Series("description_id", ids, dtype=pl.Int64)

    def orders(self, obrs: pl.DataFrame) -> pl.DataFrame:
        """A piece's landing.lab_orders rows, numbered from `next_order` (its row n is next_order + n)."""
        first = self.next_order
        self.next_order += obrs.height
        return obrs.drop("collected").with_row_index("order_id", offset=first)

    def committed(self) -> None:
        self._begin()

    def rolled_back(self) -> None:
        for row in self.pending:
            del self.descriptions[row]
        if self.patient_keys is not None:
            for key in self.pending_keys:
                del self.patient_keys[key]
        for pair in self.pending_pairs:
            del self.patient_pairs[pair]
        self.next_order, self.next_description = self.order_at_begin, self.description_at_begin
        self.next_patient = self.patient_at_begin
        self._begin()


@dataclass
class _FileState:
    """One file version being written: where its pieces go, and what they held so far."""

    scan: ScannedFile
    ingest_seq: int
    first_arrival: int
    now: datetime
    pieces: int  # pieces still to land
    landed: int = 0  # pieces landed
    blocks: int = 0  # blocks of the pieces landed so far: the next piece's first message_index
    lines: int = 0  # lines before the next piece
    outcomes: Counter[str] = field(default_factory=Counter)
    observations: int = 0


_IDS = ["sending_facility", "control_id"]


@dataclass
class _Landing:
    """What pieces write: frames ready to insert as they are, gathered so that a run of small files is
    written with one insert per table and one commit."""

    messages: list[pl.DataFrame] = field(default_factory=list)
    obx: list[pl.DataFrame] = field(default_factory=list)
    orders: list[pl.DataFrame] = field(default_factory=list)
    quarantine: list[pl.DataFrame] = field(default_factory=list)  # restricted store
    patients: list[tuple[str, str, str]] = field(default_factory=list)  # restricted store
    versions: list[tuple] = field(default_factory=list)  # landing.file_versions rows

    def write(self, conn: duckdb.DuckDBPyConnection, phi: duckdb.DuckDBPyConnection) -> None:
        """The restricted store first (its own transaction, committed: keyed rows, re-done cleanly after a
        crash), then the landing tables into the open landing transaction."""
        if self.quarantine or self.patients:
            phi.execute("BEGIN")
            insert_frame(phi, "phi.quarantine", _concat(self.quarantine), "OR REPLACE")
            insert_frame(
                phi,
                "phi.patient_map",
                patient_map_rows(self.patients),
                "OR IGNORE",
            )
            phi.execute("COMMIT")
        insert_frame(conn, "landing.lab_orders", _concat(self.orders))
        insert_frame(conn, "landing.lab_messages", _concat(self.messages))
        insert_frame(conn, "landing.lab_obx", _concat(self.obx))
        if self.versions:
            versions = pl.DataFrame(self.versions, VERSION_SCHEMA, orient="row")
            insert_frame(conn, "landing.file_versions", versions)


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [frame for frame in frames if frame.height]
    if len(frames) == 1:
        return frames[0]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def _prepare_piece(
    conn: duckdb.DuckDBPyConnection,
    state: _FileState,
    piece: PieceColumns,
    accepted_ids: AcceptedIds,
    pseudonymizer: Pseudonymizer,
    catalog: _Catalog,
    landing: _Landing,
) -> None:
    """One piece's ledger rows, observations and quarantined payloads, added to `landing`."""
    feed, sha256 = state.scan.file, state.scan.sha256
    first_index = state.first_arrival + state.blocks  # arrival_seq of the piece's first block
    messages = piece.messages
    accepted = (messages["outcome"] == "accepted").to_numpy()
    landed = accepted.copy()
    if accepted.any():
        duplicate = accepted_ids.duplicates(conn, messages.filter(pl.Series(accepted)).select(_IDS))
        if duplicate.any():
            rows = np.flatnonzero(accepted)[duplicate]
            landed[rows] = False
            dup = messages[rows]
            details = [
                f"MSH-4/MSH-10 {facility}/{control_id} already accepted"
                for facility, control_id in zip(dup["sending_facility"], dup["control_id"], strict=True)
            ]
            messages = messages.with_columns(
                messages["outcome"].clone().scatter(rows, "duplicate"),
                messages["reason"].clone().scatter(rows, "duplicate_control_id"),
                messages["detail"].clone().scatter(rows, pl.Series(details, dtype=pl.Utf8)),
                messages["observations"].clone().scatter(rows, 0),
            )
    obx_rows = piece.rows
    if not landed.all():
        obx_rows = obx_rows.filter(pl.Series(landed[obx_rows["message_index"].to_numpy()]))
    observations = piece.landing_rows(obx_rows)
    if observations.height:
        patient_ids = catalog.patient_ids(conn, piece.patients, obx_rows["patient_index"].unique())
        first_order = catalog.next_order
        landing.orders.append(catalog.orders(piece.obrs))
        observations = observations.select(
            pl.exclude("message_index", "patient_index", "obr", "description"),
            arrival_seq=pl.col("message_index").cast(pl.Int64) + first_index,
            collected_date=pl.col("collected_at").dt.date(),
            patient_id=patient_ids.gather(obx_rows["patient_index"]),
            description_id=catalog.description_ids(conn, piece.descriptions).gather(obx_rows["description"]),
            order_id=pl.col("obr").cast(pl.Int64) + first_order,
        )
        landing.obx.append(observations)
    landing.patients.extend(pseudonymizer.take_new())
    if piece.quarantine.height:
        landing.quarantine.append(
            piece.quarantine.select(
                pl.exclude("message_index", "line"),
                position=pl.col("message_index").cast(pl.Int64) + state.blocks,
                line=pl.col("line").cast(pl.Int64) + state.lines,
                kind=pl.lit("lab_message"),
                file=pl.lit(feed.relative),
                sha256=pl.lit(sha256),
                quarantined_at=pl.lit(state.now),
            )
        )
    landing.messages.append(
        messages.with_columns(
            message_index=pl.col("message_index").cast(pl.Int64) + state.blocks,
            line=pl.col("line").cast(pl.Int64) + state.lines,
            # the same two texts on every row: dictionary-encoded, DuckDB copies them once
            file=pl.lit(feed.relative, dtype=pl.Categorical),
            sha256=pl.lit(sha256, dtype=pl.Categorical),
            arrival_seq=pl.col("message_index").cast(pl.Int64) + first_index,
        )
    )
    state.outcomes.update(dict(messages["outcome"].value_counts().iter_rows()))
    state.observations += observations.height
    state.blocks += messages.height
    state.lines += piece.lines - 1  # the piece's last (empty) line is the next piece's first


# ---- the run -----------------------------------------------------------------------------------------


def worker_count() -> int:
    """Reader processes: HEPWATCH_INGEST_WORKERS, else one per core this process may run on."""
    configured = os.environ.get(WORKERS_ENV)
    if configured:
        return max(0, int(configured))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class _Task:
    """What one reader call reads: a run of small files, or one piece of a large file.

    Per piece: the file it starts (None for a later piece of the same file) and how many pieces that file
    has; a file that cannot be read at all has no piece (None), only its ledger row.
    """

    pieces: list[Piece | None] = field(default_factory=list)
    owners: list[ScannedFile | None] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def add(self, piece: Piece | None, owner: ScannedFile | None, count: int) -> None:
        self.pieces.append(piece)
        self.owners.append(owner)
        self.counts.append(count)


def _tasks(scans: Iterator[ScannedFile], piece_bytes: int) -> Iterator[_Task]:
    """Work in file order: small files batched up to `piece_bytes`, a large file piece by piece."""
    batch, size = _Task(), 0
    for scan in scans:
        if scan.error is not None or scan.data is not None:
            piece = None if scan.data is None else Piece(str(scan.file.path), 0, scan.size, scan.data)
            batch.add(piece, scan, 1)
            size += scan.size
            if size >= piece_bytes:
                yield batch
                batch, size = _Task(), 0
            continue
        if batch.pieces:
            yield batch
            batch, size = _Task(), 0
        ranges = plan_pieces(scan, piece_bytes)
        for number, (start, end) in enumerate(ranges):
            task = _Task()
            piece = Piece(str(scan.file.path), start, end, None, scan.encoding, number == 0)
            task.add(piece, scan if number == 0 else None, len(ranges))
            yield task
    if batch.pieces:
        yield batch


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
        self.catalog = _Catalog(conn, pseudonymizer)
        self.ingest_seq = next_value(conn, "ingest_seq", "landing.file_versions")
        self.arrival = next_value(conn, "arrival_seq", "landing.lab_messages")
        self.summary = LabIngestSummary()
        self.landing = _Landing()
        self.state: _FileState | None = None  # the large file being landed piece by piece
        self.broken = False  # a piece of that file could not be read

    @functools.cached_property
    def accepted_ids(self) -> AcceptedIds:
        """Read when the first file lands: a run with nothing new never loads a million ids."""
        return AcceptedIds(self.conn)

    def _flush(self) -> None:
        """Write what the landed pieces gathered, and start gathering afresh."""
        self.landing.write(self.conn, self.phi)
        self.landing = _Landing()

    def _prepare(self, state: _FileState, columns: PieceColumns) -> None:
        _prepare_piece(
            self.conn, state, columns, self.accepted_ids, self.pseudonymizer, self.catalog, self.landing
        )

    def land_files(self, files: list[tuple[ScannedFile, PieceColumns | None]]) -> None:
        """Whole files, each read as one piece (None: it could not be read), in one transaction."""
        self.conn.execute("BEGIN")
        done: list[_FileState] = []
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
            state = _FileState(scan, self.ingest_seq, self.arrival, now, 1)
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
            self.state = _FileState(owner, self.ingest_seq, self.arrival, datetime.now(), count)
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

    def _finish(self, state: _FileState) -> None:
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

    def _count(self, state: _FileState) -> None:
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
) -> LabIngestSummary:
    """Read every new lab file version under FEEDS/labs into the landing tables.

    `workers` reader processes (default: one per core when there are at least PARALLEL_FROM_BYTES of new
    files, else none; 0 reads in this process); a file larger than `piece_bytes` is read in pieces.
    """
    known = known_versions(conn, "labs")
    files = discover(feeds_dir, "labs")
    if workers is None:
        seen_paths = {file for file, _ in known}
        fresh = sum(f.size_bytes for f in files if f.relative not in seen_paths)
        workers = worker_count() if fresh >= PARALLEL_FROM_BYTES else 0

    def scans() -> Iterator[ScannedFile]:
        for scan in prefetched(lambda feed_file: scan_file(feed_file, keep_up_to=piece_bytes), files):
            if (scan.file.relative, scan.sha256) not in known:
                yield scan

    writer = _Writer(conn, pseudonymizer, progress)
    threads = 0  # DuckDB's own threads, to give back when the readers are done (0: unchanged)
    try:
        tasks = _tasks(scans(), piece_bytes)
        if workers <= 0:
            for task in tasks:
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
                    pool.submit(_started)
                window: deque[tuple[_Task, Future[list[PieceColumns | None]]]] = deque()
                for task in tasks:
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
    summary = writer.summary
    progress(f"labs: {summary.files} new files, {summary.outcomes.total()} messages")
    return summary


def _land_task(task: _Task, results: list[PieceColumns | None], writer: _Writer) -> None:
    if all(owner is not None and count == 1 for owner, count in zip(task.owners, task.counts, strict=True)):
        writer.land_files(
            [(owner, columns) for owner, columns in zip(task.owners, results, strict=True) if owner]
        )
        return
    for owner, count, columns in zip(task.owners, task.counts, results, strict=True):
        writer.land(owner, count, columns)
