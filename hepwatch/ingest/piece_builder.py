"""One piece's blocks to `PieceColumns`: the reader's rules (`hepwatch.hl7.oru`, `hepwatch.hl7.fields`) applied
once per distinct field text instead of once per OBX.

A message with the standard delimiters (`MSH|^~\\&|`) is read by `PieceBuilder.add_blocks` with the reader's
own `header_outcome`, `observation_groups` and field readers, memoized by field text (`FieldMemos`); its OBX
segments are split column-wise and each distinct OBX-2/5 and OBX-3/4/6/7/8/11 is read once. Any other message
is read by `oru.read_message` itself and added by `record`. Timestamps are kept as the text read and parsed
column-wise in `finish` (`timestamps.parse_timestamps`), and observation keys are hashed column-wise
(`identity.key_columns`): a fraction of the cost of doing either per OBX in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import polars as pl

from hepwatch.hl7.fields import (
    STANDARD,
    patient_identifier,
    read_description,
    read_message_type,
    read_timestamp,
    read_value,
)
from hepwatch.hl7.framing import Block
from hepwatch.hl7.identity import key_columns, obx_part, order_part
from hepwatch.hl7.oru import (
    MessageRecord,
    ObservationRecord,
    header_outcome,
    observation_groups,
    read_message,
)
from hepwatch.hl7.timestamps import parse_timestamps
from hepwatch.ingest.piece_columns import (
    DESCRIPTION_SCHEMA,
    MESSAGE_SCHEMA,
    OBR_SCHEMA,
    PATIENT_SCHEMA,
    QUARANTINE_SCHEMA,
    ROW_SCHEMA,
    VALUE_SCHEMA,
    PieceColumns,
)

STANDARD_MSH = "|^~\\&|"  # MSH-1 and MSH-2 of almost every feed: read with the memos
_CACHE_LIMIT = 100_000  # entries per memo before it is emptied (memory stays bounded on any feed)


class Memo(dict[Any, Any]):
    """A memo of one field rule: field text -> value, computed on first sight; emptied when it grows large."""

    __slots__ = ("rule",)

    def __init__(self, rule: Callable[[Any], Any]) -> None:
        super().__init__()
        self.rule = rule

    def __missing__(self, key: Any) -> Any:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        value = self[key] = self.rule(key)
        return value


def _describe(key: tuple[str, str, str, str, str, str]) -> tuple:
    """OBX-3, -4, -6, -7, -8 and -11 read (DESCRIPTION_SCHEMA), and the observation key's OBX part."""
    description = read_description(STANDARD, *key)
    code, text, system, alt_code, _, alt_system, sub_id = description[:7]
    return (*description, obx_part(code, text, system, alt_code, alt_system, sub_id))


def _authority_and_id(pid3: str) -> tuple[str, str] | None:
    """(id_authority, patient_id), the order the ledger keys patients by."""
    patient = patient_identifier(STANDARD, pid3)
    return None if patient is None else (patient[1], patient[0])


