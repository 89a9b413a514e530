-- Drop the records of rebuilt windows that both the publish and the reports have taken in.
DELETE FROM landing.window_builds WHERE built_at <= least(
    (SELECT CAST(value AS TIMESTAMP) FROM landing.pending_marks WHERE name = 'published_at'),
    (SELECT CAST(value AS TIMESTAMP) FROM landing.pending_marks WHERE name = 'reported_at')
);
