-- Rows with landing.lab_observations' columns (the view hepwatch_incoming_observations) into the normalised
-- landing tables: new descriptions, the messages' orders, new patients, then the observations that refer to
-- them. observation_key's first 32 hex digits become key_hi and key_lo.
INSERT INTO landing.lab_descriptions
SELECT (SELECT coalesce(max(description_id), 0) FROM landing.lab_descriptions) + row_number() OVER (), *
FROM (
    SELECT DISTINCT code, code_text, code_system, alt_code, alt_text, alt_system, sub_id, unit, reference_range,
        range_upper, abnormal_flags, result_status
    FROM hepwatch_incoming_observations
    EXCEPT
    SELECT code, code_text, code_system, alt_code, alt_text, alt_system, sub_id, unit, reference_range,
        range_upper, abnormal_flags, result_status
    FROM landing.lab_descriptions
);

CREATE OR REPLACE TEMP TABLE hepwatch_orders AS
SELECT (SELECT coalesce(max(order_id), 0) FROM landing.lab_orders) + row_number() OVER () AS order_id, *
FROM (
    SELECT DISTINCT arrival_seq, placer_order, filler_order, report_time, order_status
    FROM hepwatch_incoming_observations
);

INSERT INTO landing.lab_orders
SELECT order_id, placer_order, filler_order, report_time, order_status FROM hepwatch_orders;

INSERT INTO landing.lab_patients
SELECT (SELECT coalesce(max(patient_id), 0) FROM landing.lab_patients) + row_number() OVER (), patient_key
FROM (
    SELECT DISTINCT patient_key FROM hepwatch_incoming_observations
    EXCEPT
    SELECT patient_key FROM landing.lab_patients
);

INSERT INTO landing.lab_obx BY NAME
SELECT s.arrival_seq, s.obx_index, ('0x' || left(s.observation_key, 16))::UBIGINT AS key_hi,
    ('0x' || substr(s.observation_key, 17, 16))::UBIGINT AS key_lo, p.patient_id, o.order_id, d.description_id,
    s.collected_at, s.collected_date, s.value_type, s.value_text, s.value_repeats, s.value, s.comparator,
    s.value_problem
FROM hepwatch_incoming_observations AS s
JOIN hepwatch_orders AS o
    ON o.arrival_seq = s.arrival_seq
    AND o.placer_order IS NOT DISTINCT FROM s.placer_order
    AND o.filler_order IS NOT DISTINCT FROM s.filler_order
    AND o.report_time IS NOT DISTINCT FROM s.report_time
    AND o.order_status IS NOT DISTINCT FROM s.order_status
JOIN landing.lab_descriptions AS d
    ON d.code IS NOT DISTINCT FROM s.code
    AND d.code_text IS NOT DISTINCT FROM s.code_text
    AND d.code_system IS NOT DISTINCT FROM s.code_system
    AND d.alt_code IS NOT DISTINCT FROM s.alt_code
    AND d.alt_text IS NOT DISTINCT FROM s.alt_text
    AND d.alt_system IS NOT DISTINCT FROM s.alt_system
    AND d.sub_id IS NOT DISTINCT FROM s.sub_id
    AND d.unit IS NOT DISTINCT FROM s.unit
    AND d.reference_range IS NOT DISTINCT FROM s.reference_range
    AND d.range_upper IS NOT DISTINCT FROM s.range_upper
    AND d.abnormal_flags IS NOT DISTINCT FROM s.abnormal_flags
    AND d.result_status IS NOT DISTINCT FROM s.result_status
JOIN landing.lab_patients AS p ON p.patient_key = s.patient_key;

DROP TABLE hepwatch_orders;
