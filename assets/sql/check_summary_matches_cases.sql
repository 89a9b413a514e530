-- summary_matches_cases: the days of marts.daily_summary whose counts differ from those recomputed from
-- marts.abnormal_enzyme_cases_daily (cases) and marts.lab_results (results).
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
