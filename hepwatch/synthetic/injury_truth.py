"""Ground truth for planted injuries, computed from the results actually written (domain.md sections 2-5).

x ULN uses each result's own OBX-7 upper limit, or the documented default when it sent none; potential
Hy's law is evaluated over [d-29, d] exactly as the marts define it, so the manifest states what a correct
pipeline must find rather than what the generator intended. The results are gathered as the day loop makes
them (`InjuryTruth.add`), a few numbers per day and injured patient.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

from hepwatch.synthetic.identities import CLINIC_AUTHORITY
from hepwatch.synthetic.lab_messages import MessagePlan
from hepwatch.synthetic.lab_profiles import DEFAULT_ULN
from hepwatch.synthetic.population import Patient
from hepwatch.synthetic.result_lines import ResultLine

DailyXUln = dict[date, dict[str, float]]  # collection date -> analyte -> peak x ULN that day


def _x_uln(plan: MessagePlan, line: ResultLine) -> float | None:
    if line.analyte is None or line.canonical is None or line.analyte not in DEFAULT_ULN:
        return None
    habit = plan.lab.habits[line.analyte]
    limit = habit.high / habit.per_canonical if line.reference_range and habit.high else None
    return line.canonical / (limit or DEFAULT_ULN[line.analyte])


class InjuryTruth:
    """Per injured patient: each day's peak x ULN by analyte, each analyte's peak value, liver results sent."""

    def __init__(self) -> None:
        self.days: dict[int, DailyXUln] = defaultdict(lambda: defaultdict(dict))
        self.peaks: dict[int, dict[str, float]] = defaultdict(dict)
        self.liver_results: Counter[int] = Counter()

    def add(self, patient: Patient, plan: MessagePlan) -> None:
        days, peaks = self.days[patient.index], self.peaks[patient.index]
        for block in plan.blocks:
            day = date(int(block.collected[:4]), int(block.collected[4:6]), int(block.collected[6:8]))
            for line in block.lines:
                self.liver_results[patient.index] += line.liver
                x = _x_uln(plan, line)
                if x is None or line.analyte is None or line.canonical is None:
                    continue
                days[day][line.analyte] = max(x, days[day].get(line.analyte, 0.0))
                peaks[line.analyte] = max(line.canonical, peaks.get(line.analyte, 0.0))

    def record(self, patient: Patient) -> dict:
        return injury_record(
            patient,
            self.days.get(patient.index, {}),
            self.peaks.get(patient.index, {}),
            self.liver_results[patient.index],
        )


def potential_hys_law(days: DailyXUln) -> bool:
    """Some day d with ALT or AST >= 3 x ULN and TBIL > 2 x ULN in [d-29, d], and no ALP >= 2 x ULN there."""
    for day in days:
        window = [v for d, v in days.items() if day - timedelta(days=29) <= d <= day]
        transaminase = any(max(v.get("ALT", 0), v.get("AST", 0)) >= 3 for v in window)
        bilirubin = any(v.get("TBIL", 0) > 2 for v in window)
        if transaminase and bilirubin and not any(v.get("ALP", 0) >= 2 for v in window):
            return True
    return False


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def injury_record(patient: Patient, days: DailyXUln, peaks: dict[str, float], liver_results: int) -> dict:
    injury = patient.injury
    assert injury is not None
    at_peak = days.get(injury.peak_date, {})  # the schedule always tests on the peak date
    return {
        "patient_id": patient.mrn,
        "id_authority": CLINIC_AUTHORITY,
        "pattern": injury.pattern,
        "design": injury.variant,
        "kratom_start": injury.kratom_start.isoformat(),
        "kratom_last_dose": injury.last_dose.isoformat(),
        "onset_date": injury.onset.isoformat(),
        "latency_days": injury.latency_days,
        "peak_date": injury.peak_date.isoformat(),
        "lab": patient.home_lab,
        "hys_law": potential_hys_law(days),
        "peak_alt": _rounded(peaks.get("ALT"), 1),
        "peak_ast": _rounded(peaks.get("AST"), 1),
        "peak_alp": _rounded(peaks.get("ALP"), 1),
        "peak_tbil": _rounded(peaks.get("TBIL"), 2),
        "peak_alt_xuln": _rounded(max((v["ALT"] for v in days.values() if "ALT" in v), default=None), 2),
        "r_at_peak": _rounded(at_peak["ALT"] / at_peak["ALP"], 2) if {"ALT", "ALP"} <= set(at_peak) else None,
        "liver_results_written": liver_results,
    }
