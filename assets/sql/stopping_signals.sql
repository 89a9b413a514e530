-- marts.stopping_signals: FDA 2009 stopping signals (domain.md section 5), one row per day of [$start, $end),
-- patient and signal, with the values behind it; thresholds from ref.signal_thresholds (`stopping_*`):
--   peak: ALT or AST above stopping_aminotransferase_x_uln (8) on the day;
--   sustained: ALT or AST above stopping_sustained_x_uln (5) for more than stopping_sustained_days (14). A run
--     starts at the first ALT/AST result above the line after the last one at or below it and lasts until the
--     next result at or below it; the signal holds once the day is more than the days after its start;
--   with_tbil_or_inr: on the day, ALT or AST above stopping_with_tbil_aminotransferase_x_uln (3) with TBIL
--     above stopping_tbil_x_uln (2) or INR above stopping_inr (1.5).
WITH amino AS (
    SELECT patient_key, collected_date AS d, max(x_uln) AS x
    FROM marts.lab_results
    WHERE analyte IN ('ALT', 'AST') AND collected_date < $end AND patient_key IN (
        SELECT patient_key FROM marts.lab_results
        WHERE analyte IN ('ALT', 'AST') AND collected_date < $end
            AND x_uln > threshold('stopping_sustained_x_uln')
    )
    GROUP BY ALL
),
grouped AS (  -- a group: a result at or below the line and the results above it after it (or the first ones)
    SELECT *,
        count(*) FILTER (WHERE x <= threshold('stopping_sustained_x_uln'))
            OVER (PARTITION BY patient_key ORDER BY d) AS grp
    FROM amino
),
runs AS (
    SELECT patient_key, grp,
        min(d) FILTER (WHERE x > threshold('stopping_sustained_x_uln')) AS high_since,
        min(d) AS group_start
    FROM grouped GROUP BY ALL
),
bounded AS (
    SELECT patient_key, high_since,
        coalesce(lead(group_start) OVER (PARTITION BY patient_key ORDER BY grp), DATE '9999-12-31') AS until
    FROM runs
),
days AS (
    SELECT CAST(g AS DATE) AS day
    FROM generate_series(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP) - INTERVAL 1 DAY, INTERVAL 1 DAY) AS t(g)
),
today AS (
    SELECT collected_date AS day, patient_key,
        max(x_uln) FILTER (WHERE analyte IN ('ALT', 'AST')) AS amino_x,
        max(x_uln) FILTER (WHERE analyte = 'TBIL') AS tbil_x,
        max(value) FILTER (WHERE analyte = 'INR') AS inr
    FROM marts.lab_results WHERE collected_date >= $start AND collected_date < $end
    GROUP BY ALL
),
signals AS (
    SELECT day, patient_key, 'peak' AS signal, NULL::DATE AS high_since
    FROM today WHERE amino_x > threshold('stopping_aminotransferase_x_uln')
    UNION ALL
    SELECT day, patient_key, 'sustained', high_since
    FROM bounded JOIN days ON days.day - high_since > threshold('stopping_sustained_days') AND days.day < until
    WHERE high_since IS NOT NULL
    UNION ALL
    SELECT day, patient_key, 'with_tbil_or_inr', NULL
    FROM today
    WHERE amino_x > threshold('stopping_with_tbil_aminotransferase_x_uln')
        AND (tbil_x > threshold('stopping_tbil_x_uln') OR inr > threshold('stopping_inr'))
)
SELECT s.day AS signal_date, s.patient_key, s.signal, s.high_since, t.amino_x AS amino_xuln, t.tbil_x AS tbil_xuln,
    t.inr
FROM signals AS s
LEFT JOIN today AS t USING (day, patient_key)
