"""The synthetic feed generator (`hepwatch generate`): determinism, contract layout, realism, ground truth.

Most tests share one small generation (40 patients x 60 days). The population test checks NHANES medians on
the committed 300-patient `sample_feeds/` (or generates one when it is missing).
"""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from hl7apy.parser import parse_message

from hepwatch.synthetic import generate_feeds

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONTRACT_COLUMNS = {
    "record_id",
    "patient_id",
    "id_authority",
    "substance",
    "product",
    "dose_amount",
    "dose_unit",
    "taken_at",
    "source",
}
REQUIRED_COLUMNS = ("record_id", "patient_id", "substance", "dose_amount", "dose_unit", "taken_at")
SEGMENT = re.compile(r"^[A-Z][A-Z0-9]{2}\|")
ENVELOPE = ("FHS", "BHS", "BTS", "FTS")
LIVER_WORDS = ("alanine", "aspartate", "alkaline", "bilirub", "glutamyl", "alt", "ast", "alp")
OTHER_WORDS = ("sodium", "natrium", "creat", "kreatinin", "glucose", "glukose")


@dataclass
class Hl7Message:
    path: Path
    segments: list[str]

    def segment(self, name: str) -> list[list[str]]:
        return [s.split("|") for s in self.segments if s.startswith(name + "|")]

    def msh(self, n: int) -> str:
        fields = self.segments[0].split("|")  # MSH-1 is the separator, so MSH-n is fields[n - 1]
        return fields[n - 1] if n - 1 < len(fields) else ""

    @property
    def is_result(self) -> bool:
        return self.msh(9).startswith("ORU^R01")


def field(fields: list[str], n: int) -> str:
    return fields[n] if n < len(fields) else ""


def split_file(path: Path) -> tuple[list[Hl7Message], list[str]]:
    """Messages (framing and batch envelopes removed) and the lines that are not HL7 segments."""
    text = path.read_bytes().decode("utf-8").lstrip("\ufeff").replace("\x0b", "").replace("\x1c", "")
    messages: list[Hl7Message] = []
    junk = []
    for line in re.split(r"\r\n|\r|\n", text):
        if not line:
            continue
        if not SEGMENT.match(line):
            junk.append(line)
        elif line[:3] in ENVELOPE:
            continue
        elif line.startswith("MSH|"):
            messages.append(Hl7Message(path, [line]))
        else:
            messages[-1].segments.append(line)
    return messages, junk


def all_messages(feed: Path) -> list[Hl7Message]:
    return [m for path in sorted(feed.glob("labs/*/*.hl7")) for m in split_file(path)[0]]


def dosing_tables(feed: Path) -> dict[str, list[dict[str, str]]]:
    return {
        p.name: list(csv.DictReader(io.StringIO(p.read_text(encoding="utf-8"))))
        for p in sorted(feed.glob("dosing/*.csv"))
    }


