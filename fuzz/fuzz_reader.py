"""Fuzz hepwatch's two readers, HL7 (`--target labs`) and dosing CSV (`--target dosing`): any bytes must be
read without a crash, and every message or row must land in exactly one place.

    .venv/bin/python fuzz/fuzz_reader.py                          # the HL7 reader, 60 s
    .venv/bin/python fuzz/fuzz_reader.py --target dosing          # the dosing CSV reader (fuzz.invariants)
    .venv/bin/python fuzz/fuzz_reader.py --seconds 600            # longer
    .venv/bin/python fuzz/fuzz_reader.py --engine hypothesis

`make fuzz` runs both, FUZZ_SECONDS (default 60) each. The public corpus is found at HEPWATCH_SHARED_DIR,
else at ../shared beside the checkout; when it is not there the run says so and starts from the sample
feeds alone.

With atheris (libFuzzer for Python, coverage-guided) when it is installed, otherwise a time-boxed hypothesis
loop. Each input goes to `read_lab_bytes` and through `fuzz.invariants.check_read`: every block in exactly one
bucket (accepted / ignored / quarantined with a reason), every non-blank line in exactly one block, one
observation per OBX of an accepted message, finite numbers, a ULN above zero; reading twice gives the same
records; and (one input in four, chosen by its CRC) the columnar reader of bulk ingestion
(`hepwatch.ingest.lab_columns`) reads exactly the same. atheris starts from the public corpus (../shared/hl7-corpus), the committed sample feeds and a few
hand-written messages, copied into fuzz/work/corpus/ (kept between runs; the seed directories are never
written to), with a dictionary of HL7 tokens. A failing input is written to fuzz/artifacts/ (atheris) or
printed (hypothesis); the run then exits non-zero.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import zlib
from importlib import metadata
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))


def shared_dir() -> Path | None:
    """`../shared` (HEPWATCH_SHARED_DIR, else beside the checkout), or None when it is not there."""
    import os

    found = Path(os.environ.get("HEPWATCH_SHARED_DIR") or PROJECT.parent / "shared")
    return found if found.is_dir() else None


def seed_dirs(target: str) -> list[Path]:
    shared = shared_dir()
    if target == "dosing":
        return [PROJECT / "sample_feeds" / "dosing"]
    if shared is None or not (shared / "hl7-corpus").is_dir():
        print("fuzz: the public HL7 corpus was not found (set HEPWATCH_SHARED_DIR to ../shared); seeding from "
              "the sample feeds alone", file=sys.stderr, flush=True)  # fmt: skip
        return [PROJECT / "sample_feeds" / "labs"]
    return [shared / "hl7-corpus", PROJECT / "sample_feeds" / "labs"]


SEED_ROWS = [
    "record_id,patient_id,id_authority,substance,dose_amount,dose_unit,taken_at\n"
    "R1,M1,A,kratom,2,g,2026-06-01T08:30:00+02:00\nR2,M1,,Mitragyna speciosa,1e308,g,9999-12-31\n",
    '\ufefftaken_at;dose_unit;dose_amount;substance;patient_id;record_id\n2026-02-30,mg,"1,5",tea,M2,R3\n',
    'record_id,patient_id,substance,dose_amount,dose_unit,taken_at\n"R4\nR5",M,kratom,.5,µg,2026-06-01\n',
]
CSV_DICTIONARY = [
    "record_id", "patient_id", "id_authority", "substance", "dose_amount", "dose_unit", "taken_at", ",", ";",
    "\"", "\r\n", "\n", "kratom", "methadone", "g", "mg", "mcg", "µg", "1e308", "-0", "NaN", "2026-06-01",
    "T08:30:00Z", "+05:30", "0000-01-01", "\ufeff",
]  # fmt: skip
SEED_MESSAGES = [
    "MSH|^~\\&|LIS|NORTH|EHR|CLINIC|20260601120000||ORU^R01|C1|P|2.5.1\r"
    "PID|1||MRN1^^^CLINIC^MR\rOBR|1|P1|F1|LFT^LIVER^L|||20260601083000\r"
    "OBX|1|NM|1742-6^ALT^LN||54\\.br\\comment|U/L|7-56|H|||F\rOBX|2|SN|1920-8^AST^LN||>^1000|U/L|<40||||F\r",
    "\x0bMSH#$%@!#A#B#####ORU$R01#C2#P#2.3\rPID#1##X$$$Y$MR\rOBX#1#ST#ALT##<5#IU/L#(1.0 - 12.0)\x1c\r",
    "FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\$|A|B|||2026||ORU^R01|C3|P|2.3.1\rPID|||7$1^^^A\rOBX|1|NM|ALT|13|umol/L|2-20\r"
    "BTS|1\rFTS|1\r",
]
DICTIONARY = [
    "MSH|^~\\&|", "MSH|^~\\$|", "MSH|^~\\&#|", "\rPID|1||", "\rOBR|1|", "\rOBX|1|NM|", "\rOBX|1|SN|", "|ORU^R01|",
    "\rNTE|", "\rZXY|", "FHS|^~\\&", "BHS|", "\rBTS|1", "\rFTS|1", "\x0b", "\x1c\r", "\r\n", "\\F\\", "\\S\\",
    "\\T\\", "\\R\\", "\\E\\", "\\.br\\", "\\X0D\\", "\\XC2B5\\", "\\H\\", "^^^", "~", "&", "¬", ">^", "<=",
    "1742-6^ALT^LN", "U/L", "umol/L", "0-0", "(1.0 - 12.0)", "[1.00;30.00]", "70_105", "4.3 to 6.2", "^MR",
    "20260601083000", "\xef\xbb\xbf",
]  # fmt: skip


def one_dosing_input(data: bytes) -> None:
    from fuzz.invariants import check_dosing

    check_dosing(data)


def one_input(data: bytes) -> None:
    from fuzz.invariants import check_deterministic, check_fast_reader, check_read

    check_read(data)
    check_deterministic(data)
    if zlib.crc32(data) % 4 == 0:  # one input in four (it costs ~15 times the reader's own reading)
        check_fast_reader(data)


def _scratch_corpus(directory: Path, target: str) -> None:
    suffix = "csv" if target == "dosing" else "hl7"
    for seed_dir in seed_dirs(target):
        for i, path in enumerate(sorted(seed_dir.rglob(f"*.{suffix}"))[:200]):
            shutil.copy(path, directory / f"{seed_dir.name}-{i:03}.{suffix}")
    for i, text in enumerate(SEED_ROWS if target == "dosing" else SEED_MESSAGES):
        (directory / f"hand-{i}.{suffix}").write_bytes(text.encode())


def _dictionary_file(path: Path, tokens: list[str]) -> None:
    def quoted(token: str) -> str:
        raw = token.encode()
        return (
            '"' + "".join(f"\\x{b:02x}" if b < 0x20 or b > 0x7E or b in b'"\\' else chr(b) for b in raw) + '"'
        )

    path.write_text("".join(f"{quoted(t)}\n" for t in tokens))


def run_atheris(seconds: int, extra: list[str], target: str) -> None:
    import atheris

    modules = (
        ["hepwatch.dosing"]
        if target == "dosing"
        else ["hepwatch.hl7", "hepwatch.ingest.lab_columns", "hepwatch.ingest.piece_builder"]
    )
    with atheris.instrument_imports(include=[*modules, "fuzz"]):
        import fuzz.invariants  # noqa: F401
        import hepwatch.dosing
        import hepwatch.hl7.oru
        import hepwatch.ingest.lab_columns
        import hepwatch.ingest.piece_builder  # noqa: F401

    # Kept between runs (git-ignored): what one run learns, the next starts from.
    work = PROJECT / "fuzz" / "work" / target
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    _scratch_corpus(corpus, target)
    _dictionary_file(work / "tokens.dict", CSV_DICTIONARY if target == "dosing" else DICTIONARY)
    artifacts = PROJECT / "fuzz" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    replay = [a for a in extra if not a.startswith("-") and Path(a).is_file()]  # replay saved inputs only
    args = [
        sys.argv[0],
        f"-max_total_time={seconds}",
        f"-dict={work / 'tokens.dict'}",
        f"-artifact_prefix={artifacts}/",
        "-max_len=8192",
        "-print_final_stats=1",
        *extra,
        *([] if replay else [str(corpus)]),
    ]
    print(f"atheris {metadata.version('atheris')}: {seconds} s, corpus {corpus}", flush=True)
    atheris.Setup(args, one_dosing_input if target == "dosing" else one_input)
    atheris.Fuzz()


def run_hypothesis(seconds: int, target: str) -> None:
    from hypothesis import HealthCheck, given, seed, settings
    from hypothesis import strategies as st

    dosing = target == "dosing"
    tokens = st.sampled_from([t.encode() for t in (CSV_DICTIONARY if dosing else DICTIONARY)])
    seeds = [m.encode() for m in (SEED_ROWS if dosing else SEED_MESSAGES)]
    for seed_dir in seed_dirs(target):
        # (a dosing file's first 4 kB: a header and some rows)
        seeds += [p.read_bytes()[:4096] for p in sorted(seed_dir.glob("*.csv" if dosing else "*.hl7"))[:50]]
    mutated = st.builds(
        lambda seed, cut, insert: seed[:cut] + insert + seed[cut:],
        st.sampled_from(seeds),
        st.integers(0, 4000),
        st.lists(tokens | st.binary(max_size=8), max_size=6).map(b"".join),
    )
    inputs = st.binary(max_size=512) | st.lists(tokens, max_size=40).map(b"".join) | mutated
    deadline = time.monotonic() + seconds
    count = 0

    check = one_dosing_input if dosing else one_input

    def body(data: bytes) -> None:
        nonlocal count
        count += 1
        check(data)

    start = time.monotonic()
    round_no = 0
    while time.monotonic() < deadline:  # rounds of 500 inputs, each from its own seed
        quiet = settings(
            max_examples=500, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        seed(round_no)(quiet(given(inputs)(body)))()
        round_no += 1
    elapsed = time.monotonic() - start
    print(
        f"hypothesis ({target}): {count} inputs in {elapsed:.0f} s ({count / elapsed:.0f} exec/s), no failure"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=60, help="time budget (default 60)")
    parser.add_argument("--engine", choices=["auto", "atheris", "hypothesis"], default="auto")
    parser.add_argument("--target", choices=["labs", "dosing"], default="labs", help="which reader")
    args, extra = parser.parse_known_args()
    import logging

    logging.disable(logging.WARNING)  # the readers' warnings about each odd input are the point, not news
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    if engine == "atheris":
        run_atheris(args.seconds, extra, args.target)
    else:
        run_hypothesis(args.seconds, args.target)


if __name__ == "__main__":
    main()
