-- eDISH as of each day of [$start, $end): every patient's peak ALT and TBIL x ULN up to the day, as states
-- valid from one result day to the next, with the quadrant of each state (edish_quadrant, the rule
-- marts.edish uses). History before the window enters as one row per patient (its peaks so far), dated the
-- day before it.
-- Each peak comes with the day it was first reached.
WITH daily AS (
    SELECT patient_key, CAST($start AS DATE) - 1 AS d,
        max(x_uln) FILTER (WHERE analyte = 'ALT') AS alt,
        arg_min(collected_date, row(-x_uln, collected_date)) FILTER (WHERE analyte = 'ALT') AS alt_on,
        max(x_uln) FILTER (WHERE analyte = 'TBIL') AS tbil,
        arg_min(collected_date, row(-x_uln, collected_date)) FILTER (WHERE analyte = 'TBIL') AS tbil_on
    FROM marts.lab_results WHERE analyte IN ('ALT', 'TBIL') AND collected_date < $start
    GROUP BY ALL
    UNION ALL
    SELECT patient_key, collected_date,
        max(x_uln) FILTER (WHERE analyte = 'ALT'), collected_date,
        max(x_uln) FILTER (WHERE analyte = 'TBIL'), collected_date
    FROM marts.lab_results
    WHERE analyte IN ('ALT', 'TBIL') AND collected_date >= $start AND collected_date < $end
    GROUP BY ALL
),
cumulative AS (
    SELECT patient_key, d,
        max(alt) OVER past AS alt,
        arg_min(alt_on, row(-alt, alt_on)) FILTER (WHERE alt IS NOT NULL) OVER past AS alt_date,
        max(tbil) OVER past AS tbil,
        arg_min(tbil_on, row(-tbil, tbil_on)) FILTER (WHERE tbil IS NOT NULL) OVER past AS tbil_date,
        lead(d) OVER (PARTITION BY patient_key ORDER BY d) AS next_d
    FROM daily
    WINDOW past AS (PARTITION BY patient_key ORDER BY d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT patient_key, greatest(d, $start) AS valid_from, coalesce(next_d, $end) AS valid_to, alt, tbil,
    alt_date, tbil_date,
    edish_quadrant(alt, tbil) AS quadrant,
    hash(patient_key) AS bucket
FROM cumulative
WHERE alt IS NOT NULL AND tbil IS NOT NULL AND coalesce(next_d, $end) > $start
