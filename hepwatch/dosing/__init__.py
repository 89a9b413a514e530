"""The dosing CSV reader (contract sections 2 and 3): pure functions, no Dagster, no DuckDB."""

from hepwatch.dosing.reader import QUARANTINE_SCHEMA, RECORD_SCHEMA, DosingFileRead, read_dosing_csv

__all__ = ["QUARANTINE_SCHEMA", "RECORD_SCHEMA", "DosingFileRead", "read_dosing_csv"]
