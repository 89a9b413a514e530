-- unmapped_liver_codes: liver-looking codes the code map does not map, with how often and when they came.
SELECT sending_facility, code_system, code, code_text, count(*) AS observations,
       min(collected_date) AS first_seen, max(collected_date) AS last_seen
FROM staging.liver_observations
WHERE quarantine_reason = 'unmapped_liver_code'
GROUP BY ALL ORDER BY observations DESC, code
