"""Bytes of a dosing file to CSV text, or the reason it is not CSV text at all (contract section 3).

Decoding is the feeds' common rule (`decode_feed_bytes`): an optional UTF-8 BOM is stripped, UTF-8 is tried
first, and a file that is not valid UTF-8 is read as cp1252, or latin-1 when cp1252 cannot map a byte.
Line ends are normalised to LF (CRLF and old Mac CR-only files).
"""

from __future__ import annotations

import re

from hepwatch.hl7.framing import decode_feed_bytes

_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Text files carry tabs and line ends, and old DOS tools append Ctrl-Z; other C0 controls mean binary data.
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x19\x1b-\x1f\x7f]")
_SNIFF_CHARS = 65_536
_MAX_CONTROL_SHARE = 0.01


class UnreadableFileError(ValueError):
    """The file cannot be read at all; the message is its `unreadable_reason`."""


def dosing_text(data: bytes) -> str:
    """The file's text with LF line ends; raises UnreadableFileError for an empty or binary file."""
    if data.startswith(_UTF16_32_BOMS):
        raise UnreadableFileError("not_csv: the file is UTF-16/UTF-32 encoded; save it as UTF-8 CSV")
    if b"\x00" in data:
        raise UnreadableFileError("not_csv: the file contains NUL bytes (binary data, not CSV text)")
    text = decode_feed_bytes(data)
    if not text.strip():
        raise UnreadableFileError("empty_file")
    sample = text[:_SNIFF_CHARS]
    controls = len(_CONTROL.findall(sample))
    if controls > _MAX_CONTROL_SHARE * len(sample):
        raise UnreadableFileError(
            f"not_csv: {controls} control characters in the first {len(sample)} (binary data, not CSV text)"
        )
    text = text.replace("\r\n", "\n")
    if "\n" not in text:
        text = text.replace("\r", "\n")
    return text
