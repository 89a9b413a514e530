-- abnormal_flag_agreement: per lab and analyte, the results whose OBX-8 flag says high or not high, and how
-- many of them disagree with x ULN > 1 (above the same lab's range). Counted here: millions of results never
-- leave the database. The results are counted per flag text first, and each distinct flag text (a few) is
-- then read once, not once per result.
WITH by_flags AS (
    SELECT sending_facility, analyte, abnormal_flags,
        count(*) AS results,
        count(*) FILTER (WHERE x_uln > 1.0) AS above_uln,
        count(*) FILTER (WHERE x_uln <= 1.0) AS within_uln
    FROM marts.lab_results
    WHERE uln_source = 'range' AND abnormal_flags IS NOT NULL
    GROUP BY ALL
),
flagged AS (
    SELECT *,
           CASE
               WHEN regexp_matches(abnormal_flags, '(^|~)(H|HH|>)(~|$)') THEN 'high'
               WHEN regexp_matches(abnormal_flags, '(^|~)(N|L|LL|<)(~|$)') THEN 'not_high'
           END AS lab_says
    FROM by_flags
)
-- a result disagrees when the lab says high and its x ULN is at most 1, or not high and it is above 1; a
-- result without an x ULN counts as compared, never as disagreeing
SELECT sending_facility, analyte, sum(results) AS compared,
    sum(CASE lab_says WHEN 'high' THEN within_uln ELSE above_uln END) AS len
FROM flagged WHERE lab_says IS NOT NULL
GROUP BY ALL
