"""The `parser_agreement` check (contract section 5): a deterministic sample of the messages behind a run's
days, re-read from their feed files and parsed by hl7apy, must agree with hepwatch's reader on every field
hepwatch uses. Disagreements fail the check (ERROR) with both readings in its metadata; identifiers (PID)
are never shown.
"""

import hashlib
from collections import defaultdict
from datetime import date

import dagster as dg
import duckdb
import polars as pl

from assets.checks import markdown_table
from assets.resources import Feeds, Monitoring
from assets.tables import sql
from hepwatch.hl7.differential import Hl7apyCannotParse, compare_in_detail
from hepwatch.hl7.framing import decode_feed_bytes, message_at, split_segments

PARSER_AGREEMENT = "parser_agreement"
SHOWN = 20


def parser_agreement_spec(key: list[str]) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        PARSER_AGREEMENT,
        asset=dg.AssetKey(key),
        description="hl7apy re-parses a deterministic sample of the run's messages (per day built) and agrees "
        "with hepwatch's reader on MSH-4/7/9/10/12, PID-3, OBR-2/3/7/22/25 and OBX-2..8/11/14.",
    )


def _sample(conn: duckdb.DuckDBPyConnection, start: date, end: date, monitoring: Monitoring) -> pl.DataFrame:
    return conn.sql(
        sql("check_parser_agreement_sample"),
        params={
            "start": start,
            "end": end,
            "per_day": monitoring.parser_agreement_per_day,
            "most": monitoring.parser_agreement_max_messages,
        },
    ).pl()


def _shown(field: str, value: str) -> str:
    return "(identifier, not shown)" if field.startswith("PID") else value


def parser_agreement(
    conn: duckdb.DuckDBPyConnection, feeds: Feeds, monitoring: Monitoring, start: date, end: date
) -> dg.AssetCheckResult:
    sample = _sample(conn, start, end, monitoring)
    by_file: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(list)
    for file, sha256, index, line, control_id, _ in sample.iter_rows():
        by_file[(file, sha256)].append((index, line, control_id))
    compared = 0
    unparseable: list[str] = []
    changed: list[str] = []
    by_design: dict[str, int] = defaultdict(int)
    disagreements: list[tuple[str, str, str, str]] = []
    for (file, sha256), messages in sorted(by_file.items()):
        path = feeds.path / file
        data = path.read_bytes() if path.is_file() else b""
        if hashlib.sha256(data).hexdigest() != sha256:
            changed.extend(control_id for *_, control_id in messages)  # re-read from a later file version
            continue
        # only the sampled messages are framed (a feed file may hold hundreds of thousands)
        lines = split_segments(decode_feed_bytes(data))
        for index, line, control_id in messages:
            block = message_at(lines, line, index)
            if block is None:  # the ledger's line no longer starts a message: the file is not as it was read
                changed.append(control_id)
                continue
            try:
                comparison = compare_in_detail(block.text)
            except Hl7apyCannotParse:
                unparseable.append(control_id)
                continue
            compared += 1
            for expected in comparison.by_design:
                for case in expected.cases:
                    by_design[case] += 1
            disagreements.extend(
                (control_id, d.field, _shown(d.field, d.hepwatch), _shown(d.field, d.hl7apy))
                for d in comparison.disagreements
            )
    table = pl.DataFrame(
        disagreements[:SHOWN], schema=["control_id", "field", "hepwatch", "hl7apy"], orient="row"
    )
    return dg.AssetCheckResult(
        check_name=PARSER_AGREEMENT,
        passed=not disagreements,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"hl7apy reads the {compared} sampled messages as hepwatch does."
            if not disagreements
            else f"Error: hl7apy reads {len(disagreements)} field(s) of the sampled messages differently "
            "(first_disagreements names the control IDs)."
        ),
        metadata={
            "messages_sampled": sample.height,
            "messages_compared": compared,
            "fields_disagreeing": len(disagreements),
            "first_disagreements": dg.MetadataValue.md(markdown_table(table)),
            "hl7apy_cannot_parse": unparseable[:SHOWN],
            "file_changed_since_read": changed[:SHOWN],
            "differences_by_design": dict(by_design),
        },
    )
