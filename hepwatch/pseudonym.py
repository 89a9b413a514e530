"""Keyed pseudonyms: the analysts see `patient_key`, never the identifier pair behind it.

A patient is the pair (id_authority, patient_id), compared exactly after trimming spaces (contract section 2).
HMAC-SHA256 with a secret key means the key cannot be recomputed from an MRN without the key, which lives
only in the restricted store or the environment.
"""

from __future__ import annotations

import hashlib
import hmac

import polars as pl


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        self._key = key
        self._cache: dict[tuple[str, str], str] = {}
        self._new: list[tuple[str, str, str]] = []
        self._known = pl.DataFrame(schema=PATIENT_MAP_SCHEMA)  # every pair `with_keys` has keyed

    def with_keys(self, rows: pl.DataFrame) -> pl.DataFrame:
        """`rows` (with id_authority and patient_id) with a `patient_key` column, in the same order: each pair
        keyed once per process, the rows joined to their keys (no Python call per row)."""
        pair = {"id_authority": "_authority", "patient_id": "_patient"}
        stripped = rows.with_columns(
            pl.col(name).str.strip_chars().alias(alias) for name, alias in pair.items()
        )
        pairs = stripped.select(pl.col(alias).alias(name) for name, alias in pair.items()).unique()
        new = pairs.join(self._known, on=list(pair), how="anti")
        if new.height:
            keys = [self.patient_key(authority, patient) for authority, patient in new.iter_rows()]
            keyed = new.with_columns(pl.Series("patient_key", keys, pl.Utf8))
            self._known = pl.concat([self._known, keyed.select(list(PATIENT_MAP_SCHEMA))])
        known = self._known.rename(pair)
        return stripped.join(known, on=list(pair.values()), how="left", maintain_order="left").drop(
            pair.values()
        )

    def patient_key(self, id_authority: str, patient_id: str) -> str:
        pair = (id_authority.strip(), patient_id.strip())
        cached = self._cache.get(pair)
        if cached is None:
            digest = hmac.new(self._key, f"{pair[0]}\x1f{pair[1]}".encode(), hashlib.sha256).hexdigest()
            cached = self._cache[pair] = "pk_" + digest[:20]
            self._new.append((cached, pair[0], pair[1]))
        return cached

    def take_new(self) -> list[tuple[str, str, str]]:
        """(patient_key, id_authority, patient_id) keyed since the last call, for the restricted map."""
        new, self._new = self._new, []
        return new


PATIENT_MAP_SCHEMA = {"patient_key": pl.Utf8, "id_authority": pl.Utf8, "patient_id": pl.Utf8}


def patient_map_rows(keyed: list[tuple[str, str, str]]) -> pl.DataFrame:
    """(patient_key, id_authority, patient_id) rows from `take_new`, as a frame for the restricted map."""
    return pl.DataFrame(keyed, schema=PATIENT_MAP_SCHEMA, orient="row")
