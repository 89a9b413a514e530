"""One lab's way of writing one result as an OBX line: value, unit, range, flag, value type.

Values are converted from canonical units into the lab's unit and rounded the way that lab reports them;
the OBX-8 flag is computed against the lab's own range (domain.md section 7), so a flag always agrees with
the range the lab sends.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hepwatch.synthetic.lab_profiles import ENZYMES, LIVER_ANALYTES, AnalyteHabit, LabProfile


@dataclass(slots=True)
class ResultLine:
    """The content of one OBX segment, plus the ground truth it was made from."""

    analyte: str | None  # None for a liver-looking code that maps to no analyte
    code: str  # OBX-3
    value_type: str  # OBX-2
    value: str  # OBX-5
    unit: str  # OBX-6
    reference_range: str  # OBX-7
    flags: str  # OBX-8
    status: str  # OBX-11
    observed_at: str = ""  # OBX-14
    note: str = ""  # an NTE after the OBX
    canonical: float | None = None  # the value as written, back in canonical units

    @property
    def liver(self) -> bool:
        return self.analyte is None or self.analyte in LIVER_ANALYTES


def format_number(habit: AnalyteHabit, value: float) -> str:
    # European labs keep two to three decimals for ukat/L
    decimals = (3 if value < 1 else 2) if habit.unit == "ukat/L" else habit.decimals
    smallest = 10.0**-decimals
    return f"{value if value > smallest else smallest:.{decimals}f}"


def abnormal_flag(lab: LabProfile, analyte: str, value: float) -> str:
    """H / HH / L against the lab's own range, else the lab's normal flag; no range at all means no flag."""
    habit = lab.habits[analyte]
    if habit.high is not None and value > habit.high:
        critical = 5 if analyte in ENZYMES else 3
        return "HH" if value > critical * habit.high else "H"
    if habit.low is not None and value < habit.low:
        return "L"
    return lab.normal_flag if habit.high is not None else ""


def result_line(
    rng: random.Random, lab: LabProfile, analyte: str, canonical: float, status: str, observed_at: str
) -> ResultLine:
    habit = lab.habits[analyte]
    lab_value = canonical * habit.per_canonical
    text = format_number(habit, lab_value)
    written = float(text)
    value_type = lab.value_type
    if value_type == "mixed":
        value_type = "NM" if rng.random() < 0.7 else ""  # some device feeds leave OBX-2 empty
    if lab.reportable_max is not None and lab_value > lab.reportable_max and analyte in ENZYMES:
        written = lab.reportable_max
        limit = format_number(habit, written)
        text, value_type = (f">{limit}", "ST") if lab.value_type == "ST" else (f">^{limit}", "SN")
    reference_range = habit.range_text
    if reference_range and lab.no_range_share and rng.random() < lab.no_range_share:
        reference_range = ""
    flags = abnormal_flag(lab, analyte, written) if habit.high is not None or habit.low is not None else ""
    observed = observed_at if lab.sends_obx14 else ""
    line = ResultLine(
        analyte, habit.code, value_type, text, habit.unit, reference_range, flags, status, observed
    )
    line.canonical = written / habit.per_canonical
    return line
