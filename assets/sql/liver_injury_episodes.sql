-- marts.liver_injury_episodes: one row per patient and injury episode: consecutive case days with gaps of at
-- most 30 days (`injury_episode_gap_days`). Latency, dechallenge and rechallenge follow RUCAM as domain.md
-- section 6 gives it:
--   latency: onset minus the start of the kratom exposure episode the onset falls in; 5 to 90 days scores
--     +2 (compatible); earlier or later are banded without points (domain.md gives none).
--   kratom stopped: the exposure episode's last dose relative to the injury (before onset, during it, after
--     it, or not stopped as of the last date in the data).
--   dechallenge (only when kratom stopped before the injury ended): from the peak measured on or after the
--     last dose, ALT falls by more than half within 8 and within 30 days (hepatocellular); ALP or TBIL by more
--     than half within 180 days (cholestatic or mixed).
--   resolution: the first day after the last case day on which every measured ALT, AST, ALP, GGT and TBIL
--     is at or below its ULN.
--   rechallenge: the episode starts within 90 days of kratom restarting after an earlier episode whose
--     kratom was stopped (a dechallenge).
-- Dose and response (domain.md section 6, hepwatch's reading of RUCAM's dechallenge for a lowered dose):
--   the dose before onset: kratom grams over the 7 days before the onset day, [onset-7, onset-1];
--   a dose change: the first day c on or after onset whose 7-day total, over [c-6, c], is at most half of
--     it: `stopped` when that total is 0, else `reduced`; `not_lowered` when no such day came (as of the last
--     date in the data); NULL when no kratom was taken in the 7 days before onset;
--   the response, counted from the change day: hepatocellular (by the pattern at onset, or no pattern for
--     want of an ALP) ALT falling below
--     half its peak on or after c within 8 days of c (`strong`) or 30 days (`positive`); cholestatic or mixed:
--     ALP or TBIL below half their peak within 180 days (`positive`); else `none`;
--   a positive rechallenge after a dose rise: after the change, a day on which the 7-day total is again
--     above half the dose before onset, followed by the same enzyme (ALT when hepatocellular or no pattern,
--     ALP when cholestatic or mixed)
--     reaching its peak over the episode's case days again.
WITH cases AS (
    SELECT
        *,
        CASE
            WHEN case_date - lag(case_date) OVER (PARTITION BY patient_key ORDER BY case_date)
                <= threshold('injury_episode_gap_days') THEN 0
            ELSE 1
        END AS starts_episode
    FROM marts.abnormal_enzyme_cases_daily
),
numbered AS (
    SELECT *, sum(starts_episode) OVER (PARTITION BY patient_key ORDER BY case_date) AS episode_no
    FROM cases
),
episodes AS (
    SELECT
        patient_key,
        CAST(episode_no AS INTEGER) AS episode_no,
        min(case_date) AS onset_date,
        max(case_date) AS last_case_date,
        CAST(count(*) AS INTEGER) AS case_days,
        max(alt_xuln) AS peak_alt_xuln,
        max(ast_xuln) AS peak_ast_xuln,
        max(alp_xuln) AS peak_alp_xuln,
        max(tbil_xuln) AS peak_tbil_xuln,
        CAST(max(max_grade) AS INTEGER) AS peak_grade,
        arg_min(injury_pattern, case_date) AS pattern_at_onset,
        arg_min(r_ratio, case_date) AS r_at_onset,
        bool_or(potential_hys_law) AS potential_hys_law,
        bool_or(dili_criteria_met) AS dili_criteria_met
    FROM numbered
    GROUP BY patient_key, episode_no
),
as_of AS (
    SELECT max(d) AS as_of_date FROM (
        SELECT max(collected_date) AS d FROM marts.lab_results
        UNION ALL SELECT max(dose_date) FROM staging.dosing_records
    )
),
exposed AS (
    -- The kratom exposure episode the onset falls in (first dose to last dose + 30 days).
    SELECT e.patient_key, e.episode_no, x.episode_start AS kratom_start, x.last_dose_date AS kratom_last_dose,
        x.episode_no AS kratom_episode_no
    FROM episodes AS e
    JOIN staging.exposure_episodes AS x
        ON x.patient_key = e.patient_key AND e.onset_date BETWEEN x.episode_start AND x.exposed_until
    QUALIFY row_number() OVER (PARTITION BY e.patient_key, e.episode_no ORDER BY x.episode_start DESC) = 1
),
stopped AS (
    SELECT
        e.*,
        x.kratom_start,
        x.kratom_last_dose,
        x.kratom_episode_no,
        CASE
            WHEN x.kratom_start IS NULL THEN NULL
            WHEN x.kratom_last_dose < e.onset_date THEN 'before_onset'
            WHEN x.kratom_last_dose <= e.last_case_date THEN 'during_injury'
            WHEN x.kratom_last_dose + CAST(threshold('exposure_tail_days') AS INTEGER) < a.as_of_date
                THEN 'after_injury'
            ELSE 'not_stopped'
        END AS kratom_stopped
    FROM episodes AS e
    LEFT JOIN exposed AS x USING (patient_key, episode_no)
    CROSS JOIN as_of AS a
),
after_stop AS (
    -- Results from the last dose on, for the dechallenge: the peak and the later values.
    SELECT s.patient_key, s.episode_no, r.analyte, r.collected_date, r.x_uln
    FROM stopped AS s
    JOIN marts.lab_results AS r
        ON r.patient_key = s.patient_key AND r.collected_date >= s.kratom_last_dose
        AND r.analyte IN ('ALT', 'ALP', 'TBIL')
    WHERE s.kratom_stopped IN ('before_onset', 'during_injury')
),
peaks_after_stop AS (
    SELECT patient_key, episode_no, analyte,
        max(x_uln) AS peak, arg_max(collected_date, row(x_uln, -epoch(collected_date))) AS peak_date
    FROM after_stop
    GROUP BY ALL
),
falls AS (
    -- The earliest day after the peak on which the analyte is at most half the peak.
    SELECT p.patient_key, p.episode_no, p.analyte, p.peak_date, min(a.collected_date) AS halved_on
    FROM peaks_after_stop AS p
    JOIN after_stop AS a
        ON a.patient_key = p.patient_key AND a.episode_no = p.episode_no AND a.analyte = p.analyte
        AND a.collected_date > p.peak_date AND a.x_uln < 0.5 * p.peak
    GROUP BY ALL
),
dechallenge AS (
    SELECT
        patient_key,
        episode_no,
        bool_or(analyte = 'ALT' AND halved_on - peak_date <= 8) AS alt_halved_8d,
        bool_or(analyte = 'ALT' AND halved_on - peak_date <= 30) AS alt_halved_30d,
        bool_or(analyte IN ('ALP', 'TBIL') AND halved_on - peak_date <= 180) AS alp_or_tbil_halved_180d
    FROM falls
    GROUP BY ALL
),
kratom_days AS (
    SELECT patient_key, dose_date, sum(dose_mg) / 1000 AS grams
    FROM staging.dosing_records
    WHERE substance = 'kratom'
    GROUP BY ALL
),
dose_before AS (
    SELECT e.patient_key, e.episode_no, sum(k.grams) AS grams_before
    FROM episodes AS e
    JOIN kratom_days AS k
        ON k.patient_key = e.patient_key AND k.dose_date >= e.onset_date - 7 AND k.dose_date < e.onset_date
    GROUP BY ALL
),
weekly AS (
    -- the 7-day total on each day from onset to the last date in the data
    SELECT d.patient_key, d.episode_no, d.day, d.grams_before, coalesce(sum(k.grams), 0) AS grams_7d
    FROM (
        SELECT b.patient_key, b.episode_no, b.grams_before, CAST(t.g AS DATE) AS day
        FROM dose_before AS b
        JOIN episodes AS e USING (patient_key, episode_no)
        CROSS JOIN as_of AS a
        CROSS JOIN generate_series(CAST(e.onset_date AS TIMESTAMP), CAST(a.as_of_date AS TIMESTAMP), INTERVAL 1 DAY) AS t(g)
    ) AS d
    LEFT JOIN kratom_days AS k
        ON k.patient_key = d.patient_key AND k.dose_date > d.day - 7 AND k.dose_date <= d.day
    GROUP BY d.patient_key, d.episode_no, d.day, d.grams_before
),
dose_change AS (
    SELECT patient_key, episode_no, min(day) AS change_date,
        arg_min(grams_7d, day) AS grams_after_change
    FROM weekly
    WHERE grams_7d <= 0.5 * grams_before
    GROUP BY ALL
),
dose_rise AS (
    SELECT w.patient_key, w.episode_no, min(w.day) AS rise_date
    FROM weekly AS w
    JOIN dose_change AS c USING (patient_key, episode_no)
    WHERE w.day > c.change_date AND w.grams_7d > 0.5 * w.grams_before
    GROUP BY ALL
),
after_change AS (
    SELECT c.patient_key, c.episode_no, c.change_date, r.analyte, r.collected_date, r.x_uln
    FROM dose_change AS c
    JOIN marts.lab_results AS r
        ON r.patient_key = c.patient_key AND r.collected_date >= c.change_date
        AND r.analyte IN ('ALT', 'ALP', 'TBIL')
),
change_peaks AS (
    SELECT patient_key, episode_no, change_date, analyte,
        max(x_uln) AS peak, arg_max(collected_date, row(x_uln, -epoch(collected_date))) AS peak_date
    FROM after_change
    GROUP BY ALL
),
change_falls AS (
    SELECT p.patient_key, p.episode_no, p.analyte, min(a.collected_date) - p.change_date AS days_to_half
    FROM change_peaks AS p
    JOIN after_change AS a
        ON a.patient_key = p.patient_key AND a.episode_no = p.episode_no AND a.analyte = p.analyte
        AND a.collected_date > p.peak_date AND a.x_uln < 0.5 * p.peak
    GROUP BY p.patient_key, p.episode_no, p.analyte, p.change_date
),
response AS (
    SELECT c.patient_key, c.episode_no,
        CASE
            WHEN coalesce(e.pattern_at_onset, 'hepatocellular') = 'hepatocellular' THEN CASE
                WHEN bool_or(f.analyte = 'ALT' AND f.days_to_half <= 8) THEN 'strong'
                WHEN bool_or(f.analyte = 'ALT' AND f.days_to_half <= 30) THEN 'positive'
                ELSE 'none' END
            WHEN bool_or(f.analyte IN ('ALP', 'TBIL') AND f.days_to_half <= 180) THEN 'positive'
            ELSE 'none'
        END AS response_after_change
    FROM dose_change AS c
    JOIN episodes AS e USING (patient_key, episode_no)
    LEFT JOIN change_falls AS f USING (patient_key, episode_no)
    GROUP BY c.patient_key, c.episode_no, e.pattern_at_onset
),
rechallenged AS (
    SELECT d.patient_key, d.episode_no, true AS positive_rechallenge
    FROM dose_rise AS d
    JOIN episodes AS e USING (patient_key, episode_no)
    WHERE EXISTS (
        SELECT 1 FROM marts.lab_results AS r
        WHERE r.patient_key = d.patient_key AND r.collected_date > d.rise_date
            AND CASE WHEN coalesce(e.pattern_at_onset, 'hepatocellular') = 'hepatocellular'
                THEN r.analyte = 'ALT' AND r.x_uln >= e.peak_alt_xuln
                ELSE r.analyte = 'ALP' AND r.x_uln >= e.peak_alp_xuln END
    )
),
resolution AS (
    SELECT s.patient_key, s.episode_no, min(r.collected_date) AS resolved_on
    FROM stopped AS s
    JOIN (
        SELECT patient_key, collected_date, max(x_uln) AS worst
        FROM marts.lab_results
        WHERE analyte IN ('ALT', 'AST', 'ALP', 'GGT', 'TBIL')
        GROUP BY ALL
    ) AS r ON r.patient_key = s.patient_key AND r.collected_date > s.last_case_date AND r.worst <= 1.0
    GROUP BY ALL
)
SELECT
    s.patient_key,
    s.episode_no,
    s.onset_date,
    s.last_case_date,
    s.case_days,
    s.peak_alt_xuln,
    s.peak_ast_xuln,
    s.peak_alp_xuln,
    s.peak_tbil_xuln,
    s.peak_grade,
    s.pattern_at_onset,
    s.r_at_onset,
    s.potential_hys_law,
    s.dili_criteria_met,
    s.kratom_start,
    CAST(s.onset_date - s.kratom_start AS INTEGER) AS latency_days,
    CASE
        WHEN s.kratom_start IS NULL THEN NULL
        WHEN s.onset_date - s.kratom_start < 5 THEN 'under_5_days'
        WHEN s.onset_date - s.kratom_start <= 90 THEN '5_to_90_days'
        ELSE 'over_90_days'
    END AS rucam_latency_band,
    CASE WHEN s.onset_date - s.kratom_start BETWEEN 5 AND 90 THEN 2 END AS rucam_latency_points,
    s.kratom_last_dose AS kratom_last_dose_date,
    s.kratom_stopped,
    CASE WHEN s.kratom_stopped IN ('before_onset', 'during_injury') THEN coalesce(d.alt_halved_8d, false) END
        AS alt_halved_8d,
    CASE WHEN s.kratom_stopped IN ('before_onset', 'during_injury') THEN coalesce(d.alt_halved_30d, false) END
        AS alt_halved_30d,
    CASE
        WHEN s.kratom_stopped IN ('before_onset', 'during_injury') THEN coalesce(d.alp_or_tbil_halved_180d, false)
    END AS alp_or_tbil_halved_180d,
    r.resolved_on AS resolution_date,
    coalesce(
        (
            SELECT bool_or(earlier.kratom_stopped IN ('before_onset', 'during_injury'))
            FROM stopped AS earlier
            WHERE earlier.patient_key = s.patient_key
                AND earlier.episode_no < s.episode_no
                AND earlier.kratom_episode_no < s.kratom_episode_no
                AND s.onset_date - s.kratom_start <= threshold('rechallenge_window_days')
        ),
        false
    ) AS rechallenge,
    b.grams_before AS kratom_7d_g_before_onset,
    CASE
        WHEN b.grams_before IS NULL THEN NULL
        WHEN c.change_date IS NULL THEN 'not_lowered'
        WHEN c.grams_after_change = 0 THEN 'stopped'
        ELSE 'reduced'
    END AS dose_change,
    c.change_date AS dose_change_date,
    c.grams_after_change AS kratom_7d_g_after_change,
    rs.response_after_change,
    CASE WHEN c.change_date IS NOT NULL THEN coalesce(rc.positive_rechallenge, false) END
        AS rechallenge_after_dose_rise
FROM stopped AS s
LEFT JOIN dechallenge AS d USING (patient_key, episode_no)
LEFT JOIN resolution AS r USING (patient_key, episode_no)
LEFT JOIN dose_before AS b USING (patient_key, episode_no)
LEFT JOIN dose_change AS c USING (patient_key, episode_no)
LEFT JOIN response AS rs USING (patient_key, episode_no)
LEFT JOIN rechallenged AS rc USING (patient_key, episode_no)
