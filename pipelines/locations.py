"""Where the feeds and the warehouse are by default (contract section 1): HEPWATCH_FEEDS_DIR and
HEPWATCH_WAREHOUSE_DIR, else `sample_feeds/` and `warehouse/` under the project root, so the UI, `dg` and
`hepwatch run` all see the same directories. Standard library only: the command imports it at start-up."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_feeds_dir() -> str:
    return os.environ.get("HEPWATCH_FEEDS_DIR") or str(PROJECT_ROOT / "sample_feeds")


def default_warehouse_dir() -> str:
    return os.environ.get("HEPWATCH_WAREHOUSE_DIR") or str(PROJECT_ROOT / "warehouse")
