-- ingest_reconciles on the dosing feed: the dosing file versions whose rows read differ from their buckets
-- (accepted + quarantined) or from the rows landed.
WITH landed AS (
    SELECT file, sha256, count(*) AS n FROM landing.dosing_rows GROUP BY ALL
    UNION ALL
    SELECT file, sha256, count(*) FROM landing.dosing_quarantine GROUP BY ALL
)
SELECT f.file, f.sha256, f.messages AS read, f.accepted + f.quarantined AS in_buckets,
       coalesce(sum(l.n), 0) AS landed
FROM landing.file_versions AS f
LEFT JOIN landed AS l USING (file, sha256)
WHERE f.kind = 'dosing'
GROUP BY ALL
HAVING NOT (read = in_buckets AND read = landed)
ORDER BY f.file
