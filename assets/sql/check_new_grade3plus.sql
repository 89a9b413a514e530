-- new_grade3plus_days: case days of CTCAE v5 grade 3 or 4 (domain.md section 3) in [$start, $end).
SELECT patient_key, case_date, max_grade, alt_xuln, ast_xuln, alp_xuln, ggt_xuln, tbil_xuln
FROM marts.abnormal_enzyme_cases_daily
WHERE max_grade >= 3 AND case_date >= $start AND case_date < $end
ORDER BY case_date, patient_key
