-- The run summary's case line: case days, case patients, new cases, and the patients with potential Hy's
-- law, meeting DILI criteria, and ever kratom-exposed on a case day.
SELECT count(*), count(DISTINCT patient_key), count(*) FILTER (WHERE new_case),
    count(DISTINCT patient_key) FILTER (WHERE potential_hys_law),
    count(DISTINCT patient_key) FILTER (WHERE dili_criteria_met),
    count(DISTINCT patient_key) FILTER (WHERE kratom_exposed)
FROM marts.abnormal_enzyme_cases_daily
