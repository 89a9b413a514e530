-- staging.exposure_episodes: kratom exposure episodes, one row per patient and episode (domain.md 6).
-- An episode is a run of kratom doses with no gap longer than `exposure_gap_days` (30) between consecutive
-- dose dates; a day is exposed from the episode's first dose to `exposure_tail_days` (30) after its last.
WITH kratom_days AS (
    SELECT patient_key, dose_date, sum(dose_mg) AS mg
    FROM staging.dosing_records
    WHERE substance = 'kratom'
    GROUP BY ALL
),
gaps AS (
    SELECT
        *,
        CASE
            WHEN dose_date - lag(dose_date) OVER (PARTITION BY patient_key ORDER BY dose_date)
                <= threshold('exposure_gap_days') THEN 0
            ELSE 1
        END AS starts_episode
    FROM kratom_days
),
numbered AS (
    SELECT *, sum(starts_episode) OVER (PARTITION BY patient_key ORDER BY dose_date) AS episode_no
    FROM gaps
)
SELECT
    patient_key,
    CAST(episode_no AS INTEGER) AS episode_no,
    min(dose_date) AS episode_start,
    max(dose_date) AS last_dose_date,
    CAST(max(dose_date) + CAST(threshold('exposure_tail_days') AS INTEGER) AS DATE) AS exposed_until,
    CAST(count(*) AS INTEGER) AS dose_days,
    sum(mg) / 1000 AS total_g
FROM numbered
GROUP BY patient_key, episode_no
