"""A lab feed's text to landing-ready columns, fast: what `oru.read_lab_bytes` reads, without its objects.

The reader (`hepwatch.hl7`) decides what every message and OBX means; this module only makes reading a large
feed cheap, and must give exactly what the reader gives (`tests/test_lab_columns.py` proves it on the public
corpus, the sample feeds and the bench feed, against `read_lab_bytes`):

- Framing is `framing.split_blocks`' own: a line that starts a message (`MSH` and more) resets all of its
  state, so the lines between two message starts form blocks on their own. A run that is one message of
  plain segments (the usual case) is taken whole; any other run goes through `framing.group_lines`.
- A message with the standard delimiters (`MSH|^~\\&|`) is read by `_PieceBuilder.add_blocks`, a copy of
  `oru.read_message` / `oru._observation` that calls the reader's own helpers (`_Fields`,
  `_patient_identifier`, `values.parse_*`) once per distinct field text (OBX-2..8/11/14, PID-3, MSH-4/9/12,
  OBR-7/22/25) instead of once per OBX. Two shortcuts stand in for a helper where the text leaves it
  nothing to do: a field without `^ ~ & \\` is its own `_Fields.text` (and, stripped, its own `first`), and a
  timestamp of ASCII digits (`YYYY[MM[DD[HH[MM[SS]]]]]`, optionally `+ZZZZ`/`-ZZZZ`) is read as
  `values.parse_timestamp` reads it. Any other message goes to `oru.read_message` itself.
- Output is columnar and normalised: one row per block (the ledger); one row of numbers per OBX of a
  message the reader accepts (message, patient, OBR context, description, value) plus the observation key
  of `labs.observation_keys` (its first 128 bits, as two 64-bit numbers); the texts those numbers point to are stored once per
  piece, and `PieceColumns.observations` gathers them into landing columns.

If the reader's rules change, this copy must change with them: the identity test fails until it does.
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import polars as pl

from hepwatch.hl7.encoding import Encoding
from hepwatch.hl7.framing import (
    Block,
    _is_segment,
    decode_feed_bytes,
    group_lines,
    is_envelope,
    split_segments,
)
from hepwatch.hl7.oru import (
    LAB_RESULT_TYPES,
    MessageRecord,
    ObservationRecord,
    _Fields,
    _has_text,
    _patient_identifier,
    _without_outer_empties,
    read_lab_bytes,
    read_message,
)
from hepwatch.hl7.values import parse_numeric, parse_timestamp, parse_upper_limit

STANDARD_MSH = "|^~\\&|"  # MSH-1 and MSH-2 of almost every feed: read by the fast path
_CACHE_LIMIT = 100_000  # entries per memo before it is emptied (memory stays bounded on any feed)

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
        # the observation key: the first 128 bits of the SHA-1 of its identity (labs.observation_keys), as two
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
# Landing columns of an observation, but arrival_seq and patient_key (the ledger's, the pseudonymizer's).
OBSERVATION_SCHEMA = pl.Schema(
    {
        "message_index": pl.Int64(),
        "patient_index": pl.UInt32(),
        "obx_index": pl.Int32(),
        "observation_key": pl.Utf8(),
        "sending_facility": pl.Utf8(),
        "control_id": pl.Utf8(),
        "message_time": pl.Datetime("us"),
        "placer_order": pl.Utf8(),
        "filler_order": pl.Utf8(),
        "collected_at": pl.Datetime("us"),
        "report_time": pl.Datetime("us"),
        "order_status": pl.Utf8(),
        **VALUE_SCHEMA,
        **DESCRIPTION_SCHEMA,
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

    def observations(self, rows: pl.DataFrame | None = None) -> pl.DataFrame:
        """These rows (default: all) as landing columns (OBSERVATION_SCHEMA), by gathering."""
        rows = self.rows if rows is None else rows
        frame = pl.concat(
            [
                self.messages.select("message_index", "sending_facility", "control_id", "message_time")[
                    rows["message_index"]
                ],
                rows.select("patient_index", "obx_index", observation_key=_hex_keys(rows)),
                self.obrs.drop("collected")[rows["obr"]].with_columns(collected_at=rows["collected_at"]),
                self.values[rows["value"]],
                self.descriptions[rows["description"]],
            ],
            how="horizontal",
        )
        return frame.select(list(OBSERVATION_SCHEMA))

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


class _Memo(dict[Any, Any]):
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


_FX = _Fields(Encoding())  # the standard delimiters, as Encoding.from_msh reads `MSH|^~\\&|`
_DELIMITED = re.compile(r"[\^~&\\]").search  # a field with none of these is its own _Fields.text
_FIRST_DELIMITED = re.compile(r"[\^~\\]").search  # ... and, stripped, its own _Fields.first
_DIGITS_TIME = re.compile(r"(\d{4}(?:\d\d){0,5})(?:[+-]\d{4})?", re.ASCII).fullmatch


def _get(fields: Sequence[str], n: int) -> str:
    return fields[n] if n < len(fields) else ""


def _timestamp(raw: str) -> datetime | None:
    """values.parse_timestamp(_Fields.first(raw)), reading plain ASCII digit timestamps directly."""
    match = _DIGITS_TIME(raw)
    if match is None:
        return parse_timestamp(_FX.first(raw))
    digits = match.group(1)
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


def _text(raw: str) -> str:
    """_Fields.text of the standard delimiters."""
    return raw if _DELIMITED(raw) is None else _FX.text(raw)


def _first(raw: str) -> str:
    """_Fields.first of the standard delimiters (`&` does not matter to it, and is kept)."""
    return raw.strip() if _FIRST_DELIMITED(raw) is None else _FX.first(raw)


def _identity_part(code: str, text: str, system: str, alt_code: str, alt_system: str, sub_id: str) -> str:
    """The OBX part of labs.observation_keys' identity (system, code, alternates, the text only without a
    code, sub-ID), with a leading separator: the OBR part goes before it."""
    return "\x1f" + "\x1f".join(
        (system, code, alt_system, alt_code, text if not (code or alt_code) else "", sub_id)
    )


def _describe(key: tuple[str, str, str, str, str, str]) -> tuple:
    """_observation's reading of OBX-3, -4, -6, -7, -8 and -11; and the observation key's OBX part."""
    raw3, raw4, raw6, raw7, raw8, raw11 = key
    code = _FX.components(raw3)
    parts = [_get(code, i).strip() for i in range(6)]
    unit_comps = _FX.components(raw6)
    unit = (unit_comps[0].strip() or _get(unit_comps, 1).strip()) if unit_comps else ""
    reference_range = _FX.components(raw7)[0].strip()
    sub_id = _FX.first(raw4)
    return (
        *parts,
        sub_id,
        unit,
        reference_range,
        parse_upper_limit(reference_range),
        _FX.repeats_first_components(raw8),
        _FX.first(raw11).upper(),
        _identity_part(parts[0], parts[1], parts[2], parts[3], parts[5], sub_id),
    )


def _value(key: tuple[str, str]) -> tuple:
    """_observation's reading of OBX-2 and OBX-5."""
    raw2, raw5 = key
    value_type = _FX.first(raw2).upper()
    components = _FX.components(raw5)
    numeric = parse_numeric(value_type, components)
    return (
        value_type,
        "^".join(_without_outer_empties(components)),
        sum(1 for rep in raw5.split(_FX.enc.repetition) if _has_text(_FX, rep)),
        numeric.value,
        numeric.comparator,
        numeric.problem,
    )


