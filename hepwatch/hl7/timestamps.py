"""HL7 TS/DTM timestamps, `YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]`, read one at a time or a column at a time.

`parse_timestamp` is the rule; `parse_timestamps` gives the same for a column of texts, with Polars for the
form almost every feed writes (12 or 14 ASCII digits) and `parse_timestamp` for every other text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

import polars as pl

_TS = re.compile(r"\s*(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?\s*(?:[+-]\d{2,4})?\s*")
# The usual form, read without the general pattern's optional parts; same result.
_ASCII_DIGITS = re.compile(r"(\d{4}(?:\d\d){0,5})(?:[+-]\d{4})?", re.ASCII).fullmatch

SMALL = 200  # texts up to which a column is read value by value (measured: the two cost the same at 200)


def parse_timestamp(text: str) -> datetime | None:
    """A timestamp as written (local time, offset not applied); None when it is not one.

    The clinical date is the date as the lab wrote it, so the offset is kept out of the value.
    """
    plain = _ASCII_DIGITS(text)
    if plain is None:
        return parse_timestamp_by_pattern(text)
    digits = plain.group(1)
    size = len(digits)
    try:
        return datetime(
            int(digits[:4]),
            int(digits[4:6]) if size > 4 else 1,
            int(digits[6:8]) if size > 6 else 1,
            int(digits[8:10]) if size > 8 else 0,
            int(digits[10:12]) if size > 10 else 0,
            int(digits[12:14]) if size > 12 else 0,
        )
    except ValueError:
        return None


def parse_timestamp_by_pattern(text: str) -> datetime | None:
    """`parse_timestamp` by the general pattern alone (without the shortcut for the usual ASCII digits)."""
    match = _TS.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else None for g in match.groups())
    parts = (
        year or 0,
        1 if month is None else month,
        1 if day is None else day,
        hour or 0,
        minute or 0,
        second or 0,
    )
    try:
        return datetime(*parts)
    except ValueError:
        return None


# The usual texts, `YYYYMMDDHHMM[SS]` with a year from 1000 and the hour, minute and second in range, with or
# without an offset: their 12 or 14 digits, which Polars' strptime reads (14, the 12 padded with `00`),
# leaving null what no calendar has (month 13, 30 February).
_USUAL = r"^([1-9][0-9]{7}(?:[01][0-9]|2[0-3])[0-5][0-9](?:[0-5][0-9])?)(?:[+-][0-9]{4})?$"


def parse_timestamps(texts: pl.Series, read: Mapping[str, datetime | None]) -> pl.Series:
    """`read[text]` of every text (null stays null), where `read` gives what `read_timestamp` gives (a memo of
    it): the usual texts column-wise (one pattern and one strptime), each other distinct text once through
    `read`."""
    if texts.len() <= SMALL:
        return pl.Series(texts.name, [None if t is None else read[t] for t in texts], dtype=pl.Datetime("us"))
    digits = texts.str.extract(_USUAL, 1)
    out = (
        pl.select(pl.when(digits.str.len_bytes() == 12).then(digits + "00").otherwise(digits))
        .to_series()
        .str.to_datetime("%Y%m%d%H%M%S", strict=False, time_unit="us")
    )
    rest = texts.is_not_null() & digits.is_null()
    if rest.any():
        odd = texts.filter(rest)
        distinct = odd.unique()
        values = pl.Series([read[t] for t in distinct.to_list()], dtype=pl.Datetime("us"))
        out = out.scatter(
            rest.arg_true(),
            odd.replace_strict(distinct, values, default=None, return_dtype=pl.Datetime("us")),
        )
    return out.rename(texts.name)
