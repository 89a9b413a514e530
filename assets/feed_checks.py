"""Asset checks that monitors watch on ingestion and the marts (contract section 5).

Each check's metadata says what failed: counts, the first failing files, codes, days or message control IDs,
never a name or MRN. Thresholds are the `monitoring` resource's configuration (assets/resources.py).
"""

import dagster as dg
import polars as pl

from assets.checks import markdown_table
from assets.ingest import dosing_feed, lab_feed
from assets.marts import abnormal_enzyme_cases_daily, lab_results
from assets.resources import Monitoring, Warehouse
from assets.staging import liver_observations
from assets.tables import sql

SHOWN = 20


def _table(frame: pl.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown_table(frame.head(SHOWN)))


def _ingest_reconciles(asset: dg.AssetsDefinition, kind: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name="ingest_reconciles",
        description=f"Per {kind} file version: read = accepted + duplicates + ignored + quarantined, and "
        "exactly that many messages or rows landed.",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect() as conn:
            failing = conn.sql(sql(f"check_reconcile_{kind}")).pl()
            versions = conn.execute(
                "SELECT count(*) FROM landing.file_versions WHERE kind = ?", [kind]
            ).fetchall()
        return dg.AssetCheckResult(
            passed=failing.is_empty(),
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                f"Every one of {versions[0][0]} {kind} file versions reconciles."
                if failing.is_empty()
                else f"Error: {failing.height} {kind} file version(s) do not reconcile: a message or row may "
                "be lost (first_not_reconciling)."
            ),
            metadata={
                "file_versions": versions[0][0],
                "not_reconciling": failing.height,
                "first_not_reconciling": _table(failing),
            },
        )

    return _check


lab_feed_reconciles = _ingest_reconciles(lab_feed, "labs")
dosing_feed_reconciles = _ingest_reconciles(dosing_feed, "dosing")


def _feed_quarantine_rate(asset: dg.AssetsDefinition, kind: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name="quarantine_rate",
        description=f"Share of {kind} {'messages' if kind == 'labs' else 'rows'} quarantined, over all files "
        "read; warns above `quarantine_rate_max` (default 2%).",
    )
    def _check(warehouse: Warehouse, monitoring: Monitoring) -> dg.AssetCheckResult:
        with warehouse.connect() as conn:
            read, held = conn.execute(
                "SELECT coalesce(sum(messages), 0), coalesce(sum(quarantined), 0) FROM landing.file_versions "
                "WHERE kind = ?",
                [kind],
            ).fetchall()[0]
            worst = conn.sql(
                "SELECT file, messages AS read, quarantined, round(quarantined / messages, 4) AS share "
                f"FROM landing.file_versions WHERE kind = '{kind}' AND quarantined > 0 ORDER BY share DESC, file"
            ).pl()
        return _rate_result(int(read), int(held), monitoring.quarantine_rate_max, worst)

    return _check


def _rate_result(read: int, held: int, limit: float, worst: pl.DataFrame) -> dg.AssetCheckResult:
    share = held / read if read else 0.0
    within = share <= limit
    return dg.AssetCheckResult(
        passed=within,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{held} of {read} quarantined ({share:.1%}), within the {limit:.0%} limit."
            if within
            else f"Warning: {held} of {read} quarantined ({share:.1%}), above the {limit:.0%} limit; "
            "marts.quarantine says why (worst files in `worst`)."
        ),
        metadata={
            "read": read,
            "quarantined": held,
            "share": round(share, 4),
            "limit": limit,
            "worst": _table(worst),
        },
    )


lab_feed_quarantine_rate = _feed_quarantine_rate(lab_feed, "labs")
dosing_feed_quarantine_rate = _feed_quarantine_rate(dosing_feed, "dosing")


@dg.asset_check(
    asset=liver_observations,
    name="quarantine_rate",
    description="Share of current liver-panel observations quarantined (unmapped code, text value, unknown "
    "unit, ...); warns above `quarantine_rate_max` (default 2%).",
)
def observation_quarantine_rate(warehouse: Warehouse, monitoring: Monitoring) -> dg.AssetCheckResult:
    with warehouse.connect() as conn:
        read, held = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE quarantine_reason IS NOT NULL) FROM staging.liver_observations"
        ).fetchall()[0]
        reasons = conn.sql(
            "SELECT quarantine_reason, count(*) AS n FROM staging.liver_observations "
            "WHERE quarantine_reason IS NOT NULL GROUP BY ALL ORDER BY n DESC"
        ).pl()
    return _rate_result(int(read), int(held), monitoring.quarantine_rate_max, reasons)


