"""`manifest.json`: what the generator planted, counted, so tests and reviewers can check the pipeline.

Message kinds: normal, late, preliminary, final_after_preliminary, correction, retraction,
duplicate_resend, the defects (missing_patient_id, missing_collection_time, non_numeric_value,
unknown_unit, unmapped_code) and non_oru. `expected_outcomes` is what contract section 3 implies a correct
reader records for them.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from hepwatch.synthetic.dosing_rows import DoseRow
from hepwatch.synthetic.lab_files import LabFile
from hepwatch.synthetic.lab_messages import MessagePlan
from hepwatch.synthetic.lab_profiles import LABS
from hepwatch.synthetic.population import Patient, Window

OBSERVATION_DEFECTS = ("missing_collection_time", "non_numeric_value", "unknown_unit", "unmapped_code")
SUBSTANCE_ALIASES = {"mitragyna speciosa": "kratom"}


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items()))


def message_counts(plans: list[MessagePlan], lab_files: list[LabFile]) -> dict:
    kinds = Counter(p.kind for p in plans)
    quarantined = kinds["missing_patient_id"]
    liver_lines: Counter[str] = Counter()
    for plan in plans:
        accepted = plan.kind not in ("missing_patient_id", "duplicate_resend", "non_oru")
        for block in plan.blocks:
            for line in block.lines:
                liver_lines["liver" if line.liver else "non_liver"] += 1
                liver_lines["in_accepted_messages"] += accepted
    defects: Counter[str] = Counter()
    for plan in plans:
        if plan.kind == "missing_collection_time":
            defects[plan.kind] += sum(line.liver for line in plan.blocks[0].lines)
        elif plan.kind in OBSERVATION_DEFECTS:
            defects[plan.kind] += 1
    garbage = [f.relative_path for f in lab_files if f.garbage_after is not None]
    return {
        "total": len(plans),
        "by_lab": _sorted(Counter(p.lab.name for p in plans)),
        "by_kind": _sorted(kinds),
        "by_type": _sorted(Counter(p.message_type for p in plans)),
        "not_hl7_blocks": len(garbage),
        "files_with_not_hl7_block": garbage,
        "expected_outcomes": {
            "accepted": len(plans) - kinds["non_oru"] - kinds["duplicate_resend"] - quarantined,
            "duplicate": kinds["duplicate_resend"],
            "ignored": kinds["non_oru"],
            "quarantined": quarantined + len(garbage),
        },
        "observations": {
            "total": liver_lines["liver"] + liver_lines["non_liver"],
            "liver": liver_lines["liver"],
            "non_liver": liver_lines["non_liver"],
            "in_accepted_messages": liver_lines["in_accepted_messages"],
            "liver_defects_in_accepted_messages": _sorted(defects),
        },
    }


def patient_counts(patients: list[Patient]) -> dict:
    return {
        "total": len(patients),
        "by_group": _sorted(Counter(p.group for p in patients)),
        "kratom_users": sum(1 for p in patients if p.kratom),
        "kratom_and_moud_from_start": sum(1 for p in patients if p.both_from_start),
        "with_second_kratom_episode": sum(1 for p in patients if len(p.kratom) > 1),
        "by_sex": _sorted(Counter(p.sex for p in patients)),
        "by_home_lab": _sorted(Counter(p.home_lab for p in patients)),
        "with_mild_rise": sum(1 for p in patients if p.mild_rise is not None),
        "never_tested": sum(1 for p in patients if not p.tests),
    }


def dosing_counts(rows: list[DoseRow], fixed: list[DoseRow], files: list[tuple[str, bytes, int]]) -> dict:
    kinds = Counter(r.kind for r in rows)
    valid = [r for r in rows if r.kind in ("dose", "other_substance")]
    substances = Counter(SUBSTANCE_ALIASES.get(r.substance.lower(), r.substance.lower()) for r in valid)
    return {
        "rows": len(rows) + len(fixed),
        "valid_rows": len(valid),
        "bad_rows": _sorted(
            Counter({k: v for k, v in kinds.items() if k not in ("dose", "other_substance")})
        ),
        "corrections": len(fixed),
        "other_substance": kinds["other_substance"],
        "by_substance": _sorted(substances),
        "by_file": {path: count for path, _, count in files},
    }


def lab_habits() -> dict:
    return {
        name: {
            "hl7_version": lab.version,
            "framing": lab.framing,
            "alt_code": lab.habits["ALT"].code,
            "enzyme_unit": lab.habits["ALT"].unit,
            "bilirubin_unit": lab.habits["TBIL"].unit,
            "alt_range": lab.habits["ALT"].range_text or None,
        }
        for name, lab in LABS.items()
    }


def arguments(seed: int, patients: int, days: int, start: date, window: Window) -> dict:
    return {
        "seed": seed,
        "patients": patients,
        "days": days,
        "start": start.isoformat(),
        "end": window.end.isoformat(),
    }
