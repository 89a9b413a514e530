"""Finding feed files and deciding which versions are new (contract sections 2 and 3)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from hepwatch.warehouse import fetch_value

FEED_KINDS = {"labs": "*.hl7", "dosing": "*.csv"}


@dataclass(frozen=True)
class FeedFile:
    path: Path
    relative: str  # path relative to the feeds directory, with forward slashes
    kind: str
    modified_at: datetime
    size_bytes: int


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
        if not path.is_file():
            continue
        stat = path.stat()
        found.append(
            FeedFile(
                path=path,
                relative=path.relative_to(feeds_dir).as_posix(),
                kind=kind,
                modified_at=datetime.fromtimestamp(int(stat.st_mtime)),
                size_bytes=stat.st_size,
            )
        )
    return sorted(found, key=lambda f: (f.modified_at, f.relative))


def read_version(feed_file: FeedFile) -> FileVersion:
    try:
        data = feed_file.path.read_bytes()
    except OSError as error:
        return FileVersion(feed_file, None, "", f"cannot read {feed_file.relative}: {error.strerror}")
    return FileVersion(feed_file, data, hashlib.sha256(data).hexdigest())


def new_versions(conn: duckdb.DuckDBPyConnection, feeds_dir: Path, kind: str) -> list[FileVersion]:
    """File versions of a kind not ingested yet (same path and same content is never read twice)."""
    known = set(
        conn.execute("SELECT file, sha256 FROM landing.file_versions WHERE kind = ?", [kind]).fetchall()
    )
    versions = []
    for feed_file in discover(feeds_dir, kind):
        version = read_version(feed_file)
        if (feed_file.relative, version.sha256) not in known:
            versions.append(version)
    return versions


def next_value(conn: duckdb.DuckDBPyConnection, column: str, table: str) -> int:
    return int(fetch_value(conn, f"SELECT coalesce(max({column}), 0) + 1 FROM {table}"))
