"""The clinical rules the report applies, in words, with the thresholds of `ref.signal_thresholds` (the ones
the marts use, overridable by HEPWATCH_THRESHOLDS): the stopping signals' labels and the definitions the
report prints under its sections."""

from __future__ import annotations

import duckdb

Thresholds = dict[str, float]


def read_thresholds(conn: duckdb.DuckDBPyConnection) -> Thresholds:
    return dict(conn.execute("SELECT name, value FROM ref.signal_thresholds").fetchall())


def _span(days: float) -> str:
    if days % 7 == 0:
        weeks = int(days // 7)
        return f"{weeks} week{'s' if weeks != 1 else ''}"
    return f"{days:g} days"


def stopping_signal_labels(t: Thresholds) -> dict[str, str]:
    """The label of each signal marts.stopping_signals names (FDA 2009; domain.md section 5)."""
    return {
        "peak": f"ALT or AST > {t['stopping_aminotransferase_x_uln']:g} x ULN",
        "sustained": f"ALT or AST > {t['stopping_sustained_x_uln']:g} x ULN for more than "
        f"{_span(t['stopping_sustained_days'])}",
        "with_tbil_or_inr": f"ALT or AST > {t['stopping_with_tbil_aminotransferase_x_uln']:g} x ULN with TBIL > "
        f"{t['stopping_tbil_x_uln']:g} x ULN or INR > {t['stopping_inr']:g}",
    }


def definitions(t: Thresholds) -> dict[str, str]:
    """The rules behind the report's flags, one sentence each, keyed by the flag."""
    return {
        "edish": f"eDISH lines at peak ALT {t['edish_alt_x_uln']:g} x ULN (at or above: right) and peak TBIL "
        f"{t['edish_tbil_x_uln']:g} x ULN (above: upper).",
        "hys_law": f"Potential Hy's law: some ALT or AST >= {t['hys_law_aminotransferase_x_uln']:g} x ULN and "
        f"some TBIL > {t['hys_law_tbil_x_uln']:g} x ULN in the last {t['hys_law_window_days']:g} days, and no "
        f"ALP >= {t['hys_law_alp_exclusion_x_uln']:g} x ULN in them.",
        "dili": f"DILI criteria: ALT >= {t['dili_alt_x_uln']:g} x ULN, or ALP >= {t['dili_alp_x_uln']:g} x ULN, "
        f"or ALT >= {t['dili_alt_with_tbil_x_uln']:g} x ULN with TBIL > {t['dili_tbil_x_uln']:g} x ULN, the "
        "same day (AST where a day has no ALT).",
        "stopping": "FDA stopping signals: " + "; ".join(stopping_signal_labels(t).values()) + ".",
    }
