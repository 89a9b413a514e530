"""Finding feed files and deciding which versions are new (contract sections 2 and 3)."""

from __future__ import annotations

import codecs
import hashlib
import os
import stat
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import polars as pl

from hepwatch.lines import MAX_LINE_BYTES, LongestLine
from hepwatch.warehouse import fetch_value

FEED_KINDS = {"labs": "*.hl7", "dosing": "*.csv"}


@dataclass(frozen=True)
class FeedFile:
    path: Path
    relative: str  # path relative to the feeds directory, with forward slashes
    kind: str
    modified_at: datetime
    size_bytes: int
    modified_ns: int = 0  # st_mtime_ns: with the size, what tells a new version without reading the file
    problem: str | None = None  # why a path with a feed suffix is not a file that can be read


def _not_a_file(path: Path) -> str | None:
    """Why a path with a feed suffix is not a regular file (None when it is one)."""
    try:
        mode = path.stat().st_mode
    except OSError as error:  # a symbolic link loop, or a link to nothing
        return f"not a readable file: {error.strerror or error}"
    if stat.S_ISREG(mode):
        return None
    kinds = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a FIFO", stat.S_ISSOCK: "a socket"}
    kind = next((name for test, name in kinds.items() if test(mode)), "a device or special file")
    return f"not a regular file: {kind}"


@dataclass
class FileVersion:
    file: FeedFile
    data: bytes | None
    sha256: str
    error: str | None = None  # why the file could not be read at all


def discover(feeds_dir: Path, kind: str) -> list[FeedFile]:
    """Feed files of one kind at any depth, oldest first.

    Order is (modification time to the second, path): files first read in the same run are taken in the
    order they were written, and files written in the same second (a fresh git checkout) in path order.
    """
    root = feeds_dir / kind
    if not root.is_dir():
        return []
    found = []
    for path in root.rglob(FEED_KINDS[kind]):
        # every path with the feed suffix is accounted for: a directory, FIFO or link loop is recorded as
        # unreadable with its reason, never skipped in silence (and never opened: a FIFO would block)
        problem = _not_a_file(path)
        status = path.lstat() if problem else path.stat()
        found.append(
            FeedFile(
                path=path,
                relative=path.relative_to(feeds_dir).as_posix(),
                kind=kind,
                modified_at=datetime.fromtimestamp(int(status.st_mtime)),
                size_bytes=0 if problem else status.st_size,
                modified_ns=status.st_mtime_ns,
                problem=problem,
            )
        )
    return sorted(found, key=lambda f: (f.modified_at, f.relative))


def feed_listing(feeds_dir: Path, kind: str) -> dict[str, tuple[int, int]]:
    """Every feed file of one kind: its relative path -> (size, mtime_ns). Only `stat`, never a read."""
    return {f.relative: (f.size_bytes, f.modified_ns) for f in discover(feeds_dir, kind)}


def read_version(feed_file: FeedFile) -> FileVersion:
    if feed_file.problem:
        return FileVersion(feed_file, None, "", feed_file.problem)
    try:
        data = feed_file.path.read_bytes()
    except OSError as error:
        return FileVersion(feed_file, None, "", f"cannot read {feed_file.relative}: {error.strerror}")
    return FileVersion(feed_file, data, hashlib.sha256(data).hexdigest())


_SCAN_BLOCK = 8 << 20
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")  # bytes Python's cp1252 cannot decode


@dataclass
class ScannedFile:
    """A file version read once, in blocks: its hash, and for a large file what its pieces need to know.

    `data` holds the whole content when the file is at most `keep_up_to` bytes; a larger file is read again,
    in pieces, by whoever parses it. `encoding` is what `framing.decode_feed_bytes` decodes the whole file
    as, and `has_cr` whether `framing.split_segments` splits it on CR, so that pieces decode and split alike.
    """

    file: FeedFile
    sha256: str
    size: int
    data: bytes | None
    error: str | None = None
    has_cr: bool = False
    encoding: str = "utf-8"
    stamp: tuple[int, int] = (0, 0)  # (size, mtime_ns) when read, to tell whether it changed since


