"""The observation key: the identity of an observation across versions of its message (domain.md section 7).

The identity is the sending facility, the placer and filler order numbers, OBX-3 (system, code and the
alternate's; the text only when there is no code) and OBX-4, plus the repeat number when the same identity
occurs more than once in a message. Without any order number the message control ID stands in, so unrelated
results never replace each other. The key is the SHA-1 of those texts joined by U+001F; landing keeps its
first 128 bits, as two 64-bit numbers.
"""

from __future__ import annotations

import hashlib

import duckdb
import polars as pl

SMALL = 2_000  # rows up to which keys are hashed one by one: a DuckDB query's per-call cost is higher


def order_part(facility: str | None, control_id: str | None, placer: str, filler: str) -> str:
    """The identity's first part, from the message and the OBR."""
    orders = (placer, filler) if (placer or filler) else ("msg", control_id or "")
    return "\x1f".join((facility or "", *orders))


def obx_part(code: str, text: str, system: str, alt_code: str, alt_system: str, sub_id: str) -> str:
    """The identity's OBX part, with its leading separator: it follows `order_part`."""
    return "\x1f" + "\x1f".join(
        (system, code, alt_system, alt_code, text if not (code or alt_code) else "", sub_id)
    )


def observation_key(order: str, obx: str, repeat: int) -> str:
    """The key of the `repeat`th observation (from 1) of this identity in its message, as 40 hex digits."""
    return hashlib.sha1(f"{order}{obx}\x1f{repeat}".encode(), usedforsecurity=False).hexdigest()


def key_columns(
    duck: duckdb.DuckDBPyConnection, rows: pl.DataFrame, order_parts: pl.Series, obx_parts: pl.Series
) -> pl.DataFrame:
    """`observation_key` of every row, as key_hi and key_lo (the first 128 bits).

    `rows` gives each observation's message (`message_index`), its index into `order_parts` (`obr`) and into
    `obx_parts` (`description`), in the order of the observations within each message.
    """
    if rows.is_empty():
        return pl.DataFrame(schema={"key_hi": pl.UInt64, "key_lo": pl.UInt64})
    order_id = _dense(order_parts).gather(rows["obr"]).cast(pl.UInt64)
    part_id = _dense(obx_parts).gather(rows["description"]).cast(pl.UInt64)
    width = obx_parts.len() + 1
    same = (
        rows["message_index"].cast(pl.UInt64) * ((order_parts.len() + 1) * width) + order_id * width + part_id
    )
    if same.is_duplicated().any():
        repeat = same.to_frame("same").select(pl.int_range(1, pl.len() + 1).over("same")).to_series()
    else:
        repeat = pl.repeat(1, rows.height, eager=True)
    identities = pl.select(  # read by name by DuckDB below
        identity=pl.concat_str(
            order_parts.gather(rows["obr"]), obx_parts.gather(rows["description"]), pl.lit("\x1f"), repeat
        )
    )
    if rows.height <= SMALL:
        digests = [hashlib.sha1(t.encode(), usedforsecurity=False).digest() for t in identities["identity"]]
        return pl.DataFrame(
            {
                "key_hi": pl.Series([int.from_bytes(d[:8]) for d in digests], dtype=pl.UInt64),
                "key_lo": pl.Series([int.from_bytes(d[8:16]) for d in digests], dtype=pl.UInt64),
            }
        )
    # DuckDB's sha1 (hex) over the same UTF-8 text as hashlib; rows keep their order (one projection);
    # Polars reads the hex digits (a third of the cost of DuckDB's cast)
    digests = duck.sql("SELECT sha1(identity) AS h FROM identities").pl()["h"]
    return pl.DataFrame(
        {
            "key_hi": digests.str.slice(0, 16).str.to_integer(base=16, dtype=pl.UInt64),
            "key_lo": digests.str.slice(16, 16).str.to_integer(base=16, dtype=pl.UInt64),
        }
    )


def _dense(keys: pl.Series) -> pl.Series:
    """A 0-based number for each distinct value (equal values, equal numbers)."""
    distinct = keys.unique()
    return keys.replace_strict(distinct, pl.int_range(distinct.len(), dtype=pl.UInt32, eager=True))
