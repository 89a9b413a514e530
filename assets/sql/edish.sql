-- marts.edish: one row per patient with at least one ALT and one TBIL result (FDA eDISH; domain.md 5):
-- x = peak ALT x ULN, y = peak TBIL x ULN; the quadrant from edish_quadrant (ref_tables.sql: lines at
-- `edish_alt_x_uln` and `edish_tbil_x_uln`, 3 and 2 by default).
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
SELECT *, edish_quadrant(peak_alt_xuln, peak_tbil_xuln) AS quadrant
FROM peaks
WHERE peak_alt_xuln IS NOT NULL AND peak_tbil_xuln IS NOT NULL
