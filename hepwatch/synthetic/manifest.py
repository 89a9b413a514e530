"""`manifest.json`: what the generator planted, counted as it was written, so tests and reviewers can check
the pipeline.

Message kinds: normal, late, preliminary, final_after_preliminary, correction, retraction,
duplicate_resend, the defects (missing_patient_id, missing_collection_time, non_numeric_value,
unknown_unit, unmapped_code) and non_oru. `expected_outcomes` is what contract section 3 implies a correct
reader records for them.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from hepwatch.synthetic.dosing_rows import DoseRow
from hepwatch.synthetic.lab_messages import MessagePlan
from hepwatch.synthetic.lab_profiles import LABS
from hepwatch.synthetic.population import Window

OBSERVATION_DEFECTS = ("missing_collection_time", "non_numeric_value", "unknown_unit", "unmapped_code")
NOT_ACCEPTED = ("missing_patient_id", "duplicate_resend", "non_oru")
SUBSTANCE_ALIASES = {"mitragyna speciosa": "kratom"}
VALID_KINDS = frozenset({"dose", "other_substance"})


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted((k, v) for k, v in counter.items() if v))


class MessageTally:
    """Counts of the messages written, by lab, kind and type, and of their observations."""

    def __init__(self) -> None:
        self.total = 0
        self.labs: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.types: Counter[str] = Counter()
        self.lines: Counter[str] = Counter()
        self.defects: Counter[str] = Counter()
        self.garbage: list[str] = []

    def add(self, plan: MessagePlan) -> None:
        self.total += 1
        self.labs[plan.lab.name] += 1
        self.kinds[plan.kind] += 1
        self.types[plan.message_type] += 1
        accepted = plan.kind not in NOT_ACCEPTED
        for block in plan.blocks:
            for line in block.lines:
                self.lines["liver" if line.liver else "non_liver"] += 1
                self.lines["in_accepted_messages"] += accepted
        if plan.kind == "missing_collection_time":
            self.defects[plan.kind] += sum(line.liver for line in plan.blocks[0].lines)
        elif plan.kind in OBSERVATION_DEFECTS:
            self.defects[plan.kind] += 1

    def merge(self, other: MessageTally) -> None:
        self.total += other.total
        for mine, theirs in (
            (self.labs, other.labs),
            (self.kinds, other.kinds),
            (self.types, other.types),
            (self.lines, other.lines),
            (self.defects, other.defects),
        ):
            mine.update(theirs)
        self.garbage += other.garbage

    def summary(self) -> dict:
        kinds = self.kinds
        quarantined = kinds["missing_patient_id"]
        return {
            "total": self.total,
            "by_lab": _sorted(self.labs),
            "by_kind": _sorted(kinds),
            "by_type": _sorted(self.types),
            "not_hl7_blocks": len(self.garbage),
            "files_with_not_hl7_block": sorted(set(self.garbage)),
            "expected_outcomes": {
                "accepted": self.total - kinds["non_oru"] - kinds["duplicate_resend"] - quarantined,
                "duplicate": kinds["duplicate_resend"],
                "ignored": kinds["non_oru"],
                "quarantined": quarantined + len(self.garbage),
            },
            "observations": {
                "total": self.lines["liver"] + self.lines["non_liver"],
                "liver": self.lines["liver"],
                "non_liver": self.lines["non_liver"],
                "in_accepted_messages": self.lines["in_accepted_messages"],
                "liver_defects_in_accepted_messages": _sorted(self.defects),
            },
        }


class DosingTally:
    """Counts of the dosing rows written: valid, bad (by reason), corrections, by substance and file."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.substances: Counter[str] = Counter()
        self.files: dict[str, int] = {}

    def add_all(self, rows: list[DoseRow]) -> None:
        kinds, substances = self.kinds, self.substances
        kinds.update(row.kind for row in rows)
        substances.update(row.substance for row in rows if row.kind in VALID_KINDS)

    def _by_substance(self) -> Counter[str]:
        """As written (Kratom, KRATOM, Mitragyna speciosa...), counted under one name each."""
        named: Counter[str] = Counter()
        for written, count in self.substances.items():
            name = written.lower()
            named[SUBSTANCE_ALIASES.get(name, name)] += count
        return named

    def summary(self) -> dict:
        kinds = self.kinds
        valid = ("dose", "other_substance", "correction")
        return {
            "rows": sum(kinds.values()),
            "valid_rows": kinds["dose"] + kinds["other_substance"],
            "bad_rows": _sorted(Counter({k: v for k, v in kinds.items() if k not in valid})),
            "corrections": kinds["correction"],
            "other_substance": kinds["other_substance"],
            "by_substance": _sorted(self._by_substance()),
            "by_file": dict(sorted(self.files.items())),
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