def _message_type(raw: str) -> tuple[str, str, str | None]:
    comps = _FX.components(raw)
    msg_type = comps[0].strip().upper()
    trigger = _get(comps, 1).strip().upper()
    return msg_type, trigger, (f"{msg_type}^{trigger}" if trigger else msg_type or None)


def _authority_and_id(patient: tuple[str, str] | None) -> tuple[str, str] | None:
    """(id_authority, patient_id), the order the ledger keys patients by, from (id, authority)."""
    return None if patient is None else (patient[1], patient[0])


class LabColumnsReader:
    """Reads pieces of lab files into PieceColumns; keeps its memos from piece to piece (one per process)."""

    def __init__(self) -> None:
        fx = _FX
        self.describe = _Memo(_describe)
        self.value = _Memo(_value)
        self.timestamp = _Memo(_timestamp)
        self.text = _Memo(lambda raw: _text(raw) or None)
        self.first = _Memo(lambda raw: _first(raw) or None)
        self.upper_first = _Memo(lambda raw: _first(raw).upper())
        self.message_type = _Memo(_message_type)
        self.patient = _Memo(lambda raw: _authority_and_id(_patient_identifier(fx, raw)))
        self.segment_ok: dict[str, dict[str, bool]] = {}  # field separator -> line[:4] -> plain segment?
        self._duck: duckdb.DuckDBPyConnection | None = None

    def duck(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB of this reader's own (the observation keys' SHA-1)."""
        if self._duck is None:
            self._duck = duckdb.connect(config={"threads": 1})
        return self._duck

    # ---- framing (framing.split_blocks, a whole message at a time) ------------------------------------

    def _plain(self, prefix: str, separator: str) -> bool:
        """Would split_blocks append a line starting with `prefix` (its first 4 characters) to a message?"""
        known = self.segment_ok.setdefault(separator, {})
        plain = known.get(prefix)
        if plain is None:
            plain = known[prefix] = not is_envelope(prefix) and _is_segment(prefix, separator)
        return plain

    def blocks(self, text: str) -> tuple[list[tuple[int, list[str], bool]], int]:
        """(line, segments, is_message) of every block of `text`, as split_blocks makes them; and the line count."""
        lines = split_segments(text)
        starts = [i for i, line in enumerate(lines) if line[:3] == "MSH" and len(line) > 3]
        blocks: list[tuple[int, list[str], bool]] = []
        if not starts or starts[0] > 0:
            blocks.extend(group_lines(lines, 0, starts[0] if starts else len(lines)))
        plain = self._plain
        bounds = [*starts, len(lines)]
        # The usual feed: every message uses `|`, and every line's first four characters (over the whole
        # piece) make a plain segment, or the line is empty: then every run is one whole message.
        if starts and all(lines[i][3] == "|" for i in starts):
            prefixes = {line[:4] for line in lines[starts[0] :]}
            blank = "" in prefixes
            prefixes.discard("")
            if all(plain(prefix, "|") for prefix in prefixes):
                for start, end in zip(starts, bounds[1:], strict=True):
                    segments = lines[start:end]
                    if blank and "" in segments:
                        segments = [line for line in segments if line]
                    blocks.append((start + 1, segments, True))
                return blocks, len(lines)
        for k in range(len(starts)):
            start, end = bounds[k], bounds[k + 1]
            separator = lines[start][3]
            known = self.segment_ok.get(separator) or {}
            skipped = False
            whole = True
            for i in range(start + 1, end):
                line = lines[i]
                ok = known.get(line[:4])
                if ok:
                    continue
                if ok is None and plain(line[:4], separator):
                    known = self.segment_ok[separator]
                    continue
                if not line.strip():
                    skipped = True
                    continue
                whole = False
                break
            if whole:
                segments = lines[start:end]
                if skipped:
                    segments = [line for line in segments if line.strip()]
                blocks.append((start + 1, segments, True))
            else:
                blocks.extend(group_lines(lines, start, end))
        return blocks, len(lines)

    # ---- reading -------------------------------------------------------------------------------------

    def read(self, text: str) -> PieceColumns:
        """Every block of a piece of a lab file's text (decoded as the whole file is) to columns."""
        collecting = gc.isenabled()
        gc.disable()  # millions of small tuples and lists, no cycles: the collector would only rescan them
        try:
            blocks, line_count = self.blocks(text)
            out = _PieceBuilder(self)
            out.add_blocks(blocks)
            del blocks
            return out.finish(line_count)
        finally:
            if collecting:
                gc.enable()


