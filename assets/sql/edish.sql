-- marts.edish: one row per patient with at least one ALT and one TBIL result (FDA eDISH; domain.md 5):
-- x = peak ALT x ULN, y = peak TBIL x ULN; quadrants split at ALT >= 3 and TBIL > 2.
-- A peak reached on several days is dated by its first day.
WITH peak_rows AS (
    SELECT patient_key, analyte, x_uln, collected_date
    FROM marts.lab_results
    WHERE analyte IN ('ALT', 'TBIL')
    QUALIFY row_number() OVER (
        PARTITION BY patient_key, analyte ORDER BY x_uln DESC, collected_date, collected_at
    ) = 1
),
peaks AS (
    SELECT
        patient_key,
        max(x_uln) FILTER (WHERE analyte = 'ALT') AS peak_alt_xuln,
        max(collected_date) FILTER (WHERE analyte = 'ALT') AS peak_alt_date,
        max(x_uln) FILTER (WHERE analyte = 'TBIL') AS peak_tbil_xuln,
        max(collected_date) FILTER (WHERE analyte = 'TBIL') AS peak_tbil_date
    FROM peak_rows
    GROUP BY patient_key
)
SELECT
    *,
    CASE
        WHEN peak_alt_xuln >= threshold('edish_alt_x_uln') AND peak_tbil_xuln > threshold('edish_tbil_x_uln')
            THEN 'potential_hys_law'
        WHEN peak_alt_xuln >= threshold('edish_alt_x_uln') THEN 'temples_corollary'
        WHEN peak_tbil_xuln > threshold('edish_tbil_x_uln') THEN 'hyperbilirubinaemia'
        ELSE 'normal_range'
    END AS quadrant
FROM peaks
WHERE peak_alt_xuln IS NOT NULL AND peak_tbil_xuln IS NOT NULL
