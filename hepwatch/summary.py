"""The short summary `hepwatch run` and `make demo` print, read from the published database."""

from __future__ import annotations

from pathlib import Path

import duckdb

from hepwatch.warehouse import WarehousePaths


def run_summary(warehouse: Path, figures: dict[str, object]) -> str:
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
        held = conn.execute(
            "SELECT kind, reason, count(*) FROM marts.quarantine GROUP BY ALL ORDER BY kind, count(*) DESC"
        ).fetchall()
    lines = [
        f"hepwatch: {figures['days']} days ({figures['first_day']} to {figures['last_day']}) "
        f"built in {figures['seconds']:.1f} s",
        f"  results:     {results} current liver-panel results for {patients} patients "
        f"({', '.join(f'{a} {n}' for a, n in by_analyte)})",
    ]
    for kind, count, read, accepted, duplicates, ignored, quarantined in files:
        unit = "messages" if kind == "labs" else "rows"
        lines.append(
            f"  {kind + ':':12} {count} files, {read} {unit} read = {accepted} accepted + {duplicates} duplicates"
            f" + {ignored} ignored + {quarantined} quarantined"
        )
    if held:
        lines.append("  quarantined: " + ", ".join(f"{kind}/{reason} {n}" for kind, reason, n in held))
    lines += [
        f"  marts:       {paths.analytics}  (duckdb -readonly {paths.analytics})",
        f"  quarantine:  marts.quarantine there; raw payloads in {paths.restricted} (restricted, 0600)",
    ]
    return "\n".join(lines)
