"""Staged tables: current versions, before they are shaped into marts."""

import pandera.polars as pa
import polars as pl

from schemas.vocabulary import ANALYTES, CANONICAL_UNITS, COMPARATORS, PATIENT_KEY_PATTERN, SUBSTANCES


class LiverObservations(pa.DataFrameModel):
    """The current version of every liver-panel observation, graded-ready or with its quarantine reason."""

    observation_key: str = pa.Field(unique=True, description="Identity of the observation across versions")
    patient_key: str = pa.Field(str_matches=PATIENT_KEY_PATTERN, description="Pseudonymous patient")
    analyte: str = pa.Field(nullable=True, isin=ANALYTES, description="Mapped analyte; NULL when unmapped")
    code: str = pa.Field(nullable=True, description="OBX-3 code as sent")
    code_system: str = pa.Field(nullable=True, description="OBX-3 coding system as sent")
    code_text: str = pa.Field(nullable=True, description="OBX-3 text as sent")
    collected_at: pl.Datetime = pa.Field(description="Specimen collection time (OBR-7, else OBX-14)")
    collected_date: pl.Date = pa.Field(description="Collection date as written by the lab")
    value: float = pa.Field(
        nullable=True, description="Value in the canonical unit (negative ones quarantined)"
    )
    unit: str = pa.Field(nullable=True, isin=CANONICAL_UNITS, description="Canonical unit")
    comparator: str = pa.Field(nullable=True, isin=COMPARATORS, description="Comparator of the value")
    uln: float = pa.Field(nullable=True, gt=0, description="Upper limit of normal, canonical unit")
    uln_source: str = pa.Field(
        nullable=True, isin=["range", "default"], description="Where the ULN came from"
    )
    x_uln: float = pa.Field(nullable=True, description="value / uln")
    abnormal_flags: str = pa.Field(nullable=True, description="OBX-8 as sent")
    result_status: str = pa.Field(isin=["F", "C", "U"], description="OBX-11 of the current version")
    sending_facility: str = pa.Field(nullable=True, description="MSH-4")
    control_id: str = pa.Field(description="MSH-10 of the message carrying the current version")
    quarantine_reason: str = pa.Field(
        nullable=True,
        isin=[
            "unmapped_liver_code",
            "multiple_values",
            "missing_value",
            "non_numeric_value",
            "negative_value",
            "unknown_unit",
            "shifted_fields",
            "conflicting_copies",
        ],
        description="Why the observation is held back; NULL for a result",
    )

    @pa.dataframe_check
    def results_are_complete(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A result (no quarantine reason) has an analyte, a value >= 0 and a unit."""
        return data.lazyframe.select(
            pl.col("quarantine_reason").is_not_null()
            | (
                pl.col("analyte").is_not_null()
                & (pl.col("value") >= 0)
                & pl.col("unit").is_not_null()
                & (pl.col("x_uln").is_null() | (pl.col("x_uln") >= 0))
            )
        )


class DosingRecords(pa.DataFrameModel):
    """The current version of each dosing record (corrections applied)."""

    record_id: str = pa.Field(unique=True, description="Record ID as sent")
    patient_key: str = pa.Field(str_matches=PATIENT_KEY_PATTERN, description="Pseudonymous patient")
    substance: str = pa.Field(isin=SUBSTANCES, description="kratom, methadone, buprenorphine or other")
    dose_mg: float = pa.Field(gt=0, description="Dose in mg")
    dose_date: pl.Date = pa.Field(description="The date as written in taken_at")


class ExposureEpisodes(pa.DataFrameModel):
    """Kratom exposure episodes: runs of kratom doses with no gap over 30 days (domain.md section 6)."""

    patient_key: str = pa.Field(str_matches=PATIENT_KEY_PATTERN, description="Pseudonymous patient")
    episode_no: pl.Int32 = pa.Field(ge=1, description="1 for the patient's first episode, then 2, ...")
    episode_start: pl.Date = pa.Field(description="Date of the episode's first kratom dose")
    last_dose_date: pl.Date = pa.Field(description="Date of the episode's last kratom dose")
    exposed_until: pl.Date = pa.Field(description="Last exposed day: last dose + 30 days")
    dose_days: pl.Int32 = pa.Field(ge=1, description="Days with a kratom dose in the episode")
    total_g: float = pa.Field(gt=0, description="Kratom taken in the episode, grams")

    class Config:
        unique = ("patient_key", "episode_no")

    @pa.dataframe_check
    def ordered(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """episode_start <= last_dose_date < exposed_until."""
        return data.lazyframe.select(
            (pl.col("episode_start") <= pl.col("last_dose_date"))
            & (pl.col("last_dose_date") < pl.col("exposed_until"))
        )


class Baselines(pa.DataFrameModel):
    """Per patient and analyte: the last result in the 90 days before the first kratom dose (domain.md 3)."""

    patient_key: str = pa.Field(str_matches=PATIENT_KEY_PATTERN, description="Pseudonymous patient")
    analyte: str = pa.Field(isin=["ALT", "AST", "ALP", "GGT", "TBIL"], description="Graded analyte")
    first_kratom_date: pl.Date = pa.Field(description="The patient's first recorded kratom dose")
    baseline_date: pl.Date = pa.Field(description="Collection date of the baseline result")
    baseline_value: float = pa.Field(ge=0, description="Baseline value, canonical unit")
    baseline_x_uln: float = pa.Field(ge=0, description="Baseline x ULN")
    baseline_abnormal: bool = pa.Field(
        description="Baseline above the ULN: later results are graded x baseline"
    )

    class Config:
        unique = ("patient_key", "analyte")
