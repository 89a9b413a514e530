-- staging.dosing_records: the current version of each dosing record dated in [$start, $end).
-- The same record_id again is a correction: the file ingested later wins (then the later line)
-- (contract section 2).
WITH touched AS (
    SELECT DISTINCT record_id FROM landing.dosing_rows WHERE dose_date >= $start AND dose_date < $end
),
current_version AS (
    SELECT *
    FROM landing.dosing_rows
    SEMI JOIN touched USING (record_id)
    QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY file_order DESC, line DESC) = 1
)
SELECT
    record_id, patient_key, substance, substance_as_written, product, dose_amount, dose_unit, dose_mg,
    dose_date, taken_at, source, file, line
FROM current_version
WHERE dose_date >= $start AND dose_date < $end
