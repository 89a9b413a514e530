-- Exact eDISH quadrant counts as changes: +1 on the day a state starts, -1 on the day it ends.
SELECT valid_from AS day, quadrant, count(*) AS change FROM report_edish_states GROUP BY ALL
UNION ALL
SELECT valid_to, quadrant, -count(*) FROM report_edish_states GROUP BY ALL