def file_stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def scan_file(feed_file: FeedFile, keep_up_to: int) -> ScannedFile:
    """Hash a file in blocks (memory stays flat whatever its size); keep its bytes if it is small."""
    if feed_file.problem:
        return ScannedFile(feed_file, "", 0, None, feed_file.problem)
    try:
        with feed_file.path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            stamp = (info.st_size, info.st_mtime_ns)
            if info.st_size == 0:  # as for a dosing file: a feed file with nothing in it is worth a look
                return ScannedFile(feed_file, "", 0, None, "empty_file", stamp=stamp)
            if info.st_size <= keep_up_to:
                data = handle.read()
                return ScannedFile(feed_file, hashlib.sha256(data).hexdigest(), len(data), data, stamp=stamp)
            digest = hashlib.sha256()
            utf8 = codecs.getincrementaldecoder("utf-8")()
            is_utf8 = True
            cp1252 = True
            has_cr = False
            size = 0
            lines = LongestLine()
            while block := handle.read(_SCAN_BLOCK):
                digest.update(block)
                size += len(block)
                has_cr = has_cr or b"\r" in block
                lines.feed(block)
                if block.isascii() and not utf8.getstate()[0]:
                    continue
                if is_utf8:
                    try:
                        utf8.decode(block)
                    except UnicodeDecodeError:
                        is_utf8 = False
                cp1252 = cp1252 and not any(byte in block for byte in _CP1252_UNDEFINED)
            if is_utf8:
                try:
                    utf8.decode(b"", final=True)
                except UnicodeDecodeError:
                    is_utf8 = False
    except OSError as error:
        return ScannedFile(feed_file, "", 0, None, f"cannot read {feed_file.relative}: {error.strerror}")
    if lines.too_long:
        problem = f"a line longer than {MAX_LINE_BYTES >> 20} MB: not HL7 v2 text (its segments are lines)"
        return ScannedFile(feed_file, "", 0, None, problem, stamp=stamp)
    encoding = "utf-8" if is_utf8 else "cp1252" if cp1252 else "latin-1"
    return ScannedFile(feed_file, digest.hexdigest(), size, None, None, has_cr, encoding, stamp)


def unread_files(
    conn: duckdb.DuckDBPyConnection,
    files: list[FeedFile],
    kind: str,
    ingested: Mapping[str, Sequence[int]] | None,
) -> list[FeedFile]:
    """The files that must be read (hashed) to know whether they hold a new version: all but those unchanged
    since the last ingestion of their kind read them whole.

    A file is unchanged when its (size, mtime_ns) is what that ingestion found (`ingested`: plan.json's
    listing, hepwatch.pending.record_ingested; the sensor's test) and the newest version the database holds
    of it was read whole (not unreadable, not changed while read) and has its size: a plan.json kept beside
    another database reads nothing less. (A file touched but not changed is read once, found known, and
    not read again.) Without this, every run after the first hashed the whole feeds directory again (a
    year of lab files: 0.7 s of a one-day increment)."""
    if not ingested:
        return files
    newest = dict(
        conn.execute(
            "SELECT file, arg_max(size_bytes, ingest_seq) FROM landing.file_versions WHERE kind = ? "
            "GROUP BY file HAVING arg_max(sha256 <> '' AND unreadable_reason IS NULL, ingest_seq)",
            [kind],
        ).fetchall()
    )
    return [
        f
        for f in files
        if f.problem is not None
        or list(ingested.get(f.relative, ())) != [f.size_bytes, f.modified_ns]
        or newest.get(f.relative) != f.size_bytes
    ]


def known_versions(conn: duckdb.DuckDBPyConnection, kind: str) -> set[tuple[str, str]]:
    """(file, sha256) of every version of a kind already ingested."""
    rows = conn.execute("SELECT file, sha256 FROM landing.file_versions WHERE kind = ?", [kind]).fetchall()
    return set(rows)


def next_value(conn: duckdb.DuckDBPyConnection, column: str, table: str) -> int:
    return int(fetch_value(conn, f"SELECT coalesce(max({column}), 0) + 1 FROM {table}"))


# landing.file_versions, as a Polars schema: rows are written in batches (one insert per transaction)
VERSION_SCHEMA = pl.Schema({
    "file": pl.Utf8(), "kind": pl.Utf8(), "sha256": pl.Utf8(), "size_bytes": pl.Int64(), "modified_at": pl.Datetime("us"),
    "ingested_at": pl.Datetime("us"), "ingest_seq": pl.Int64(), "messages": pl.Int64(), "accepted": pl.Int64(),
    "duplicates": pl.Int64(), "ignored": pl.Int64(), "quarantined": pl.Int64(), "unreadable_reason": pl.Utf8(),
})  # fmt: skip


def version_row(
    feed: FeedFile,
    sha256: str,
    ingest_seq: int,
    now: datetime,
    outcomes: Counter[str],
    unreadable: str | None,
) -> tuple:
    """A landing.file_versions row: messages (labs) or data rows (dosing) read, by outcome."""
    return (
        feed.relative, feed.kind, sha256, feed.size_bytes, feed.modified_at, now, ingest_seq,
        sum(outcomes.values()), outcomes["accepted"], outcomes["duplicate"], outcomes["ignored"],
        outcomes["quarantined"], unreadable,
    )  # fmt: skip


_In = TypeVar("_In")
_Out = TypeVar("_Out")


def prefetched(
    function: Callable[[_In], _Out], items: Iterable[_In], ahead: int = 8, workers: int = 2
) -> Iterator[_Out]:
    """function(item) for each item, in order, computed by `workers` threads at most `ahead` items in
    advance: reading and hashing (which release the GIL) overlap, and memory holds `ahead` results at most.
    With one worker, the calls run one after another, in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[_Out]] = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
