-- Overdue liver-test monitoring
SELECT reason, count(*) AS patients, max(days_overdue) AS most_days_overdue,
       round(avg(days_overdue), 1) AS mean_days_overdue
FROM marts.monitoring_gaps GROUP BY ALL ORDER BY reason
