"""A read piece to the rows it lands: ledger rows (with duplicates marked), observations with the writer's
ids, quarantined payloads and new patients, gathered in a `Landing` until the writer inserts them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import polars as pl

from hepwatch.ingest.feed_files import ScannedFile
from hepwatch.ingest.lab_catalog import Catalog
from hepwatch.ingest.lab_ledger import AcceptedIds, mark_duplicates
from hepwatch.ingest.piece_columns import PieceColumns
from hepwatch.pseudonym import Pseudonymizer


@dataclass
class FileState:
    """One file version being written: where its pieces go, and what they held so far."""

    scan: ScannedFile
    ingest_seq: int
    first_arrival: int
    now: datetime
    pieces: int  # pieces still to land
    landed: int = 0  # pieces landed
    blocks: int = 0  # blocks of the pieces landed so far: the next piece's first message_index
    lines: int = 0  # lines before the next piece
    outcomes: Counter[str] = field(default_factory=Counter)
    observations: int = 0


@dataclass
class Landing:
    """What pieces write: frames ready to insert as they are, gathered so that a run of small files is
    written with one insert per table and one commit."""

    messages: list[pl.DataFrame] = field(default_factory=list)
    obx: list[pl.DataFrame] = field(default_factory=list)
    orders: list[pl.DataFrame] = field(default_factory=list)
    quarantine: list[pl.DataFrame] = field(default_factory=list)  # restricted store
    patients: list[tuple[str, str, str]] = field(default_factory=list)  # restricted store
    versions: list[tuple] = field(default_factory=list)  # landing.file_versions rows


def concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [frame for frame in frames if frame.height]
    if len(frames) == 1:
        return frames[0]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def prepare_piece(
    conn: duckdb.DuckDBPyConnection,
    state: FileState,
    piece: PieceColumns,
    accepted_ids: AcceptedIds,
    pseudonymizer: Pseudonymizer,
    catalog: Catalog,
    landing: Landing,
) -> None:
    """One piece's ledger rows, observations and quarantined payloads, added to `landing`."""
    feed, sha256 = state.scan.file, state.scan.sha256
    first_index = state.first_arrival + state.blocks  # arrival_seq of the piece's first block
    messages, landed = mark_duplicates(conn, accepted_ids, piece.messages)
    obx_rows = piece.rows
    if not landed.all():
        obx_rows = obx_rows.filter(pl.Series(landed[obx_rows["message_index"].to_numpy()]))
    observations = piece.landing_rows(obx_rows)
    if observations.height:
        patient_ids = catalog.patient_ids(conn, piece.patients, obx_rows["patient_index"].unique())
        first_order = catalog.next_order
        landing.orders.append(catalog.orders(piece.obrs))
        observations = observations.select(
            pl.exclude("message_index", "patient_index", "obr", "description"),
            arrival_seq=pl.col("message_index").cast(pl.Int64) + first_index,
            collected_date=pl.col("collected_at").dt.date(),
            patient_id=patient_ids.gather(obx_rows["patient_index"]),
            description_id=catalog.description_ids(conn, piece.descriptions).gather(obx_rows["description"]),
            order_id=pl.col("obr").cast(pl.Int64) + first_order,
        )
        landing.obx.append(observations)
    landing.patients.extend(pseudonymizer.take_new())
    if piece.quarantine.height:
        landing.quarantine.append(
            piece.quarantine.select(
                pl.exclude("message_index", "line"),
                position=pl.col("message_index").cast(pl.Int64) + state.blocks,
                line=pl.col("line").cast(pl.Int64) + state.lines,
                kind=pl.lit("lab_message"),
                file=pl.lit(feed.relative),
                sha256=pl.lit(sha256),
                quarantined_at=pl.lit(state.now),
            )
        )
    landing.messages.append(
        messages.with_columns(
            message_index=pl.col("message_index").cast(pl.Int64) + state.blocks,
            line=pl.col("line").cast(pl.Int64) + state.lines,
            # the same two texts on every row: dictionary-encoded, DuckDB copies them once
            file=pl.lit(feed.relative, dtype=pl.Categorical),
            sha256=pl.lit(sha256, dtype=pl.Categorical),
            arrival_seq=pl.col("message_index").cast(pl.Int64) + first_index,
        )
    )
    state.outcomes.update(dict(messages["outcome"].value_counts().iter_rows()))
    state.observations += observations.height
    state.blocks += messages.height
    state.lines += piece.lines - 1  # the piece's last (empty) line is the next piece's first


# ---- the run -----------------------------------------------------------------------------------------
