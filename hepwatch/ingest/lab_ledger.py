"""The ledger's duplicates: a message with the MSH-4 and MSH-10 of one accepted before it, in arrival order."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl


def _identities(ids: pl.DataFrame) -> pl.Series:
    """(MSH-4, MSH-10) as one text each: a missing facility and an empty one stay apart."""
    return ids.select(
        pl.when(pl.col("sending_facility").is_null())
        .then(pl.lit("\x00"))
        .otherwise(pl.lit("\x01") + pl.col("sending_facility"))
        + pl.lit("\x1f")
        + pl.col("control_id")
    ).to_series()


class AcceptedIds:
    """(MSH-4, MSH-10) of every accepted message, to tell duplicates in arrival order.

    Messages accepted by this run are kept exactly (a set of texts, about 100 bytes each); those accepted
    before it, as sorted 64-bit hashes (8 bytes each) read from the warehouse in batches: a hash seen before
    makes a message a candidate, and candidates are confirmed against landing.lab_messages.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        reader = conn.sql(
            "SELECT sending_facility, control_id FROM landing.lab_messages WHERE outcome = 'accepted'"
        ).to_arrow_reader(1 << 20)
        hashes = []
        for batch in reader:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            hashes.append(_identities(frame).hash().to_numpy())
        self.before = np.sort(np.concatenate(hashes)) if hashes else np.zeros(0, dtype=np.uint64)
        self.run: set[str] = set()

    def duplicates(self, conn: duckdb.DuckDBPyConnection, ids: pl.DataFrame) -> np.ndarray:
        """Which of these accepted messages (sending_facility, control_id, in file order) are duplicates."""
        identities = _identities(ids)
        run = self.run
        texts = identities.to_list()
        # accepted earlier in this run, or earlier in these messages
        duplicate = np.fromiter(map(run.__contains__, texts), dtype=bool, count=len(texts))
        duplicate |= ~identities.is_first_distinct().to_numpy()
        run.update(texts)
        if len(self.before):
            hashes = identities.hash().to_numpy()
            at = np.minimum(np.searchsorted(self.before, hashes), len(self.before) - 1)
            candidates = (self.before[at] == hashes) & ~duplicate
            if candidates.any():
                incoming_ids = ids.filter(pl.Series(candidates)).unique()  # noqa: F841 (read by name below)
                confirmed = conn.execute(
                    "SELECT DISTINCT c.sending_facility, c.control_id FROM incoming_ids c "
                    "JOIN landing.lab_messages m ON m.control_id = c.control_id "
                    "AND m.sending_facility IS NOT DISTINCT FROM c.sending_facility WHERE m.outcome = 'accepted'"
                ).fetchall()
                known = _identities(pl.DataFrame(confirmed, schema=ids.schema, orient="row"))
                duplicate |= candidates & identities.is_in(known.implode()).to_numpy()
        return duplicate


def mark_duplicates(
    conn: duckdb.DuckDBPyConnection, accepted_ids: AcceptedIds, messages: pl.DataFrame
) -> tuple[pl.DataFrame, np.ndarray]:
    """A piece's ledger rows with the duplicates among its accepted messages marked `duplicate`, and which
    rows are still accepted (their observations land)."""
    accepted = (messages["outcome"] == "accepted").to_numpy()
    landed = accepted.copy()
    if not accepted.any():
        return messages, landed
    ids = messages.filter(pl.Series(accepted)).select("sending_facility", "control_id")
    duplicate = accepted_ids.duplicates(conn, ids)
    if not duplicate.any():
        return messages, landed
    rows = np.flatnonzero(accepted)[duplicate]
    landed[rows] = False
    dup = messages[rows]
    details = [
        f"MSH-4/MSH-10 {facility}/{control_id} already accepted"
        for facility, control_id in zip(dup["sending_facility"], dup["control_id"], strict=True)
    ]
    messages = messages.with_columns(
        messages["outcome"].clone().scatter(rows, "duplicate"),
        messages["reason"].clone().scatter(rows, "duplicate_control_id"),
        messages["detail"].clone().scatter(rows, pl.Series(details, dtype=pl.Utf8)),
        messages["observations"].clone().scatter(rows, 0),
    )
    return messages, landed
