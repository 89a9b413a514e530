"""Every setting hepwatch reads from the environment, with its name, default and parsing: the one place that
reads `os.environ`. The Dagster resources (assets.resources) carry the ones that steer runs, so the UI shows
them; `hepwatch run` builds its resources from its flags and these. Also where the package data is (reference
CSVs and SQL files). Standard library only: the `hepwatch` command imports it at start-up, before Dagster.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Package data, found one way: by path from here (DuckDB reads the CSVs by file name).
REFERENCE_DIR = PROJECT_ROOT / "hepwatch" / "reference"
DOMAIN_SQL_DIR = PROJECT_ROOT / "hepwatch" / "sql"  # the warehouse's tables and the report's queries
SQL_DIR = PROJECT_ROOT / "assets" / "sql"  # one file per table an asset builds
EXAMPLES_DIR = PROJECT_ROOT / "pipelines" / "examples"  # the README's example analyst queries

FEEDS_DIR_ENV = "HEPWATCH_FEEDS_DIR"
WAREHOUSE_DIR_ENV = "HEPWATCH_WAREHOUSE_DIR"
PSEUDONYM_KEY_ENV = "HEPWATCH_PSEUDONYM_KEY"
MEMORY_LIMIT_ENV = "HEPWATCH_DUCKDB_MEMORY_LIMIT"
STAGE_ENV = "HEPWATCH_STAGE_URI"
MARTS_TARGET_ENV = "HEPWATCH_MARTS_TARGET"
CODE_MAP_ENV = "HEPWATCH_CODE_MAP"
THRESHOLDS_ENV = "HEPWATCH_THRESHOLDS"
FIRST_DAY_ENV = "HEPWATCH_FIRST_DAY"
INGEST_WORKERS_ENV = "HEPWATCH_INGEST_WORKERS"
SETTLE_SECONDS_ENV = "HEPWATCH_SENSOR_SETTLE_SECONDS"
TICK_SECONDS_ENV = "HEPWATCH_SENSOR_INTERVAL_SECONDS"
DAGSTER_HOME_ENV = "DAGSTER_HOME"

# DuckDB would cache up to 80 % of the machine's memory; a bound keeps a year's build lean (it spills to disk
# beyond it). DuckDB syntax: '2GB', '500MB'.
DEFAULT_MEMORY_LIMIT = "1.2GB"


def _text(environ: Mapping[str, str], name: str) -> str | None:
    """A variable's value, stripped; None when unset or empty (an empty variable means the default)."""
    value = environ.get(name, "").strip()
    return value or None


