"""The longest line of a file, fed in blocks (hepwatch.lines): every run of more than a block between line
ends is measured exactly, whatever the block edges, against a byte-by-byte count."""

from hypothesis import given
from hypothesis import strategies as st

from hepwatch.lines import MAX_LINE_BYTES, LongestLine, has_too_long_line

BLOCK = 12
blocks = st.lists(
    st.binary(max_size=BLOCK).map(lambda b: bytes(c if c in b"\r\n" else 97 for c in b)), max_size=9
)


def longest_by_hand(data: bytes) -> int:
    best = run = 0
    for byte in data:
        run = 0 if byte in b"\r\n" else run + 1
        best = max(best, run)
    return best


@given(blocks)
def test_runs_longer_than_a_block_are_measured_exactly(chunks: list[bytes]) -> None:
    lines = LongestLine()
    for chunk in chunks:
        lines.feed(chunk)
    expected = longest_by_hand(b"".join(chunks))
    assert lines.longest <= expected
    if expected > BLOCK:
        assert lines.longest == expected


def test_too_long_means_longer_than_the_limit():
    assert has_too_long_line(b"x" * (MAX_LINE_BYTES + 1))
    assert not has_too_long_line(b"x" * MAX_LINE_BYTES + b"\r\n" + b"x" * MAX_LINE_BYTES)
