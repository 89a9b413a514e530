-- marts.dosing_daily: one row per patient, day and substance in [$start, $end) (contract section 4).
SELECT
    patient_key,
    dose_date,
    substance,
    CAST(count(*) AS INTEGER) AS doses,
    sum(dose_mg) AS total_mg
FROM staging.dosing_records
WHERE dose_date >= $start AND dose_date < $end
GROUP BY ALL
