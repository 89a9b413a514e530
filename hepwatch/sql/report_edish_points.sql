-- The eDISH points plotted on each day of [$start, $end): every potential Hy's law state, every new case
-- (report_edish_new), and in each other quadrant the states whose hash falls in 1 of `stride` buckets
-- (report_edish_strides: a power of 2 per day and quadrant).
WITH candidates AS (  -- states that can be plotted on some day (the smallest stride of their quadrant)
    SELECT s.* FROM report_edish_states AS s
    LEFT JOIN (SELECT quadrant, min(stride) AS stride FROM report_edish_strides GROUP BY ALL) AS m
        USING (quadrant)
    WHERE s.quadrant = 'potential_hys_law' OR s.bucket % m.stride = 0
        OR s.patient_key IN (SELECT patient_key FROM report_edish_new)
),
days AS (
    SELECT CAST(g AS DATE) AS day FROM generate_series(
        CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP) - INTERVAL 1 DAY, INTERVAL 1 DAY
    ) AS t(g)
)
SELECT d.day, s.patient_key, s.alt, s.tbil, s.quadrant, n.patient_key IS NOT NULL AS new, s.alt_date, s.tbil_date
FROM candidates AS s
JOIN days AS d ON d.day >= s.valid_from AND d.day < s.valid_to
LEFT JOIN report_edish_strides AS k ON k.day = d.day AND k.quadrant = s.quadrant
LEFT JOIN report_edish_new AS n ON n.day = d.day AND n.patient_key = s.patient_key
WHERE s.quadrant = 'potential_hys_law' OR n.patient_key IS NOT NULL OR s.bucket % k.stride = 0
ORDER BY 1, 2