@dataclass(frozen=True)
class Settings:
    """hepwatch's configuration as the environment gives it (contract section 1 and the README)."""

    feeds_dir: str  # HEPWATCH_FEEDS_DIR, else sample_feeds/ under the project root
    warehouse_dir: str  # HEPWATCH_WAREHOUSE_DIR, else warehouse/ under the project root
    pseudonym_key: str | None  # HEPWATCH_PSEUDONYM_KEY: the pseudonymization key (else stored or generated)
    memory_limit: str  # HEPWATCH_DUCKDB_MEMORY_LIMIT: every DuckDB connection's memory_limit
    stage_uri: str | None  # HEPWATCH_STAGE_URI: staged tables as Parquet there (hepwatch.stage)
    marts_target: str | None  # HEPWATCH_MARTS_TARGET: a second database the marts are published to
    code_map: str | None  # HEPWATCH_CODE_MAP: a CSV of the labs' own codes, beside the built-in map
    thresholds: str | None  # HEPWATCH_THRESHOLDS: a CSV overriding signal thresholds
    first_day: date  # HEPWATCH_FIRST_DAY: the first plausible clinical date
    ingest_workers: int | None  # HEPWATCH_INGEST_WORKERS: reader processes (None: one per core)
    sensor_settle_seconds: float  # HEPWATCH_SENSOR_SETTLE_SECONDS: a feed file must be this still
    sensor_interval_seconds: int  # HEPWATCH_SENSOR_INTERVAL_SECONDS: between sensor ticks
    dagster_home: str | None  # DAGSTER_HOME: `hepwatch run` records its runs there, else in memory

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        workers = _text(env, INGEST_WORKERS_ENV)
        return cls(
            feeds_dir=_text(env, FEEDS_DIR_ENV) or str(PROJECT_ROOT / "sample_feeds"),
            warehouse_dir=_text(env, WAREHOUSE_DIR_ENV) or str(PROJECT_ROOT / "warehouse"),
            # a key is taken as given: spaces are part of it
            pseudonym_key=env.get(PSEUDONYM_KEY_ENV) or None,
            memory_limit=_text(env, MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT,
            stage_uri=_text(env, STAGE_ENV),
            marts_target=_text(env, MARTS_TARGET_ENV),
            code_map=_text(env, CODE_MAP_ENV),
            thresholds=_text(env, THRESHOLDS_ENV),
            first_day=date.fromisoformat(_text(env, FIRST_DAY_ENV) or "1900-01-01"),
            ingest_workers=max(0, int(workers)) if workers else None,
            sensor_settle_seconds=float(_text(env, SETTLE_SECONDS_ENV) or "30"),
            sensor_interval_seconds=int(_text(env, TICK_SECONDS_ENV) or "30"),
            dagster_home=_text(env, DAGSTER_HOME_ENV),
        )

    def reference_files(self) -> tuple[list[str], list[str]]:
        """The code map files and the signal threshold files: the built-in ones, then the user's own."""
        code_maps = [str(REFERENCE_DIR / "analyte_codes.csv")]
        if self.code_map:
            code_maps.append(self.code_map)
        thresholds = [str(REFERENCE_DIR / "signal_thresholds.csv")]
        if self.thresholds:
            thresholds.append(self.thresholds)
        return code_maps, thresholds

    def reference_inputs(self) -> list[Path]:
        """Every file the marts are built from besides the feeds: reference CSVs (with the user's) and SQL. A
        change to any of them rebuilds every day."""
        code_maps, thresholds = self.reference_files()
        inputs = [Path(f) for f in (*code_maps, *thresholds)] + sorted(REFERENCE_DIR.glob("*.csv"))
        return [*dict.fromkeys(inputs), *sorted(SQL_DIR.glob("*.sql"))]


def settings() -> Settings:
    """The settings as the environment gives them now (read at each call: cheap, and tests change it)."""
    return Settings.from_env()


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go (all off by default), from HEPWATCH_ALERT_* environment variables."""

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = False
    smtp_cafile: str | None = None  # a CA bundle to trust for STARTTLS besides the system's
    smtp_user: str | None = None
    smtp_password: str | None = None
    email_from: str = "hepwatch@localhost"
    email_to: tuple[str, ...] = ()
    webhook_url: str | None = None
    report_url: str | None = None  # where the reports are served: WAREHOUSE/reports/ as a URL
    dagster_url: str | None = None  # the Dagster UI, for links to a check
    timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AlertSettings:
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            return _text(env, f"HEPWATCH_ALERT_{name}")

        recipients = tuple(a.strip() for a in (text("EMAIL_TO") or "").split(",") if a.strip())
        return cls(
            smtp_host=text("SMTP_HOST"),
            smtp_port=int(text("SMTP_PORT") or 587),
            smtp_starttls=_flag(text("SMTP_STARTTLS")),
            smtp_cafile=text("SMTP_CAFILE"),
            smtp_user=text("SMTP_USER"),
            smtp_password=text("SMTP_PASSWORD"),
            email_from=text("EMAIL_FROM") or "hepwatch@localhost",
            email_to=recipients,
            webhook_url=text("WEBHOOK_URL"),
            report_url=text("REPORT_URL"),
            dagster_url=text("DAGSTER_URL"),
            timeout_seconds=float(text("TIMEOUT_SECONDS") or 10.0),
        )

    @property
    def channels(self) -> list[str]:
        """The channels configured: e-mail needs a host and recipients, the webhook a URL."""
        return [
            channel
            for channel, configured in (
                ("email", self.smtp_host and self.email_to),
                ("webhook", self.webhook_url),
            )
            if configured
        ]

    @property
    def enabled(self) -> bool:
        return bool(self.channels)
