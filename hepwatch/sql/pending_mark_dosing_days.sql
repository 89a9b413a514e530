-- The dose dates of dosing rows landed after $mark, and of every earlier row with the same record_id.
INSERT OR REPLACE INTO landing.pending_days
SELECT DISTINCT dose_date, $now FROM landing.dosing_rows
SEMI JOIN (SELECT record_id FROM landing.dosing_rows WHERE ingest_seq > $mark) USING (record_id)
WHERE dose_date IS NOT NULL
