-- marts.lab_results: one row per current liver-panel result collected in [$start, $end) (contract 4).
SELECT
    patient_key, analyte, code, code_system, collected_at, collected_date, value, unit, comparator,
    uln, uln_source, x_uln, abnormal_flags, result_status, sending_facility
FROM staging.liver_observations
WHERE quarantine_reason IS NULL AND collected_date >= $start AND collected_date < $end
