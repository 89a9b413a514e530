-- case_volume_anomaly: the days whose new cases are at least $min_cases and more than $factor times the mean
-- of the 28 days before, once 28 days of data precede them.
WITH span AS (SELECT min(collected_date) AS first_day FROM marts.lab_results),
daily AS (
    SELECT case_date AS day, count(*) FILTER (WHERE new_case) AS new_cases
    FROM marts.abnormal_enzyme_cases_daily GROUP BY ALL
),
scored AS (
    SELECT d.day, d.new_cases,
        (SELECT coalesce(sum(t.new_cases), 0) FROM daily t
         WHERE t.day >= d.day - 28 AND t.day < d.day) / 28.0 AS trailing_mean
    FROM daily d, span
    WHERE d.day - span.first_day >= 28
)
SELECT day, new_cases, round(trailing_mean, 2) AS trailing_mean
FROM scored
WHERE new_cases >= $min_cases AND new_cases > $factor * trailing_mean
ORDER BY day
