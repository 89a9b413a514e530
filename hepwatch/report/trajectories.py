"""Trajectory charts of the patients a window's reports show: x ULN of ALT, AST, ALP and TBIL and kratom
doses, on days since the start of the latest kratom exposure episode; three queries for all of them."""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import defaultdict
from datetime import date

import duckdb

from hepwatch.report.svg import trajectory

ANALYTES = ("ALT", "AST", "ALP", "TBIL")


class Trajectories:
    def __init__(
        self, conn: duckdb.DuckDBPyConnection, patients: set[str], end: date, levels: tuple[float, ...]
    ) -> None:
        self.levels = levels
        self._json: dict[tuple[str, int], str] = {}
        self.starts: dict[str, list[date]] = defaultdict(list)
        self.results: dict[str, list[tuple[str, date, float]]] = defaultdict(list)
        self.kratom: dict[str, list[tuple[date, float]]] = defaultdict(list)
        if not patients:
            return
        params = {"p": sorted(patients), "end": end}
        for patient, episode_start in conn.execute(
            "SELECT patient_key, episode_start FROM staging.exposure_episodes "
            "WHERE list_contains($p, patient_key) AND episode_start < $end ORDER BY 1, 2",
            params,
        ).fetchall():
            self.starts[patient].append(episode_start)
        for patient, analyte, collected, x in conn.execute(
            "SELECT patient_key, analyte, collected_date, max(x_uln) FROM marts.lab_results WHERE list_contains("
            f"$p, patient_key) AND analyte IN {ANALYTES} AND collected_date < $end GROUP BY ALL ORDER BY 1, 3, 2",
            params,
        ).fetchall():
            self.results[patient].append((analyte, collected, x))
        for patient, dose_date, mg in conn.execute(
            "SELECT patient_key, dose_date, total_mg FROM marts.dosing_daily WHERE list_contains($p, patient_key) "
            "AND substance = 'kratom' AND dose_date < $end ORDER BY 1, 2",
            params,
        ).fetchall():
            self.kratom[patient].append((dose_date, mg))

    def chart(self, patient: str, day: date) -> str:
        """The patient's chart as of `day`: what was known then, from the latest exposure episode begun by then."""
        start = max((d for d in self.starts[patient] if d <= day), default=None)
        origin = start or day
        series: dict[str, list[tuple[int, float]]] = {a: [] for a in ANALYTES}
        for analyte, collected, x in self.results[patient]:
            if collected <= day:
                series[analyte].append(((collected - origin).days, x))
        doses = [((d - origin).days, mg / 1000) for d, mg in self.kratom[patient] if d <= day]
        label = (
            f"days since kratom start ({start})" if start else f"days relative to {day} (no kratom exposure)"
        )
        return trajectory(series, doses, label, f"{patient}: x ULN and kratom doses", self.levels)

    def series_json(self, patient: str, day: date) -> str:
        """The patient's x ULN results known on `day`, by analyte, as JSON {analyte: [[ISO date, x ULN], ...]}
        for the page's script; made once per patient and number of results (most days add none)."""
        results = self.results[patient]
        known = bisect_right([collected for _, collected, _ in results], day)
        cached = self._json.get((patient, known))
        if cached is None:
            found: dict[str, list[tuple[str, float]]] = {}
            for analyte, collected, x in results[:known]:
                found.setdefault(analyte, []).append((collected.isoformat(), round(x, 3)))
            cached = self._json[(patient, known)] = json.dumps(found, separators=(",", ":"))
        return cached
