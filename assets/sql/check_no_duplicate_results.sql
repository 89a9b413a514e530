-- no_duplicate_results: current results collected in [$start, $end) that share patient, analyte, collection
-- time, code and sending facility.
SELECT patient_key, analyte, collected_at, code, sending_facility, count(*) AS copies
FROM marts.lab_results
WHERE collected_date >= $start AND collected_date < $end
GROUP BY ALL
HAVING count(*) > 1
ORDER BY copies DESC, collected_at
