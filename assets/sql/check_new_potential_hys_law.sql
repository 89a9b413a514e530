-- new_potential_hys_law: patients with a potential Hy's law case day in [$start, $end) and none in the
-- `new_case_lookback_days` (30) days before it; the first such day of each patient, with its values.
SELECT c.patient_key, c.case_date, c.alt_xuln, c.ast_xuln, c.tbil_xuln, c.alp_xuln
FROM marts.abnormal_enzyme_cases_daily AS c
WHERE c.potential_hys_law AND c.case_date >= $start AND c.case_date < $end
    AND NOT EXISTS (
        SELECT 1 FROM marts.abnormal_enzyme_cases_daily AS p
        WHERE p.patient_key = c.patient_key AND p.potential_hys_law AND p.case_date < c.case_date
            AND p.case_date >= c.case_date - CAST(threshold('new_case_lookback_days') AS INTEGER)
    )
ORDER BY c.case_date, c.patient_key
