-- Every clinical day in [$first, $last] that landed results or doses ever held, in order.
SELECT DISTINCT collected_date FROM landing.lab_obx WHERE collected_date BETWEEN $first AND $last
UNION SELECT DISTINCT dose_date FROM landing.dosing_rows WHERE dose_date BETWEEN $first AND $last
ORDER BY 1
