"""Reading the numbers inside HL7 fields: result values, reference ranges, units (timestamps: `timestamps.py`).

Definitions from domain.md: section 2 (ULN from OBX-7: `7-56` gives 56, `<40` or `0-40` gives 40, `>3.5` has
no upper bound; a value `>1000` is graded at 1000 and keeps its comparator) and section 7 (SN values
`<comparator>^<num1>^<separator>^<num2>`; NM and SN carry numbers, ST may too).
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from hepwatch.hl7.timestamps import parse_timestamp as parse_timestamp  # where callers have read it

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN_VALUE = re.compile(rf"\s*(<=|>=|<|>|=)?\s*({_NUMBER})\s*")
_COMPARATORS = frozenset({"<", ">", "<=", ">="})


class NumericValue(NamedTuple):
    value: float | None
    comparator: str | None
    problem: str | None  # quarantine reason when no single number could be read


def parse_numeric(value_type: str, components: list[str]) -> NumericValue:
    """One number from OBX-5 (its first repetition, split into components and unescaped).

    SN: `>^1000` -> (1000, '>'); `^182` -> 182; `^100^-^200` (a range or ratio) is not a single value.
    Other types (NM, ST, empty OBX-2, ...): the text must be a number with an optional comparator, or such a
    number on a line of its own followed by a comment that starts with a letter on the next line
    (`54¬ALT <80 IU/L is rarely significant...`, `12.8\\.br\\This result could indicate...`): the number is
    the value, the comment is kept in the text as sent (docs/hl7-reading.md). Numbers that are not finite
    (`1e400` written out in digits) are not values.
    """
    if not any(c.strip() for c in components):
        return NumericValue(None, None, "missing_value")
    if value_type == "SN" or (len(components) > 1 and _looks_structured_numeric(components)):
        comparator = components[0].strip() or None
        first = components[1].strip() if len(components) > 1 else ""
        rest = [c.strip() for c in components[2:] if c.strip()]
        if comparator == "=":
            comparator = None
        if rest or not first or (comparator is not None and comparator not in _COMPARATORS):
            return NumericValue(None, None, "non_numeric_value")
        match = _PLAIN_VALUE.fullmatch(first)
        if not match or match.group(1) or not math.isfinite(float(match.group(2))):
            return NumericValue(None, None, "non_numeric_value")
        return NumericValue(float(match.group(2)), comparator, None)
    while len(components) > 1 and not components[-1].strip():  # `54^ ` is 54 (as `^54` and `>^54^` are)
        components = components[:-1]
    text = "^".join(components) if len(components) > 1 else components[0]
    match = _PLAIN_VALUE.fullmatch(text) or _PLAIN_VALUE.fullmatch(_before_comment(text))
    if not match or not math.isfinite(float(match.group(2))):
        return NumericValue(None, None, "non_numeric_value")
    comparator = match.group(1)
    return NumericValue(float(match.group(2)), None if comparator in (None, "=") else comparator, None)


# A line break inside a value: CR or LF (written `\\.br\\`, `\\X0D\\`, `\\X0A\\`) or the `¬` (U+00AC) that
# WinPath writes for one. A comment after the number starts with a letter.
_LINE_BREAK = re.compile("[\r\n\u00ac]")
_COMMENT = re.compile(r"[\s\u00ac]*[^\W\d_]", re.DOTALL)


def _before_comment(text: str) -> str:
    """The first line of a value followed by a comment, else "" (which reads as no number)."""
    line_break = _LINE_BREAK.search(text)
    if line_break is None:
        return ""
    rest = text[line_break.end() :]
    if rest.strip(" \t\r\n\u00ac") and not _COMMENT.match(rest):
        return ""
    return text[: line_break.start()]


def _looks_structured_numeric(components: list[str]) -> bool:
    return components[0].strip() in ("", "<", ">", "<=", ">=", "=") and bool(
        re.fullmatch(_NUMBER, components[1].strip())
    )


_TRAILER = r"(?:[^\d\s+.].*)?"  # a unit or a note after the bounds, never a digit, `+` (`0-1+`) or `.`
_RANGE_BETWEEN = re.compile(
    rf"\s*[(\[]?\s*({_NUMBER})\s*(?:-|_|;|to|TO|\.\.)\s*({_NUMBER})\s*[)\]]?\s*{_TRAILER}", re.DOTALL
)
_RANGE_UPPER = re.compile(rf"\s*(?:<=|<|≤|=<)\s*({_NUMBER})\s*{_TRAILER}", re.DOTALL)
# A second bound in the trailing text (`0-40 (M) 0-35 (F)`, `<40 adult, <30 child`): which one applies is
# not for hepwatch to choose.
_SECOND_BOUND = re.compile(rf"{_NUMBER}\s*(?:-|_|;|to|TO)\s*{_NUMBER}|(?:<|>|≤|≥)\s*=?\s*{_NUMBER}")


def parse_upper_limit(reference_range: str) -> float | None:
    """The upper bound of an OBX-7 reference range, in the range's own unit (domain.md section 2).

    `7-56` -> 56; `<40`, `0-40` -> 40; `(1.0 - 12.0)`, `[1.00;30.00]`, `70_105`, `4.3 to 6.2` -> their upper
    bound; `<0.50 IU/mL` -> 0.5. No usable ULN (None): `>3.5`, free text, ranges whose upper bound is not above
    zero or below the lower one (`0-0`), semi-quantitative grades (`0-1+`), and text with a second range
    after the first (`0-40 (M) 0-35 (F)`).
    """
    text = reference_range.strip()
    if not text:
        return None
    match = _RANGE_BETWEEN.fullmatch(text)
    if match:
        low, high = float(match.group(1)), float(match.group(2))
        usable = 0 < high < math.inf and high >= low and not _SECOND_BOUND.search(text, match.end(2))
        return high if usable else None
    match = _RANGE_UPPER.fullmatch(text)
    if match:
        high = float(match.group(1))
        return high if 0 < high < math.inf and not _SECOND_BOUND.search(text, match.end(1)) else None
    return None