def file_bytes(feed: Path) -> dict[str, bytes]:
    return {str(p.relative_to(feed)): p.read_bytes() for p in sorted(feed.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("feed") / "feeds"
    generate_feeds(out, patients=40, days=60, seed=7)
    return out


@pytest.fixture(scope="module")
def manifest(feed: Path) -> dict:
    return json.loads((feed / "manifest.json").read_text())


@pytest.fixture(scope="module")
def messages(feed: Path) -> list[Hl7Message]:
    return all_messages(feed)


def test_same_seed_gives_byte_identical_files_and_mtimes(feed: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_feeds(again, patients=40, days=60, seed=7)
    assert file_bytes(again) == file_bytes(feed)
    for name in file_bytes(feed):
        assert (again / name).stat().st_mtime == (feed / name).stat().st_mtime, name


def test_different_seed_gives_different_feeds(feed: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate_feeds(other, patients=40, days=60, seed=8)
    assert file_bytes(other) != file_bytes(feed)
    assert (other / "dosing" / "dosing_2026-06.csv").read_bytes() != (
        feed / "dosing" / "dosing_2026-06.csv"
    ).read_bytes()


def test_refuses_to_mix_into_an_existing_feed(feed: Path) -> None:
    with pytest.raises(FileExistsError):
        generate_feeds(feed, patients=5, days=10, seed=1)


def test_layout_follows_the_contract(feed: Path, manifest: dict) -> None:
    files = sorted(str(p.relative_to(feed)) for p in feed.rglob("*") if p.is_file())
    lab_files = [f for f in files if f.startswith("labs/")]
    dosing_files = [f for f in files if f.startswith("dosing/")]
    assert set(files) == {*lab_files, *dosing_files, "manifest.json"}
    assert all(re.fullmatch(r"labs/[A-Z]+/\d{4}-\d{2}-\d{2}\.hl7", f) for f in lab_files)
    assert all(re.fullmatch(r"dosing/[\w-]+\.csv", f) for f in dosing_files)
    assert {f.split("/")[1] for f in lab_files} == {"NORTHLAB", "CITYHOSP", "EUROLAB", "POCTNET"}
    assert manifest["files"] == {"labs": len(lab_files), "dosing": len(dosing_files)}
    assert manifest["arguments"] == {
        "seed": 7,
        "patients": 40,
        "days": 60,
        "start": "2026-06-01",
        "end": "2026-07-30",
    }


def test_every_result_message_parses_with_hl7apy(feed: Path, manifest: dict) -> None:
    total = 0
    files_with_junk = []
    for path in sorted(feed.glob("labs/*/*.hl7")):
        messages, junk = split_file(path)
        total += len(messages)
        if junk:
            files_with_junk.append(str(path.relative_to(feed)))
        for message in messages:
            if message.is_result:
                parsed = parse_message("\r".join(message.segments), find_groups=False)
                assert parsed.msh.msh_10.to_er7() == message.msh(10)
    assert total == manifest["messages"]["total"]
    assert files_with_junk == manifest["messages"]["files_with_not_hl7_block"]
    assert len(files_with_junk) >= 1


def test_each_lab_has_its_own_framing(feed: Path) -> None:
    def contents(lab: str) -> list[bytes]:
        return [p.read_bytes().removeprefix(b"\xef\xbb\xbf") for p in sorted(feed.glob(f"labs/{lab}/*.hl7"))]

    assert all(c.startswith(b"\x0bMSH|") and c.endswith(b"\r\x1c\r") for c in contents("NORTHLAB"))
    assert all(b"\n" in c and b"\r" not in c for c in contents("CITYHOSP"))
    assert all(
        c.startswith(b"FHS|") and b"\rBHS|" in c and c.endswith(b"\rFTS|1\r") for c in contents("EUROLAB")
    )
    assert all(c.startswith(b"MSH|") and b"\n" not in c and b"\x0b" not in c for c in contents("POCTNET"))
    starts = [p.read_bytes()[:3] for p in feed.glob("labs/*/*.hl7")]
    assert b"\xef\xbb\xbf" in starts
    assert any(s != b"\xef\xbb\xbf" for s in starts)


def test_versions_facilities_and_control_ids(messages: list[Hl7Message], manifest: dict) -> None:
    assert {m.msh(12) for m in messages} == {"2.3", "2.3.1", "2.4", "2.5.1"}
    seen: dict[tuple[str, str], Hl7Message] = {}
    resent = 0
    for message in messages:
        key = (message.msh(4), message.msh(10))
        if key in seen:
            resent += 1
            assert message.segments == seen[key].segments  # a resend is the identical message
            assert message.path != seen[key].path  # ... arriving in another file
        seen[key] = message
    assert resent == manifest["messages"]["by_kind"]["duplicate_resend"] >= 2
    types = {m.msh(9).split("^")[0] + "^" + m.msh(9).split("^")[1] for m in messages if "^" in m.msh(9)}
    assert types >= {"ORU^R01", "ADT^A08"}
    assert "ACK" in {m.msh(9) for m in messages}


def _maps(code: str, table: set[str]) -> bool:
    return code.replace(" ", "").replace(".", "").lower() in table


def test_code_systems_units_and_mapping(messages: list[Hl7Message], manifest: dict) -> None:
    with open(PROJECT_ROOT / "hepwatch" / "reference" / "analyte_codes.csv", encoding="utf-8") as table_file:
        table = {row["key"].replace(" ", "").replace(".", "").lower() for row in csv.DictReader(table_file)}
    codes, units = set(), set()
    unmapped_liver, unmapped_other = 0, 0
    for message in messages:
        for obx in message.segment("OBX"):
            code = field(obx, 3)
            codes.add(code)
            units.add(field(obx, 6))
            parts = code.split("^") + [""] * 6
            if _maps(parts[0], table) or _maps(parts[3], table):
                continue
            text = parts[1].lower()
            if any(word in text for word in OTHER_WORDS):
                unmapped_other += 1
            else:
                assert any(word in text for word in LIVER_WORDS), code
                unmapped_liver += 1
    assert "1742-6^ALT SerPl-cCnc^LN" in codes
    assert "SGPT^ALT (SGPT)^L" in codes
    assert "ALT^Alanine aminotransferase^L^1742-6^ALT SerPl-cCnc^LN" in codes
    assert {"U/L", "IU/L", "ukat/L", "umol/L", "mg/dL", "mmol/s"} <= units
    assert unmapped_liver == manifest["messages"]["by_kind"]["unmapped_code"] >= 2
    assert unmapped_other > 0  # sodium, creatinine, glucose ride along and must be ignored


def test_alt_flags_agree_with_the_labs_own_range(messages: list[Hl7Message]) -> None:
    checked = 0
    for message in messages:
        for obx in message.segment("OBX"):
            upper = re.fullmatch(r"(?:[\d.]+-|<)([\d.]+)", field(obx, 7))
            value = field(obx, 5)
            if "ALT" not in field(obx, 3) or not upper or not re.fullmatch(r"[\d.]+", value):
                continue
            high = float(value) > float(upper.group(1))
            assert field(obx, 8).startswith("H") == high, obx
            checked += 1
    assert checked > 50


def test_patient_identity_fields(messages: list[Hl7Message], manifest: dict) -> None:
    missing = 0
    for message in (m for m in messages if m.is_result):
        (pid,) = message.segment("PID")
        if not field(pid, 3):
            missing += 1
            continue
        assert "^^^HWCLINIC^MR" in field(pid, 3).split("~")[0]
        assert field(pid, 5).count("^") == 2 and re.fullmatch(r"\d{8}", field(pid, 7))
        assert field(pid, 8) in ("M", "F") and field(pid, 11).endswith("^USA")
    assert missing == manifest["messages"]["by_kind"]["missing_patient_id"] >= 2


def test_lifecycle_and_defects_are_present(messages: list[Hl7Message], manifest: dict) -> None:
    statuses, order_statuses, values = set(), set(), set()
    no_time = 0
    for message in messages:
        for obr in message.segment("OBR"):
            order_statuses.add(field(obr, 25))
        for obx in message.segment("OBX"):
            statuses.add(field(obx, 11))
            values.add(field(obx, 5))
        if any(not field(obr, 7) for obr in message.segment("OBR")):
            assert all(not field(obx, 14) for obx in message.segment("OBX"))
            no_time += 1
    assert {"P", "F", "C", "X", "D", "W"} <= statuses
    assert {"P", "F", "C"} <= order_statuses
    assert {"see comment", "## TEST CANCELLED ##", ">^1000"} <= values
    assert no_time == manifest["messages"]["by_kind"]["missing_collection_time"]
    kinds = manifest["messages"]["by_kind"]
    for kind in ("preliminary", "correction", "retraction", "late", "non_numeric_value", "unknown_unit"):
        assert kinds[kind] >= 2, kind


def test_late_arrivals_land_in_a_later_days_file(messages: list[Hl7Message], manifest: dict) -> None:
    late = 0
    for message in (m for m in messages if m.is_result):
        file_day = date.fromisoformat(message.path.stem)
        sent_day = datetime.strptime(message.msh(7)[:8], "%Y%m%d").date()
        collected = [field(obr, 7) for obr in message.segment("OBR") if field(obr, 7)]
        if not (sent_day == file_day and collected and field(message.segment("OBR")[0], 25) == "F"):
            continue  # resends keep their first MSH-7; later versions are not late arrivals
        if (file_day - datetime.strptime(collected[0][:8], "%Y%m%d").date()).days >= 3:
            late += 1
    assert late >= manifest["messages"]["by_kind"]["late"] >= 2


def test_planted_injuries(manifest: dict, feed: Path) -> None:
    injuries = manifest["planted_injuries"]
    assert len(injuries) >= 5
    assert {i["pattern"] for i in injuries} == {"hepatocellular", "cholestatic", "mixed"}
    assert any(i["hys_law"] for i in injuries)
    kratom_days: dict[str, list[str]] = {}
    for rows in dosing_tables(feed).values():
        for row in rows:
            if row["substance"].lower() in ("kratom", "mitragyna speciosa") and _classify(row) == "ok":
                kratom_days.setdefault(row["patient_id"], []).append(row["taken_at"][:10])
    for injury in injuries:
        start, onset = date.fromisoformat(injury["kratom_start"]), date.fromisoformat(injury["onset_date"])
        assert 14 <= injury["latency_days"] == (onset - start).days <= 49
        assert injury["id_authority"] == "HWCLINIC"
        r = injury["r_at_peak"]  # R = (ALT / ULN) / (ALP / ULN) on the peak date
        assert {"hepatocellular": r >= 5, "cholestatic": r <= 2, "mixed": 2 < r < 5}[injury["pattern"]], (
            injury
        )
        if injury["hys_law"]:
            assert injury["peak_alt_xuln"] >= 3 and injury["peak_tbil"] > 2 * 1.2 * 0.9
        # dosing matches the exposure: kratom from the planted start to the last dose before dechallenge
        days = kratom_days[injury["patient_id"]]
        assert min(days) == injury["kratom_start"] and max(days) == injury["kratom_last_dose"]


def _classify(row: dict[str, str]) -> str:
    if any(not row.get(column, "").strip() for column in REQUIRED_COLUMNS):
        return "missing_field"
    try:
        amount = float(row["dose_amount"])
    except ValueError:
        return "bad_number"
    if amount <= 0:
        return "non_positive_dose"
    if row["dose_unit"].lower() not in ("g", "mg", "mcg", "ug"):
        return "unsupported_unit"
    try:
        datetime.fromisoformat(row["taken_at"])
    except ValueError:
        return "bad_datetime"
    return "ok"


def test_dosing_csvs(feed: Path, manifest: dict) -> None:
    tables = dosing_tables(feed)
    names = sorted(tables)
    assert names[-1].endswith("_corrections.csv")  # corrections sort after the files they correct
    headers = [tuple(rows[0].keys()) for rows in tables.values()]
    assert all(set(h) >= CONTRACT_COLUMNS for h in headers)
    assert len(set(headers)) == len(headers)  # column order differs between files
    assert any("clinic_note" in h for h in headers[:-1])
    counts: dict[str, int] = {}
    for name in names[:-1]:
        for row in tables[name]:
            kind = _classify(row)
            counts[kind] = counts.get(kind, 0) + 1
    bad = {k: v for k, v in counts.items() if k != "ok"}
    assert bad == manifest["dosing"]["bad_rows"]
    assert set(bad) == {
        "missing_field",
        "bad_number",
        "non_positive_dose",
        "unsupported_unit",
        "bad_datetime",
    }
    rows = [row for name in names[:-1] for row in tables[name]]
    by_id = {row["record_id"]: row for row in rows if row["record_id"]}
    corrections = tables[names[-1]]
    assert len(corrections) == manifest["dosing"]["corrections"] >= 3
    for fixed in corrections:
        original = by_id[fixed["record_id"]]
        assert any(original[c] != fixed[c] for c in CONTRACT_COLUMNS), fixed["record_id"]
    substances = {row["substance"] for row in rows}
    assert {"Mitragyna speciosa", "kava"} <= substances
    assert {s.lower() for s in substances} >= {"kratom", "methadone", "buprenorphine"}
    taken = [row["taken_at"] for row in rows if _classify(row) == "ok"]
    assert any(len(t) == 10 for t in taken) and any(len(t) == 19 for t in taken)
    assert any(t.endswith("-04:00") for t in taken)
    assert {row["id_authority"] for row in rows} == {"HWCLINIC"}
    assert {row["source"] for row in rows} >= {"self_report", "dispensed", "observed"}


def test_file_mtimes_follow_arrival_order(feed: Path) -> None:
    def mtime(relative: str) -> float:
        return (feed / relative).stat().st_mtime

    lab_days = sorted(feed.glob("labs/NORTHLAB/*.hl7"))
    stamps = [p.stat().st_mtime for p in lab_days]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    dosing = sorted(str(p.relative_to(feed)) for p in feed.glob("dosing/*.csv"))
    assert [mtime(d) for d in dosing] == sorted(mtime(d) for d in dosing)
    assert mtime("manifest.json") >= max(p.stat().st_mtime for p in feed.rglob("*.*") if p.is_file())


@pytest.fixture(scope="module")
def sample_300(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed sample (300 patients, 90 days, seed 7) when present, else a fresh one."""
    committed = PROJECT_ROOT / "sample_feeds"
    if (committed / "manifest.json").exists():
        arguments = json.loads((committed / "manifest.json").read_text())["arguments"]
        if arguments["patients"] == 300 and arguments["days"] == 90:
            return committed
    out = tmp_path_factory.mktemp("sample") / "feeds"
    generate_feeds(out, patients=300, days=90, seed=7)
    return out


def test_baselines_follow_nhanes_medians(sample_300: Path) -> None:
    """Median ALT of non-injured men is within 20% of NHANES's 22 U/L (women: 15 U/L)."""
    manifest = json.loads((sample_300 / "manifest.json").read_text())
    injured = {i["patient_id"] for i in manifest["planted_injuries"]}
    alt: dict[str, list[float]] = {"M": [], "F": []}
    for message in all_messages(sample_300):
        if not message.is_result or not message.segment("PID"):
            continue
        (pid,) = message.segment("PID")
        if field(pid, 3).split("^")[0] in injured:
            continue
        for obx in message.segment("OBX"):
            value, unit = field(obx, 5), field(obx, 6)
            is_alt = field(obx, 3).split("^")[0] in ("1742-6", "SGPT", "ALT")  # the labs' ALT codes
            enzyme_unit = unit in ("U/L", "IU/L", "U/l", "ukat/L")
            if is_alt and enzyme_unit and field(obx, 11) == "F" and re.fullmatch(r"[\d.]+", value):
                alt[field(pid, 8)].append(float(value) * (60 if unit == "ukat/L" else 1))
    assert 0.8 * 22 <= statistics.median(alt["M"]) <= 1.2 * 22
    assert 0.8 * 15 <= statistics.median(alt["F"]) <= 1.2 * 15
    assert manifest["patients"]["total"] == 300
    assert len(manifest["planted_injuries"]) >= 5
    groups = manifest["patients"]["by_group"]
    assert set(groups) == {"kratom_only", "moud_only", "kratom_and_moud"} and min(groups.values()) >= 30
