"""What the bulk reader gives for one piece of a lab file: columns, normalised (`PieceColumns`).

One row per block (the ledger); one row of numbers per OBX of a message the reader accepts (message,
patient, OBR context, description, value, collection time and observation key); the texts those numbers point
to are stored once per piece, and `PieceColumns.landing_rows` gathers what landing.lab_obx needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

MESSAGE_SCHEMA = pl.Schema(
    {
        "message_index": pl.Int64(),  # position of the block in its piece (made file-wide by the caller)
        "line": pl.Int64(),  # 1-based line in its piece (made file-wide by the caller)
        "outcome": pl.Utf8(),
        "reason": pl.Utf8(),
        "detail": pl.Utf8(),
        "sending_facility": pl.Utf8(),
        "control_id": pl.Utf8(),
        "message_time": pl.Datetime("us"),
        "message_type": pl.Utf8(),
        "hl7_version": pl.Utf8(),
        "observations": pl.Int32(),
    }
)
QUARANTINE_SCHEMA = pl.Schema(
    {
        "message_index": pl.Int64(),
        "line": pl.Int64(),
        "control_id": pl.Utf8(),
        "reason": pl.Utf8(),
        "detail": pl.Utf8(),
        "raw_payload": pl.Utf8(),
    }
)
# (id_authority, patient_id) as read, before the pseudonymizer trims them
PATIENT_SCHEMA = pl.Schema({"id_authority": pl.Utf8(), "patient_id": pl.Utf8()})
# One row per OBX: where its texts are (numbers into the piece's tables) and its observation key.
ROW_SCHEMA = pl.Schema(
    {
        "message_index": pl.UInt32(),
        "patient_index": pl.UInt32(),  # into PieceColumns.patients
        "obx_index": pl.Int32(),
        "obr": pl.UInt32(),
        "description": pl.UInt32(),
        "value": pl.UInt32(),
        "collected_at": pl.Datetime("us"),  # OBR-7, else OBX-14
        # the observation key: the first 128 bits of the SHA-1 of its identity (hl7.identity), as two
        # numbers (DuckDB stores them at a fraction of the cost of 40 hex digits; the view shows them as hex)
        "key_hi": pl.UInt64(),
        "key_lo": pl.UInt64(),
    }
)
OBR_SCHEMA = pl.Schema(
    {
        "placer_order": pl.Utf8(),
        "filler_order": pl.Utf8(),
        "collected": pl.Datetime("us"),
        "report_time": pl.Datetime("us"),
        "order_status": pl.Utf8(),
    }
)
# What OBX-3, OBX-4, OBX-6, OBX-7, OBX-8 and OBX-11 say (few distinct combinations in any feed).
DESCRIPTION_SCHEMA = pl.Schema(
    {
        "code": pl.Utf8(),
        "code_text": pl.Utf8(),
        "code_system": pl.Utf8(),
        "alt_code": pl.Utf8(),
        "alt_text": pl.Utf8(),
        "alt_system": pl.Utf8(),
        "sub_id": pl.Utf8(),
        "unit": pl.Utf8(),
        "reference_range": pl.Utf8(),
        "range_upper": pl.Float64(),
        "abnormal_flags": pl.Utf8(),
        "result_status": pl.Utf8(),
    }
)
# What OBX-2 and OBX-5 say.
VALUE_SCHEMA = pl.Schema(
    {
        "value_type": pl.Utf8(),
        "value_text": pl.Utf8(),
        "value_repeats": pl.Int32(),
        "value": pl.Float64(),
        "comparator": pl.Utf8(),
        "value_problem": pl.Utf8(),
    }
)
# Columns of landing.lab_obx but arrival_seq, patient_id, order_id and description_id (the writer's).
LANDING_SCHEMA = pl.Schema(
    {
        "message_index": pl.UInt32(),
        "patient_index": pl.UInt32(),
        "obx_index": pl.Int32(),
        "obr": pl.UInt32(),
        "description": pl.UInt32(),
        "key_hi": pl.UInt64(),
        "key_lo": pl.UInt64(),
        "collected_at": pl.Datetime("us"),
        **VALUE_SCHEMA,
    }
)


@dataclass
class PieceColumns:
    """What one piece of a lab file holds: its ledger rows, quarantined payloads and OBX rows (normalised)."""

    messages: pl.DataFrame  # MESSAGE_SCHEMA, one row per block, in order (row n is block n)
    quarantine: pl.DataFrame  # QUARANTINE_SCHEMA, one row per block the reader quarantines
    rows: pl.DataFrame  # ROW_SCHEMA, one row per OBX of a message the reader accepts
    obrs: pl.DataFrame  # OBR_SCHEMA
    descriptions: pl.DataFrame  # DESCRIPTION_SCHEMA
    values: pl.DataFrame  # VALUE_SCHEMA
    patients: pl.DataFrame  # PATIENT_SCHEMA, row n is the rows' patient_index n (a frame: cheap to pickle)
    lines: int  # segment lines of the piece, as split_segments counts them

    def landing_rows(self, rows: pl.DataFrame) -> pl.DataFrame:
        """These rows as landing.lab_obx columns: the OBR and description as this piece's row numbers
        (`obr`, `description`; the writer turns them into ids), the rest gathered (LANDING_SCHEMA; the
        texts of OBX-2 and OBX-5 dictionary-encoded, as they repeat: DuckDB copies each distinct text once)."""
        values = self.values.with_columns(pl.col(pl.Utf8).cast(pl.Categorical))
        frame = pl.concat(
            [
                rows.select(
                    "message_index", "patient_index", "obx_index", "obr", "description",
                    "key_hi", "key_lo", "collected_at",
                ),
                values[rows["value"]],
            ],
            how="horizontal",
        )  # fmt: skip
        return frame.select(list(LANDING_SCHEMA))