class _PieceBuilder:
    """Accumulates one piece's rows; `finish` turns them into frames.

    The loop keeps timestamps as the text it read (a `datetime` when `oru.read_message` read the message)
    and leaves the observation keys out: `finish` reads the timestamps column-wise (`_timestamps`) and
    numbers and hashes the identities column-wise (`_observation_keys`), which costs a fraction of doing it
    per OBX in Python.
    """

    def __init__(self, reader: LabColumnsReader) -> None:
        self.r = reader
        self.messages: list[tuple] = []  # MESSAGE_SCHEMA rows (message_time as read); row n is block n
        self.quarantine: list[tuple] = []  # QUARANTINE_SCHEMA rows
        self.rows: list[
            tuple
        ] = []  # message, patient, obx_index, obr, description, value, OBX-14 (`record`'s)
        # add_blocks' OBX segments (split column-wise by `_obx_columns`) and each one's OBR context row; the
        # message and patient of a context it reads go in `context_owners` (obr, message, patient)
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
        placer, filler = context[0], context[1]
        orders = (placer, filler) if (placer or filler) else ("msg", control_id or "")
        self.obrs.append((*context, "\x1f".join((facility or "", *orders))))
        return len(self.obrs) - 1

    def _standard_obr(self, obr: list[str], facility: str | None, control_id: str | None) -> int:
        """_observation's reading of OBR-2, -3, -7, -22 and -25 (an empty list when there is no OBR)."""
        r = self.r
        n = len(obr)
        return self._obr(
            (
                _text(obr[2]) if n > 2 else "",
                _text(obr[3]) if n > 3 else "",
                obr[7] if n > 7 else "",  # read by _timestamp in finish ("" is no time)
                obr[22] if n > 22 else "",
                r.upper_first[obr[25] if n > 25 else ""],
            ),
            facility,
            control_id,
        )

    def stray(self, index: int, line: int, segments: list[str]) -> None:
        """read_lab_bytes' record of a block of text that is not HL7."""
        detail = f"{len(segments)} line(s) of text that are not HL7 segments"
        self.messages.append((index, line, "quarantined", "not_hl7", detail, None, None, None, None, None, 0))
        self.quarantine.append((index, line, None, "not_hl7", detail, "\r".join(segments)))

    def record(self, record: MessageRecord, observations: list[ObservationRecord]) -> None:
        """A message the reader itself read (one with other delimiters), as rows."""
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
            part = _identity_part(
                obs.code, obs.code_text, obs.code_system, obs.alt_code, obs.alt_system, obs.sub_id
            )
            self.descriptions.append(
                (
                    obs.code, obs.code_text, obs.code_system, obs.alt_code, obs.alt_text, obs.alt_system,
                    obs.sub_id, obs.unit, obs.reference_range, obs.range_upper, obs.abnormal_flags,
                    obs.result_status, part,
                )
            )  # fmt: skip
            self.values.append(
                (
                    obs.value_type,
                    obs.value_text,
                    obs.value_repeats,
                    obs.value,
                    obs.comparator,
                    obs.value_problem,
                )
            )
            self.rows.append(
                (
                    record.index, self._patient_index((obs.id_authority, obs.patient_id)), obs.obx_index, obr,
                    len(self.descriptions) - 1, len(self.values) - 1, obs.observed_at,
                )
            )  # fmt: skip

    def add_blocks(self, blocks: list[tuple[int, list[str], bool]]) -> None:
        """Every block: oru.read_message, field for field, for messages with the standard delimiters.

        One loop with everything it touches bound to locals: this is where ingestion spends its time.
        """
        r = self.r
        messages, quarantine = self.messages, self.quarantine
        obx_lines, contexts, owners = self.obx_lines, self.obx_contexts, self.context_owners
        text, first, message_types, patients = r.text, r.first, r.message_type, r.patient
        patient_ids, patient_list = self.patient_ids, self.patients
        lab_result_types = LAB_RESULT_TYPES
        padding = [""] * 15
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
            control_id = _first(fields[9]) or None
            version = first[fields[11]]
            outcome, reason, detail = "accepted", None, None
            start = len(contexts)
            if (msg_type, trigger) not in lab_result_types:
                outcome, reason = "ignored", "not_lab_result"
                detail = f"message type {message_type or '(none)'} is not ORU^R01"
            elif not control_id:
                outcome, reason, detail = (
                    "quarantined",
                    "missing_control_id",
                    "MSH-10 (message control ID) is empty",
                )
            else:
                patient_index = -1
                saw_pid = False
                obr: list[str] | None = None
                obr_row = -1
                for segment in segments:
                    seg_id = segment[:3]
                    if seg_id == "OBX":
                        if patient_index < 0:
                            outcome, reason = "quarantined", "missing_patient_id"
                            detail = "OBX before any PID segment with an identifier"
                            break
                        if obr_row < 0:
                            obr_row = self._standard_obr(obr or [], facility, control_id)
                            owners.append((obr_row, index, patient_index))
                        obx_lines.append(segment)  # its fields are read column-wise (_obx_columns)
                        contexts.append(obr_row)
                    elif seg_id == "PID":
                        saw_pid = True
                        pid = segment.split("|", 4)
                        patient = patients[pid[3] if len(pid) > 3 else ""]
                        if patient is None:
                            outcome, reason = "quarantined", "missing_patient_id"
                            detail = "PID-3 (patient identifier list) has no identifier"
                            break
                        patient_index = patient_ids.get(patient, -1)
                        if patient_index < 0:
                            patient_index = patient_ids[patient] = len(patient_list)
                            patient_list.append(patient)
                        obr, obr_row = None, -1
                    elif seg_id == "OBR":
                        obr, obr_row = segment.split("|"), -1
                else:
                    if not saw_pid:
                        outcome, reason, detail = (
                            "quarantined",
                            "missing_patient_id",
                            "the message has no PID segment",
                        )
            count = 0
            if outcome == "accepted":
                count = len(contexts) - start
            else:
                del contexts[start:]
                del obx_lines[start:]
            messages.append(
                (
                    index,
                    line,
                    outcome,
                    reason,
                    detail,
                    facility,
                    control_id,
                    fields[6],  # MSH-7, read by _timestamp in finish
                    message_type,
                    version,
                    count,
                )
            )
            if outcome == "quarantined":
                quarantine.append((index, line, control_id, reason, detail, "\r".join(segments)))

    def _obx_columns(self, obr_collected: pl.Series) -> pl.DataFrame:
        """The OBX segments add_blocks kept, read column-wise: split on `|` (the fields add_blocks would
        have padded with "" are null, then ""), OBX-3/4/6/7/8/11 and OBX-2/5 numbered by distinct text and
        read once per distinct text (`_describe`, `_value`, through the reader's memos), OBX-14 read where
        the OBR has no OBR-7. Rows as `_ROW_READ` plus collected_at."""
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
            ("description", self.descriptions, self.r.describe),
            ("value", self.values, self.r.value),
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
            collected = collected.fill_null(_times(texts, self.r.timestamp))
        return rows.with_columns(**numbered, collected_at=collected)

    def finish(self, line_count: int) -> PieceColumns:
        rule = self.r.timestamp
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
        rows = rows.hstack(_observation_keys(self.r.duck(), rows, obrs["part"], descriptions["part"]))
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


