"""The public HL7 corpus (../shared/hl7-corpus) as a conformance suite: nothing crashes, nothing is lost."""

import re
import shutil

import pytest

from hepwatch.hl7.framing import (
    ENVELOPE_SEGMENTS,
    decode_feed_bytes,
    message_at,
    split_blocks,
    split_segments,
)
from hepwatch.hl7.oru import read_lab_bytes
from hepwatch.ingest.labs import ingest_lab_files
from hepwatch.pseudonym import Pseudonymizer
from hepwatch.warehouse import connect
from tests.conftest import CORPUS

CORPUS_FILES = sorted(CORPUS.glob("*.hl7"))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name[:50] for p in CORPUS_FILES])
def test_every_line_of_every_corpus_file_lands_in_exactly_one_block(path):
    text = decode_feed_bytes(path.read_bytes())
    lines = [line for line in split_segments(text) if line.strip() and line[:3] not in ENVELOPE_SEGMENTS]
    blocks = split_blocks(text)
    assert sum(len(b.segments) for b in blocks) == len(lines)
    msh_count = sum(1 for line in lines if line.startswith("MSH"))
    assert sum(b.is_message for b in blocks) == msh_count


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name[:50] for p in CORPUS_FILES])
def test_a_message_framed_from_its_first_line_is_the_message_the_whole_file_frames(path):
    # parser_agreement frames only its sampled messages, from the line the ledger records
    text = decode_feed_bytes(path.read_bytes())
    lines = split_segments(text)
    blocks = split_blocks(text)
    for block in blocks:
        assert message_at(lines, block.line, block.index) == (block if block.is_message else None)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name[:50] for p in CORPUS_FILES])
def test_every_corpus_message_has_one_outcome(path):
    read = read_lab_bytes(path.read_bytes())
    assert read.messages, "every file holds at least one block"
    for message in read.messages:
        assert message.outcome in {"accepted", "ignored", "quarantined"}
        assert (message.outcome == "accepted") == (message.reason is None)
    accepted = {m.index for m in read.messages if m.outcome == "accepted"}
    assert {o.message_index for o in read.observations} <= accepted
    obx_in_accepted = sum(
        1
        for m in read.messages
        if m.outcome == "accepted"
        for seg in m.raw.split("\r")
        if seg.startswith("OBX")
    )
    assert len(read.observations) == obx_in_accepted


def test_corpus_ingestion_reconciles_per_file(tmp_path):
    feeds = tmp_path / "feeds"
    (feeds / "labs").mkdir(parents=True)
    for path in CORPUS_FILES:
        shutil.copy(path, feeds / "labs" / path.name)
    with connect(tmp_path / "warehouse") as conn:
        summary = ingest_lab_files(conn, feeds, Pseudonymizer(b"k"))
        assert summary.files == len(CORPUS_FILES)
        ledger = conn.execute(
            """
            SELECT f.file, f.messages, f.accepted + f.duplicates + f.ignored + f.quarantined,
                   count(m.message_index)
            FROM landing.file_versions f LEFT JOIN landing.lab_messages m USING (file, sha256)
            GROUP BY ALL
            """
        ).fetchall()
        for file, read, buckets, landed in ledger:
            assert read == buckets == landed, file
        # Raw payloads of quarantined messages are kept, in the restricted store only.
        held = conn.execute(
            "SELECT count(*) FROM landing.lab_messages WHERE outcome = 'quarantined'"
        ).fetchall()
        kept = conn.execute("SELECT count(*) FROM phi.quarantine WHERE raw_payload <> ''").fetchall()
        assert held == kept
        # The corpus's known non-lab-results are ignored: ORF^R04 and the three bare MLLP MSH stubs.
        ignored = conn.execute(
            "SELECT file, count(*) FROM landing.lab_messages WHERE outcome = 'ignored' GROUP BY ALL ORDER BY 1"
        ).fetchall()
        assert ignored == [
            ("labs/nextlevelseven__MultipleMessagesAsMlp_3_MLLP_frames_stub.hl7", 3),
            ("labs/nhapi__DenverHealth_ORF_R04_corrected_C_v231.hl7", 1),
        ]
        # Re-reading the same files changes nothing.
        again = ingest_lab_files(conn, feeds, Pseudonymizer(b"k"))
        assert again.files == 0


def test_two_messages_in_the_reportstream_batch_are_read():
    read = read_lab_bytes((CORPUS / "reportstream__batch_message_FHS_BHS_2xORU_v251.hl7").read_bytes())
    assert [m.outcome for m in read.messages] == ["accepted", "accepted"]


def test_dollar_subcomponent_separator_in_denver_health():
    read = read_lab_bytes((CORPUS / "nhapi__DenverHealth_CBC_MSH2_dollar_OBX11_Z_v231.hl7").read_bytes())
    assert read.messages[0].outcome == "accepted"
    assert {o.result_status for o in read.observations} == {"Z"}  # unknown code: waits, never counts


def test_mirth_large_liver_values_as_published():
    read = read_lab_bytes((CORPUS / "mirth__donkey_large_ORU_R01_v22_CBC_CMP_liver.hl7").read_bytes())
    liver = {
        o.alt_code: (o.value, o.unit, o.range_upper)
        for o in read.observations
        if re.fullmatch(r"1742-6|1920-8|6768-6|1975-2", o.alt_code)
    }
    # MANIFEST.md: ALT 19 U/L [0-35]; AST 21 U/L [0-35]; ALP 46 U/L [35-105]; BILI 0.6 mg/dL [0.0-1.2]
    assert liver == {
        "1742-6": (19.0, "U/L", 35.0),
        "1920-8": (21.0, "U/L", 35.0),
        "6768-6": (46.0, "U/L", 105.0),
        "1975-2": (0.6, "mg/dL", 1.2),
    }
