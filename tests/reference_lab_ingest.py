"""Lab ingestion as it was before issue 5 (sequential, record by record, `read_lab_bytes`): the oracle.

A verbatim copy of the previous `hepwatch/ingest/labs.py` (only `observation_keys` is imported, not copied),
kept for `tests/test_ingest_parallel.py`: the parallel, columnar ingestion must land exactly what this does.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from hepwatch.hl7.oru import FileRead, read_lab_bytes
from hepwatch.ingest.feed_files import FileVersion, discover, known_versions, next_value, read_version
from hepwatch.ingest.labs import observation_keys
from hepwatch.pseudonym import Pseudonymizer, patient_map_rows
from hepwatch.warehouse import insert_frame, insert_observations


# Two helpers the previous ingestion used that no production code needs any more, kept with the oracle.
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


_OBSERVATION_SCHEMA = pl.Schema(
    {
        "arrival_seq": pl.Int64(),
        "obx_index": pl.Int32(),
        "observation_key": pl.Utf8(),
        "sending_facility": pl.Utf8(),
        "control_id": pl.Utf8(),
        "message_time": pl.Datetime("us"),
        "patient_key": pl.Utf8(),
        "placer_order": pl.Utf8(),
        "filler_order": pl.Utf8(),
        "collected_at": pl.Datetime("us"),
        "report_time": pl.Datetime("us"),
        "order_status": pl.Utf8(),
        "value_type": pl.Utf8(),
        "code": pl.Utf8(),
        "code_text": pl.Utf8(),
        "code_system": pl.Utf8(),
        "alt_code": pl.Utf8(),
        "alt_text": pl.Utf8(),
        "alt_system": pl.Utf8(),
        "sub_id": pl.Utf8(),
        "value_text": pl.Utf8(),
        "value_repeats": pl.Int32(),
        "value": pl.Float64(),
        "comparator": pl.Utf8(),
        "value_problem": pl.Utf8(),
        "unit": pl.Utf8(),
        "reference_range": pl.Utf8(),
        "range_upper": pl.Float64(),
        "abnormal_flags": pl.Utf8(),
        "result_status": pl.Utf8(),
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
    # the normalised tables of issue 5, by SQL
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
    """The previous ingest_lab_files; returns the number of file versions read."""
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
