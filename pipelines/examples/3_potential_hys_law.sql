-- Patients in the potential Hy's law quadrant of eDISH
SELECT patient_key, round(peak_alt_xuln, 1) AS peak_alt_xuln, peak_alt_date,
       round(peak_tbil_xuln, 1) AS peak_tbil_xuln, peak_tbil_date
FROM marts.edish WHERE quadrant = 'potential_hys_law' ORDER BY peak_alt_xuln DESC, patient_key
