-- abnormal_flag_agreement: per lab and analyte, the results whose OBX-8 flag says high or not high, and how
-- many of them disagree with x ULN > 1 (above the same lab's range). Counted here: millions of results never
-- leave the database.
WITH flagged AS (
    SELECT sending_facility, analyte, abnormal_flags, x_uln,
           CASE
               WHEN regexp_matches(abnormal_flags, '(^|~)(H|HH|>)(~|$)') THEN 'high'
               WHEN regexp_matches(abnormal_flags, '(^|~)(N|L|LL|<)(~|$)') THEN 'not_high'
           END AS lab_says
    FROM marts.lab_results
    WHERE uln_source = 'range' AND abnormal_flags IS NOT NULL
)
SELECT sending_facility, analyte, count(*) AS compared,
    count(*) FILTER (WHERE (lab_says = 'high') <> (x_uln > 1.0)) AS len
FROM flagged WHERE lab_says IS NOT NULL
GROUP BY ALL