class FieldMemos:
    """The field readers of the standard delimiters, memoized; kept from piece to piece (one per process)."""

    def __init__(self) -> None:
        fx = STANDARD
        self.describe = Memo(_describe)
        self.value = Memo(lambda key: read_value(fx, *key))
        self.timestamp = Memo(lambda raw: read_timestamp(fx, raw))
        self.text = Memo(lambda raw: fx.text(raw) or None)
        self.first = Memo(lambda raw: fx.first(raw) or None)
        self.upper_first = Memo(lambda raw: fx.first(raw).upper())
        self.message_type = Memo(lambda raw: read_message_type(fx, raw))
        self.patient = Memo(_authority_and_id)
        self._duck: duckdb.DuckDBPyConnection | None = None

    def duck(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB of this reader's own (the observation keys' SHA-1)."""
        if self._duck is None:
            self._duck = duckdb.connect(config={"threads": 1})
        return self._duck


class PieceBuilder:
    """Accumulates one piece's rows; `finish` turns them into frames."""

    def __init__(self, memos: FieldMemos) -> None:
        self.m = memos
        self.messages: list[tuple] = []  # MESSAGE_SCHEMA rows (message_time as read); row n is block n
        self.quarantine: list[tuple] = []  # QUARANTINE_SCHEMA rows
        # `record`'s rows: message, patient, obx_index, obr, description, value, OBX-14
        self.rows: list[tuple] = []
        # add_blocks' OBX segments (split column-wise by `_obx_columns`) and each one's OBR context row; the
        # message and patient of each context go in `context_owners` (obr, message, patient)
        self.obx_lines: list[str] = []
        self.obx_contexts: list[int] = []
        self.context_owners: list[tuple[int, int, int]] = []
        self.obrs: list[tuple] = []  # OBR_SCHEMA rows (times as read), plus the observation key's OBR part
        self.descriptions: list[tuple] = []  # DESCRIPTION_SCHEMA rows, plus the key's OBX part
        self.values: list[tuple] = []  # VALUE_SCHEMA rows
        self.patients: list[tuple[str, str]] = []
        self.patient_ids: dict[tuple[str, str], int] = {}

    def _patient_index(self, patient: tuple[str, str]) -> int:
        found = self.patient_ids.get(patient)
        if found is None:
            found = self.patient_ids[patient] = len(self.patients)
            self.patients.append(patient)
        return found

    def _obr(self, context: tuple, facility: str | None, control_id: str | None) -> int:
        """An OBR context row: placer, filler, collected, report time, status, and the key's OBR part."""
        self.obrs.append((*context, order_part(facility, control_id, context[0], context[1])))
        return len(self.obrs) - 1

    def stray(self, index: int, line: int, segments: list[str]) -> None:
        """read_lab_bytes' record of a block of text that is not HL7."""
        detail = f"{len(segments)} line(s) of text that are not HL7 segments"
        self.messages.append((index, line, "quarantined", "not_hl7", detail, None, None, None, None, None, 0))
        self.quarantine.append((index, line, None, "not_hl7", detail, "\r".join(segments)))

    def record(self, record: MessageRecord, observations: list[ObservationRecord]) -> None:
        """A message `oru.read_message` read, as rows."""
        self.messages.append(
            (
                record.index, record.line, record.outcome, record.reason, record.detail,
                record.sending_facility, record.control_id, record.message_time, record.message_type,
                record.version, record.observations,
            )
        )  # fmt: skip
        if record.outcome == "quarantined":
            self.quarantine.append(
                (record.index, record.line, record.control_id, record.reason, record.detail, record.raw)
            )
        for obs in observations:
            obr = self._obr(
                (obs.placer_order, obs.filler_order, obs.collected_at, obs.report_time, obs.order_status),
                record.sending_facility,
                record.control_id,
            )
            description = tuple(getattr(obs, name) for name in DESCRIPTION_SCHEMA)
            part = obx_part(
                obs.code, obs.code_text, obs.code_system, obs.alt_code, obs.alt_system, obs.sub_id
            )
            self.descriptions.append((*description, part))
            self.values.append(tuple(getattr(obs, name) for name in VALUE_SCHEMA))
            self.rows.append(
                (
                    record.index, self._patient_index((obs.id_authority, obs.patient_id)), obs.obx_index, obr,
                    len(self.descriptions) - 1, len(self.values) - 1, obs.observed_at,
                )
            )  # fmt: skip

    def add_blocks(self, blocks: list[tuple[int, list[str], bool]]) -> None:
        """Every block (line, segments, is_message) of the piece, in order.

        One loop with everything it touches bound to locals: this is where ingestion spends its time.
        """
        m = self.m
        messages, quarantine = self.messages, self.quarantine
        obx_lines, contexts, owners = self.obx_lines, self.obx_contexts, self.context_owners
        text, first, message_types, patient_of = m.text, m.first, m.message_type, m.patient.__getitem__
        upper_first, text_of, first_of = m.upper_first, STANDARD.text, STANDARD.first
        patient_ids, patient_list, obrs = self.patient_ids, self.patients, self.obrs
        padding = [""] * 26
        for index, (line, segments, is_message) in enumerate(blocks):
            if not is_message:
                self.stray(index, line, segments)
                continue
            msh = segments[0]
            if msh[3:9] != STANDARD_MSH:
                self.record(*read_message(Block(index, line, tuple(segments), True)))
                continue
            fields = msh.split("|")  # fields[n - 1] is MSH-n
            if len(fields) < 12:
                fields += padding[: 12 - len(fields)]
            facility = text[fields[3]]
            msg_type, trigger, message_type = message_types[fields[8]]
            control_id = first_of(fields[9]) or None
            outcome, reason, detail = header_outcome(msg_type, trigger, message_type, control_id)
            count = 0
            if outcome == "accepted":
                groups = observation_groups(segments, "|", patient_of)
                if isinstance(groups, str):
                    outcome, reason, detail = "quarantined", "missing_patient_id", groups
                else:
                    for patient, obr, obx in groups:
                        patient_index = patient_ids.get(patient)
                        if patient_index is None:
                            patient_index = patient_ids[patient] = len(patient_list)
                            patient_list.append(patient)
                        if len(obr) < 26:
                            obr = obr + padding[: 26 - len(obr)]
                        placer, filler = text_of(obr[2]), text_of(obr[3])
                        obrs.append(
                            (
                                placer, filler,
                                obr[7], obr[22],  # read by the timestamp memo in finish ("" is no time)
                                upper_first[obr[25]], order_part(facility, control_id, placer, filler),
                            )
                        )  # fmt: skip
                        owners.append((len(obrs) - 1, index, patient_index))
                        obx_lines.extend(obx)  # their fields are read column-wise (_obx_columns)
                        contexts.extend([len(obrs) - 1] * len(obx))
                        count += len(obx)
            # MSH-7 is read by the timestamp memo in finish
            messages.append(
                (
                    index, line, outcome, reason, detail, facility, control_id, fields[6], message_type,
                    first[fields[11]], count,
                )
            )  # fmt: skip
            if outcome == "quarantined":
                quarantine.append((index, line, control_id, reason, detail, "\r".join(segments)))

    def _obx_columns(self, obr_collected: pl.Series) -> pl.DataFrame:
        """The OBX segments add_blocks kept, read column-wise: split on `|` (missing fields are ""),
        OBX-3/4/6/7/8/11 and OBX-2/5 numbered by distinct text and read once per distinct text (through the
        memos), OBX-14 read where the OBR has no OBR-7. Rows as `_ROW_READ` plus collected_at."""
        fields = pl.Series("obx", self.obx_lines, dtype=pl.Utf8).str.split("|").to_frame()

        def field(n: int) -> pl.Expr:
            return pl.col("obx").list.get(n, null_on_oob=True).fill_null("")

        # `|` cannot occur in a field, so the fields joined by `|` are a key of the tuple
        keys = fields.select(
            description=pl.concat_str([field(n) for n in (3, 4, 6, 7, 8, 11)], separator="|"),
            value=pl.concat_str([field(n) for n in (2, 5)], separator="|"),
            observed=field(14),
        )
        del fields
        # the rows: an OBX's context gives its message and patient; its place among its message's OBX
        # segments (they are consecutive) is its obx_index
        owners = np.zeros((len(self.obrs), 2), dtype=np.uint32)
        found = np.array(self.context_owners, dtype=np.int64).reshape(-1, 3)
        owners[found[:, 0]] = found[:, 1:]
        context = np.array(self.obx_contexts, dtype=np.int64)
        message = owners[context, 0]
        starts = np.flatnonzero(np.r_[True, message[1:] != message[:-1]])  # each message's first OBX
        obx_index = np.arange(len(message)) - np.repeat(starts, np.diff(np.r_[starts, len(message)]))
        rows = pl.DataFrame(
            {
                "message_index": message,
                "patient_index": owners[context, 1],
                "obx_index": obx_index.astype(np.int32),
                "obr": context.astype(np.uint32),
            }
        )
        numbered = {}
        for name, table, memo in (
            ("description", self.descriptions, self.m.describe),
            ("value", self.values, self.m.value),
        ):
            distinct = keys[name].unique(maintain_order=True)
            offset = len(table)
            table.extend(memo[tuple(key.split("|"))] for key in distinct.to_list())
            numbered[name] = keys[name].replace_strict(
                distinct, pl.int_range(offset, offset + distinct.len(), dtype=pl.UInt32, eager=True)
            )
        collected = obr_collected.gather(rows["obr"])
        missing = collected.is_null()
        if missing.any():  # no OBR-7: the collection time is OBX-14
            texts = pl.select(pl.when(missing).then(keys["observed"])).to_series()
            collected = collected.fill_null(parse_timestamps(texts, self.m.timestamp))
        return rows.with_columns(**numbered, collected_at=collected)

    def finish(self, line_count: int) -> PieceColumns:
        rule = self.m.timestamp
        messages = _frame(self.messages, MESSAGE_SCHEMA, times={"message_time": rule})
        obrs = _frame(self.obrs, OBR_SCHEMA, times={"collected": rule, "report_time": rule}, extra="part")
        parts = []
        if self.obx_lines:
            parts.append(self._obx_columns(obrs["collected"]))
        if self.rows:
            read = _frame(self.rows, _ROW_READ)  # without OBX-14 (the tuples' last item)
            collected = obrs["collected"].gather(read["obr"])
            missing = collected.is_null()
            if missing.any():  # no OBR-7: the collection time is OBX-14
                observed = _time_column("observed", [row[6] for row in self.rows], rule, where=missing)
                collected = collected.fill_null(observed)
            parts.append(read.with_columns(collected_at=collected))
        if not parts:
            rows = _frame([], _ROW_READ).with_columns(collected_at=pl.lit(None, pl.Datetime("us")))
        elif len(parts) == 1:
            rows = parts[0]
        else:  # both kinds of message in one piece: back in block order
            rows = pl.concat(parts).sort("message_index", "obx_index", maintain_order=True)
        descriptions = _frame(self.descriptions, DESCRIPTION_SCHEMA, extra="part")
        rows = rows.hstack(key_columns(self.m.duck(), rows, obrs["part"], descriptions["part"]))
        return PieceColumns(
            messages=messages,
            quarantine=_frame(self.quarantine, QUARANTINE_SCHEMA),
            rows=rows.select(list(ROW_SCHEMA)),
            obrs=obrs.drop("part"),
            descriptions=descriptions.drop("part"),
            values=_frame(self.values, VALUE_SCHEMA),
            patients=pl.DataFrame(self.patients, schema=PATIENT_SCHEMA, orient="row"),
            lines=line_count,
        )


