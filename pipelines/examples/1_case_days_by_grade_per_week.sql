-- Case days by worst grade, per week
SELECT date_trunc('week', case_date) AS week, max_grade, count(*) AS case_days
FROM marts.abnormal_enzyme_cases_daily
GROUP BY ALL ORDER BY week, max_grade
LIMIT 12
