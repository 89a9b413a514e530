-- marts.feed_files: one row per feed file read, with the counts of its latest version (contract 4).
SELECT
    file,
    kind,
    sha256,
    min(ingested_at) OVER (PARTITION BY file) AS first_ingested_at,
    messages,
    accepted,
    duplicates,
    ignored,
    quarantined,
    CASE
        WHEN unreadable_reason IS NOT NULL THEN 'unreadable'
        WHEN quarantined > 0 THEN 'partly_quarantined'
        ELSE 'ok'
    END AS status,
    unreadable_reason
FROM landing.file_versions
QUALIFY row_number() OVER (PARTITION BY file ORDER BY ingest_seq DESC) = 1
