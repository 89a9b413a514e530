-- staging.liver_observations: the current version of every liver-panel observation collected in
-- [$start, $end), mapped to its analyte and converted to canonical units with its ULN and x ULN, or the
-- reason it is quarantined.
--   current version: latest by MSH-7, then arrival, among final (F, C, U, empty) and retracting (X, D, W)
--     versions; waiting statuses (P, R, S, I, unknown) never replace a final one   (domain.md section 7)
--   analyte: LOINC code, else local code, else name, primary triplet before alternate (domain.md section 1);
--     OBX-4 when OBX-3 is empty (docs/hl7-reading.md)
--   ULN: OBX-7 upper bound converted like the value, else the default ULN          (domain.md section 2)
--   copies: the same observation twice in one message is one observation when the copies agree, and
--     quarantined (`conflicting_copies`) when they do not                           (docs/hl7-reading.md)
--   shifted fields: a number in OBX-4, a unit in OBX-5 and a range (or nothing) in OBX-6 is a row whose
--     fields slid one place left; it is quarantined (`shifted_fields`), never read  (docs/hl7-reading.md)
WITH touched AS (
    -- observation_key is the hex text of (key_hi, key_lo): the numbers are what joins and partitions use
    SELECT DISTINCT key_hi, key_lo
    FROM landing.lab_obx
    WHERE collected_date >= $start AND collected_date < $end
),
-- Every liver row of every message that carries a version of a touched observation: copies are judged
-- within a whole message.
messages AS (
    SELECT DISTINCT arrival_seq FROM landing.lab_obx SEMI JOIN touched USING (key_hi, key_lo)
),
-- The copy and version rules below work on narrow rows (ids, times and 64-bit hashes), and only the winners
-- are joined back to their full rows: window functions over 6 million wide rows were most of this table's
-- cost. A hash stands for the observation's identity within its message (what
-- hepwatch.hl7.identity hashes, without the repeat number) and for a copy's content; a collision
-- between two different identities in one message is a 1 in 2^64 event.
in_messages AS (
    SELECT
        arrival_seq, obx_index, key_hi, key_lo, message_time, result_status,
        count(*) OVER copies AS copies,
        row_number() OVER (copies ORDER BY obx_index) AS copy_no,
        min(content) OVER copies = max(content) OVER copies AS copies_agree
    FROM (
        SELECT
            arrival_seq, obx_index, key_hi, key_lo, message_time, result_status,
            hash(
                placer_order, filler_order, code_system, code, alt_system, alt_code,
                CASE WHEN coalesce(code, '') = '' AND coalesce(alt_code, '') = '' THEN code_text END, sub_id
            ) AS identity,
            hash(concat_ws(
                chr(31), value_type, value_text, unit, reference_range, abnormal_flags, result_status,
                CAST(collected_at AS VARCHAR)
            )) AS content
        FROM staging.mapped_observations
        -- the range first: zone maps skip the row groups of other messages (most of history, for a day)
        WHERE arrival_seq BETWEEN (SELECT min(arrival_seq) FROM messages) AND (SELECT max(arrival_seq) FROM messages)
            AND arrival_seq IN (SELECT arrival_seq FROM messages) AND (analyte IS NOT NULL OR liver_looking)
    )
    WINDOW copies AS (PARTITION BY arrival_seq, identity)
),
versions AS (
    SELECT
        o.*,
        CASE
            WHEN o.result_status IN ('F', 'C', 'U', '') THEN 'final'
            WHEN o.result_status IN ('X', 'D', 'W') THEN 'retracted'
            ELSE 'waiting'
        END AS status_class
    FROM in_messages AS o
    SEMI JOIN touched USING (key_hi, key_lo)
    WHERE o.copy_no = 1 OR NOT o.copies_agree  -- an agreeing copy is the observation once more
),
current_version AS (
    SELECT m.*, v.copies, v.copies_agree, v.status_class
    FROM (
        SELECT *
        FROM versions
        WHERE status_class <> 'waiting'
        QUALIFY row_number() OVER (
            PARTITION BY key_hi, key_lo ORDER BY message_time DESC NULLS LAST, arrival_seq DESC
        ) = 1
    ) AS v
    JOIN staging.mapped_observations AS m USING (arrival_seq, obx_index)
),
converted AS (
    SELECT
        m.*,
        u.factor,
        u.canonical_unit,
        m.value * u.factor AS canonical_value,
        coalesce(m.range_upper * u.factor, d.uln) AS uln,
        CASE
            WHEN m.range_upper * u.factor IS NOT NULL THEN 'range'
            WHEN d.uln IS NOT NULL THEN 'default'
        END AS uln_source,
        -- OBX-4 a number, OBX-5 a unit, OBX-6 a reference range or empty: OBX-4 is missing from the row
        -- (only asked of a value that is not a number: the patterns are the costliest part of this table)
        m.value_problem = 'non_numeric_value'
        AND regexp_full_match(trim(m.sub_id), '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)')
        AND (
            unit_key(m.value_text) IN (SELECT unit_key FROM ref.unit_conversions WHERE unit_key <> '')
            OR regexp_full_match(
                trim(m.value_text), '[A-Za-zµμ%\[][A-Za-z0-9µμ%^*.\[\]{}]*/[A-Za-z0-9µμ.\[\]{}]+'
            )
        )
        AND (
            trim(m.unit) = ''
            OR regexp_full_match(
                trim(m.unit), '[(\[]?\s*(<|<=|>|>=)?\s*[+-]?[0-9.]+(\s*(-|_|;|to)\s*[+-]?[0-9.]+)?\s*[)\]]?'
            )
        ) AS shifted_fields
    FROM current_version AS m
    LEFT JOIN ref.unit_conversions AS u ON u.analyte = m.analyte AND u.unit_key = m.unit_match_key
    LEFT JOIN ref.default_uln AS d ON d.analyte = m.analyte
    WHERE m.status_class = 'final'
)
SELECT
    observation_key,
    patient_key,
    analyte,
    CASE WHEN identified_by_sub_id THEN sub_id ELSE coalesce(nullif(code, ''), alt_code) END AS code,
    CASE WHEN nullif(code, '') IS NULL THEN alt_system ELSE code_system END AS code_system,
    coalesce(nullif(code_text, ''), alt_text) AS code_text,
    collected_at,
    collected_date,
    canonical_value AS value,
    canonical_unit AS unit,
    comparator,
    uln,
    uln_source,
    canonical_value / nullif(uln, 0) AS x_uln,
    nullif(abnormal_flags, '') AS abnormal_flags,
    coalesce(nullif(result_status, ''), 'F') AS result_status,
    sending_facility,
    control_id,
    message_time,
    arrival_seq,
    value_text AS value_as_sent,
    unit AS unit_as_sent,
    reference_range AS reference_range_as_sent,
    CASE
        WHEN analyte IS NULL THEN 'unmapped_liver_code'
        WHEN copies > 1 AND NOT copies_agree THEN 'conflicting_copies'
        WHEN value_repeats > 1 THEN 'multiple_values'
        WHEN value_problem = 'non_numeric_value' AND shifted_fields THEN 'shifted_fields'
        WHEN value_problem IS NOT NULL THEN value_problem
        WHEN value < 0 THEN 'negative_value'  -- no liver-panel quantity is below zero
        WHEN factor IS NULL THEN 'unknown_unit'
    END AS quarantine_reason
FROM converted
