"""What the reader processes read: whole small files, or byte ranges of a large one cut on message starts.

A file larger than `piece_bytes` is cut into pieces (`plan_pieces`), so that no process holds a large file
whole; small files are batched into tasks of about the same size, so that per-task costs stay small.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise

from hepwatch.ingest.feed_files import ScannedFile


@dataclass(frozen=True)
class Piece:
    """A whole small file (`data`), or the byte range [start, end) of a large one, cut on message starts."""

    path: str
    start: int
    end: int
    data: bytes | None = None  # the whole file, already read (and hashed) by the writer
    encoding: str = "utf-8"  # the whole file's decoding, for a range
    first: bool = True  # the range that starts the file (where a byte-order mark may be)


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


@dataclass
class Task:
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


def plan_tasks(scans: Iterator[ScannedFile], piece_bytes: int) -> Iterator[Task]:
    """Work in file order: small files batched up to `piece_bytes`, a large file piece by piece."""
    batch, size = Task(), 0
    for scan in scans:
        if scan.error is not None or scan.data is not None:
            piece = None if scan.data is None else Piece(str(scan.file.path), 0, scan.size, scan.data)
            batch.add(piece, scan, 1)
            size += scan.size
            if size >= piece_bytes:
                yield batch
                batch, size = Task(), 0
            continue
        if batch.pieces:
            yield batch
            batch, size = Task(), 0
        ranges = plan_pieces(scan, piece_bytes)
        for number, (start, end) in enumerate(ranges):
            task = Task()
            piece = Piece(str(scan.file.path), start, end, None, scan.encoding, number == 0)
            task.add(piece, scan if number == 0 else None, len(ranges))
            yield task
    if batch.pieces:
        yield batch