def _observation_keys(
    duck: duckdb.DuckDBPyConnection, rows: pl.DataFrame, obr_parts: pl.Series, identity_parts: pl.Series
) -> pl.DataFrame:
    """labs.observation_keys for every row (the first 128 bits of the SHA-1, as key_hi and key_lo): the identity (OBR part + OBX part), its
    repeat number within the message (1 unless the same identity came before in that message), hashed."""
    if rows.is_empty():
        return pl.DataFrame(schema={"key_hi": pl.UInt64, "key_lo": pl.UInt64})
    obr_id = _dense(obr_parts).gather(rows["obr"]).cast(pl.UInt64)
    part_id = _dense(identity_parts).gather(rows["description"]).cast(pl.UInt64)
    width = identity_parts.len() + 1
    same = rows["message_index"].cast(pl.UInt64) * ((obr_parts.len() + 1) * width) + obr_id * width + part_id
    if same.is_duplicated().any():
        repeat = same.to_frame("same").select(pl.int_range(1, pl.len() + 1).over("same")).to_series()
    else:
        repeat = pl.repeat(1, rows.height, eager=True)
    identities = pl.select(  # read by name by DuckDB below
        identity=pl.concat_str(
            obr_parts.gather(rows["obr"]), identity_parts.gather(rows["description"]), pl.lit("\x1f"), repeat
        )
    )
    if rows.height <= _SMALL:  # a small file: hashlib beats a DuckDB query's per-call cost
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


