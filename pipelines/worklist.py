"""`hepwatch worklist [--date D]`: the day's prioritised action list with each patient's identifier, for the
clinicians who act on it (contract section 1).

The list is marts.action_list's query (assets/sql/action_list.sql) as of the day, joined to the restricted
store's patient map. It is printed and written as CSV only beside phi.duckdb, readable by its owner alone
(0600): the identifiers never reach analytics.duckdb, the reports, the logs or Dagster.
"""

from __future__ import annotations

import csv
import os
import sys
from datetime import date, timedelta
from pathlib import Path

from hepwatch.warehouse import WarehousePaths, connect, private_files, read_sql

COLUMNS = (
    "rank",
    "priority",
    "id_authority",
    "patient_id",
    "patient_key",
    "reasons",
    "latest_alt_xuln",
    "latest_ast_xuln",
    "latest_alp_xuln",
    "latest_tbil_xuln",
    "latest_result_date",
    "amino_trend",
    "days_since_kratom_start",
    "kratom_7d_g",
    "kratom_prior_28d_g",
    "days_overdue",
    "rules",
)
SHOWN = ("rank", "priority", "id_authority", "patient_id", "reasons")


class WorklistError(Exception):
    """The worklist cannot be made; the message says why in one line."""


def worklist(warehouse: Path, day: date | None = None) -> tuple[date, list[dict[str, object]], Path]:
    """The action list as of `day` (default: the last date in the data) with identifiers, and the 0600 CSV
    written beside the restricted store."""
    paths = WarehousePaths(warehouse)
    if not paths.internal.exists():
        raise WorklistError(f"no warehouse at {warehouse}: run `hepwatch run` first")
    window = {"start": day, "end": day + timedelta(days=1) if day else None}
    with connect(warehouse) as conn:
        query = conn.execute(
            f"SELECT a.*, m.id_authority, m.patient_id FROM ({read_sql('action_list.sql')}) AS a "
            "LEFT JOIN phi.patient_map AS m USING (patient_key) ORDER BY a.rank",
            window,
        )
        names = [d[0] for d in query.description]
        found = [dict(zip(names, row, strict=True)) for row in query.fetchall()]
        if day is None:
            day = found[0]["as_of_date"] if found else conn.execute(read_sql("last_day.sql")).fetchall()[0][0]
    if day is None:
        raise WorklistError("the warehouse holds no dated lab result or dose yet")
    out = paths.restricted.with_name(f"worklist-{day.isoformat()}.csv")
    with private_files(), open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(found)
    os.chmod(out, 0o600)
    return day, found, out


def format_worklist(day: date, rows: list[dict[str, object]], out: Path) -> str:
    if not rows:
        return f"hepwatch worklist {day}: nobody needs action today. ({out})"
    widths = {c: max(len(c), *(len(str(r[c] or "")) for r in rows)) for c in SHOWN[:-1]}
    header = "  ".join(c.ljust(widths[c]) for c in SHOWN[:-1]) + "  reasons"
    people = f"{len(rows)} patient{'s' if len(rows) != 1 else ''}"
    lines = [f"hepwatch worklist {day}: {people}, most urgent first", header]
    for r in rows:
        lines.append("  ".join(str(r[c] or "").ljust(widths[c]) for c in SHOWN[:-1]) + f"  {r['reasons']}")
    lines.append(f"written to {out} (readable by you alone; it names patients: do not share it)")
    return "\n".join(lines)


def print_worklist(warehouse: Path, day: date | None) -> int:
    """`hepwatch worklist`: 0 when printed, 1 with a one-line reason when it cannot be made."""
    try:
        found_day, rows, out = worklist(warehouse, day)
    except WorklistError as failure:
        print(f"hepwatch worklist: {failure}", file=sys.stderr)
        return 1
    try:
        print(format_worklist(found_day, rows, out))
    except BrokenPipeError:  # `| head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
