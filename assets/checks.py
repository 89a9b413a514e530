"""Turning a Pandera model into the blocking `schema_valid` asset check (contract section 5).

The check is declared on the asset and its result returned with the materialization, so a schema failure
shows in the UI's Checks tab with the failing rows as metadata, and blocks downstream assets, instead of
crashing the step.
"""

from __future__ import annotations

import dagster as dg
import pandera.polars as pa
import polars as pl

SCHEMA_VALID = "schema_valid"
FAILING_ROWS_SHOWN = 20


def schema_valid_spec(key: dg.AssetKey | list[str]) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        SCHEMA_VALID,
        asset=dg.AssetKey(key) if isinstance(key, list) else key,
        blocking=True,
        description="The table matches its Pandera model (schemas/): columns, types and rules.",
    )


def schema_valid(model: type[pa.DataFrameModel], frame: pl.DataFrame) -> dg.AssetCheckResult:
    """Validate every row lazily; on failure, report counts per rule and the first failing cases."""
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        by_check = cases.group_by("column", "check").len().sort("len", descending=True)
        return dg.AssetCheckResult(
            check_name=SCHEMA_VALID,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "model": model.__name__,
                "rows_checked": frame.height,
                "failure_cases": cases.height,
                "failures_by_rule": dg.MetadataValue.md(markdown_table(by_check)),
                "first_failing_cases": dg.MetadataValue.md(
                    markdown_table(
                        cases.head(FAILING_ROWS_SHOWN).with_columns(pl.col("failure_case").cast(pl.Utf8))
                    )
                ),
            },
        )
    return dg.AssetCheckResult(
        check_name=SCHEMA_VALID, passed=True, metadata={"model": model.__name__, "rows_checked": frame.height}
    )


def column_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    """`dagster/column_schema` from the model: names, types and descriptions."""
    columns = model.to_schema().columns
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, type=str(column.dtype), description=column.description or "")
            for name, column in columns.items()
        ]
    )


def markdown_table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([header, rule, *rows])
