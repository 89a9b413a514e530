"""Dosing row rules of contract sections 2 and 3: which rows are records, and why the others are quarantined.

Each quarantined row gets the first reason that applies, in this order: `missing_field`, `bad_number` (not a
number), `non_positive_dose`, `unsupported_unit`, `bad_number` (a dose outside the plausible range),
`bad_datetime` (not ISO 8601, no real date, or a date no feed can hold). Every rule is a Polars expression
over all rows. A row that passes reaches the marts.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import NamedTuple

import polars as pl

REQUIRED_COLUMNS = ("record_id", "patient_id", "substance", "dose_amount", "dose_unit", "taken_at")
OPTIONAL_COLUMNS = ("id_authority", "product", "source")
DOSING_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


class MgPerUnit(NamedTuple):
    """dose_mg = dose_amount x times / divided_by (kept as integers so 500 mcg is exactly 0.5 mg)."""

    times: int
    divided_by: int


# contract.md section 2: dose_unit is g, mg, mcg or ug; µg (micro sign) and μg (Greek mu) spell ug.
DOSE_UNITS = {
    "g": MgPerUnit(1000, 1),
    "mg": MgPerUnit(1, 1),
    "mcg": MgPerUnit(1, 1000),
    "ug": MgPerUnit(1, 1000),
    "µg": MgPerUnit(1, 1000),
    "μg": MgPerUnit(1, 1000),
}
# A plausible single dose, whatever the unit: at least 1 microgram, at most 1 kilogram. Real doses lie far
# inside (kratom 1 to 10 g, methadone up to about 200 mg, buprenorphine up to 32 mg); outside it a value is a
# typing or unit error, and 1e308 g would reach the marts as an infinite total.
DOSE_MG_MIN = 0.001
DOSE_MG_MAX = 1_000_000.0
# The dose dates a feed can hold, as for lab collection dates: from 1900 up to tomorrow (a clock ahead by a
# few hours); anything else is a typing error (0001-01-01, 9999-12-31) that no day's marts could show.
EARLIEST_DOSE_DATE = date(1900, 1, 1)


def latest_dose_date() -> date:
    return date.today() + timedelta(days=1)


# contract.md section 2: `Mitragyna speciosa` (kratom's botanical name) means kratom; other names -> other.
SUBSTANCES = {
    "kratom": "kratom",
    "mitragyna speciosa": "kratom",
    "methadone": "methadone",
    "buprenorphine": "buprenorphine",
}

_DECIMAL = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_HOUR_MINUTE = r"(?:[01][0-9]|2[0-3]):?[0-5][0-9]"
_ISO_8601 = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
    rf"(?:Z|[+-]{_HOUR_MINUTE})?)?$"
)
_ECHO_CHARS = 40


def _echo(name: str) -> pl.Expr:
    """`name 'value'` for a detail message, the value cut to a readable length."""
    value = pl.col(name)
    cut = pl.when(value.str.len_chars() > _ECHO_CHARS).then(
        pl.concat_str(value.str.slice(0, _ECHO_CHARS), pl.lit("…"))
    )
    return pl.concat_str(pl.lit(f"{name} '"), cut.otherwise(value), pl.lit("'"))


def _dose_amount() -> pl.Expr:
    amount = pl.col("dose_amount")
    return pl.when(amount.str.contains(_DECIMAL)).then(amount.cast(pl.Float64, strict=False))


def _mg_factor(part: str) -> pl.Expr:
    mapping = {unit: float(getattr(factor, part)) for unit, factor in DOSE_UNITS.items()}
    unit = pl.col("dose_unit").str.to_lowercase()
    return unit.replace_strict(mapping, default=None, return_dtype=pl.Float64)


def _dose_date() -> pl.Expr:
    """The date as written (an offset never shifts it); null when taken_at is not ISO 8601 or no real date."""
    text = pl.col("taken_at")
    # Python dates start at year 1; year 0000 would break every consumer downstream.
    iso = text.str.contains(_ISO_8601) & ~text.str.starts_with("0000")
    return pl.when(iso).then(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))


def _taken_at() -> pl.Expr:
    """Naive local time as written, an offset ignored; null for a bare date. Needs `_dose_date`.

    The ISO 8601 pattern has already fixed where each part sits: `YYYY-MM-DDTHH:MM[:SS[.ffffff]]`.
    """
    text = pl.col("taken_at")

    def number(start: int, length: int) -> pl.Expr:
        return text.str.slice(start, length).cast(pl.Int64, strict=False)

    seconds = pl.when(text.str.slice(16, 1) == ":").then(number(17, 2)).otherwise(0)
    fraction = text.str.extract(r"^[^.]*\.([0-9]{1,6})", 1).str.pad_end(6, "0")
    elapsed = pl.duration(
        hours=number(11, 2),
        minutes=number(14, 2),
        seconds=seconds,
        microseconds=fraction.cast(pl.Int64, strict=False).fill_null(0),
        time_unit="us",
    )
    return pl.when(text.str.len_chars() > 10).then(pl.col("_dose_date").cast(pl.Datetime("us")) + elapsed)


def classify(fields: pl.DataFrame) -> pl.DataFrame:
    """`fields` (one Utf8 column per dosing column, plus `line`), trimmed, with checked values and a `reason`.

    Two columns say what a row's file is like: `_header_lacks`, true when the header lacks a required
    column (every row then is `missing_field`), and `_unclosed_line`, the line of the row whose last field
    swallowed the rest of the file (also `missing_field`), or null.
    """
    empty_required = pl.concat_str(
        [pl.when(pl.col(name) == "").then(pl.lit(name)) for name in REQUIRED_COLUMNS],
        separator=", ",
        ignore_nulls=True,
    )
    checked = (
        fields.with_columns(pl.col(DOSING_COLUMNS).str.strip_chars())
        .with_columns(
            empty_required.alias("_empty_required"),
            _dose_amount().alias("_amount"),
            _mg_factor("times").alias("_times"),
            _mg_factor("divided_by").alias("_divided_by"),
            _dose_date().alias("_dose_date"),
        )
        .with_columns(_taken_at().alias("_taken_at"))
    )
    amount = pl.col("_amount")
    dose_mg = amount * pl.col("_times") / pl.col("_divided_by")
    dose_date = pl.col("_dose_date")
    reason = (
        pl.when(
            pl.col("_header_lacks")
            | (pl.col("_empty_required") != "")
            | (pl.col("line") == pl.col("_unclosed_line"))
        )
        .then(pl.lit("missing_field"))
        .when(amount.is_null() | ~amount.is_finite())
        .then(pl.lit("bad_number"))
        .when(amount <= 0)
        .then(pl.lit("non_positive_dose"))
        .when(pl.col("_times").is_null())
        .then(pl.lit("unsupported_unit"))
        .when((dose_mg < DOSE_MG_MIN) | (dose_mg > DOSE_MG_MAX))
        .then(pl.lit("bad_number"))
        .when(dose_date.is_null() | (dose_date < EARLIEST_DOSE_DATE) | (dose_date > latest_dose_date()))
        .then(pl.lit("bad_datetime"))
    )
    return checked.with_columns(reason.alias("reason"))


def records(checked: pl.DataFrame) -> pl.DataFrame:
    """The valid rows in the published record shape."""
    substance = pl.col("substance").str.to_lowercase().str.replace_all(r"\s+", " ")
    optional = {name: pl.when(pl.col(name) != "").then(pl.col(name)) for name in ("product", "source")}
    return checked.filter(pl.col("reason").is_null()).select(
        *(["file_no"] if "file_no" in checked.columns else []),
        "line",
        "record_id",
        "patient_id",
        "id_authority",
        substance.replace_strict(SUBSTANCES, default="other", return_dtype=pl.String).alias("substance"),
        pl.col("substance").alias("substance_as_written"),
        optional["product"].alias("product"),
        pl.col("_amount").alias("dose_amount"),
        "dose_unit",
        (pl.col("_amount") * pl.col("_times") / pl.col("_divided_by")).alias("dose_mg"),
        pl.col("taken_at").alias("taken_at_text"),
        pl.col("_dose_date").alias("dose_date"),
        pl.col("_taken_at").alias("taken_at"),
        optional["source"].str.to_lowercase().alias("source"),
    )


def quarantine_detail(
    missing_columns: list[str], header_cells: int, cells_needed: int, unclosed_quote_line: int | None
) -> pl.Expr:
    """A sentence per quarantined row saying which column is wrong and what was expected.

    `cells_needed` is how many cells a row needs to reach the header's last required column; a shorter
    (ragged) row says so. patient_id values are never echoed: the detail may be shown outside the
    restricted store.
    """
    if missing_columns:
        return pl.lit(f"the header lacks required column(s): {', '.join(missing_columns)}")
    amount = pl.col("dose_amount")
    short_row = pl.when(pl.col("n_cells") < cells_needed).then(
        pl.concat_str(
            pl.lit(" (the row has "),
            pl.col("n_cells").cast(pl.String),
            pl.lit(f" of the header's {header_cells} cells)"),
        )
    )
    empty_row = pl.all_horizontal([pl.col(f"c{i}").str.strip_chars() == "" for i in range(header_cells)])
    iso = pl.lit(" (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.ffffff]], optionally with Z or ±HH:MM)")
    reason = pl.col("reason")
    unclosed = "a quote opened in this row is never closed, so the rest of the file was read as part of it"
    return (
        pl.when(pl.col("line") == pl.lit(unclosed_quote_line, dtype=pl.Int64))
        .then(pl.lit(unclosed))
        .when((reason == "missing_field") & empty_row)
        .then(pl.lit("the row is empty"))
        .when(reason == "missing_field")
        .then(
            pl.concat_str(
                pl.lit("required field empty: "), pl.col("_empty_required"), short_row.fill_null("")
            )
        )
        .when((reason == "bad_number") & amount.str.contains(r"^[+-]?[0-9]*,[0-9]+$"))
        .then(
            pl.concat_str(
                _echo("dose_amount"), pl.lit(" is not a number: use a point as the decimal separator")
            )
        )
        .when((reason == "bad_number") & pl.col("_amount").is_finite() & pl.col("_times").is_not_null())
        .then(
            pl.concat_str(
                _echo("dose_amount"),
                pl.lit(" "),
                _echo("dose_unit"),
                pl.lit(" is outside the plausible range of a dose (1 microgram to 1 kilogram)"),
            )
        )
        .when((reason == "bad_number") & amount.str.contains(_DECIMAL))
        .then(pl.concat_str(_echo("dose_amount"), pl.lit(" is too large to be a dose")))
        .when(reason == "bad_number")
        .then(
            pl.concat_str(
                _echo("dose_amount"), pl.lit(" is not a number (expected a decimal such as 2 or 0.5)")
            )
        )
        .when(reason == "non_positive_dose")
        .then(pl.concat_str(_echo("dose_amount"), pl.lit(" must be greater than 0")))
        .when(reason == "unsupported_unit")
        .then(
            pl.concat_str(_echo("dose_unit"), pl.lit(" is not a supported unit (expected g, mg, mcg or ug)"))
        )
        .when(pl.col("_dose_date").is_not_null())
        .then(
            pl.concat_str(
                _echo("taken_at"),
                pl.lit(f" is not a plausible dose date (expected {EARLIEST_DOSE_DATE} to tomorrow)"),
            )
        )
        .when(pl.col("taken_at").str.contains(_ISO_8601))
        .then(pl.concat_str(_echo("taken_at"), pl.lit(" is not a real calendar date")))
        .otherwise(pl.concat_str(_echo("taken_at"), pl.lit(" is not an ISO 8601 date or date-time"), iso))
    )
