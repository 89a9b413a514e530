"""Resources: where the feeds are read from and where the warehouse lives (defaults: hepwatch.settings)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from hepwatch.settings import default_feeds_dir, default_warehouse_dir
from hepwatch.warehouse import WarehousePaths, open_warehouse


class Feeds(dg.ConfigurableResource):
    """The feeds directory: `labs/` (*.hl7) and `dosing/` (*.csv), at any depth."""

    directory: str

    @property
    def path(self) -> Path:
        return Path(self.directory)


class Warehouse(dg.ConfigurableResource):
    """The warehouse directory. Connections go to the internal DuckDB with the restricted store attached."""

    directory: str

    @property
    def paths(self) -> WarehousePaths:
        return WarehousePaths(Path(self.directory))

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A prepared connection (a cursor of the one open database during `hepwatch run`)."""
        paths = self.paths
        with open_warehouse(paths, DuckDBResource(database=str(paths.internal)).get_connection) as conn:
            yield conn


class Monitoring(dg.ConfigurableResource):
    """Thresholds of the monitors' asset checks (contract section 5), with their defaults."""

    quarantine_rate_max: float = 0.02  # quarantine_rate warns above this share
    abnormal_flag_disagreement_max: float = 0.05  # abnormal_flag_agreement warns above this share
    case_volume_factor: float = 3.0  # case_volume_anomaly: new cases > factor x trailing 28-day mean ...
    case_volume_min_new_cases: int = 5  # ... and at least this many
    parser_agreement_per_day: int = 2  # parser_agreement re-parses this many messages per day built ...
    parser_agreement_max_messages: int = 50  # ... and at most this many per run (hl7apy: ~75 a second)


def default_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "feeds": Feeds(directory=default_feeds_dir()),
        "warehouse": Warehouse(directory=default_warehouse_dir()),
        "monitoring": Monitoring(),
    }
