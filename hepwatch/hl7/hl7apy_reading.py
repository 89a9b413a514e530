"""The fields hepwatch uses, read by hl7apy 1.3.5: the independent side of the `parser_agreement` check.

hl7apy parses a message into segment -> field repetitions (named `OBX_5`, one child per repetition) ->
components -> subcomponents. It drops empty fields and empty components of composite types and names the rest
(`CE_2`, `VARIES_3`, `HD_1`), so positions are read from the names. Its datatypes only ever escape (on
output, `TextualDataType._get_translations`); nothing in it decodes, so each leaf is decoded here with the
inverse of that table (`\\F\\ \\S\\ \\T\\ \\R\\ \\E\\`) and any other escape sequence stays as written unless a
`Rendering` asks for hepwatch's by-design rendering of it (see `differential.BY_DESIGN`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hl7apy import SUPPORTED_LIBRARIES
from hl7apy.base_datatypes import ST
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import get_message_info, parse_segments
from hl7apy.utils import get_datetime_info

from hepwatch.hl7.oru import LAB_RESULT_TYPES
from hepwatch.hl7.values import NumericValue, parse_numeric

FALLBACK_VERSION = "2.5"
_NAMED_POSITION = re.compile(r"(?:[A-Z][A-Z0-9]*_)+(\d+)")  # CE_2, VARIES_3, CM_PAT_ID_4
_LEADING_VERSION = re.compile(r"\s*(\d+)\.(\d+)(?:\.(\d+))?")


class Hl7apyCannotParse(Exception):
    """hl7apy rejects the message (bad encoding characters, no MSH, ...); the check counts these apart."""


@dataclass(frozen=True)
class Rendering:
    """How leaves are decoded: hl7apy's own reading by default, or with hepwatch's by-design renderings."""

    hex_escapes: bool = False  # \Xhh..\ as UTF-8 bytes
    formatting_escapes: bool = False  # \.br\ \.sp\ as a line break; \H\ \N\ \C..\ \M..\ \Z..\ \.xx\ dropped
    timestamp_reader: Callable[[str], datetime | None] | None = None  # None: hl7apy's DTM rules


@dataclass
class Hl7apyReading:
    """Canonical text per field, segment by segment (the keys `OBR[2]-7` are given by the caller)."""

    segment_ids: list[str]
    msh: dict[int, str] = field(default_factory=dict)
    pid3: list[str] = field(default_factory=list)  # one per PID: `id^authority` as hepwatch chooses it
    obr: list[dict[int, str]] = field(default_factory=list)
    obx: list[dict[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ParsedMessage:
    segments: list[Any]  # hl7apy.core.Segment
    encoding_chars: dict[str, str]
    version: str  # the hl7apy library the message was read with
    version_note: str | None  # set when MSH-12 was not a version hl7apy knows


def hl7apy_version(declared: str | None) -> tuple[str, str | None]:
    """The hl7apy library for an MSH-12 version: itself, its leading number (`2.3.1` from
    `2.3.1^AUS&&ISO^AS4700.2&&L` or `2.3.1.4`), its major.minor, or 2.5 (hl7apy's default); with a note
    when it is not the declared one."""
    text = (declared or "").strip()
    if text in SUPPORTED_LIBRARIES:
        return text, None
    match = _LEADING_VERSION.match(text)
    if match:
        major, minor, patch = match.groups()
        for candidate in (f"{major}.{minor}.{patch}", f"{major}.{minor}"):
            if candidate in SUPPORTED_LIBRARIES:
                return candidate, f"MSH-12 {text!r} read as hl7apy version {candidate}"
    return FALLBACK_VERSION, f"MSH-12 {text!r} is not a version hl7apy knows; read as {FALLBACK_VERSION}"


def parse_with_hl7apy(message_text: str) -> ParsedMessage:
    """`parse_message(find_groups=False)` step by step, with the version mapped (tolerant, no validation)."""
    text = message_text.lstrip()
    try:
        encoding_chars, _structure, declared = get_message_info(text)
        version, note = hl7apy_version(declared)
        segments = parse_segments(text, version, encoding_chars, VALIDATION_LEVEL.TOLERANT, find_groups=False)
    except Exception as exc:  # any refusal by hl7apy is a "cannot parse", counted by the check
        raise Hl7apyCannotParse(f"{type(exc).__name__}: {exc}") from exc
    return ParsedMessage(segments, encoding_chars, version, note)


class _Decoder:
    """Escape sequences for one message's encoding characters, tokenised `\\code\\` left to right."""

    def __init__(self, encoding_chars: dict[str, str], rendering: Rendering) -> None:
        esc = encoding_chars["ESCAPE"]
        self.rendering = rendering
        # hl7apy's own escape table, inverted: `\F\` -> field separator and so on.
        table = ST("")._get_translations(encoding_chars)
        self.delimiters = {sequence[1:-1]: char for char, sequence in table}
        self.delimiters["E"] = esc
        self.escape = esc
        self.pattern = re.compile(f"{re.escape(esc)}([^{re.escape(esc)}]*){re.escape(esc)}")

    def _replace(self, match: re.Match[str]) -> str:
        code = match.group(1)
        if code in self.delimiters:
            return self.delimiters[code]
        if self.rendering.hex_escapes and code[:1] == "X" and len(code) > 1:
            try:
                return bytes.fromhex(code[1:]).decode("utf-8", errors="replace")
            except ValueError:
                return match.group(0)
        if self.rendering.formatting_escapes:
            if code == ".br" or code.startswith(".sp"):
                return "\n"
            if code in ("H", "N") or code[:1] in ("C", "M", "Z", "."):
                return ""
        return match.group(0)

    def __call__(self, raw: str) -> str:
        return self.pattern.sub(self._replace, raw) if self.escape in raw else raw


def _positional(parent: Any) -> list[Any]:
    """Children by position: from their names (`CE_3` is the 3rd) or, for simple types, their order.

    hl7apy leaves components past a composite type's last one unnamed, after dropping the empty ones before
    them, so their true position is lost: they are placed after the type's last component.
    """
    size = len(getattr(parent, "structure_by_name", None) or ())
    by_position: dict[int, Any] = {}
    beyond = 0
    for index, child in enumerate(parent.children):
        match = _NAMED_POSITION.fullmatch(child.name or "")
        if match:
            position = int(match.group(1)) - 1
        elif size:
            position, beyond = size + beyond, beyond + 1
        else:
            position = index
        by_position.setdefault(position, child)
    return [by_position.get(i) for i in range(max(by_position) + 1)] if by_position else []


def _raw(leaf: Any) -> str | datetime:
    value = leaf.value
    inner = getattr(value, "value", value)
    if isinstance(inner, str | datetime):
        return inner
    return str(value.to_er7()) if hasattr(value, "to_er7") else str(inner)


class _Reader:
    def __init__(self, parsed: ParsedMessage, rendering: Rendering) -> None:
        self.decode = _Decoder(parsed.encoding_chars, rendering)
        self.sub_sep = parsed.encoding_chars["SUBCOMPONENT"]
        self.timestamp_reader = rendering.timestamp_reader

    @staticmethod
    def repetitions(segment: Any, n: int) -> list[Any]:
        name = f"{segment.name}_{n}"
        return [f for f in segment.children if f.name == name]

    def leaves(self, component: Any | None) -> list[str | datetime]:
        if component is None:
            return []
        return [("" if sub is None else _raw(sub)) for sub in _positional(component)]

    def components(self, rep: Any | None) -> list[Any]:
        return _positional(rep) if rep is not None else []

    def component_text(self, component: Any | None, whole: bool = False) -> str:
        """A component's first subcomponent decoded, or (`whole`) all of them joined by their separator."""
        leaves = [leaf if isinstance(leaf, str) else leaf.isoformat() for leaf in self.leaves(component)]
        if not leaves:
            return ""
        return self.sub_sep.join(self.decode(x) for x in leaves) if whole else self.decode(leaves[0])

    def first(self, segment: Any, n: int) -> str:
        """First repetition, first component (subcomponents kept), decoded and stripped."""
        reps = self.repetitions(segment, n)
        comps = self.components(reps[0]) if reps else []
        return self.component_text(comps[0], whole=True).strip() if comps else ""

    def texts(self, rep: Any | None) -> list[str]:
        return [self.component_text(c) for c in self.components(rep)]

    def carries_text(self, rep: Any) -> bool:
        leaves = [leaf for c in self.components(rep) for leaf in self.leaves(c)]
        return any(not isinstance(leaf, str) or self.decode(leaf).strip() for leaf in leaves)

    def first_texts(self, segment: Any, n: int) -> list[str]:
        reps = self.repetitions(segment, n)
        return self.texts(reps[0] if reps else None)

    def joined(self, segment: Any, n: int) -> str:
        """First repetition, components (first subcomponent each) joined by `^`, then `tidy`."""
        return tidy("^".join(self.first_texts(segment, n)))

    def timestamp(self, segment: Any, n: int) -> str:
        reps = self.repetitions(segment, n)
        comps = self.components(reps[0]) if reps else []
        leaves = self.leaves(comps[0]) if comps else []
        if leaves and isinstance(leaves[0], datetime):
            return iso_seconds(leaves[0])
        text = self.component_text(comps[0], whole=True) if comps else ""
        if not text:
            return ""
        if self.timestamp_reader is not None:
            read = self.timestamp_reader(text)
            return iso_seconds(read) if read else ""
        try:
            return iso_seconds(get_datetime_info(text)[0])
        except ValueError:
            return text  # hl7apy cannot read it: its text, which no ISO reading equals

    def patient(self, segment: Any) -> str:
        """PID-3 as hepwatch chooses it: the MR identifier, else the first with an id; `id^authority`."""
        candidates = []
        for rep in self.repetitions(segment, 3):
            comps = self.components(rep)
            ident = self.component_text(_at(comps, 0)).strip()
            if not ident:
                continue
            authority_parts = [
                self.decode(x) if isinstance(x, str) else "" for x in self.leaves(_at(comps, 3))
            ]
            authority = (_at(authority_parts, 0) or "").strip() or (_at(authority_parts, 1) or "").strip()
            id_type = self.component_text(_at(comps, 4)).strip().upper()
            candidates.append((id_type == "MR", ident, authority))
        if not candidates:
            return ""
        mr = [c for c in candidates if c[0]]
        _, ident, authority = (mr or candidates)[0]
        return parts([ident, authority])

    def value(self, segment: Any, value_type: str) -> str:
        """OBX-5: first repetition's components joined by `^` (outer empty ones dropped), the number
        hepwatch's rules read from them, and how many repetitions carry something."""
        reps = self.repetitions(segment, 5)
        components = self.texts(reps[0] if reps else None) or [""]
        number = parse_numeric(value_type, components)
        while len(components) > 1 and not components[-1].strip():
            components.pop()
        while len(components) > 1 and not components[0].strip():
            components.pop(0)
        text = "^".join(components)
        count = sum(1 for rep in reps if self.carries_text(rep))
        return observation_value(text, number, count)

    def flags(self, segment: Any) -> str:
        """OBX-8: the first component of each repetition, empty ones dropped, joined by `~`."""
        firsts = []
        for rep in self.repetitions(segment, 8):
            comps = self.components(rep)
            firsts.append(self.component_text(comps[0], whole=True).strip() if comps else "")
        return "~".join(f for f in firsts if f)

    def unit(self, segment: Any) -> str:
        texts = [t.strip() for t in self.first_texts(segment, 6)]
        return (_at(texts, 0) or _at(texts, 1) or "") if texts else ""


def tidy(text: str) -> str:
    """`^`-joined text with each part stripped and trailing empty parts dropped: hl7apy drops components that
    are only spaces, hepwatch keeps them, and neither is a reading of the identifier."""
    return _join([part.strip() for part in text.split("^")])


def parts(items: Sequence[str]) -> str:
    """Separately read parts joined by `^`, trailing empty ones dropped; a `^` or `\\` inside a part is
    written `\\^`, `\\\\`, so a part read whole and the same text read as several parts differ."""
    return _join([p.replace("\\", "\\\\").replace("^", "\\^") for p in items])


def observation_value(text: str, number: NumericValue, repeats: int) -> str:
    """OBX-5 canonical: `text => reading` (`>1000.0`, `missing_value`, ...), `(+N more repetitions)`."""
    reading = number.problem or f"{number.comparator or ''}{number.value!r}"
    more = f" (+{repeats - 1} more repetitions)" if repeats > 1 else ""
    return f"{text.strip()} => {reading}{more}"


def message_type(text: str, lab_result: bool) -> str:
    return f"{text} => {'lab result' if lab_result else 'not a lab result'}"


def iso_seconds(moment: datetime) -> str:
    return moment.replace(microsecond=0, tzinfo=None).isoformat()


def _at(items: Sequence[Any], i: int) -> Any:
    return items[i] if i < len(items) else None


def _join(components: Sequence[str]) -> str:
    comps = list(components)
    while comps and comps[-1] == "":
        comps.pop()
    return "^".join(comps)


def read_fields(parsed: ParsedMessage, rendering: Rendering = Rendering()) -> Hl7apyReading:
    """The canonical text of every field hepwatch uses, per segment, in segment order."""
    reader = _Reader(parsed, rendering)
    reading = Hl7apyReading([s.name for s in parsed.segments])
    for segment in parsed.segments:
        if segment.name == "MSH" and not reading.msh:
            msg_code, trigger = ([t.strip().upper() for t in reader.first_texts(segment, 9)] + ["", ""])[:2]
            reading.msh = {
                4: reader.joined(segment, 4),
                7: reader.timestamp(segment, 7),
                9: message_type(_join([msg_code, trigger]), (msg_code, trigger) in LAB_RESULT_TYPES),
                10: reader.first(segment, 10),
                12: reader.first(segment, 12),
            }
        elif segment.name == "PID":
            reading.pid3.append(reader.patient(segment))
        elif segment.name == "OBR":
            reading.obr.append(
                {
                    2: reader.joined(segment, 2),
                    3: reader.joined(segment, 3),
                    7: reader.timestamp(segment, 7),
                    22: reader.timestamp(segment, 22),
                    25: reader.first(segment, 25).upper(),
                }
            )
        elif segment.name == "OBX":
            code = [t.strip() for t in reader.first_texts(segment, 3)[:6]]
            range_texts = reader.first_texts(segment, 7)
            value_type = reader.first(segment, 2).upper()
            reading.obx.append(
                {
                    2: value_type,
                    3: parts(code),
                    4: reader.first(segment, 4),
                    5: reader.value(segment, value_type),
                    6: reader.unit(segment),
                    7: range_texts[0].strip() if range_texts else "",
                    8: reader.flags(segment),
                    11: reader.first(segment, 11).upper(),
                    14: reader.timestamp(segment, 14),
                }
            )
    return reading
