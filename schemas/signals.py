"""Published marts of safety signals and the action list (contract section 4 and the README): what the
monitors' signal checks and the clinics' worklist read."""

import pandera.polars as pa
import polars as pl

from schemas.marts import PATIENT_KEY, x_uln
from schemas.vocabulary import PATIENT_KEY_PATTERN


class StoppingSignals(pa.DataFrameModel):
    """One row per patient, day and FDA 2009 stopping signal (domain.md section 5): ALT or AST > 8 x ULN
    (peak); > 5 x ULN for more than 2 weeks (sustained); > 3 x ULN with TBIL > 2 x ULN or INR > 1.5
    (with_tbil_or_inr). Thresholds: the stopping_* rows of the signal thresholds."""

    signal_date: pl.Date = pa.Field(description="The day the signal holds on")
    patient_key: str = pa.Field(str_matches=PATIENT_KEY_PATTERN, description=PATIENT_KEY)
    signal: str = pa.Field(isin=["peak", "sustained", "with_tbil_or_inr"], description="Which signal")
    high_since: pl.Date = pa.Field(
        nullable=True, description="sustained: the first result of the run above 5 x ULN; NULL otherwise"
    )
    amino_xuln: float = x_uln("The day's highest ALT or AST x ULN; NULL when none was measured that day")
    tbil_xuln: float = x_uln("The day's highest total bilirubin x ULN")
    inr: float = pa.Field(nullable=True, ge=0, description="The day's highest INR")

    class Config:
        unique = ("signal_date", "patient_key", "signal")


class ActionList(pa.DataFrameModel):
    """Today's prioritised action list: one row per patient a clinic should act on as of the last date in the
    data, most urgent first, for what happened in the 7 days up to it: 1 potential Hy's law or an FDA
    stopping signal, 2 a grade 3+ case day, 3 a rising grade 2, 4 a monitoring gap."""

    as_of_date: pl.Date = pa.Field(description="Latest lab collection date or dose date in the data")
    rank: pl.Int32 = pa.Field(
        ge=1, description="Place on the list: by priority, then worst enzyme x ULN (days overdue for gaps)"
    )
    patient_key: str = pa.Field(unique=True, str_matches=PATIENT_KEY_PATTERN, description=PATIENT_KEY)
    priority: pl.Int32 = pa.Field(
        ge=1,
        le=4,
        description="1 potential Hy's law or FDA stopping signal, 2 grade 3+, 3 rising grade 2, 4 monitoring gap",
    )
    reasons: str = pa.Field(description="Every finding that put the patient on the list, with its day")
    rules: str = pa.Field(
        description="The rules behind them: FDA 2009 DILI guidance, CTCAE v5, hepwatch monitoring policy"
    )
    latest_finding_date: pl.Date = pa.Field(description="Day of the latest finding")
    latest_alt_xuln: float = x_uln("Latest ALT x ULN on or before as_of_date")
    latest_ast_xuln: float = x_uln("Latest AST x ULN on or before as_of_date")
    latest_alp_xuln: float = x_uln("Latest ALP x ULN on or before as_of_date")
    latest_tbil_xuln: float = x_uln("Latest total bilirubin x ULN on or before as_of_date")
    latest_result_date: pl.Date = pa.Field(nullable=True, description="Day of the latest of those results")
    amino_trend: str = pa.Field(
        nullable=True,
        isin=["up", "down", "same"],
        description="The last ALT-or-AST result day (higher x ULN of the two) against the one before",
    )
    days_since_kratom_start: pl.Int32 = pa.Field(
        nullable=True, description="Days since the first dose of the current kratom exposure episode"
    )
    kratom_7d_g: float = pa.Field(ge=0, description="Kratom grams over the 7 days up to as_of_date")
    kratom_prior_28d_g: float = pa.Field(ge=0, description="Kratom grams over the 28 days before those 7")
    due_date: pl.Date = pa.Field(
        nullable=True, description="Monitoring gaps: when the next ALT or AST was due"
    )
    days_overdue: pl.Int32 = pa.Field(
        nullable=True, gt=0, description="Monitoring gaps: as_of_date minus due_date"
    )

    class Config:
        unique = ("as_of_date", "rank")
