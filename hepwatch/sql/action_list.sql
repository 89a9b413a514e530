-- The prioritised action list: for each day d of [$start, $end) (NULL and NULL: the last date in the data,
-- as marts.action_list holds it), the patients a clinic should act on that
-- day, one row each, most urgent first. A patient is on d's list for what happened in the last
-- `window_7d_days` (7) days, [d-6, d]:
--   priority 1 (FDA 2009 DILI guidance, domain.md section 5): a potential Hy's law case day, or an FDA
--     stopping signal (marts.stopping_signals);
--   priority 2 (CTCAE v5, domain.md section 3): a case day of grade 3 or more;
--   priority 3 (CTCAE v5): a rising grade 2: a grade-2 case day whose worst enzyme (ALT, AST, ALP, GGT)
--     x ULN is higher than on the patient's previous case day in the `new_case_lookback_days` (30) before it,
--     or that has no such previous case day;
--   priority 4 (hepwatch's monitoring policy, domain.md section 6): a monitoring gap. marts.monitoring_gaps
--     is as of the last date in the data, so gaps are listed on that day only.
-- Within a priority: the worst enzyme x ULN first (days overdue for gaps), then the key.
-- With each row: the latest ALT, AST, ALP and TBIL x ULN on or before d, the direction of the last two
-- ALT-or-AST results (the day's higher x ULN): up, down or same; the kratom exposure episode's age; kratom
-- grams over [d-6, d] against the 28 days before, [d-34, d-7].
WITH last_day AS (
    SELECT max(d) AS d FROM (
        SELECT max(collected_date) AS d FROM marts.lab_results
        UNION ALL SELECT max(dose_date) FROM staging.dosing_records
    )
),
bounds AS (
    SELECT coalesce(CAST($start AS DATE), d) AS first, coalesce(CAST($end AS DATE), d + 1) AS stop FROM last_day
),
days AS (
    SELECT CAST(g AS DATE) AS as_of_date
    FROM bounds, generate_series(CAST(first AS TIMESTAMP), CAST(stop AS TIMESTAMP) - INTERVAL 1 DAY, INTERVAL 1 DAY) AS t(g)
),
window_days AS (SELECT CAST(threshold('window_7d_days') AS INTEGER) AS n),
recent_cases AS (
    SELECT
        c.*,
        greatest(c.alt_xuln, c.ast_xuln, c.alp_xuln, c.ggt_xuln) AS worst_xuln,
        lag(c.case_date) OVER w AS previous_case_date,
        lag(greatest(c.alt_xuln, c.ast_xuln, c.alp_xuln, c.ggt_xuln)) OVER w AS previous_worst_xuln
    FROM marts.abnormal_enzyme_cases_daily AS c
    WHERE c.case_date >= (SELECT first FROM bounds) - 60 AND c.case_date < (SELECT stop FROM bounds)
    WINDOW w AS (PARTITION BY c.patient_key ORDER BY c.case_date)
),
findings AS (
    -- one row per patient, day and finding, with its priority and the rule behind it
    SELECT case_date AS found_on, patient_key, 1 AS priority, 'potential Hy''s law' AS finding,
        'FDA 2009 DILI guidance' AS rule, worst_xuln AS severity
    FROM recent_cases WHERE potential_hys_law
    UNION ALL
    SELECT s.signal_date, s.patient_key, 1,
        'FDA stopping signal: ' || CASE s.signal
            WHEN 'peak' THEN 'ALT or AST > ' || printf('%g', threshold('stopping_aminotransferase_x_uln')) || ' x ULN'
            WHEN 'sustained' THEN 'ALT or AST > ' || printf('%g', threshold('stopping_sustained_x_uln')) || ' x ULN for more than '
                || CAST(threshold('stopping_sustained_days') AS INTEGER) || ' days'
            ELSE 'ALT or AST > ' || printf('%g', threshold('stopping_with_tbil_aminotransferase_x_uln')) || ' x ULN with TBIL > '
                || printf('%g', threshold('stopping_tbil_x_uln')) || ' x ULN or INR > ' || printf('%g', threshold('stopping_inr'))
        END,
        'FDA 2009 DILI guidance', NULL
    FROM marts.stopping_signals AS s
    WHERE s.signal_date >= (SELECT first FROM bounds) - 7 AND s.signal_date < (SELECT stop FROM bounds)
    UNION ALL
    SELECT case_date, patient_key, 2, 'grade ' || max_grade, 'CTCAE v5', worst_xuln
    FROM recent_cases WHERE max_grade >= 3
    UNION ALL
    SELECT case_date, patient_key, 3, 'rising grade 2', 'CTCAE v5', worst_xuln
    FROM recent_cases
    WHERE max_grade = 2 AND (
        previous_case_date IS NULL
        OR case_date - previous_case_date > threshold('new_case_lookback_days')
        OR worst_xuln > previous_worst_xuln
    )
),
listed AS (
    SELECT d.as_of_date, f.*
    FROM days AS d, window_days AS w
    JOIN findings AS f ON f.found_on <= d.as_of_date AND f.found_on > d.as_of_date - w.n
    UNION ALL
    SELECT g.as_of_date, g.as_of_date, g.patient_key, 4,
        'monitoring: ' || replace(g.reason, '_', ' ') || ', ' || g.days_overdue || ' days overdue',
        'hepwatch monitoring policy', NULL
    FROM marts.monitoring_gaps AS g
    JOIN days AS d ON d.as_of_date = g.as_of_date
),
by_finding AS (
    -- each finding once, on the latest day it was made
    SELECT as_of_date, patient_key, priority, finding, rule, max(found_on) AS found_on, max(severity) AS severity
    FROM listed
    GROUP BY ALL
),
patients AS (
    SELECT
        as_of_date,
        patient_key,
        min(priority) AS priority,
        string_agg(finding || CASE WHEN priority < 4 THEN ' (' || found_on || ')' ELSE '' END, '; '
            ORDER BY priority, found_on DESC, finding) AS reasons,
        string_agg(DISTINCT rule, '; ' ORDER BY rule) AS rules,
        max(found_on) AS latest_finding_date,
        max(severity) AS worst_xuln
    FROM by_finding
    GROUP BY ALL
),
result_days AS (
    -- the listed patients' result days: each analyte's latest result of the day, and the day's higher ALT or
    -- AST x ULN with the one of the result day before (for the trend)
    SELECT *, lag(amino) OVER (PARTITION BY patient_key, amino IS NULL ORDER BY d) AS amino_before
    FROM (
        SELECT r.patient_key, r.collected_date AS d,
            arg_max(r.x_uln, r.collected_at) FILTER (WHERE r.analyte = 'ALT') AS alt,
            arg_max(r.x_uln, r.collected_at) FILTER (WHERE r.analyte = 'AST') AS ast,
            arg_max(r.x_uln, r.collected_at) FILTER (WHERE r.analyte = 'ALP') AS alp,
            arg_max(r.x_uln, r.collected_at) FILTER (WHERE r.analyte = 'TBIL') AS tbil,
            max(r.x_uln) FILTER (WHERE r.analyte IN ('ALT', 'AST')) AS amino
        FROM marts.lab_results AS r
        SEMI JOIN (SELECT DISTINCT patient_key FROM patients) AS p USING (patient_key)
        WHERE r.analyte IN ('ALT', 'AST', 'ALP', 'TBIL')
        GROUP BY ALL
    )
),
latest AS (
    -- one pass over each patient's result days and list days in date order (a result day before a list day
    -- of the same date): the last value of each analyte so far
    SELECT * FROM (
        SELECT as_of_date, patient_key,
            last_value(alt IGNORE NULLS) OVER past AS latest_alt_xuln,
            last_value(ast IGNORE NULLS) OVER past AS latest_ast_xuln,
            last_value(alp IGNORE NULLS) OVER past AS latest_alp_xuln,
            last_value(tbil IGNORE NULLS) OVER past AS latest_tbil_xuln,
            last_value(result_day IGNORE NULLS) OVER past AS latest_result_date,
            last_value(amino IGNORE NULLS) OVER past AS amino,
            last_value(CASE WHEN amino IS NOT NULL THEN coalesce(amino_before, -1) END IGNORE NULLS) OVER past
                AS amino_before
        FROM (
            SELECT patient_key, d, 0 AS after, NULL AS as_of_date, alt, ast, alp, tbil, d AS result_day, amino,
                amino_before
            FROM result_days
            UNION ALL
            SELECT patient_key, as_of_date, 1, as_of_date, NULL, NULL, NULL, NULL, NULL, NULL, NULL
            FROM patients
        )
        WINDOW past AS (PARTITION BY patient_key ORDER BY d, after ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    )
    WHERE as_of_date IS NOT NULL
),
trend AS (
    SELECT as_of_date, patient_key,
        CASE
            WHEN amino_before IS NULL OR amino_before < 0 THEN NULL
            WHEN amino > amino_before THEN 'up'
            WHEN amino < amino_before THEN 'down'
            ELSE 'same'
        END AS amino_trend
    FROM latest
),
kratom AS (
    SELECT p.as_of_date, p.patient_key,
        coalesce(sum(k.dose_mg) FILTER (WHERE k.dose_date > p.as_of_date - w.n), 0) / 1000 AS kratom_7d_g,
        coalesce(sum(k.dose_mg) FILTER (WHERE k.dose_date <= p.as_of_date - w.n), 0) / 1000 AS kratom_prior_28d_g
    FROM patients AS p
    CROSS JOIN window_days AS w
    LEFT JOIN staging.dosing_records AS k
        ON k.patient_key = p.patient_key AND k.substance = 'kratom'
        AND k.dose_date <= p.as_of_date AND k.dose_date > p.as_of_date - w.n - 28
    GROUP BY ALL
),
exposure AS (
    SELECT p.as_of_date, p.patient_key, max(e.episode_start) AS kratom_start
    FROM patients AS p
    JOIN staging.exposure_episodes AS e
        ON e.patient_key = p.patient_key AND p.as_of_date BETWEEN e.episode_start AND e.exposed_until
    GROUP BY ALL
),
gaps AS (
    SELECT as_of_date, patient_key, due_date, days_overdue FROM marts.monitoring_gaps
)
SELECT
    p.as_of_date,
    CAST(row_number() OVER (
        PARTITION BY p.as_of_date
        ORDER BY p.priority, p.worst_xuln DESC NULLS LAST, g.days_overdue DESC NULLS LAST, p.patient_key
    ) AS INTEGER) AS rank,
    p.patient_key,
    CAST(p.priority AS INTEGER) AS priority,
    p.reasons,
    p.rules,
    p.latest_finding_date,
    l.latest_alt_xuln,
    l.latest_ast_xuln,
    l.latest_alp_xuln,
    l.latest_tbil_xuln,
    l.latest_result_date,
    t.amino_trend,
    CAST(p.as_of_date - x.kratom_start AS INTEGER) AS days_since_kratom_start,
    k.kratom_7d_g,
    k.kratom_prior_28d_g,
    g.due_date,
    CAST(g.days_overdue AS INTEGER) AS days_overdue
FROM patients AS p
LEFT JOIN latest AS l USING (as_of_date, patient_key)
LEFT JOIN trend AS t USING (as_of_date, patient_key)
LEFT JOIN kratom AS k USING (as_of_date, patient_key)
LEFT JOIN exposure AS x USING (as_of_date, patient_key)
LEFT JOIN gaps AS g USING (as_of_date, patient_key)
ORDER BY p.as_of_date, rank
