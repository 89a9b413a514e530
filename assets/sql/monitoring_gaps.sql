-- marts.monitoring_gaps: one row per patient past due for liver tests as of the last date in the data
-- (contract section 4; policy in domain.md section 6).
--   as-of date: the latest lab collection date or dose date in the data.
--   monitored: the as-of date lies inside a kratom exposure episode (first dose to last dose + 30).
--   baseline: an ALT or AST in the 90 days before or the 7 days after the episode's first dose;
--     none -> `no_baseline`, due on first dose + 7.
--   then: due 14 days after the last ALT or AST while that test was taken in the episode's first 56 days,
--     90 days after it once the episode is older -> `overdue` when the due date is before the as-of date.
--     The 14-day clock starts no earlier than the first dose, so a baseline taken weeks before the first
--     dose does not make the patient overdue on day one.
--   days_overdue = as-of date - due date.
WITH as_of AS (
    SELECT max(d) AS as_of_date FROM (
        SELECT max(collected_date) AS d FROM marts.lab_results
        UNION ALL SELECT max(dose_date) FROM staging.dosing_records
    )
),
monitored AS (
    SELECT e.patient_key, e.episode_start, a.as_of_date
    FROM staging.exposure_episodes AS e, as_of AS a
    WHERE a.as_of_date BETWEEN e.episode_start AND e.exposed_until
),
tests AS (
    SELECT patient_key, collected_date
    FROM marts.lab_results
    WHERE analyte IN ('ALT', 'AST')
),
status AS (
    SELECT
        m.patient_key,
        m.as_of_date,
        m.episode_start,
        max(t.collected_date) FILTER (WHERE t.collected_date <= m.as_of_date) AS last_test_date,
        bool_or(
            t.collected_date >= m.episode_start - CAST(threshold('monitoring_baseline_before_days') AS INTEGER)
            AND t.collected_date <= m.episode_start + CAST(threshold('monitoring_baseline_after_days') AS INTEGER)
        ) AS has_baseline
    FROM monitored AS m
    LEFT JOIN tests AS t ON t.patient_key = m.patient_key
    GROUP BY ALL
),
due AS (
    SELECT
        *,
        CASE
            WHEN NOT coalesce(has_baseline, false)
                THEN episode_start + CAST(threshold('monitoring_baseline_after_days') AS INTEGER)
            WHEN last_test_date - episode_start < threshold('monitoring_early_phase_days')
                THEN greatest(last_test_date, episode_start)
                    + CAST(threshold('monitoring_early_interval_days') AS INTEGER)
            ELSE last_test_date + CAST(threshold('monitoring_late_interval_days') AS INTEGER)
        END AS due_date,
        CASE WHEN coalesce(has_baseline, false) THEN 'overdue' ELSE 'no_baseline' END AS reason
    FROM status
)
SELECT
    patient_key,
    as_of_date,
    episode_start,
    last_test_date,
    CAST(due_date AS DATE) AS due_date,
    CAST(as_of_date - due_date AS INTEGER) AS days_overdue,
    reason
FROM due
WHERE due_date < as_of_date