_ROW_READ = pl.Schema(
    {
        "message_index": pl.UInt32(),
        "patient_index": pl.UInt32(),
        "obx_index": pl.Int32(),
        "obr": pl.UInt32(),
        "description": pl.UInt32(),
        "value": pl.UInt32(),
    }
)


def _time_column(name: str, column: Sequence[Any], rule: Memo, where: pl.Series | None = None) -> pl.Series:
    """A column of timestamps as read (texts, or datetimes where oru.read_message read the message) as
    datetimes: texts through `parse_timestamps` (only the rows of `where`, the others null)."""
    if datetime not in set(map(type, column)):  # texts only (and None): as they are
        texts = pl.Series(name, column, dtype=pl.Utf8)
        given = None
    else:
        texts = pl.Series(name, [v if type(v) is str else None for v in column], dtype=pl.Utf8)
        given = [v if type(v) is datetime else None for v in column]
    if where is not None:
        texts = pl.select(pl.when(where).then(texts)).to_series()
    read = parse_timestamps(texts, rule)
    if given is not None:
        given_series = pl.Series(name, given, dtype=pl.Datetime("us"))
        if where is not None:
            given_series = pl.select(pl.when(where).then(given_series)).to_series()
        read = read.fill_null(given_series)
    return read.rename(name)


def _frame(
    rows: list[tuple], schema: pl.Schema, times: dict[str, Memo] | None = None, extra: str | None = None
) -> pl.DataFrame:
    """Row tuples to a frame, column by column; `extra` names one more (text) column after the schema's;
    columns in `times` are timestamps as read (see `_time_column`, with that memo)."""
    names = [*schema, extra] if extra else list(schema)
    dtypes = [*schema.values(), pl.Utf8()] if extra else list(schema.values())
    if not rows:
        return pl.DataFrame(schema=dict(zip(names, dtypes, strict=True)))
    columns = list(zip(*rows, strict=False))
    return pl.DataFrame(
        [
            _time_column(name, columns[i], times[name])
            if times and name in times
            else pl.Series(name, columns[i], dtype=dtype)
            for i, (name, dtype) in enumerate(zip(names, dtypes, strict=True))
        ]
    )
