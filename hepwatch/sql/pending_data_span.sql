-- The first and last clinical day in [$first, $last] that hold landed results or doses.
SELECT min(d), max(d) FROM (
    SELECT collected_date AS d FROM landing.lab_obx UNION ALL SELECT dose_date FROM landing.dosing_rows
) WHERE d BETWEEN $first AND $last
