-- parser_agreement's sample: per day in [$start, $end), the first $per_day messages behind its observations
-- by a hash of file and position (deterministic), at most $most in all.
WITH messages AS (
    SELECT DISTINCT o.collected_date AS day, m.file, m.sha256, m.message_index, m.line, m.control_id
    FROM staging.liver_observations AS o
    JOIN landing.lab_messages AS m USING (arrival_seq)
    WHERE o.collected_date >= $start AND o.collected_date < $end
),
per_day AS (
    SELECT *, md5(file || ':' || message_index) AS draw
    FROM messages
    QUALIFY row_number() OVER (PARTITION BY day ORDER BY draw) <= $per_day
)
SELECT DISTINCT file, sha256, message_index, line, control_id, draw FROM per_day
ORDER BY draw
LIMIT $most
