-- The collection dates of observations landed after $mark, and of every earlier version of them (a
-- correction can move a result to another day).
INSERT OR REPLACE INTO landing.pending_days
SELECT DISTINCT collected_date, $now FROM landing.lab_obx
SEMI JOIN (SELECT key_hi, key_lo FROM landing.lab_obx WHERE arrival_seq > $mark) USING (key_hi, key_lo)
WHERE collected_date IS NOT NULL
