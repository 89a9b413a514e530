"""The ids the writer gives landing rows that many observations share: descriptions, orders and patients."""

from __future__ import annotations

import duckdb
import polars as pl

from hepwatch.ingest.feed_files import next_value
from hepwatch.ingest.frame_insert import insert_frame
from hepwatch.pseudonym import Pseudonymizer

DESCRIPTION_COLUMNS = [
    "code", "code_text", "code_system", "alt_code", "alt_text", "alt_system", "sub_id", "unit", "reference_range",
    "range_upper", "abnormal_flags", "result_status",
]  # fmt: skip


class Catalog:
    """The writer's ids of landing.lab_descriptions rows (each distinct description once), of
    landing.lab_orders rows (one per OBR context) and of landing.lab_patients rows (one per patient_key),
    inside the current file's transaction."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, pseudonymizer: Pseudonymizer) -> None:
        rows = conn.execute(
            f"SELECT description_id, {', '.join(DESCRIPTION_COLUMNS)} FROM landing.lab_descriptions"
        ).fetchall()
        self.descriptions: dict[tuple, int] = {tuple(row[1:]): row[0] for row in rows}
        self.next_description = next_value(conn, "description_id", "landing.lab_descriptions")
        self.next_order = next_value(conn, "order_id", "landing.lab_orders")
        self.pseudonymizer = pseudonymizer
        self.patient_keys: dict[str, int] | None = None  # read when a file first lands observations
        self.patient_pairs: dict[str | tuple, int] = {}  # (id_authority, patient_id) as read -> id
        self.next_patient = 0
        self._begin()

    def _begin(self) -> None:
        self.pending: list[tuple] = []  # descriptions first written by the open transaction
        self.pending_keys: list[str] = []  # patient keys ...
        self.pending_pairs: list[str | tuple] = []  # ... and pairs first numbered by it
        self.order_at_begin = self.next_order
        self.description_at_begin = self.next_description
        self.patient_at_begin = self.next_patient

    def patient_ids(
        self, conn: duckdb.DuckDBPyConnection, patients: pl.DataFrame, used: pl.Series
    ) -> pl.Series:
        """The landing.lab_patients id of each patient (PATIENT_SCHEMA row) in `used` (0 for the others);
        new keys are written. A pair seen before in this run costs one dictionary lookup, of one text (the
        two identifiers joined by U+001F), or of the pair when an identifier holds U+001F itself."""
        if self.patient_keys is None:
            rows = conn.execute("SELECT patient_key, patient_id FROM landing.lab_patients").fetchall()
            self.patient_keys = dict(rows)
            self.next_patient = self.patient_at_begin = max(self.patient_keys.values(), default=0) + 1
        by_pair, by_key = self.patient_pairs, self.patient_keys
        chosen = patients[used]
        pairs: list[tuple[str, str]] | None = None
        if chosen.select(pl.any_horizontal(pl.all().str.contains("\x1f", literal=True)).any()).item():
            pairs = chosen.rows()
        texts = pairs or chosen.select(pl.concat_str(pl.all(), separator="\x1f")).to_series().to_list()
        ids = [0] * patients.height
        new = []
        for i, text in zip(used.to_list(), texts, strict=True):
            found = by_pair.get(text)
            if found is None:
                pair = text if isinstance(text, tuple) else tuple(text.split("\x1f"))
                key = self.pseudonymizer.patient_key(*pair)
                found = by_key.get(key)
                if found is None:
                    found = by_key[key] = self.next_patient
                    self.next_patient += 1
                    self.pending_keys.append(key)
                    new.append((found, key))
                by_pair[text] = found
                self.pending_pairs.append(text)
            ids[i] = found
        if new:
            frame = pl.DataFrame(new, schema={"patient_id": pl.Int32, "patient_key": pl.Utf8}, orient="row")
            insert_frame(conn, "landing.lab_patients", frame)
        return pl.Series("patient_id", ids, dtype=pl.Int32)

    def description_ids(self, conn: duckdb.DuckDBPyConnection, descriptions: pl.DataFrame) -> pl.Series:
        """The id of each of a piece's description rows; new ones are written."""
        ids, new = [], []
        for row in descriptions.select(DESCRIPTION_COLUMNS).iter_rows():
            found = self.descriptions.get(row)
            if found is None:
                found = self.descriptions[row] = self.next_description
                self.next_description += 1
                self.pending.append(row)
                new.append((found, *row))
            ids.append(found)
        if new:
            frame = pl.DataFrame(new, schema=["description_id", *DESCRIPTION_COLUMNS], orient="row")
            insert_frame(conn, "landing.lab_descriptions", frame)
        return pl.Series("description_id", ids, dtype=pl.Int64)

    def orders(self, obrs: pl.DataFrame) -> pl.DataFrame:
        """A piece's landing.lab_orders rows, numbered from `next_order` (its row n is next_order + n)."""
        first = self.next_order
        self.next_order += obrs.height
        return obrs.drop("collected").with_row_index("order_id", offset=first)

    def committed(self) -> None:
        self._begin()

    def rolled_back(self) -> None:
        for row in self.pending:
            del self.descriptions[row]
        if self.patient_keys is not None:
            for key in self.pending_keys:
                del self.patient_keys[key]
        for pair in self.pending_pairs:
            del self.patient_pairs[pair]
        self.next_order, self.next_description = self.order_at_begin, self.description_at_begin
        self.next_patient = self.patient_at_begin
        self._begin()
