-- The last date in the data: the latest lab collection date or dose date (the as-of date of the marts that
-- are "as of today": monitoring_gaps, action_list).
SELECT max(d) AS last_day FROM (
    SELECT max(collected_date) AS d FROM marts.lab_results
    UNION ALL SELECT max(dose_date) FROM staging.dosing_records
)
