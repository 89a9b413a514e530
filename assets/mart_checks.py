"""Asset checks on the marts that go beyond one table's schema (contract section 5)."""

import dagster as dg

from assets.checks import markdown_table
from assets.marts import daily_summary, lab_results
from assets.partitions import run_days
from assets.resources import Warehouse

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
    window = "WHERE collected_date >= $start AND collected_date < $end" if days else ""
    with warehouse.connect() as conn:
        duplicates = conn.sql(
            f"""
            SELECT patient_key, analyte, collected_at, code, sending_facility, count(*) AS copies
            FROM marts.lab_results
            {window}
            GROUP BY ALL
            HAVING count(*) > 1
            ORDER BY copies DESC, collected_at
            """,
            params={"start": days[0], "end": days[1]} if days else None,
        ).pl()
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
        mismatches = conn.sql(
            """
            WITH recomputed AS (
                SELECT
                    case_date AS summary_date,
                    count(*) AS case_patients,
                    count(*) FILTER (WHERE new_case) AS new_cases,
                    count(*) FILTER (WHERE max_grade >= 3) AS grade3plus_patients,
                    count(*) FILTER (WHERE dili_criteria_met) AS dili_patients,
                    count(*) FILTER (WHERE potential_hys_law) AS hys_law_patients
                FROM marts.abnormal_enzyme_cases_daily
                GROUP BY ALL
            ),
            results AS (
                SELECT collected_date AS summary_date, count(*) AS results
                FROM marts.lab_results GROUP BY ALL
            )
            SELECT s.summary_date,
                s.case_patients, coalesce(r.case_patients, 0) AS recomputed_case_patients,
                s.new_cases, coalesce(r.new_cases, 0) AS recomputed_new_cases,
                s.results, coalesce(l.results, 0) AS recomputed_results
            FROM marts.daily_summary AS s
            FULL JOIN recomputed AS r USING (summary_date)
            LEFT JOIN results AS l USING (summary_date)
            WHERE s.summary_date IS NULL
                OR s.case_patients IS DISTINCT FROM coalesce(r.case_patients, 0)
                OR s.new_cases IS DISTINCT FROM coalesce(r.new_cases, 0)
                OR s.grade3plus_patients IS DISTINCT FROM coalesce(r.grade3plus_patients, 0)
                OR s.dili_patients IS DISTINCT FROM coalesce(r.dili_patients, 0)
                OR s.hys_law_patients IS DISTINCT FROM coalesce(r.hys_law_patients, 0)
                OR s.results IS DISTINCT FROM coalesce(l.results, 0)
            ORDER BY 1
            """
        ).pl()
    return dg.AssetCheckResult(
        passed=mismatches.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            "Every day's summary equals the case table recomputed."
            if mismatches.is_empty()
            else f"Error: {mismatches.height} day(s) of marts.daily_summary differ from the case table."
        ),
        metadata={
            "days_disagreeing": mismatches.height,
            "first_disagreements": dg.MetadataValue.md(markdown_table(mismatches.head(SHOWN))),
        },
    )