def _hex_keys(rows: pl.DataFrame) -> pl.Series:
    """key_hi and key_lo as the 32 hex digits landing.lab_observations shows."""
    return pl.Series(
        [f"{hi:016x}{lo:016x}" for hi, lo in zip(rows["key_hi"], rows["key_lo"], strict=True)], dtype=pl.Utf8
    )


def _dense(keys: pl.Series) -> pl.Series:
    """A 0-based number for each distinct value (equal values, equal numbers)."""
    distinct = keys.unique()
    return keys.replace_strict(distinct, pl.int_range(distinct.len(), dtype=pl.UInt32, eager=True))


_SMALL = 2_000  # rows up to which per-value Python is cheaper than a column-wise call
_USUAL_TIME = {  # digits -> pattern of the usual timestamps (see _times)
    14: r"^[1-9][0-9]{7}(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9](?:[+-][0-9]{4})?$",
    12: r"^[1-9][0-9]{7}(?:[01][0-9]|2[0-3])[0-5][0-9](?:[+-][0-9]{4})?$",
}
_DIGIT_TIME = r"^([0-9]{4})([0-9]{2})?([0-9]{2})?([0-9]{2})?([0-9]{2})?([0-9]{2})?(?:[+-][0-9]{4})?$"


def _times(texts: pl.Series, rule: dict | None) -> pl.Series:
    """_timestamp of every text (null stays null), column-wise, each distinct text once: a text of ASCII
    digits (`YYYY[MM[DD[HH[MM[SS]]]]]`, optionally `+ZZZZ`/`-ZZZZ`) is checked with the calendar rules
    `datetime` applies (year >= 1, month 1-12, the month's last day, hour < 24, minute and second < 60) and
    built; any other text goes through `rule` (the reader's memo of `_timestamp`)."""
    if rule is not None and texts.len() <= _SMALL:  # a small file: Python beats Polars' per-call cost
        return pl.Series(texts.name, [None if t is None else rule[t] for t in texts], dtype=pl.Datetime("us"))
    # The usual texts, `YYYYMMDDHHMM[SS]` (year 1000 or later, hour, minute and second in range), with or
    # without an offset, are read by Polars' strptime, which leaves null what no calendar has (month 13,
    # 30 February); every other text goes the way below.
    seconds, minutes = texts.str.contains(_USUAL_TIME[14]), texts.str.contains(_USUAL_TIME[12])
    usual = seconds | minutes
    out = pl.select(
        pl.when(seconds)
        .then(texts.str.slice(0, 14).str.to_datetime("%Y%m%d%H%M%S", strict=False, time_unit="us"))
        .when(minutes)
        .then(texts.str.slice(0, 12).str.to_datetime("%Y%m%d%H%M", strict=False, time_unit="us"))
    ).to_series()
    rest = texts.is_not_null() & ~usual
    if rest.any():
        odd = texts.filter(rest)
        distinct = odd.unique()
        read = odd.replace_strict(
            distinct, _distinct_times(distinct, rule), default=None, return_dtype=pl.Datetime("us")
        )
        out = out.scatter(rest.arg_true(), read)
    return out.rename(texts.name)


