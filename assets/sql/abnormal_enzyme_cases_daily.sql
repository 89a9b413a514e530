-- marts.abnormal_enzyme_cases_daily: one row per patient and day in [$start, $end) with an abnormal enzyme:
-- some ALT, AST, ALP or GGT result collected that day has x ULN > 1.0 (contract section 4).
-- Windows look back 30 days, so the day peaks are read from $start - 30 on.
WITH day_peaks AS (
    -- The day's peak x ULN per analyte, and the value of that peak (for grading against a baseline).
    SELECT
        patient_key,
        collected_date AS day,
        analyte,
        max(x_uln) AS x_uln,
        arg_max(value, row(x_uln, value)) AS value  -- ties on x ULN: the higher value, deterministically
    FROM marts.lab_results
    WHERE analyte IN ('ALT', 'AST', 'ALP', 'GGT', 'TBIL')
        AND collected_date >= CAST($start AS DATE) - CAST(threshold('new_case_lookback_days') AS INTEGER)
        AND collected_date < $end
    GROUP BY ALL
),
basis AS (
    -- CTCAE v5 (domain.md section 3): against the baseline when it was abnormal and the result was
    -- collected on or after the first kratom dose; otherwise against the ULN.
    SELECT
        p.*,
        CASE WHEN b.baseline_abnormal AND p.day >= b.first_kratom_date THEN 'baseline' ELSE 'uln' END AS basis,
        round(
            CASE
                WHEN b.baseline_abnormal AND p.day >= b.first_kratom_date THEN p.value / b.baseline_value
                ELSE p.x_uln
            END,
            9
        ) AS ratio
    FROM day_peaks AS p
    LEFT JOIN staging.baselines AS b USING (patient_key, analyte)
),
graded AS (
    -- the grade whose bounds hold the ratio (ref.ctcae_grades: one per analyte, basis and range); 0 below
    -- grade 1. A join, not a subquery per result.
    SELECT r.*, coalesce(g.grade, 0) AS grade
    FROM basis AS r
    LEFT JOIN ref.ctcae_grade_bounds AS g
        ON g.analyte = r.analyte
        AND g.basis = r.basis
        AND in_grade_bounds(r.ratio, g.lower, g.lower_inclusive, g.upper, g.upper_inclusive)
),
days AS (
    SELECT
        patient_key,
        day,
        max(x_uln) FILTER (WHERE analyte = 'ALT') AS alt_xuln,
        max(x_uln) FILTER (WHERE analyte = 'AST') AS ast_xuln,
        max(x_uln) FILTER (WHERE analyte = 'ALP') AS alp_xuln,
        max(x_uln) FILTER (WHERE analyte = 'GGT') AS ggt_xuln,
        max(x_uln) FILTER (WHERE analyte = 'TBIL') AS tbil_xuln,
        CAST(max(grade) FILTER (WHERE analyte = 'ALT') AS INTEGER) AS alt_grade,
        CAST(max(grade) FILTER (WHERE analyte = 'AST') AS INTEGER) AS ast_grade,
        CAST(max(grade) FILTER (WHERE analyte = 'ALP') AS INTEGER) AS alp_grade,
        CAST(max(grade) FILTER (WHERE analyte = 'GGT') AS INTEGER) AS ggt_grade,
        CAST(max(grade) FILTER (WHERE analyte = 'TBIL') AS INTEGER) AS tbil_grade
    FROM graded
    GROUP BY ALL
),
case_days AS (
    SELECT *
    FROM days
    WHERE greatest(alt_xuln, ast_xuln, alp_xuln, ggt_xuln) > threshold('case_x_uln')
),
hys_law AS (
    -- Potential Hy's law over [d-29, d] (FDA 2009; domain.md section 5): some ALT or AST >= 3 x ULN, some
    -- TBIL > 2 x ULN, and no ALP >= 2 x ULN in the window.
    SELECT
        c.patient_key,
        c.day,
        coalesce(bool_or(w.analyte IN ('ALT', 'AST') AND w.x_uln >= threshold('hys_law_aminotransferase_x_uln')), false)
        AND coalesce(bool_or(w.analyte = 'TBIL' AND w.x_uln > threshold('hys_law_tbil_x_uln')), false)
        AND NOT coalesce(bool_or(w.analyte = 'ALP' AND w.x_uln >= threshold('hys_law_alp_exclusion_x_uln')), false)
            AS potential_hys_law
    FROM case_days AS c
    JOIN day_peaks AS w
        ON w.patient_key = c.patient_key
        AND w.day > c.day - CAST(threshold('hys_law_window_days') AS INTEGER)
        AND w.day <= c.day
    WHERE c.day >= $start
    GROUP BY c.patient_key, c.day
),
doses AS (
    -- the doses of the window's case patients up to its end (a day's window looks at its patients only)
    SELECT patient_key, dose_date, substance, sum(dose_mg) AS mg
    FROM staging.dosing_records
    WHERE dose_date < $end AND patient_key IN (SELECT patient_key FROM case_days WHERE day >= $start)
    GROUP BY ALL
),
exposure AS (
    SELECT
        c.patient_key,
        c.day,
        max(e.episode_start) AS episode_start
    FROM case_days AS c
    JOIN staging.exposure_episodes AS e
        ON e.patient_key = c.patient_key AND c.day BETWEEN e.episode_start AND e.exposed_until
    WHERE c.day >= $start
    GROUP BY ALL
),
recent_doses AS (
    SELECT
        c.patient_key,
        c.day,
        max(d.dose_date) FILTER (WHERE d.substance = 'kratom') AS last_kratom_dose,
        coalesce(
            sum(d.mg) FILTER (
                WHERE d.substance = 'kratom'
                    AND d.dose_date > c.day - CAST(threshold('window_7d_days') AS INTEGER)
            ) / 1000,
            0
        ) AS kratom_7d_g,
        bool_or(d.substance = 'methadone' AND d.dose_date > c.day - CAST(threshold('window_7d_days') AS INTEGER))
            AS methadone_7d,
        bool_or(d.substance = 'buprenorphine' AND d.dose_date > c.day - CAST(threshold('window_7d_days') AS INTEGER))
            AS buprenorphine_7d
    FROM case_days AS c
    JOIN doses AS d ON d.patient_key = c.patient_key AND d.dose_date <= c.day
    WHERE c.day >= $start
    GROUP BY ALL
)
SELECT
    c.day AS case_date,
    c.patient_key,
    c.alt_xuln,
    c.ast_xuln,
    c.alp_xuln,
    c.ggt_xuln,
    c.tbil_xuln,
    c.alt_grade,
    c.ast_grade,
    c.alp_grade,
    c.ggt_grade,
    c.tbil_grade,
    CAST(greatest(c.alt_grade, c.ast_grade, c.alp_grade, c.ggt_grade, c.tbil_grade) AS INTEGER) AS max_grade,
    round(c.alt_xuln / c.alp_xuln, 9) AS r_ratio,
    round(greatest(c.alt_xuln, c.ast_xuln) / c.alp_xuln, 9) AS nr_ratio,
    -- Pattern from R, or from nR when R is NULL (ALT not measured) (domain.md section 4).
    injury_pattern(
        coalesce(round(c.alt_xuln / c.alp_xuln, 9), round(greatest(c.alt_xuln, c.ast_xuln) / c.alp_xuln, 9))
    ) AS injury_pattern,
    -- DILI case criteria (Aithal 2011; domain.md section 5), same day; AST stands in for a missing ALT.
    coalesce(
        coalesce(c.alt_xuln, c.ast_xuln) >= threshold('dili_alt_x_uln')
        OR c.alp_xuln >= threshold('dili_alp_x_uln')
        OR (
            coalesce(c.alt_xuln, c.ast_xuln) >= threshold('dili_alt_with_tbil_x_uln')
            AND c.tbil_xuln > threshold('dili_tbil_x_uln')
        ),
        false
    ) AS dili_criteria_met,
    h.potential_hys_law,
    x.episode_start IS NOT NULL AS kratom_exposed,
    CAST(c.day - x.episode_start AS INTEGER) AS days_since_kratom_start,
    CAST(c.day - r.last_kratom_dose AS INTEGER) AS days_since_last_kratom_dose,
    coalesce(r.kratom_7d_g, 0) AS kratom_7d_g,
    CASE
        WHEN r.methadone_7d AND r.buprenorphine_7d THEN 'both'
        WHEN r.methadone_7d THEN 'methadone'
        WHEN r.buprenorphine_7d THEN 'buprenorphine'
        ELSE 'none'
    END AS moud,
    NOT EXISTS (
        SELECT 1
        FROM case_days AS earlier
        WHERE earlier.patient_key = c.patient_key
            AND earlier.day >= c.day - CAST(threshold('new_case_lookback_days') AS INTEGER)
            AND earlier.day < c.day
    ) AS new_case
FROM case_days AS c
JOIN hys_law AS h USING (patient_key, day)
LEFT JOIN exposure AS x USING (patient_key, day)
LEFT JOIN recent_doses AS r USING (patient_key, day)
WHERE c.day >= $start AND c.day < $end
