-- Reference data as tables: the versioned analyte code map, unit conversions and default ULNs
-- (domain.md sections 1 and 2). Sources are cited per row in the CSVs under hepwatch/reference/.
CREATE OR REPLACE MACRO ref_key(s) AS upper(regexp_replace(coalesce(s, ''), '[^A-Za-z0-9]', '', 'g'));
CREATE OR REPLACE MACRO unit_key(s) AS
    lower(replace(replace(replace(trim(coalesce(s, '')), 'µ', 'u'), 'μ', 'u'), ' ', ''));

-- Every row of the code map files as written (several spellings may share one match key).
CREATE OR REPLACE TABLE ref.analyte_code_rows AS
SELECT
    kind,
    key,
    CASE WHEN kind = 'loinc' THEN trim(key) ELSE ref_key(key) END AS match_key,
    analyte,
    added_in,
    source,
    filename AS code_map_file
FROM read_csv($code_map_files, header = true, all_varchar = true, union_by_name = true, filename = true);

-- One row per match key: what the mapping joins on.
CREATE OR REPLACE TABLE ref.analyte_codes AS
SELECT kind, match_key, any_value(analyte) AS analyte, min(added_in) AS added_in, list(key) AS spellings
FROM ref.analyte_code_rows
GROUP BY kind, match_key;

CREATE OR REPLACE TABLE ref.unit_conversions AS
SELECT analyte, unit_key(unit) AS unit_key, CAST(factor AS DOUBLE) AS factor, canonical_unit, source
FROM read_csv($unit_file, header = true, all_varchar = true);

CREATE OR REPLACE TABLE ref.default_uln AS
SELECT analyte, CAST(uln AS DOUBLE) AS uln, unit, source
FROM read_csv($default_uln_file, header = true, all_varchar = true);

-- A liver-looking code that maps to nothing is reported, never silently dropped (domain.md section 1).
CREATE OR REPLACE MACRO liver_looking(code, code_text, alt_code, alt_text) AS regexp_matches(
    upper(concat_ws(' ', code, code_text, alt_code, alt_text)),
    '\b(ALT|AST|ALP|GGT|GGTP|SGPT|SGOT|ALAT|ASAT|ALKP|BILI\w*|\w*AMINOTRANSFERASE|\w*TRANSAMINASE|\w*PHOSPHATASE|GLUTAMYL\w*|ALBUMIN|INR)\b'
);

-- Every landed description (OBX-3, OBX-4 and the rest, each distinct combination once) with its analyte:
-- LOINC code, else local code, else name; the primary triplet of OBX-3 before the alternate one (domain.md
-- section 1). Analysers that leave OBX-3 empty and put their test mnemonic in OBX-4 (`OBX|8|ST||ALT|267|U/L`)
-- are mapped by OBX-4 as a local code, only when OBX-3 holds no text at all (docs/hl7-reading.md). Mapping
-- descriptions rather than observations runs the text matching a few thousand times, not millions.
CREATE OR REPLACE VIEW staging.mapped_descriptions AS
SELECT
    o.description_id,
    coalesce(l1.analyte, l2.analyte, k1.analyte, k2.analyte, t1.analyte, t2.analyte, s1.analyte) AS analyte,
    liver_looking(o.code, o.code_text, o.alt_code, o.alt_text)
        OR (ref_key(concat(o.code, o.code_text, o.alt_code, o.alt_text)) = ''
            AND liver_looking(o.sub_id, '', '', '')) AS liver_looking,
    -- OBX-3 holds no code or name: OBX-4 is what names the test
    ref_key(concat(o.code, o.code_text, o.alt_code, o.alt_text)) = '' AS identified_by_sub_id,
    unit_key(o.unit) AS unit_match_key
FROM landing.lab_descriptions AS o
LEFT JOIN ref.analyte_codes AS l1 ON l1.kind = 'loinc' AND l1.match_key = o.code
LEFT JOIN ref.analyte_codes AS l2 ON l2.kind = 'loinc' AND l2.match_key = o.alt_code
LEFT JOIN ref.analyte_codes AS k1 ON k1.kind = 'local' AND k1.match_key = ref_key(o.code)
LEFT JOIN ref.analyte_codes AS k2 ON k2.kind = 'local' AND k2.match_key = ref_key(o.alt_code)
LEFT JOIN ref.analyte_codes AS t1 ON t1.kind = 'local' AND t1.match_key = ref_key(o.code_text)
LEFT JOIN ref.analyte_codes AS t2 ON t2.kind = 'local' AND t2.match_key = ref_key(o.alt_text)
LEFT JOIN ref.analyte_codes AS s1 ON s1.kind = 'local' AND s1.match_key = ref_key(o.sub_id)
    AND ref_key(concat(o.code, o.code_text, o.alt_code, o.alt_text)) = '';