@dg.asset_check(
    asset=liver_observations,
    name="unmapped_liver_codes",
    description="Liver-looking observation codes that the code map does not map (extend it with "
    "HEPWATCH_CODE_MAP); the observations are quarantined until it does.",
)
def unmapped_liver_codes(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as conn:
        codes = conn.sql(sql("check_unmapped_liver_codes")).pl()
    return dg.AssetCheckResult(
        passed=codes.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            "Every liver-looking code maps to an analyte."
            if codes.is_empty()
            else f"Warning: {codes.height} liver-looking code(s) map to no analyte; their results are held "
            "back until the code map (HEPWATCH_CODE_MAP) names them."
        ),
        metadata={
            "unmapped_codes": codes.height,
            "observations": int(codes["observations"].sum()) if codes.height else 0,
            "codes": _table(codes),
        },
    )


@dg.asset_check(
    asset=lab_results,
    name="abnormal_flag_agreement",
    description="The lab's own abnormal flag (OBX-8) agrees with hepwatch's x ULN (from the same lab's "
    "range): H/HH/> with x ULN > 1, N/L/LL with x ULN <= 1.",
)
def abnormal_flag_agreement(warehouse: Warehouse, monitoring: Monitoring) -> dg.AssetCheckResult:
    with warehouse.connect() as conn:
        by_pair = conn.sql(sql("check_abnormal_flag_agreement")).pl()
    compared = int(by_pair["compared"].sum()) if by_pair.height else 0
    disagreeing = int(by_pair["len"].sum()) if by_pair.height else 0
    share = disagreeing / compared if compared else 0.0
    by_lab = (
        by_pair.filter(pl.col("len") > 0)
        .select("sending_facility", "analyte", "len")
        .sort("len", "sending_facility", "analyte", descending=[True, False, False])
    )
    limit = monitoring.abnormal_flag_disagreement_max
    return dg.AssetCheckResult(
        passed=share <= limit,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"OBX-8 agrees with x ULN on {compared - disagreeing} of {compared} results; {share:.1%} disagree, "
            f"within the {limit:.0%} limit."
            if share <= limit
            else f"Warning: OBX-8 disagrees with x ULN on {disagreeing} of {compared} results ({share:.1%}, "
            f"above {limit:.0%}): a unit or range may be read wrongly (by_lab_and_analyte)."
        ),
        metadata={
            "results_compared": compared,
            "disagreeing": disagreeing,
            "share": round(share, 4),
            "limit": monitoring.abnormal_flag_disagreement_max,
            "by_lab_and_analyte": _table(by_lab),
        },
    )


@dg.asset_check(
    asset=abnormal_enzyme_cases_daily,
    name="case_volume_anomaly",
    description="A day's new cases far above the trailing 28 days: at least `case_volume_min_new_cases` "
    "and more than `case_volume_factor` times the trailing 28-day mean.",
)
def case_volume_anomaly(warehouse: Warehouse, monitoring: Monitoring) -> dg.AssetCheckResult:
    with warehouse.connect() as conn:
        days = conn.sql(
            sql("check_case_volume_anomaly"),
            params={
                "min_cases": monitoring.case_volume_min_new_cases,
                "factor": monitoring.case_volume_factor,
            },
        ).pl()
    return dg.AssetCheckResult(
        passed=days.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            "No day's new cases stand out from its trailing 28 days."
            if days.is_empty()
            else f"Warning: {days.height} day(s) with new cases far above the trailing 28 days: look at "
            "those days' cases (a cluster, or a feed problem)."
        ),
        metadata={
            "anomalous_days": days.height,
            "days": _table(days),
            "factor": monitoring.case_volume_factor,
            "min_new_cases": monitoring.case_volume_min_new_cases,
        },
    )
