"""Safety-signal checks: what the monitors watch beside the data-quality checks (contract section 5).

Each looks at the days the run built and warns (WARN, never blocking) when it finds a clinical signal a
clinic must act on; its metadata lists what it found by pseudonymous key, day and value, never an
identifier. The alerts (pipelines/alerting.py) tell people of them once. Thresholds come from the rule
tables (ref.signal_thresholds) through the SQL files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import dagster as dg
import duckdb
import polars as pl

from assets.checks import markdown_table
from assets.resources import Feeds, Monitoring
from assets.tables import sql
from hepwatch.report.rules import Thresholds, definitions, read_thresholds, stopping_signal_labels

NEW_POTENTIAL_HYS_LAW = "new_potential_hys_law"
NEW_FDA_STOPPING_SIGNALS = "new_fda_stopping_signals"
NEW_GRADE3PLUS_DAYS = "new_grade3plus_days"
SIGNAL_CHECKS = (NEW_POTENTIAL_HYS_LAW, NEW_FDA_STOPPING_SIGNALS, NEW_GRADE3PLUS_DAYS)
SHOWN = 50  # rows of findings in the check's metadata table (all of them count; the JSON holds them all)

# check: (what it finds, the query, the finding's date column)
_CHECKS: dict[str, tuple[str, str, str]] = {
    NEW_POTENTIAL_HYS_LAW: ("new potential Hy's law", "check_new_potential_hys_law", "case_date"),
    NEW_FDA_STOPPING_SIGNALS: ("new FDA stopping signal", "check_new_stopping_signals", "signal_date"),
    NEW_GRADE3PLUS_DAYS: ("new grade 3+ result", "check_new_grade3plus", "case_date"),
}


def _rule(name: str, t: Thresholds) -> str:
    """What the check found, in words, with the thresholds the marts used (ref.signal_thresholds)."""
    lookback = f"{t['new_case_lookback_days']:g} days"
    if name == NEW_POTENTIAL_HYS_LAW:
        text = definitions(t)["hys_law"].rstrip(".")
        return f"{text[0].lower()}{text[1:]}; for the first time in {lookback}"
    if name == NEW_FDA_STOPPING_SIGNALS:
        signals = "; ".join(stopping_signal_labels(t).values())
        return f"an FDA 2009 stopping signal ({signals}) not already raised in the {lookback} before"
    return "a case day of CTCAE v5 grade 3 or 4"


DESCRIPTIONS = {
    NEW_POTENTIAL_HYS_LAW: "Warns when a patient meets potential Hy's law for the first time in 30 days on a "
    "day the run built.",
    NEW_FDA_STOPPING_SIGNALS: "Warns on each new FDA stopping signal (domain.md section 5) on a day the run built.",
    NEW_GRADE3PLUS_DAYS: "Warns on each case day of CTCAE v5 grade 3 or 4 among the days the run built.",
}


def signal_spec(name: str, asset: list[str]) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=dg.AssetKey(asset), blocking=False, description=DESCRIPTIONS[name])


def _finding(
    name: str,
) -> Callable[[duckdb.DuckDBPyConnection, Feeds, Monitoring, date, date], dg.AssetCheckResult]:
    kind, query, date_column = _CHECKS[name]

    def check(
        conn: duckdb.DuckDBPyConnection, feeds: Feeds, monitoring: Monitoring, start: date, end: date
    ) -> dg.AssetCheckResult:
        found = conn.sql(sql(query), params={"start": start, "end": end}).pl()
        rule = _rule(name, read_thresholds(conn))
        return signal_result(name, kind, rule, found, date_column, start, end)

    return check


def signal_result(
    name: str, kind: str, rule: str, found: pl.DataFrame, date_column: str, start: date, end: date
) -> dg.AssetCheckResult:
    patients = found["patient_key"].n_unique() if found.height else 0
    days = sorted({d.isoformat() for d in found[date_column]}) if found.height else []
    rounded = found.with_columns(pl.selectors.float().round(2))
    return dg.AssetCheckResult(
        check_name=name,
        passed=found.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"No {kind} among the days built ({start} to {end}, exclusive)."
            if found.is_empty()
            else f"{patients} patient(s) with {rule}: see the action list in the report and `hepwatch worklist`."
        ),
        metadata={
            "signal": kind,
            "patients": patients,
            "findings": found.height,
            "days": ", ".join(days),
            "found": dg.MetadataValue.md(markdown_table(rounded.head(SHOWN))) if found.height else "none",
            "found_json": dg.MetadataValue.json(json.loads(rounded.write_json())),
        },
    )


new_potential_hys_law = (
    signal_spec(NEW_POTENTIAL_HYS_LAW, ["marts", "abnormal_enzyme_cases_daily"]),
    _finding(NEW_POTENTIAL_HYS_LAW),
)
new_grade3plus_days = (
    signal_spec(NEW_GRADE3PLUS_DAYS, ["marts", "abnormal_enzyme_cases_daily"]),
    _finding(NEW_GRADE3PLUS_DAYS),
)
new_fda_stopping_signals = (
    signal_spec(NEW_FDA_STOPPING_SIGNALS, ["marts", "stopping_signals"]),
    _finding(NEW_FDA_STOPPING_SIGNALS),
)
