"""The report's HTML: the page template, its CSS, and the quarantine and check status section."""

from __future__ import annotations

from html import escape

import duckdb

STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.card b { display: block; font-size: 22px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; font-size: 13px; }
tr.warn td { background: #fff4d6; } tr.error td { background: #fbdcdc; }
.patient { margin: 12px 0; }
.rule { font-size: 12px; color: #555; }
table.actions tr.p1 td { background: #fbdcdc; } table.actions tr.p2 td { background: #fde7d4; }
table.actions tr.p3 td { background: #fff4d6; }
#edish figcaption { font-size: 12px; } #edish label { margin-right: 8px; }
#edish-tip { font-size: 12px; min-height: 16px; color: #333; }
"""


def status(conn: duckdb.DuckDBPyConnection, checks: list[tuple[str, str, str]]) -> str:
    """Quarantine and checks: the feed ledger, what was held back and why, each check's latest status."""
    held = conn.execute(
        "SELECT kind, reason, count(*) FROM marts.quarantine GROUP BY ALL ORDER BY 1, 3 DESC"
    ).fetchall()
    ledger = conn.execute(
        "SELECT kind, count(*), sum(messages), sum(accepted), sum(duplicates), sum(ignored), sum(quarantined) "
        "FROM marts.feed_files GROUP BY ALL ORDER BY 1"
    ).fetchall()
    parts = ["<h2>Quarantine and checks</h2><table><tr><th>feed</th><th>files</th><th>read</th>"
             "<th>accepted</th><th>duplicates</th><th>ignored</th><th>quarantined</th></tr>"]  # fmt: skip
    parts += ["<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in ledger]
    parts.append("</table><table><tr><th>held back</th><th>reason</th><th>count</th></tr>")
    parts += [
        f'<tr><td>{escape(kind)}</td><td>{escape(reason)}</td><td data-metric="quarantine:{escape(kind)}:'
        f'{escape(reason)}">{n}</td></tr>'
        for kind, reason, n in held
    ]
    parts.append("</table>")
    if checks:
        parts.append("<table><tr><th>asset</th><th>check</th><th>status</th></tr>")
        parts += [
            f'<tr class="{escape(status)}"><td>{escape(asset)}</td><td>{escape(name)}</td>'
            f"<td>{escape(status)}</td></tr>"
            for asset, name, status in checks
        ]
        parts.append("</table>")
    return "".join(parts)


def rule(name: str, text: str) -> str:
    """A definition the report applied, readable back by `data-rule`."""
    return f'<p class="rule" data-rule="{escape(name)}">{escape(text)}</p>'


def page(title: str, sections: list[str]) -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>" + "".join(sections) + "</body></html>"
    )
