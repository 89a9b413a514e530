"""A reader process: pieces of lab files to columns, with a reader kept for the life of the process."""

from __future__ import annotations

import ctypes
import os

from hepwatch.hl7.framing import decode_feed_bytes
from hepwatch.ingest.lab_columns import LabColumnsReader
from hepwatch.ingest.lab_pieces import Piece
from hepwatch.ingest.piece_columns import PieceColumns

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
    keep_freed_memory()
    _READER = LabColumnsReader()
    _READER.duck()


def started() -> None:
    """A no-op call that makes the pool start a process now (its initializer runs first): the processes
    import and set up (about 0.7 s: Python, Polars, DuckDB) while this process hashes the first files
    (about 1.2 s for 800 MB)."""


def keep_freed_memory() -> None:
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
