"""The README's data dictionary and example analyst queries, generated from the published database.

`make docs` (`python -m pipelines.docs warehouse`) rewrites the marked sections of README.md: the
dictionary from the COMMENTs in analytics.duckdb (`duckdb_tables()`, `duckdb_columns()`), and each example
query with its output on the sample feeds. `make demo` runs with the public DEMO_PSEUDONYM_KEY so that
these outputs (patient keys included) are reproducible; real deployments never use it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import duckdb

from hepwatch.settings import PROJECT_ROOT

DEMO_PSEUDONYM_KEY = "hepwatch-demo-key-public-never-use-for-real-data"

EXAMPLE_QUERIES: list[tuple[str, str]] = [
    (
        "Case days by worst grade, per week",
        """SELECT date_trunc('week', case_date) AS week, max_grade, count(*) AS case_days
FROM marts.abnormal_enzyme_cases_daily
GROUP BY ALL ORDER BY week, max_grade
LIMIT 12""",
    ),
    (
        "Time from first kratom dose to the first grade 2+ ALT, per patient",
        """SELECT patient_key, min(days_since_kratom_start) AS days_to_first_grade2_alt
FROM marts.abnormal_enzyme_cases_daily
WHERE alt_grade >= 2 AND kratom_exposed
GROUP BY ALL ORDER BY days_to_first_grade2_alt, patient_key""",
    ),
    (
        "Patients in the potential Hy's law quadrant of eDISH",
        """SELECT patient_key, round(peak_alt_xuln, 1) AS peak_alt_xuln, peak_alt_date,
       round(peak_tbil_xuln, 1) AS peak_tbil_xuln, peak_tbil_date
FROM marts.edish WHERE quadrant = 'potential_hys_law' ORDER BY peak_alt_xuln DESC, patient_key""",
    ),
    (
        "Case rates with and without opioid treatment (MOUD) in the week before",
        """WITH tested AS (
    SELECT r.patient_key, r.collected_date,
           bool_or(d.substance IN ('methadone', 'buprenorphine')) AS on_moud
    FROM (SELECT DISTINCT patient_key, collected_date FROM marts.lab_results) r
    LEFT JOIN marts.dosing_daily d
      ON d.patient_key = r.patient_key AND d.dose_date BETWEEN r.collected_date - 6 AND r.collected_date
    GROUP BY ALL
)
SELECT coalesce(on_moud, false) AS on_moud, count(*) AS tested_days, count(c.case_date) AS case_days,
       round(100.0 * count(c.case_date) / count(*), 1) AS case_rate_pct
FROM tested t
LEFT JOIN marts.abnormal_enzyme_cases_daily c
  ON c.patient_key = t.patient_key AND c.case_date = t.collected_date
GROUP BY ALL ORDER BY on_moud""",
    ),
    (
        "Overdue liver-test monitoring",
        """SELECT reason, count(*) AS patients, max(days_overdue) AS most_days_overdue,
       round(avg(days_overdue), 1) AS mean_days_overdue
FROM marts.monitoring_gaps GROUP BY ALL ORDER BY reason""",
    ),
]


def _markdown(header: list[str], rows: list[tuple]) -> str:
    def cell(value: object) -> str:
        return "" if value is None else str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def data_dictionary(conn: duckdb.DuckDBPyConnection) -> str:
    parts = []
    tables = conn.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY table_name"
    ).fetchall()
    for table, comment in tables:
        columns = conn.execute(
            "SELECT column_name, data_type, comment FROM duckdb_columns() "
            "WHERE schema_name = 'marts' AND table_name = ? ORDER BY column_index",
            [table],
        ).fetchall()
        parts.append(
            f"#### marts.{table}\n\n{comment}\n\n" + _markdown(["column", "type", "meaning"], columns)
        )
    return "\n\n".join(parts)


def example_queries(conn: duckdb.DuckDBPyConnection) -> str:
    parts = []
    for title, query in EXAMPLE_QUERIES:
        result = conn.execute(query)
        header = [d[0] for d in result.description]
        rows = result.fetchall()
        parts.append(f"**{title}**\n\n```sql\n{query}\n```\n\n{_markdown(header, rows)}")
    return "\n\n".join(parts)


def replace_section(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"README.md has no {start} ... {end} section")
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)


def main(argv: list[str]) -> int:
    warehouse = Path(argv[0] if argv else PROJECT_ROOT / "warehouse")
    readme = PROJECT_ROOT / "README.md"
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as conn:
        text = readme.read_text(encoding="utf-8")
        text = replace_section(text, "data-dictionary", data_dictionary(conn))
        text = replace_section(text, "example-queries", example_queries(conn))
    readme.write_text(text, encoding="utf-8")
    print(f"updated {readme} from {warehouse / 'analytics.duckdb'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
