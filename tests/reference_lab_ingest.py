"""The oracles of bulk lab ingestion: the same work done the plain way, record by record, with `read_lab_bytes`.

- `ingest_lab_files`: sequential ingestion, one file in memory at a time, one record at a time
  (`tests/test_ingest_parallel.py`: the parallel, columnar ingestion must land exactly what this does).
- `differences`: where the bulk reader (`hepwatch.ingest.lab_columns`) reads a file's bytes otherwise than
  `read_lab_bytes` (the tests, the fuzzer and `make bench-identity` ask it).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from hepwatch.hl7.framing import decode_feed_bytes, split_segments
from hepwatch.hl7.identity import observation_key, obx_part, order_part
from hepwatch.hl7.oru import FileRead, MessageRecord, ObservationRecord, read_lab_bytes
from hepwatch.ingest.feed_files import FileVersion, discover, known_versions, next_value, read_version
from hepwatch.ingest.lab_columns import LabColumnsReader
from hepwatch.ingest.piece_builder import FieldMemos, PieceBuilder
from hepwatch.ingest.piece_columns import DESCRIPTION_SCHEMA, VALUE_SCHEMA, PieceColumns
from hepwatch.pseudonym import Pseudonymizer, patient_map_rows
from hepwatch.warehouse import insert_frame, insert_observations


def observation_keys(message: MessageRecord, observations: list[ObservationRecord]) -> list[str]:
    """The key of each of a message's observations (40 hex digits), record by record: the repeat number
    counts the same identity within the message."""
    seen: Counter[tuple[str, str]] = Counter()
    keys = []
    for obs in observations:
        identity = (
            order_part(message.sending_facility, message.control_id, obs.placer_order, obs.filler_order),
            obx_part(obs.code, obs.code_text, obs.code_system, obs.alt_code, obs.alt_system, obs.sub_id),
        )
        seen[identity] += 1
        keys.append(observation_key(*identity, seen[identity]))
    return keys


def reference_columns(data: bytes) -> PieceColumns:
    """The bulk reader's columns, from `read_lab_bytes`' records."""
    read = read_lab_bytes(data)
    by_message: dict[int, list[ObservationRecord]] = {}
    for obs in read.observations:
        by_message.setdefault(obs.message_index, []).append(obs)
    out = PieceBuilder(FieldMemos())
    for message in read.messages:
        out.record(message, by_message.get(message.index, []))
    return out.finish(len(split_segments(decode_feed_bytes(data))))


# The bulk reader's observations in landing form, but arrival_seq and patient_key (the ledger's, the
# pseudonymizer's).
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


def observations(columns: PieceColumns) -> pl.DataFrame:
    """A piece's observations as landing columns (OBSERVATION_SCHEMA), by gathering."""
    rows = columns.rows
    keys = [f"{hi:016x}{lo:016x}" for hi, lo in zip(rows["key_hi"], rows["key_lo"], strict=True)]
    frame = pl.concat(
        [
            columns.messages.select("message_index", "sending_facility", "control_id", "message_time")[
                rows["message_index"]
            ],
            rows.select("patient_index", "obx_index", observation_key=pl.Series(keys, dtype=pl.Utf8)),
            columns.obrs.drop("collected")[rows["obr"]].with_columns(collected_at=rows["collected_at"]),
            columns.values[rows["value"]],
            columns.descriptions[rows["description"]],
        ],
        how="horizontal",
    )
    return frame.select(list(OBSERVATION_SCHEMA))


