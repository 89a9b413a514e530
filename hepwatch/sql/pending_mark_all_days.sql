-- Every day with landed results or doses is pending (the reference data or the SQL changed).
INSERT OR REPLACE INTO landing.pending_days
SELECT day, $now FROM (
    SELECT collected_date AS day FROM landing.lab_obx UNION SELECT dose_date FROM landing.dosing_rows
) WHERE day IS NOT NULL
