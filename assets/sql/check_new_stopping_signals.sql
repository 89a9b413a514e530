-- new_fda_stopping_signals: FDA stopping signals (marts.stopping_signals) on a day in [$start, $end) that the
-- patient did not already have, of the same kind, in the `new_case_lookback_days` (30) days before it.
SELECT s.patient_key, s.signal_date, s.signal, s.amino_xuln, s.tbil_xuln, s.inr
FROM marts.stopping_signals AS s
WHERE s.signal_date >= $start AND s.signal_date < $end
    AND NOT EXISTS (
        SELECT 1 FROM marts.stopping_signals AS p
        WHERE p.patient_key = s.patient_key AND p.signal = s.signal AND p.signal_date < s.signal_date
            AND p.signal_date >= s.signal_date - CAST(threshold('new_case_lookback_days') AS INTEGER)
    )
ORDER BY s.signal_date, s.patient_key, s.signal
