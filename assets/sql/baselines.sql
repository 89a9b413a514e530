-- staging.baselines: per patient and analyte, the baseline: the last final result of that analyte in the
-- `baseline_lookback_days` (90) days before the patient's first recorded kratom dose (domain.md section 3).
-- "Before" is by date: results collected on the first dose date count as on-treatment.
-- No kratom dose, or no result in that window: no row (baseline unknown).
WITH first_dose AS (
    SELECT patient_key, min(dose_date) AS first_kratom_date
    FROM staging.dosing_records
    WHERE substance = 'kratom'
    GROUP BY ALL
)
SELECT
    f.patient_key,
    o.analyte,
    f.first_kratom_date,
    max(o.collected_date) AS baseline_date,
    -- the last result; two at the same time: the higher, so that re-runs always pick the same one
    arg_max(o.value, row(o.collected_at, o.x_uln, o.value)) AS baseline_value,
    arg_max(o.x_uln, row(o.collected_at, o.x_uln, o.value)) AS baseline_x_uln,
    arg_max(o.x_uln, row(o.collected_at, o.x_uln, o.value)) > 1.0 AS baseline_abnormal
FROM first_dose AS f
JOIN staging.liver_observations AS o
    ON o.patient_key = f.patient_key
    AND o.collected_date >= f.first_kratom_date - CAST(threshold('baseline_lookback_days') AS INTEGER)
    AND o.collected_date < f.first_kratom_date
WHERE o.quarantine_reason IS NULL AND o.analyte IN ('ALT', 'AST', 'ALP', 'GGT', 'TBIL')
GROUP BY f.patient_key, o.analyte, f.first_kratom_date
