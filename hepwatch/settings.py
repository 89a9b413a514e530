"""Where the feeds and the warehouse are by default (contract section 1): HEPWATCH_FEEDS_DIR and
HEPWATCH_WAREHOUSE_DIR, else `sample_feeds/` and `warehouse/` under the project root, so the UI, `dg` and
`hepwatch run` all see the same directories. Also where the reference data and SQL are. Standard library only: the command imports it at start-up."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_feeds_dir() -> str:
    return os.environ.get("HEPWATCH_FEEDS_DIR") or str(PROJECT_ROOT / "sample_feeds")


def default_warehouse_dir() -> str:
    return os.environ.get("HEPWATCH_WAREHOUSE_DIR") or str(PROJECT_ROOT / "warehouse")


# The reference data and SQL the marts are built from: a change to any of them rebuilds every day.
REFERENCE_DIR = PROJECT_ROOT / "hepwatch" / "reference"
SQL_DIR = PROJECT_ROOT / "assets" / "sql"
CODE_MAP_ENV = "HEPWATCH_CODE_MAP"
THRESHOLDS_ENV = "HEPWATCH_THRESHOLDS"


def reference_files() -> tuple[list[str], list[str]]:
    """The code map files and the signal threshold files, with the user's own (HEPWATCH_CODE_MAP,
    HEPWATCH_THRESHOLDS)."""
    code_maps = [str(REFERENCE_DIR / "analyte_codes.csv")]
    if os.environ.get(CODE_MAP_ENV):
        code_maps.append(os.environ[CODE_MAP_ENV])
    thresholds = [str(REFERENCE_DIR / "signal_thresholds.csv")]
    if os.environ.get(THRESHOLDS_ENV):
        thresholds.append(os.environ[THRESHOLDS_ENV])
    return code_maps, thresholds


def reference_inputs() -> list[Path]:
    """Every file the marts are built from besides the feeds: reference CSVs (with the user's) and SQL."""
    code_maps, thresholds = reference_files()
    inputs = [Path(f) for f in (*code_maps, *thresholds)] + sorted(REFERENCE_DIR.glob("*.csv"))
    return [*dict.fromkeys(inputs), *sorted(SQL_DIR.glob("*.sql"))]
