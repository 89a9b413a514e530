-- marts.quarantine: everything held back, with its reason, and without any raw payload or identifier
-- (raw payloads stay in phi.quarantine). Lab messages, liver-panel observations, dosing rows.
SELECT 'lab_message' AS kind, file, line, control_id, NULL AS record_id, NULL AS analyte, reason, detail
FROM landing.lab_messages
WHERE outcome = 'quarantined'
UNION ALL
SELECT
    'lab_observation', m.file, m.line, o.control_id, NULL, o.analyte, o.quarantine_reason,
    'OBX-3 ' || coalesce(o.code, '') || ' ' || coalesce(o.code_text, '') || ': value ''' ||
        coalesce(o.value_as_sent, '') || ''' unit ''' || coalesce(o.unit_as_sent, '') || ''''
FROM staging.liver_observations AS o
JOIN landing.lab_messages AS m ON m.arrival_seq = o.arrival_seq
WHERE o.quarantine_reason IS NOT NULL
UNION ALL
SELECT
    'lab_observation', m.file, m.line, o.control_id, NULL, o.analyte,
    CASE WHEN o.collected_date IS NULL THEN 'missing_collection_time' ELSE 'collection_date_out_of_range' END,
    'OBX-3 ' || coalesce(o.code, '') || ' ' || coalesce(o.code_text, '') || ': collected '
        || coalesce(CAST(o.collected_date AS VARCHAR), 'never (no OBR-7 or OBX-14)')
FROM staging.mapped_observations AS o
JOIN landing.lab_messages AS m ON m.arrival_seq = o.arrival_seq
WHERE (o.collected_date IS NULL OR o.collected_date < $first_day OR o.collected_date > $last_day)
    AND (o.analyte IS NOT NULL OR o.liver_looking)
UNION ALL
SELECT 'dosing_row', file, line, NULL, record_id, NULL, reason, detail
FROM landing.dosing_quarantine
UNION ALL
-- Doses dated before the first daily partition (HEPWATCH_FIRST_DAY) are valid rows that no day's marts show:
-- held back here, like results collected then, rather than counted as reaching the marts.
SELECT DISTINCT
    'dosing_row', file, line, NULL, record_id, NULL, 'dose_date_out_of_range',
    'taken_at ''' || coalesce(taken_at_text, '') || ''': dose dates before ' || CAST($first_day AS VARCHAR) ||
        ' or after ' || CAST($last_day AS VARCHAR) || ' are not built'
FROM landing.dosing_rows
WHERE dose_date < $first_day OR dose_date > $last_day
