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
    ) AS rechallenge
FROM stopped AS s
LEFT JOIN dechallenge AS d USING (patient_key, episode_no)
LEFT JOIN resolution AS r USING (patient_key, episode_no)
