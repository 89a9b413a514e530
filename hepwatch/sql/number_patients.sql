-- A warehouse from before landing.lab_patients keeps patient_key on every landing.lab_obx row (renamed
-- landing.lab_obx_keyed): number the keys, once, and keep the numbers.
INSERT INTO landing.lab_patients
SELECT row_number() OVER (ORDER BY patient_key), patient_key
FROM (SELECT DISTINCT patient_key FROM landing.lab_obx_keyed);

INSERT INTO landing.lab_obx BY NAME
SELECT o.* EXCLUDE (patient_key), p.patient_id
FROM landing.lab_obx_keyed AS o JOIN landing.lab_patients AS p USING (patient_key)
ORDER BY o.arrival_seq, o.obx_index;

DROP TABLE landing.lab_obx_keyed;