def _distinct_times(texts: pl.Series, rule: dict | None) -> pl.Series:
    parts = texts.str.extract_groups(_DIGIT_TIME).struct.unnest()
    names = parts.columns
    frame = parts.select(
        matched=pl.col(names[0]).is_not_null(),
        y=pl.col(names[0]).cast(pl.Int32),
        mo=pl.col(names[1]).cast(pl.Int32).fill_null(1),
        d=pl.col(names[2]).cast(pl.Int32).fill_null(1),
        h=pl.col(names[3]).cast(pl.Int32).fill_null(0),
        mi=pl.col(names[4]).cast(pl.Int32).fill_null(0),
        s=pl.col(names[5]).cast(pl.Int32).fill_null(0),
    )
    y, mo = pl.col("y").clip(1, 9999), pl.col("mo").clip(1, 12)
    last_day = pl.date(y, mo, 1).dt.month_end().dt.day().cast(pl.Int32)
    valid = (
        (pl.col("y") >= 1)
        & pl.col("mo").is_between(1, 12)
        & pl.col("d").is_between(1, last_day)
        & (pl.col("h") <= 23)
        & (pl.col("mi") <= 59)
        & (pl.col("s") <= 59)
    )
    # built from day 1 plus the days, so that no invalid date is built even in a discarded branch
    built = pl.datetime(
        y, mo, 1, pl.col("h").clip(0, 23), pl.col("mi").clip(0, 59), pl.col("s").clip(0, 59), time_unit="us"
    ) + pl.duration(days=pl.col("d").clip(1, 31) - 1)
    out = frame.select(time=pl.when(pl.col("matched") & valid).then(built)).to_series()
    unmatched = ~frame["matched"] & texts.is_not_null()
    if rule is not None and unmatched.any():
        odd = texts.filter(unmatched)
        read = pl.Series([rule[t] for t in odd.to_list()], dtype=pl.Datetime("us"))
        out = out.scatter(unmatched.arg_true(), read)
    return out


