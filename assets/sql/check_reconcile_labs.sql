-- ingest_reconciles on the lab feed: the lab file versions whose messages read differ from their buckets
-- (accepted + duplicates + ignored + quarantined) or from the messages landed.
SELECT f.file, f.sha256, f.messages AS read,
       f.accepted + f.duplicates + f.ignored + f.quarantined AS in_buckets,
       count(m.message_index) AS landed
FROM landing.file_versions AS f
LEFT JOIN landing.lab_messages AS m USING (file, sha256)
WHERE f.kind = 'labs'
GROUP BY ALL
HAVING NOT (read = in_buckets AND read = landed)
ORDER BY f.file
