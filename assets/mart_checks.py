"""Asset checks on the marts that go beyond one table's schema (contract section 5)."""

from datetime import date

import dagster as dg

from assets.checks import markdown_table
from assets.marts import daily_summary, lab_results
from assets.partitions import run_days
from assets.resources import Warehouse
from assets.tables import sql

SHOWN = 20


@dg.asset_check(
    asset=lab_results,
    name="no_duplicate_results",
    description="No two current results share patient, analyte, collection time, code and sending facility "
    "(the same result arriving under two message control IDs or twice in one message).",
)
def no_duplicate_results(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    # Two copies of a result share its collection time, so its day: a run checks the days it built (the
    # others were checked when they were built); a run naming no days checks them all.
    days = run_days(context)
    start, end = days if days else (date.min, date.max)
    with warehouse.connect() as conn:
        duplicates = conn.sql(sql("check_no_duplicate_results"), params={"start": start, "end": end}).pl()
    return dg.AssetCheckResult(
        passed=duplicates.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            "No two current results duplicate each other."
            if duplicates.is_empty()
            else f"Error: {duplicates.height} result(s) are current more than once (a lab resending under a "
            "new MSH-10?)."
        ),
        metadata={
            "days_checked": f"{days[0]} to {days[1]} (exclusive)" if days else "all",
            "duplicated_results": duplicates.height,
            "first_duplicates": dg.MetadataValue.md(markdown_table(duplicates.head(SHOWN))),
        },
    )


@dg.asset_check(
    asset=daily_summary,
    name="summary_matches_cases",
    description="Every day's case counts in marts.daily_summary equal those recomputed from "
    "marts.abnormal_enzyme_cases_daily, and its results equal the rows of marts.lab_results.",
)
def summary_matches_cases(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as conn:
        mismatches = conn.sql(sql("check_summary_matches_cases")).pl()
        days, case_days, dili_days, hys_law_days = conn.execute(
            "SELECT count(*), coalesce(sum(case_patients), 0), coalesce(sum(dili_patients), 0), "
            "coalesce(sum(hys_law_patients), 0) FROM marts.daily_summary"
        ).fetchall()[0]
    return dg.AssetCheckResult(
        passed=mismatches.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            "Every day's summary equals the case table recomputed."
            if mismatches.is_empty()
            else f"Error: {mismatches.height} day(s) of marts.daily_summary differ from the case table."
        ),
        metadata={
            "days_checked": days,
            "case_patient_days": case_days,
            "dili_patient_days": dili_days,
            "hys_law_patient_days": hys_law_days,
            "days_disagreeing": mismatches.height,
            "first_disagreements": dg.MetadataValue.md(markdown_table(mismatches.head(SHOWN))),
        },
    )
