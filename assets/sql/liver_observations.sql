-- staging.liver_observations: the current version of every liver-panel observation collected in
-- [$start, $end), mapped to its analyte and converted to canonical units with its ULN and x ULN, or the
-- reason it is quarantined.
--   current version: latest by MSH-7, then arrival, among final (F, C, U, empty) and retracting (X, D, W)
--     versions; waiting statuses (P, R, S, I, unknown) never replace a final one   (domain.md section 7)
--   analyte: LOINC code, else local code, else name, primary triplet before alternate (domain.md section 1)
--   ULN: OBX-7 upper bound converted like the value, else the default ULN          (domain.md section 2)
WITH touched AS (
    SELECT DISTINCT observation_key
    FROM landing.lab_observations
    WHERE collected_date >= $start AND collected_date < $end
),
versions AS (
    SELECT
        o.*,
        CASE
            WHEN o.result_status IN ('F', 'C', 'U', '') THEN 'final'
            WHEN o.result_status IN ('X', 'D', 'W') THEN 'retracted'
            ELSE 'waiting'
        END AS status_class
    FROM staging.mapped_observations AS o
    SEMI JOIN touched USING (observation_key)
    WHERE o.analyte IS NOT NULL OR o.liver_looking
),
current_version AS (
    SELECT *
    FROM versions
    WHERE status_class <> 'waiting'
    QUALIFY row_number() OVER (
        PARTITION BY observation_key ORDER BY message_time DESC NULLS LAST, arrival_seq DESC
    ) = 1
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
        END AS uln_source
    FROM current_version AS m
    LEFT JOIN ref.unit_conversions AS u ON u.analyte = m.analyte AND u.unit_key = unit_key(m.unit)
    LEFT JOIN ref.default_uln AS d ON d.analyte = m.analyte
    WHERE m.status_class = 'final'
)
SELECT
    observation_key,
    patient_key,
    analyte,
    coalesce(nullif(code, ''), alt_code) AS code,
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
        WHEN value_repeats > 1 THEN 'multiple_values'
        WHEN value_problem IS NOT NULL THEN value_problem
        WHEN value < 0 THEN 'negative_value'  -- no liver-panel quantity is below zero
        WHEN factor IS NULL THEN 'unknown_unit'
    END AS quarantine_reason
FROM converted
