"""HL7 v2 delimiters and escape sequences (domain.md section 7).

Encoding characters come from MSH-1/MSH-2 of each message; `|^~\\&` is never assumed. Values are split on
the delimiters first and unescaped last, so an escaped `\\S\\` stays a literal `^` inside a component.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True, slots=True)
class Encoding:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @classmethod
    def from_msh(cls, msh: str) -> Encoding:
        """Delimiters from an MSH segment: MSH-1 is the 4th character, MSH-2 runs to the next field separator.

        MSH-2 may carry a 5th (v2.7 truncation) character, which is ignored; missing characters default.
        """
        field = msh[3]
        chars = msh[4:].split(field, 1)[0]
        defaults = "^~\\&"
        padded = chars[:4] + defaults[len(chars[:4]) :]
        return cls(field, padded[0], padded[1], padded[2], padded[3])


class Unescaper:
    """Decodes `\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\.br\\ \\H\\ \\N\\ \\Xhh\\` for one encoding."""

    def __init__(self, encoding: Encoding) -> None:
        self.encoding = encoding
        esc = re.escape(encoding.escape)
        self._pattern = re.compile(f"{esc}([^{esc}]*){esc}")

    @cached_property
    def _simple(self) -> dict[str, str]:
        e = self.encoding
        return {
            "F": e.field,
            "S": e.component,
            "T": e.subcomponent,
            "R": e.repetition,
            "E": e.escape,
            ".br": "\n",
            "H": "",
            "N": "",
        }

    def _replace(self, match: re.Match[str]) -> str:
        code = match.group(1)
        simple = self._simple.get(code)
        if simple is not None:
            return simple
        if code[:1] == "X" and len(code) > 1:
            try:
                return bytes.fromhex(code[1:]).decode("utf-8", errors="replace")
            except ValueError:
                return match.group(0)
        if code == ".sp" or code.startswith(".sp"):
            return "\n"
        if code[:1] in ("C", "M", "Z", "."):
            return ""  # character-set switches, local escapes and other formatting commands carry no text
        return match.group(0)

    def __call__(self, value: str) -> str:
        if self.encoding.escape not in value:
            return value
        return self._pattern.sub(self._replace, value)
