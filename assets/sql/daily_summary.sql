-- marts.daily_summary: one row per day in [$start, $end) that lies between the first and the last
-- collection date in the data (contract section 4). The span is read from every liver-panel observation
-- landed, not from the marts, so a partition's rows never depend on which other partitions are built yet.
WITH span AS (
    SELECT min(collected_date) AS first_day, max(collected_date) AS last_day
    FROM staging.mapped_observations
    WHERE analyte IS NOT NULL AND collected_date BETWEEN $first_day AND $last_day
),
days AS (
    SELECT CAST(d AS DATE) AS summary_date
    FROM span, generate_series(
        CAST(greatest(span.first_day, CAST($start AS DATE)) AS TIMESTAMP),
        CAST(least(span.last_day, CAST($end AS DATE) - 1) AS TIMESTAMP),
        INTERVAL 1 DAY
    ) AS g(d)
    WHERE span.first_day IS NOT NULL
),
tested AS (
    SELECT collected_date AS summary_date, count(*) AS results, count(DISTINCT patient_key) AS patients_tested
    FROM marts.lab_results
    WHERE collected_date >= $start AND collected_date < $end
    GROUP BY ALL
),
cases AS (
    SELECT
        case_date AS summary_date,
        count(DISTINCT patient_key) AS case_patients,
        count(DISTINCT patient_key) FILTER (WHERE new_case) AS new_cases,
        count(DISTINCT patient_key) FILTER (WHERE max_grade >= 3) AS grade3plus_patients,
        count(DISTINCT patient_key) FILTER (WHERE dili_criteria_met) AS dili_patients,
        count(DISTINCT patient_key) FILTER (WHERE potential_hys_law) AS hys_law_patients
    FROM marts.abnormal_enzyme_cases_daily
    WHERE case_date >= $start AND case_date < $end
    GROUP BY ALL
)
SELECT
    days.summary_date,
    CAST(coalesce(tested.results, 0) AS INTEGER) AS results,
    CAST(coalesce(tested.patients_tested, 0) AS INTEGER) AS patients_tested,
    CAST(coalesce(cases.case_patients, 0) AS INTEGER) AS case_patients,
    CAST(coalesce(cases.new_cases, 0) AS INTEGER) AS new_cases,
    CAST(coalesce(cases.grade3plus_patients, 0) AS INTEGER) AS grade3plus_patients,
    CAST(coalesce(cases.dili_patients, 0) AS INTEGER) AS dili_patients,
    CAST(coalesce(cases.hys_law_patients, 0) AS INTEGER) AS hys_law_patients
FROM days
LEFT JOIN tested USING (summary_date)
LEFT JOIN cases USING (summary_date)
