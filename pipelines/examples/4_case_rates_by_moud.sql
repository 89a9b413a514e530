-- Case rates with and without opioid treatment (MOUD) in the week before
WITH tested AS (
    SELECT r.patient_key, r.collected_date,
           bool_or(d.substance IN ('methadone', 'buprenorphine')) AS on_moud
    FROM (SELECT DISTINCT patient_key, collected_date FROM marts.lab_results) r
    LEFT JOIN marts.dosing_daily d
      ON d.patient_key = r.patient_key AND d.dose_date BETWEEN r.collected_date - 6 AND r.collected_date
    GROUP BY ALL
)
SELECT coalesce(on_moud, false) AS on_moud, count(*) AS tested_days, count(c.case_date) AS case_days,
       round(100.0 * count(c.case_date) / count(*), 1) AS case_rate_pct
FROM tested t
LEFT JOIN marts.abnormal_enzyme_cases_daily c
  ON c.patient_key = t.patient_key AND c.case_date = t.collected_date
GROUP BY ALL ORDER BY on_moud
