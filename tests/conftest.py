import os
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
CORPUS = SHARED / "hl7-corpus"
PROJECT = Path(__file__).resolve().parent.parent

# Tests never touch the project's own warehouse or the user's Dagster home.
os.environ.pop("DAGSTER_HOME", None)
os.environ.setdefault("HEPWATCH_PSEUDONYM_KEY", "test-key-not-secret")
