"""Reading the fields hepwatch uses, for one message's encoding: every reader path calls these.

`oru.read_message` calls them field by field; the bulk reader (`hepwatch.ingest.lab_columns`) calls the same
functions once per distinct field text. Values are split on the delimiters first and unescaped last
(`encoding.py`); numbers, ranges and timestamps are read by `values.py` and `timestamps.py`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from hepwatch.hl7.encoding import Encoding, Unescaper
from hepwatch.hl7.timestamps import parse_timestamp
from hepwatch.hl7.values import parse_numeric, parse_upper_limit


class Fields:
    """Field access for one message's encoding."""

    __slots__ = ("_delimited", "_first_delimited", "enc", "unescape")

    def __init__(self, enc: Encoding) -> None:
        self.enc = enc
        self.unescape = Unescaper(enc)
        # A field with none of these characters is its own text (and, stripped, its own first component):
        # most fields of most feeds, read without splitting.
        chars = (enc.component, enc.repetition, enc.escape)
        self._first_delimited = re.compile(f"[{re.escape(''.join(chars))}]").search
        self._delimited = re.compile(f"[{re.escape(''.join((*chars, enc.subcomponent)))}]").search

    def components(self, value: str) -> list[str]:
        """The unescaped components of the first repetition (first subcomponent of each)."""
        first = value.split(self.enc.repetition, 1)[0]
        return [self.unescape(c.split(self.enc.subcomponent, 1)[0]) for c in first.split(self.enc.component)]

    def text(self, value: str) -> str:
        """The first repetition as text, components joined by `^` (identifiers such as OBR-2 `845439^GHH OE`)."""
        if self._delimited(value) is None:
            return value
        comps = self.components(value)
        while comps and comps[-1] == "":
            comps.pop()
        return "^".join(comps)

    def first(self, value: str) -> str:
        """The first component of the first repetition, unescaped and stripped (subcomponents kept)."""
        if self._first_delimited(value) is None:
            return value.strip()
        return self.unescape(value.split(self.enc.repetition, 1)[0].split(self.enc.component, 1)[0]).strip()

    def repeats_first_components(self, value: str) -> str:
        reps = [self.first(r) for r in value.split(self.enc.repetition)]
        return "~".join(r for r in reps if r) if any(reps) else ""

    def has_text(self, repetition: str) -> bool:
        """A repetition carries a value only if some component or subcomponent has text once decoded (`56~^`
        and `56~\\.br\\` have one)."""
        enc = self.enc
        return any(
            self.unescape(part).strip()
            for comp in repetition.split(enc.component)
            for part in comp.split(enc.subcomponent)
        )


STANDARD = Fields(Encoding())  # `MSH|^~\\&|`, the delimiters of almost every feed


def field_at(fields: Sequence[str], n: int) -> str:
    return fields[n] if n < len(fields) else ""


def read_timestamp(fx: Fields, value: str) -> datetime | None:
    """A TS/DTM field (MSH-7, OBR-7, OBR-22, OBX-14): its first component as a timestamp."""
    return parse_timestamp(fx.first(value))


def _without_outer_empties(components: list[str]) -> list[str]:
    """Drop empty components at both ends (`^182` is 182), keeping a literal `^` inside a value."""
    start, end = 0, len(components)
    while start < end and not components[start].strip():
        start += 1
    while end > start and not components[end - 1].strip():
        end -= 1
    return components[start:end]


def read_message_type(fx: Fields, msh9: str) -> tuple[str, str, str | None]:
    """MSH-9 as (type, trigger, `type^trigger` as the ledger shows it)."""
    comps = fx.components(msh9)
    msg_type = comps[0].strip().upper()
    trigger = field_at(comps, 1).strip().upper()
    return msg_type, trigger, (f"{msg_type}^{trigger}" if trigger else msg_type or None)


def patient_identifier(fx: Fields, pid3: str) -> tuple[str, str] | None:
    """(id, authority) from PID-3: the MR identifier, else the first with an id (domain.md section 7).

    The authority is CX.4's namespace ID, or its universal ID when the namespace is empty.
    """
    enc = fx.enc
    candidates = []
    for rep in pid3.split(enc.repetition):
        comps = rep.split(enc.component)
        ident = fx.unescape(comps[0].split(enc.subcomponent, 1)[0]).strip() if comps else ""
        if not ident:
            continue
        authority_parts = field_at(comps, 3).split(enc.subcomponent)
        authority = (
            fx.unescape(authority_parts[0]).strip() or fx.unescape(field_at(authority_parts, 1)).strip()
        )
        id_type = fx.unescape(field_at(comps, 4).split(enc.subcomponent, 1)[0]).strip().upper()
        candidates.append((id_type == "MR", ident, authority))
    if not candidates:
        return None
    mr = [c for c in candidates if c[0]]
    _, ident, authority = (mr or candidates)[0]
    return ident, authority


# What OBX-3, OBX-4, OBX-6, OBX-7, OBX-8 and OBX-11 say: code, code_text, code_system, alt_code, alt_text,
# alt_system, sub_id, unit, reference_range, range_upper, abnormal_flags, result_status
Description = tuple[str, str, str, str, str, str, str, str, str, float | None, str, str]


def read_description(
    fx: Fields, obx3: str, obx4: str, obx6: str, obx7: str, obx8: str, obx11: str
) -> Description:
    code = fx.components(obx3)
    unit_comps = fx.components(obx6)
    reference_range = fx.components(obx7)[0].strip()
    return (
        field_at(code, 0).strip(),
        field_at(code, 1).strip(),
        field_at(code, 2).strip(),
        field_at(code, 3).strip(),
        field_at(code, 4).strip(),
        field_at(code, 5).strip(),
        fx.first(obx4),
        (unit_comps[0].strip() or field_at(unit_comps, 1).strip()) if unit_comps else "",
        reference_range,
        parse_upper_limit(reference_range),
        fx.repeats_first_components(obx8),
        fx.first(obx11).upper(),
    )


# What OBX-2 and OBX-5 say: value_type, value_text, value_repeats, value, comparator, value_problem
Value = tuple[str, str, int, float | None, str | None, str | None]


def read_value(fx: Fields, obx2: str, obx5: str) -> Value:
    value_type = fx.first(obx2).upper()
    components = fx.components(obx5)
    numeric = parse_numeric(value_type, components)
    return (
        value_type,
        "^".join(_without_outer_empties(components)),
        sum(1 for rep in obx5.split(fx.enc.repetition) if fx.has_text(rep)),
        numeric.value,
        numeric.comparator,
        numeric.problem,
    )