def differences(data: bytes, reader: LabColumnsReader) -> list[str]:
    """Where `reader` reads a lab file's bytes differently from `read_lab_bytes` (`reference_columns`): ledger
    rows, quarantined payloads, observations in landing form (with keys), their patients and the line count.
    [] when identical."""

    def view(columns: PieceColumns) -> tuple:
        landed = observations(columns)
        patients = columns.patients[landed["patient_index"]].rows()
        return (
            columns.messages,
            columns.quarantine,
            landed.drop("patient_index"),
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


# Two helpers the sequential ingestion needs that no production code does.
def new_versions(conn: duckdb.DuckDBPyConnection, feeds_dir: Path, kind: str) -> list[FileVersion]:
    """File versions of a kind not ingested yet (same path and same content is never read twice)."""
    known = known_versions(conn, kind)
    versions = []
    for feed_file in discover(feeds_dir, kind):
        version = read_version(feed_file)
        if (feed_file.relative, version.sha256) not in known:
            versions.append(version)
    return versions


def new_patients(pseudonymizer: Pseudonymizer) -> pl.DataFrame:
    """The pairs keyed since the last call, as rows for the restricted `patient_map`."""
    return patient_map_rows(pseudonymizer.take_new())


# landing.lab_observations' columns: the bulk reader's, with arrival_seq and patient_key for its numbers
_OBSERVATION_SCHEMA = pl.Schema(
    {
        "arrival_seq": pl.Int64(),
        "patient_key": pl.Utf8(),
        **{k: v for k, v in OBSERVATION_SCHEMA.items() if k not in ("message_index", "patient_index")},
    }
)


def _observation_frame(
    read: FileRead, accepted: dict[int, int], pseudonymizer: Pseudonymizer
) -> pl.DataFrame:
    by_message: dict[int, list] = {}
    for obs in read.observations:
        if obs.message_index in accepted:
            by_message.setdefault(obs.message_index, []).append(obs)
    columns: dict[str, list] = {name: [] for name in _OBSERVATION_SCHEMA}
    for message in read.messages:
        observations = by_message.get(message.index)
        if not observations:
            continue
        keys = observation_keys(message, observations)
        for obs, key in zip(observations, keys, strict=True):
            columns["arrival_seq"].append(accepted[message.index])
            columns["observation_key"].append(key)
            columns["sending_facility"].append(message.sending_facility)
            columns["control_id"].append(message.control_id)
            columns["message_time"].append(message.message_time)
            columns["patient_key"].append(pseudonymizer.patient_key(obs.id_authority, obs.patient_id))
            columns["collected_at"].append(obs.collected_at or obs.observed_at)
            for name in (
                "obx_index", "placer_order", "filler_order", "report_time", "order_status", "value_type",
                "code", "code_text", "code_system", "alt_code", "alt_text", "alt_system", "sub_id",
                "value_text", "value_repeats", "value", "comparator", "value_problem", "unit",
                "reference_range", "range_upper", "abnormal_flags", "result_status",
            ):  # fmt: skip
                columns[name].append(getattr(obs, name))
    return pl.DataFrame(columns, schema=_OBSERVATION_SCHEMA)


def ingest_lab_version(
    conn: duckdb.DuckDBPyConnection,
    version: FileVersion,
    pseudonymizer: Pseudonymizer,
    accepted_ids: set[tuple[str | None, str | None]],
    ingest_seq: int,
    first_arrival: int,
) -> tuple[Counter[str], int]:
    feed = version.file
    now = datetime.now()
    if version.data is None:
        _write_file_version(conn, version, ingest_seq, now, Counter(), version.error)
        return Counter({"unreadable": 1}), 0
    read = read_lab_bytes(version.data)
    accepted: dict[int, int] = {}
    for offset, message in enumerate(read.messages):
        if message.outcome != "accepted":
            continue
        identity = (message.sending_facility, message.control_id)
        if identity in accepted_ids:
            message.outcome = "duplicate"
            message.reason = "duplicate_control_id"
            message.detail = f"MSH-4/MSH-10 {message.sending_facility}/{message.control_id} already accepted"
            continue
        accepted_ids.add(identity)
        accepted[message.index] = first_arrival + offset
    observations = _observation_frame(read, accepted, pseudonymizer)
    outcomes = Counter(m.outcome for m in read.messages)
    messages = pl.DataFrame(
        {
            "file": feed.relative,
            "sha256": version.sha256,
            "message_index": [m.index for m in read.messages],
            "line": [m.line for m in read.messages],
            "outcome": [m.outcome for m in read.messages],
            "reason": [m.reason for m in read.messages],
            "detail": [m.detail for m in read.messages],
            "sending_facility": [m.sending_facility for m in read.messages],
            "control_id": [m.control_id for m in read.messages],
            "message_time": [m.message_time for m in read.messages],
            "message_type": [m.message_type for m in read.messages],
            "hl7_version": [m.version for m in read.messages],
            "observations": [m.observations if m.outcome == "accepted" else 0 for m in read.messages],
            "arrival_seq": [first_arrival + i for i in range(len(read.messages))],
        },
        schema_overrides={"message_time": pl.Datetime("us"), "message_index": pl.Int32, "line": pl.Int32},
    )
    quarantined = [m for m in read.messages if m.outcome == "quarantined"]
    quarantine = pl.DataFrame(
        {
            "kind": "lab_message",
            "file": feed.relative,
            "sha256": version.sha256,
            "position": [m.index for m in quarantined],
            "line": [m.line for m in quarantined],
            "control_id": [m.control_id for m in quarantined],
            "reason": [m.reason for m in quarantined],
            "detail": [m.detail for m in quarantined],
            "raw_payload": [m.raw for m in quarantined],
            "quarantined_at": now,
        },
        schema_overrides={"position": pl.Int64, "line": pl.Int64, "control_id": pl.Utf8},
    )
    conn.execute("BEGIN")
    insert_frame(conn, "phi.quarantine", quarantine, "OR REPLACE")
    insert_frame(conn, "phi.patient_map", new_patients(pseudonymizer), "OR IGNORE")
    conn.execute("COMMIT")
    conn.execute("BEGIN")
    insert_frame(conn, "landing.lab_messages", messages)
    # the normalised landing tables, by SQL
    insert_observations(conn, observations.with_columns(collected_date=pl.col("collected_at").dt.date()))
    _write_file_version(conn, version, ingest_seq, now, outcomes, None)
    conn.execute("COMMIT")
    return outcomes, observations.height


def _write_file_version(
    conn: duckdb.DuckDBPyConnection,
    version: FileVersion,
    ingest_seq: int,
    now: datetime,
    outcomes: Counter[str],
    unreadable_reason: str | None,
) -> None:
    feed = version.file
    conn.execute(
        "INSERT INTO landing.file_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            feed.relative, feed.kind, version.sha256, feed.size_bytes, feed.modified_at, now, ingest_seq,
            sum(outcomes.values()), outcomes["accepted"], outcomes["duplicate"], outcomes["ignored"],
            outcomes["quarantined"], unreadable_reason,
        ],
    )  # fmt: skip


def ingest_lab_files(conn: duckdb.DuckDBPyConnection, feeds_dir: Path, pseudonymizer: Pseudonymizer) -> int:
    """Every new lab file version, one after the other; returns the number of file versions read."""
    versions = new_versions(conn, feeds_dir, "labs")
    accepted_ids = set(
        conn.execute(
            "SELECT sending_facility, control_id FROM landing.lab_messages WHERE outcome = 'accepted'"
        ).fetchall()
    )
    ingest_seq = next_value(conn, "ingest_seq", "landing.file_versions")
    arrival = next_value(conn, "arrival_seq", "landing.lab_messages")
    for version in versions:
        outcomes, _ = ingest_lab_version(conn, version, pseudonymizer, accepted_ids, ingest_seq, arrival)
        ingest_seq += 1
        arrival += sum(outcomes.values()) - outcomes["unreadable"]
    return len(versions)