def _time_column(name: str, column: Sequence[Any], rule: dict, where: pl.Series | None = None) -> pl.Series:
    """A column of timestamps as read (texts, or datetimes where oru.read_message read the message) as
    datetimes: texts through `_times` (only the rows of `where`, the others null)."""
    if datetime not in set(map(type, column)):  # texts only (and None): as they are
        texts = pl.Series(name, column, dtype=pl.Utf8)
        given = None
    else:
        texts = pl.Series(name, [v if type(v) is str else None for v in column], dtype=pl.Utf8)
        given = [v if type(v) is datetime else None for v in column]
    if where is not None:
        texts = pl.select(pl.when(where).then(texts)).to_series()
    read = _times(texts, rule)
    if given is not None:
        given_series = pl.Series(name, given, dtype=pl.Datetime("us"))
        if where is not None:
            given_series = pl.select(pl.when(where).then(given_series)).to_series()
        read = read.fill_null(given_series)
    return read.rename(name)


def _frame(
    rows: list[tuple], schema: pl.Schema, times: dict[str, dict] | None = None, extra: str | None = None
) -> pl.DataFrame:
    """Row tuples to a frame, column by column; `extra` names one more (text) column after the schema's;
    columns in `times` are timestamps as read (see `_time_column`, with that rule)."""
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


def reference_columns(data: bytes) -> PieceColumns:
    """The same columns from the reader itself (`read_lab_bytes`): slow, the yardstick of `read`."""
    read = read_lab_bytes(data)
    by_message: dict[int, list[ObservationRecord]] = {}
    for obs in read.observations:
        by_message.setdefault(obs.message_index, []).append(obs)
    out = _PieceBuilder(LabColumnsReader())
    for message in read.messages:
        out.record(message, by_message.get(message.index, []))
    return out.finish(len(split_segments(decode_feed_bytes(data))))


def differences(data: bytes, reader: LabColumnsReader) -> list[str]:
    """Where `reader` reads a lab file's bytes differently from the reader itself (`reference_columns`):
    ledger rows, quarantined payloads, observations in landing form (with keys), their patients and the line
    count. [] when identical (the tests, the fuzzer and `make bench-identity` all ask this)."""

    def view(columns: PieceColumns) -> tuple:
        observations = columns.observations()
        patients = columns.patients[observations["patient_index"]].rows()
        return (
            columns.messages,
            columns.quarantine,
            observations.drop("patient_index"),
            patients,
            columns.lines,
        )

    fast, slow = view(reader.read(decode_feed_bytes(data))), view(reference_columns(data))
    found = []
    for name, a, b in zip(("messages", "quarantine", "observations"), fast[:3], slow[:3], strict=True):
        if a.schema != b.schema:
            found.append(f"{name}: schema")
        elif not a.equals(b):
            columns = [c for c in a.columns if not a[c].equals(b[c])] if a.height == b.height else "height"
            found.append(f"{name}: {columns}")
    if fast[3] != slow[3]:
        found.append("patients")
    if fast[4] != slow[4]:
        found.append("line count")
    return found
