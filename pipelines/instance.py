"""The Dagster instance `hepwatch run` uses when DAGSTER_HOME is not set: Dagster's ephemeral instance, with
an in-memory event log that keeps one SQLite connection.

A ranged run stores a planned and a materialization event for each daily asset and each day it builds: a year
is about 5,000 events. Dagster's in-memory event log opens a new SQLite connection for each one, sets its
pragmas, and asks SQLite for the shape of its tables again (which cannot change: it created them), and that
cost about as much as the year's marts. `HeldConnectionEventLogStorage` is the same storage (the same SQL,
tables and events) with the connection it already holds for its life reused, under the same lock, and the
answers about its own tables kept; and a ranged run's planned materializations are one event per asset
(naming its days), as Dagster offers for storages that support it. Dagster is pinned (requirements.lock);
tests/test_instance.py checks that a run's events read back as Dagster's own ephemeral instance gives them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster._core.instance import InstanceType
from dagster._core.launcher.sync_in_memory_run_launcher import SyncInMemoryRunLauncher
from dagster._core.run_coordinator import DefaultRunCoordinator
from dagster._core.storage.event_log import InMemoryEventLogStorage
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
from dagster._core.storage.root import TemporaryLocalArtifactStorage
from dagster._core.storage.runs import InMemoryRunStorage


class HeldConnectionEventLogStorage(InMemoryEventLogStorage):
    """Dagster's in-memory event log, through the one connection it holds (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._has_table: dict[str, bool] = {}
        self._asset_key_columns: list[str] | None = None

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        with self._db_lock, self._held_conn.begin():
            yield self._held_conn

    @property
    def supports_partition_subset_in_asset_materialization_planned_events(self) -> bool:
        # One planned event per asset for a ranged run, with its partitions, not one per day (Dagster's
        # DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS). Its cost in a persistent instance, partitions of
        # a failed run not marked failed, is none here: this instance ends with the command.
        return True

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._has_table:
            self._has_table[table_name] = super().has_table(table_name)
        return self._has_table[table_name]

    def _has_asset_key_col_on_connection(self, conn: Any, column_name: str) -> bool:
        if self._asset_key_columns is None:
            import sqlalchemy as db
            from dagster._core.storage.event_log.schema import AssetKeyTable

            self._asset_key_columns = [
                c.get("name") for c in db.inspect(conn).get_columns(AssetKeyTable.name)
            ]
        return column_name in self._asset_key_columns


def ephemeral_instance() -> dg.DagsterInstance:
    """An in-memory Dagster instance (as `DagsterInstance.ephemeral()` makes one) with the held-connection
    event log."""
    return dg.DagsterInstance(
        instance_type=InstanceType.EPHEMERAL,
        local_artifact_storage=TemporaryLocalArtifactStorage(),
        run_storage=InMemoryRunStorage(),
        event_storage=HeldConnectionEventLogStorage(),
        compute_log_manager=NoOpComputeLogManager(),
        run_coordinator=DefaultRunCoordinator(),
        run_launcher=SyncInMemoryRunLauncher(),
    )
