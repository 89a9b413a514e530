"""Which files of a generated feed belong to which day, for benchmarks that add a feed a day at a time.

A lab file is named after the first sending day it holds (`labs/<LAB>/<YYYY-MM-DD>.hl7`), a daily dosing
file after its day (`dosing/<YYYY-MM-DD>.csv`, with `--dosing-files daily`). Monthly dosing files and the
corrections file belong to no single day.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def day_files(feeds: Path, day: date | str) -> list[Path]:
    """The files of one day, relative to `feeds`: its lab files (labs that sent anything), then its dosing file."""
    name = day if isinstance(day, str) else day.isoformat()
    labs = sorted(path.relative_to(feeds) for path in Path(feeds).glob(f"labs/*/{name}.hl7"))
    dosing = Path("dosing", f"{name}.csv")
    return [*labs, dosing] if (feeds / dosing).is_file() else labs


def feed_days(feeds: Path) -> list[date]:
    """Every day some file is named after, in order."""
    names = {path.stem for path in Path(feeds).glob("labs/*/*.hl7")}
    names |= {path.stem for path in Path(feeds).glob("dosing/*.csv")}
    return sorted(date.fromisoformat(name) for name in names if _DAY.fullmatch(name))
