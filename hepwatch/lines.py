"""The longest line of a feed file, found without holding a line: a file whose line is longer than
MAX_LINE_BYTES is unreadable, so no reader is ever asked to hold one line of any length (memory stays bounded
by the pieces, whatever the file's shape)."""

from __future__ import annotations

# No feed file has a line this long: an HL7 segment, even one carrying a base64 report, or a CSV row.
MAX_LINE_BYTES = 32 << 20
_WINDOW = 8 << 20


class LongestLine:
    """Fed a file's bytes in order, in blocks no longer than MAX_LINE_BYTES, knows the longest run between line
    ends (CR, LF) that is longer than a block: runs inside one block are short enough not to matter."""

    def __init__(self) -> None:
        self.run = 0  # bytes since the last line end
        self.longest = 0

    def feed(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        end = len(data) if end is None else end
        # each search stops at the nearest line end of the other kind: in a CR file the LF searches scan only
        # to the first or last CR, so a file's lines cost a few short scans per block, not two full ones
        first_cr = data.find(b"\r", start, end)
        first_lf = data.find(b"\n", start, first_cr if first_cr >= 0 else end)
        first_end = first_lf if first_lf >= 0 else first_cr
        if first_end < 0:
            self.run += end - start
        else:
            last_cr = data.rfind(b"\r", start, end)
            last_end = max(last_cr, data.rfind(b"\n", last_cr + 1 if last_cr >= 0 else start, end))
            self.longest = max(self.longest, self.run + first_end - start)
            self.run = end - 1 - last_end
        self.longest = max(self.longest, self.run)

    @property
    def too_long(self) -> bool:
        return self.longest > MAX_LINE_BYTES


def has_too_long_line(data: bytes) -> bool:
    """Whether `data` holds a line longer than MAX_LINE_BYTES (in windows: a run inside one window is short)."""
    if len(data) <= MAX_LINE_BYTES:
        return False
    lines = LongestLine()
    for start in range(0, len(data), _WINDOW):
        lines.feed(data, start, min(start + _WINDOW, len(data)))
    return lines.too_long
