"""Split a lab feed file into HL7 v2 messages (domain.md section 7, contract section 2).

A file may hold one or many messages, inside FHS/BHS batch envelopes or MLLP frames (0x0B ... 0x1C 0x0D),
with CR, LF or CRLF segment ends and an optional UTF-8 byte-order mark. Every byte of the file ends up in
exactly one block: a message (starting at an MSH segment) or a stray block of text that is not HL7, which
the ledger quarantines as `not_hl7`. Envelope segments are recognised and skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENVELOPE_SEGMENTS = frozenset({"FHS", "BHS", "BTS", "FTS"})
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")


@dataclass(frozen=True, slots=True)
class Block:
    """A run of segments from one file: an HL7 message (`is_message`) or stray text."""

    index: int  # 0-based position of the block in its file
    line: int  # 1-based number of the block's first segment line in the file
    segments: tuple[str, ...]
    is_message: bool

    @property
    def text(self) -> str:
        return "\r".join(self.segments)


def decode_feed_bytes(data: bytes) -> str:
    """Bytes to text: UTF-8 (with or without BOM); files that are not UTF-8 are read as cp1252/latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def split_segments(text: str) -> list[str]:
    """Segment lines of a file, framing removed.

    CR is the HL7 segment terminator; a file with any CR is split on CR (so an LF inside a field of a CR file
    does not cut a segment), a file without CR on LF. (Bulk ingestion calls this on every piece: the passes
    that could change nothing are skipped.)
    """
    cr = "\r" in text
    if "\x0b" in text:
        text = text.replace("\x0b", "\r" if cr else "\n")
    if "\x1c" in text:
        text = text.replace("\x1c", "")
    lines = text.split("\r") if cr else text.split("\n")
    if cr and "\n" in text:
        lines = [line.strip("\n") for line in lines]
    if "\ufeff" in text:
        lines = [line.lstrip("\ufeff") for line in lines]
    return lines


def is_segment(line: str, field_separator: str) -> bool:
    return (
        len(line) >= 3
        and _SEGMENT_ID.fullmatch(line[:3]) is not None
        and (len(line) == 3 or line[3] == field_separator)
    )


def is_envelope(line: str) -> bool:
    """A batch envelope segment (FHS, BHS, BTS, FTS): its ID, then the end of the line or a delimiter.

    `FTSE 100 closed higher` is text, not an FTS segment: it stays in a block (quarantined as `not_hl7`).
    """
    return line[:3] in ENVELOPE_SEGMENTS and (len(line) == 3 or not (line[3].isalnum() or line[3].isspace()))


def split_blocks(text: str) -> list[Block]:
    """Group a file's segment lines into messages and stray blocks, in file order."""
    return [
        Block(index, line, tuple(segments), is_message)
        for index, (line, segments, is_message) in enumerate(group_lines(split_segments(text)))
    ]


def message_at(lines: list[str], line: int, index: int) -> Block | None:
    """The message whose MSH is line `line` (1-based) of a file's segment lines (split_segments), block
    `index` of the file, as split_blocks reads it, without grouping the rest of the file: a message ends at
    the next line that starts one (group_lines). None when no message starts there."""
    end = line
    while end < len(lines) and not (lines[end].startswith("MSH") and len(lines[end]) > 3):
        end += 1
    found = group_lines(lines, line - 1, end)
    if not found or found[0][0] != line or not found[0][2]:
        return None
    first, segments, _ = found[0]
    return Block(index, first, tuple(segments), True)


def group_lines(
    lines: list[str], start: int = 0, end: int | None = None
) -> list[tuple[int, list[str], bool]]:
    """(first line number, segments, is_message) of the blocks of lines[start:end], starting from no block.

    A line starting `MSH` (and more) always starts a message, so reading the lines between two message
    starts on their own gives the blocks of the whole (bulk ingestion reads files in such pieces).
    """
    blocks: list[tuple[int, list[str], bool]] = []
    current: list[str] = []
    current_line = 0
    in_message = False
    field_separator = "|"
    for number in range(start + 1, (len(lines) if end is None else end) + 1):
        line = lines[number - 1]
        if not line.strip():
            continue
        if line.startswith("MSH") and len(line) > 3:
            if current:
                blocks.append((current_line, current, in_message))
            current, current_line, in_message = [line], number, True
            field_separator = line[3]
            continue
        if is_envelope(line):
            if current:
                blocks.append((current_line, current, in_message))
            current, in_message = [], False
            continue
        if in_message and is_segment(line, field_separator):
            current.append(line)
            continue
        if in_message or not current:
            if current:
                blocks.append((current_line, current, in_message))
            current, current_line, in_message = [], number, False
        current.append(line)
    if current:
        blocks.append((current_line, current, in_message))
    return blocks
