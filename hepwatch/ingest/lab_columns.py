"""The bulk reader: pieces of lab files to `PieceColumns`, exactly as `hepwatch.hl7.oru.read_lab_bytes` reads
them, at a fraction of its cost (`tests/test_lab_columns.py` proves the identity on the public corpus, the
sample feeds and a generated feed).

Framing is `framing.split_blocks`': a line that starts a message (`MSH` and more) resets all of its state, so
the lines between two message starts form blocks on their own. A run that is one message of plain segments
(the usual case) is taken whole here; any other run goes through `framing.group_lines`. The blocks are read
by `piece_builder.PieceBuilder`, with the reader's own rules.
"""

from __future__ import annotations

import gc

import duckdb

from hepwatch.hl7.framing import group_lines, is_envelope, is_segment, split_segments
from hepwatch.ingest.piece_builder import FieldMemos, PieceBuilder
from hepwatch.ingest.piece_columns import PieceColumns


class LabColumnsReader:
    """Reads pieces of lab files into PieceColumns; keeps its memos from piece to piece (one per process)."""

    def __init__(self) -> None:
        self.memos = FieldMemos()
        self.segment_ok: dict[str, dict[str, bool]] = {}  # field separator -> line[:4] -> plain segment?

    def duck(self) -> duckdb.DuckDBPyConnection:
        return self.memos.duck()

    def _plain(self, prefix: str, separator: str) -> bool:
        """Would split_blocks append a line starting with `prefix` (its first 4 characters) to a message?"""
        known = self.segment_ok.setdefault(separator, {})
        plain = known.get(prefix)
        if plain is None:
            plain = known[prefix] = not is_envelope(prefix) and is_segment(prefix, separator)
        return plain

    def blocks(self, text: str) -> tuple[list[tuple[int, list[str], bool]], int]:
        """(line, segments, is_message) of every block of `text`, as split_blocks makes them; and the line count."""
        lines = split_segments(text)
        starts = [i for i, line in enumerate(lines) if line[:3] == "MSH" and len(line) > 3]
        blocks: list[tuple[int, list[str], bool]] = []
        if not starts or starts[0] > 0:
            blocks.extend(group_lines(lines, 0, starts[0] if starts else len(lines)))
        plain = self._plain
        bounds = [*starts, len(lines)]
        # The usual feed: every message uses `|`, and every line's first four characters (over the whole
        # piece) make a plain segment, or the line is empty: then every run is one whole message.
        if starts and all(lines[i][3] == "|" for i in starts):
            prefixes = {line[:4] for line in lines[starts[0] :]}
            blank = "" in prefixes
            prefixes.discard("")
            if all(plain(prefix, "|") for prefix in prefixes):
                for start, end in zip(starts, bounds[1:], strict=True):
                    segments = lines[start:end]
                    if blank and "" in segments:
                        segments = [line for line in segments if line]
                    blocks.append((start + 1, segments, True))
                return blocks, len(lines)
        for k in range(len(starts)):
            start, end = bounds[k], bounds[k + 1]
            separator = lines[start][3]
            known = self.segment_ok.get(separator) or {}
            skipped = False
            whole = True
            for i in range(start + 1, end):
                line = lines[i]
                ok = known.get(line[:4])
                if ok:
                    continue
                if ok is None and plain(line[:4], separator):
                    known = self.segment_ok[separator]
                    continue
                if not line.strip():
                    skipped = True
                    continue
                whole = False
                break
            if whole:
                segments = lines[start:end]
                if skipped:
                    segments = [line for line in segments if line.strip()]
                blocks.append((start + 1, segments, True))
            else:
                blocks.extend(group_lines(lines, start, end))
        return blocks, len(lines)

    def read(self, text: str) -> PieceColumns:
        """Every block of a piece of a lab file's text (decoded as the whole file is) to columns."""
        collecting = gc.isenabled()
        gc.disable()  # millions of small tuples and lists, no cycles: the collector would only rescan them
        try:
            blocks, line_count = self.blocks(text)
            out = PieceBuilder(self.memos)
            out.add_blocks(blocks)
            del blocks
            return out.finish(line_count)
        finally:
            if collecting:
                gc.enable()
