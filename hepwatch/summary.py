"""The short summary `hepwatch run` and `make demo` print, read from the published database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from hepwatch.warehouse import WarehousePaths, read_sql


def run_summary(warehouse: Path, figures: dict[str, Any]) -> str:
    paths = WarehousePaths(warehouse)
    with duckdb.connect(str(paths.analytics), read_only=True) as conn:

        def value(query: str) -> object:
            return conn.execute(query).fetchall()[0][0]

        results = value("SELECT count(*) FROM marts.lab_results")
        patients = value("SELECT count(DISTINCT patient_key) FROM marts.lab_results")
        by_analyte = conn.execute(
            "SELECT analyte, count(*) FROM marts.lab_results GROUP BY ALL ORDER BY analyte"
        ).fetchall()
        files = conn.execute(
            "SELECT kind, count(*), sum(messages), sum(accepted), sum(duplicates), sum(ignored), sum(quarantined) "
            "FROM marts.feed_files GROUP BY ALL ORDER BY kind"
        ).fetchall()
        cases = conn.execute(read_sql("summary_cases.sql")).fetchall()[0]
        by_grade = conn.execute(
            "SELECT max_grade, count(*) FROM marts.abnormal_enzyme_cases_daily GROUP BY ALL ORDER BY 1"
        ).fetchall()
        gaps = conn.execute(
            "SELECT reason, count(*) FROM marts.monitoring_gaps GROUP BY ALL ORDER BY 1"
        ).fetchall()
        edish = conn.execute("SELECT quadrant, count(*) FROM marts.edish GROUP BY ALL ORDER BY 1").fetchall()
        held = conn.execute(
            "SELECT kind, reason, count(*) FROM marts.quarantine GROUP BY ALL ORDER BY kind, count(*) DESC"
        ).fetchall()
        unreadable = conn.execute(
            "SELECT file, unreadable_reason FROM marts.feed_files WHERE status = 'unreadable' ORDER BY file"
        ).fetchall()
    if figures["days"]:
        headline = (
            f"hepwatch: {figures['days']} days with data ({figures['first_day']} to {figures['last_day']}), "
            f"{figures.get('built_days', figures['days'])} of them built, in {figures['seconds']:.1f} s"
        )
    else:
        headline = f"hepwatch: no dated results or doses in the feeds, in {figures['seconds']:.1f} s"
    lines = [
        headline,
        f"  results:     {results} current liver-panel results for {patients} patients "
        f"({', '.join(f'{a} {n}' for a, n in by_analyte)})",
    ]
    case_days, case_patients, new_cases, hys_law, dili, exposed = cases
    lines += [
        f"  cases:       {case_days} case days for {case_patients} patients ({exposed} while kratom-exposed); "
        f"{new_cases} new cases",
        "  by grade:    " + ", ".join(f"grade {grade}: {n} days" for grade, n in by_grade),
        f"  signals:     {hys_law} patients with potential Hy's law, {dili} meeting DILI criteria; eDISH "
        + ", ".join(f"{quadrant} {n}" for quadrant, n in edish),
        "  monitoring:  " + (", ".join(f"{reason} {n}" for reason, n in gaps) or "no gaps"),
    ]
    for kind, count, read, accepted, duplicates, ignored, quarantined in files:
        unit = "messages" if kind == "labs" else "rows"
        lines.append(
            f"  {kind + ':':12} {count} files, {read} {unit} read = {accepted} accepted + {duplicates} duplicates"
            f" + {ignored} ignored + {quarantined} quarantined"
        )
    if held:
        lines.append("  quarantined: " + ", ".join(f"{kind}/{reason} {n}" for kind, reason, n in held))
    if unreadable:
        lines.append("  unreadable:  " + "; ".join(f"{file} ({reason})" for file, reason in unreadable))
    checks = figures.get("checks", {})
    outcome = {
        status: sorted(f"{name} on {asset}" for (asset, name), s in checks.items() if s == status)
        for status in ("warn", "error")
    }
    lines.append(
        f"  checks:      {sum(s == 'passed' for s in checks.values())} passed, "
        + ", ".join(
            f"{len(outcome[status])} {label}"
            + (f" ({'; '.join(outcome[status])})" if outcome[status] else "")
            for status, label in (("warn", "warnings"), ("error", "errors"))
        )
        if checks or figures.get("built_days") != 0
        else "  checks:      none run (nothing changed; the last run's results stand in the UI and the report)"
    )
    lines += [
        f"  marts:       {paths.analytics}  (duckdb -readonly {paths.analytics})",
        f"  quarantine:  marts.quarantine there; raw payloads in {paths.restricted} (restricted, 0600)",
        f"  report:      {paths.reports / 'latest.html'}  (one per day with data in {paths.reports})"
        if figures["days"]
        else "  report:      none (no day with data)",
    ]
    return "\n".join(lines)
