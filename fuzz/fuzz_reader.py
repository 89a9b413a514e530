"""Fuzz hepwatch's HL7 reader: any bytes must be read without a crash, and the ledger must add up.

    .venv/bin/python fuzz/fuzz_reader.py                 # 60 s (what `make fuzz` runs)
    .venv/bin/python fuzz/fuzz_reader.py --seconds 600   # longer
    .venv/bin/python fuzz/fuzz_reader.py --engine hypothesis

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

SEED_DIRS = [PROJECT.parent / "shared" / "hl7-corpus", PROJECT / "sample_feeds" / "labs"]
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


def one_input(data: bytes) -> None:
    from fuzz.invariants import check_deterministic, check_fast_reader, check_read

    check_read(data)
    check_deterministic(data)
    if zlib.crc32(data) % 4 == 0:  # one input in four (it costs ~15 times the reader's own reading)
        check_fast_reader(data)


def _scratch_corpus(directory: Path) -> None:
    for seed_dir in SEED_DIRS:
        if seed_dir.is_dir():
            for i, path in enumerate(sorted(seed_dir.rglob("*.hl7"))[:200]):
                shutil.copy(path, directory / f"{seed_dir.name}-{i:03}.hl7")
    for i, message in enumerate(SEED_MESSAGES):
        (directory / f"hand-{i}.hl7").write_bytes(message.encode())


def _dictionary_file(path: Path) -> None:
    def quoted(token: str) -> str:
        raw = token.encode()
        return (
            '"' + "".join(f"\\x{b:02x}" if b < 0x20 or b > 0x7E or b in b'"\\' else chr(b) for b in raw) + '"'
        )

    path.write_text("".join(f"{quoted(t)}\n" for t in DICTIONARY))


def run_atheris(seconds: int, extra: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["hepwatch.hl7", "hepwatch.ingest.lab_columns", "fuzz"]):
        import fuzz.invariants  # noqa: F401
        import hepwatch.hl7.oru
        import hepwatch.ingest.lab_columns  # noqa: F401

    # Kept between runs (git-ignored): what one run learns, the next starts from.
    work = PROJECT / "fuzz" / "work"
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    _scratch_corpus(corpus)
    _dictionary_file(work / "hl7.dict")
    artifacts = PROJECT / "fuzz" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    replay = [a for a in extra if not a.startswith("-") and Path(a).is_file()]  # replay saved inputs only
    args = [
        sys.argv[0],
        f"-max_total_time={seconds}",
        f"-dict={work / 'hl7.dict'}",
        f"-artifact_prefix={artifacts}/",
        "-max_len=8192",
        "-print_final_stats=1",
        *extra,
        *([] if replay else [str(corpus)]),
    ]
    print(f"atheris {metadata.version('atheris')}: {seconds} s, corpus {corpus}", flush=True)
    atheris.Setup(args, one_input)
    atheris.Fuzz()


def run_hypothesis(seconds: int) -> None:
    from hypothesis import HealthCheck, given, seed, settings
    from hypothesis import strategies as st

    tokens = st.sampled_from([t.encode() for t in DICTIONARY])
    seeds = [m.encode() for m in SEED_MESSAGES]
    for seed_dir in SEED_DIRS:
        seeds += [p.read_bytes() for p in sorted(seed_dir.glob("*.hl7"))[:50]] if seed_dir.is_dir() else []
    mutated = st.builds(
        lambda seed, cut, insert: seed[:cut] + insert + seed[cut:],
        st.sampled_from(seeds),
        st.integers(0, 4000),
        st.lists(tokens | st.binary(max_size=8), max_size=6).map(b"".join),
    )
    inputs = st.binary(max_size=512) | st.lists(tokens, max_size=40).map(b"".join) | mutated
    deadline = time.monotonic() + seconds
    count = 0

    def body(data: bytes) -> None:
        nonlocal count
        count += 1
        one_input(data)

    start = time.monotonic()
    round_no = 0
    while time.monotonic() < deadline:  # rounds of 500 inputs, each from its own seed
        quiet = settings(
            max_examples=500, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        seed(round_no)(quiet(given(inputs)(body)))()
        round_no += 1
    elapsed = time.monotonic() - start
    print(f"hypothesis: {count} inputs in {elapsed:.0f} s ({count / elapsed:.0f} exec/s), no failure")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=60, help="time budget (default 60)")
    parser.add_argument("--engine", choices=["auto", "atheris", "hypothesis"], default="auto")
    args, extra = parser.parse_known_args()
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    if engine == "atheris":
        run_atheris(args.seconds, extra)
    else:
        run_hypothesis(args.seconds)


if __name__ == "__main__":
    main()
