-- Time from first kratom dose to the first grade 2+ ALT, per patient
SELECT patient_key, min(days_since_kratom_start) AS days_to_first_grade2_alt
FROM marts.abnormal_enzyme_cases_daily
WHERE alt_grade >= 2 AND kratom_exposed
GROUP BY ALL ORDER BY days_to_first_grade2_alt, patient_key
