"""Resources: what a run reads and where it writes, as typed configuration the UI shows (Deployment >
Resources). Their values come from hepwatch.settings (the environment, with its defaults); `hepwatch run`
gives its own feeds and warehouse directories. Secrets (the pseudonymization key, a marts target that may
hold a token) are given as `dg.EnvVar`, so the UI shows the variable's name, never its value."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from hepwatch.settings import (
    DEFAULT_MEMORY_LIMIT,
    MARTS_TARGET_ENV,
    PSEUDONYM_KEY_ENV,
    Settings,
)
from hepwatch.stage import Stage, attach_views, stage_location
from hepwatch.warehouse import WarehousePaths, open_warehouse


class Feeds(dg.ConfigurableResource):
    """The feeds directory: `labs/` (*.hl7) and `dosing/` (*.csv), at any depth."""

    directory: str = Field(description="The feeds directory (HEPWATCH_FEEDS_DIR, `hepwatch run --feeds`).")
    settle_seconds: float = Field(
        default=30.0,
        description="The feed sensor reads a new or changed file once it has not changed for this long "
        "(HEPWATCH_SENSOR_SETTLE_SECONDS).",
    )

    @property
    def path(self) -> Path:
        return Path(self.directory)


class Warehouse(dg.ConfigurableResource):
    """The warehouse directory. Connections go to the internal DuckDB with the restricted store attached."""

    directory: str = Field(
        description="The warehouse directory (HEPWATCH_WAREHOUSE_DIR, `hepwatch run --warehouse`)."
    )
    memory_limit: str = Field(
        default=DEFAULT_MEMORY_LIMIT,
        description="DuckDB's memory_limit for every connection; it spills to disk beyond it "
        "(HEPWATCH_DUCKDB_MEMORY_LIMIT).",
    )
    stage_uri: str | None = Field(
        default=None,
        description="Where the daily staged tables go as Parquet day partitions: a directory or an fsspec URL; "
        "unset: DuckDB tables in hepwatch.duckdb (HEPWATCH_STAGE_URI).",
    )
    marts_target: str | None = Field(
        default=None,
        description="A database DuckDB attaches from this string (a DuckDB file, md:, ducklake:) that the "
        "published marts also go to (HEPWATCH_MARTS_TARGET).",
    )
    pseudonym_key: str | None = Field(
        default=None,
        description="The pseudonymization key on first use; unset: a random key, kept in the restricted store "
        "(HEPWATCH_PSEUDONYM_KEY).",
    )

    @property
    def paths(self) -> WarehousePaths:
        return WarehousePaths(Path(self.directory))

    @property
    def stage(self) -> Stage | None:
        """The stage location of the Parquet staged tables, or None (DuckDB tables)."""
        return stage_location(self.stage_uri)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A prepared connection (a cursor of the one open database during `hepwatch run`), with the staged
        tables as views over their day partitions when they are Parquet (day files may have appeared since)."""
        paths = self.paths
        opener = DuckDBResource(database=str(paths.internal)).get_connection
        with open_warehouse(paths, opener, self.memory_limit) as conn:
            stage = self.stage
            if stage is not None:
                attach_views(conn, stage)
            yield conn


class Monitoring(dg.ConfigurableResource):
    """Thresholds of the monitors' asset checks (contract section 5), with their defaults."""

    quarantine_rate_max: float = 0.02  # quarantine_rate warns above this share
    abnormal_flag_disagreement_max: float = 0.05  # abnormal_flag_agreement warns above this share
    case_volume_factor: float = 3.0  # case_volume_anomaly: new cases > factor x trailing 28-day mean ...
    case_volume_min_new_cases: int = 5  # ... and at least this many
    parser_agreement_per_day: int = 2  # parser_agreement re-parses this many messages per day built ...
    parser_agreement_max_messages: int = 50  # ... and at most this many per run (hl7apy: ~75 a second)


def _from_environment(name: str, value: str | None) -> dg.EnvVar | None:
    """A secret the settings read from the environment, as the variable that holds it."""
    return dg.EnvVar(name) if value else None


def resources_from(config: Settings) -> dict[str, dg.ConfigurableResource]:
    """The resources every job runs with, from the settings (Settings.from_env, or `hepwatch run`'s)."""
    return {
        "feeds": Feeds(directory=config.feeds_dir, settle_seconds=config.sensor_settle_seconds),
        "warehouse": Warehouse(
            directory=config.warehouse_dir,
            memory_limit=config.memory_limit,
            stage_uri=config.stage_uri,
            marts_target=_from_environment(MARTS_TARGET_ENV, config.marts_target),
            pseudonym_key=_from_environment(PSEUDONYM_KEY_ENV, config.pseudonym_key),
        ),
        "monitoring": Monitoring(),
    }