-- Every landed observation with the analyte of its description (and what is known of the description
-- alone, worked out once per description rather than per observation).
CREATE OR REPLACE VIEW staging.mapped_observations AS
SELECT o.*, m.analyte, m.liver_looking, m.identified_by_sub_id, m.unit_match_key
FROM landing.lab_observations_ids AS o
JOIN staging.mapped_descriptions AS m USING (description_id);

-- CTCAE v5.0 grading criteria as data: one row per term, basis (x ULN or x baseline) and grade, with exact
-- bounds (domain.md section 3; pharmaverse admiral keeps them the same way).
CREATE OR REPLACE TABLE ref.ctcae_grades AS
SELECT
    term,
    string_split(analytes, '|') AS analytes,
    basis,
    CAST(grade AS INTEGER) AS grade,
    CAST(lower AS DOUBLE) AS lower,
    CAST(lower_inclusive AS BOOLEAN) AS lower_inclusive,
    CAST(nullif(upper, '') AS DOUBLE) AS upper,
    CAST(upper_inclusive AS BOOLEAN) AS upper_inclusive,
    source
FROM read_csv($ctcae_file, header = true, all_varchar = true);

-- The same, one row per analyte: what grading joins to.
CREATE OR REPLACE VIEW ref.ctcae_grade_bounds AS
SELECT unnest(analytes) AS analyte, basis, grade, lower, lower_inclusive, upper, upper_inclusive
FROM ref.ctcae_grades;

-- Signal thresholds and windows (domain.md sections 4 to 6), overridable by HEPWATCH_THRESHOLDS.
CREATE OR REPLACE TABLE ref.signal_thresholds AS
SELECT name, CAST(arg_max(value, priority) AS DOUBLE) AS value, arg_max(source, priority) AS source
FROM (
    SELECT name, value, source, CASE WHEN filename = $thresholds_file THEN 1 ELSE 0 END AS priority
    FROM read_csv($threshold_files, header = true, all_varchar = true, union_by_name = true, filename = true)
)
GROUP BY name;

CREATE OR REPLACE MACRO threshold(threshold_name) AS (
    SELECT value FROM ref.signal_thresholds WHERE name = threshold_name
);

-- Whether a ratio lies within a grade's bounds (exact: domain.md section 3, "3.0 x ULN is grade 1").
CREATE OR REPLACE MACRO in_grade_bounds(ratio, lower, lower_inclusive, upper, upper_inclusive) AS
    (ratio > lower OR (lower_inclusive AND ratio = lower))
    AND (upper IS NULL OR ratio < upper OR (upper_inclusive AND ratio = upper));

-- The CTCAE grade of a ratio (x ULN or x baseline) for one analyte; 0 below grade 1 (the same bounds
-- abnormal_enzyme_cases_daily joins to).
CREATE OR REPLACE MACRO ctcae_grade(grade_analyte, grade_basis, ratio) AS (
    SELECT coalesce(max(g.grade), 0)
    FROM ref.ctcae_grade_bounds AS g
    WHERE g.analyte = grade_analyte
        AND g.basis = grade_basis
        AND in_grade_bounds(ratio, g.lower, g.lower_inclusive, g.upper, g.upper_inclusive)
);

-- Injury pattern from R (or nR): >= 5 hepatocellular, <= 2 cholestatic, between mixed (domain.md 4).
CREATE OR REPLACE MACRO injury_pattern(ratio) AS CASE
    WHEN ratio IS NULL THEN NULL
    WHEN ratio >= threshold('pattern_hepatocellular_r') THEN 'hepatocellular'
    WHEN ratio <= threshold('pattern_cholestatic_r') THEN 'cholestatic'
    ELSE 'mixed'
END;

-- The eDISH quadrant of a patient's peak ALT and TBIL x ULN (FDA eDISH; domain.md section 5): the one
-- statement of the rule, for marts.edish and the daily report alike.
CREATE OR REPLACE MACRO edish_quadrant(alt_x_uln, tbil_x_uln) AS CASE
    WHEN alt_x_uln >= threshold('edish_alt_x_uln') AND tbil_x_uln > threshold('edish_tbil_x_uln')
        THEN 'potential_hys_law'
    WHEN alt_x_uln >= threshold('edish_alt_x_uln') THEN 'temples_corollary'
    WHEN tbil_x_uln > threshold('edish_tbil_x_uln') THEN 'hyperbilirubinaemia'
    ELSE 'normal_range'
END;
