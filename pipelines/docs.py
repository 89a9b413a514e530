"""The README's data dictionary and example analyst queries, generated from the published database.

`make docs` (`python -m pipelines.docs warehouse`) rewrites the marked sections of README.md: the
dictionary from the COMMENTs in analytics.duckdb (`duckdb_tables()`, `duckdb_columns()`), and each example
query (`pipelines/examples/*.sql`) with its output on the sample feeds. `make demo` runs with the public DEMO_PSEUDONYM_KEY so that
these outputs (patient keys included) are reproducible; real deployments never use it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import duckdb

from hepwatch.settings import EXAMPLES_DIR, PROJECT_ROOT

DEMO_PSEUDONYM_KEY = "hepwatch-demo-key-public-never-use-for-real-data"


def example_query_files() -> list[tuple[str, str]]:
    """(title, query) of each example query: `pipelines/examples/*.sql`, in name order, each starting with
    a `-- title` line."""
    queries = []
    for path in sorted(EXAMPLES_DIR.glob("*.sql")):
        first, _, query = path.read_text(encoding="utf-8").partition("\n")
        queries.append((first.removeprefix("--").strip(), query.strip()))
    return queries


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
    for title, query in example_query_files():
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
