"""Published marts (contract section 4). Column descriptions become the DuckDB COMMENTs analysts read."""

import pandera.polars as pa
import polars as pl

from schemas.vocabulary import (
    ANALYTES,
    CANONICAL_UNITS,
    COMPARATORS,
    COUNTED_STATUSES,
    FEED_KINDS,
    FILE_STATUSES,
    PATIENT_KEY_PATTERN,
    SUBSTANCES,
    ULN_SOURCES,
)

PATIENT_KEY = (
    "Pseudonymous patient key (keyed hash of the identifier pair; the map is in the restricted store)"
)


class LabResults(pa.DataFrameModel):
    """One row per current liver-panel result: final, corrected or made-final versions not later
    retracted or replaced, in canonical units with ULN and x ULN."""

    patient_key: str = pa.Field(str_matches=PATIENT_KEY_PATTERN, description=PATIENT_KEY)
    analyte: str = pa.Field(isin=ANALYTES, description="ALT, AST, ALP, GGT, TBIL, DBIL, INR or ALB")
    code: str = pa.Field(nullable=True, description="Observation code (OBX-3) as sent")
    code_system: str = pa.Field(nullable=True, description="Coding system of the code as sent (LN = LOINC)")
    collected_at: pl.Datetime = pa.Field(description="Specimen collection time as written by the lab")
    collected_date: pl.Date = pa.Field(description="Collection date: the clinical date of the result")
    value: float = pa.Field(ge=0, description="Result value in the canonical unit")
    unit: str = pa.Field(isin=CANONICAL_UNITS, description="Canonical unit: U/L, mg/dL, ratio (INR), g/dL")
    comparator: str = pa.Field(
        nullable=True,
        isin=COMPARATORS,
        description="Comparator sent with the value (>1000 is graded at 1000)",
    )
    uln: float = pa.Field(nullable=True, gt=0, description="Upper limit of normal in the canonical unit")
    uln_source: str = pa.Field(
        nullable=True, isin=ULN_SOURCES, description="range: from OBX-7; default: hepwatch's documented ULN"
    )
    x_uln: float = pa.Field(
        nullable=True, ge=0, description="Multiple of the upper limit of normal: value / uln"
    )
    abnormal_flags: str = pa.Field(nullable=True, description="Abnormal flags (OBX-8) as sent")
    result_status: str = pa.Field(
        isin=COUNTED_STATUSES, description="OBX-11: F final, C corrected, U made final"
    )
    sending_facility: str = pa.Field(nullable=True, description="Sending facility (MSH-4)")

    @pa.dataframe_check
    def uln_known_for_graded_analytes(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Every analyte but albumin has a ULN (its range or the default) and so an x ULN."""
        return data.lazyframe.select(
            (pl.col("analyte") == "ALB") | (pl.col("uln").is_not_null() & pl.col("x_uln").is_not_null())
        )


class DosingDaily(pa.DataFrameModel):
    """One row per patient, day and substance: how many doses and how many mg."""

    patient_key: str = pa.Field(str_matches=PATIENT_KEY_PATTERN, description=PATIENT_KEY)
    dose_date: pl.Date = pa.Field(description="Dose date as written in the dosing record")
    substance: str = pa.Field(isin=SUBSTANCES, description="kratom, methadone, buprenorphine or other")
    doses: pl.Int32 = pa.Field(gt=0, description="Number of dose records that day")
    total_mg: float = pa.Field(gt=0, description="Total dose that day in mg")

    class Config:
        unique = ("patient_key", "dose_date", "substance")


class FeedFiles(pa.DataFrameModel):
    """One row per feed file read: its latest version's counts (read = accepted + duplicates + ignored +
    quarantined)."""

    file: str = pa.Field(unique=True, description="Path relative to the feeds directory")
    kind: str = pa.Field(isin=FEED_KINDS, description="labs or dosing")
    sha256: str = pa.Field(description="SHA-256 of the file version last read")
    first_ingested_at: pl.Datetime = pa.Field(description="When any version of the file was first read")
    messages: int = pa.Field(ge=0, description="Messages read (labs) or data rows read (dosing)")
    accepted: int = pa.Field(ge=0, description="Accepted messages or dosing records")
    duplicates: int = pa.Field(ge=0, description="Messages whose MSH-4 and MSH-10 were already accepted")
    ignored: int = pa.Field(ge=0, description="Messages that are not lab results (e.g. ADT, ORF)")
    quarantined: int = pa.Field(
        ge=0, description="Messages or rows held back with a reason (see marts.quarantine)"
    )
    status: str = pa.Field(isin=FILE_STATUSES, description="ok, partly_quarantined or unreadable")

    @pa.dataframe_check
    def reconciles(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """messages = accepted + duplicates + ignored + quarantined."""
        return data.lazyframe.select(
            pl.col("messages")
            == pl.col("accepted") + pl.col("duplicates") + pl.col("ignored") + pl.col("quarantined")
        )


class Quarantine(pa.DataFrameModel):
    """Everything held back and why: lab messages, liver-panel observations and dosing rows. Raw payloads
    stay in the restricted store (phi.quarantine)."""

    kind: str = pa.Field(
        isin=["lab_message", "lab_observation", "dosing_row"], description="What was held back"
    )
    file: str = pa.Field(description="Feed file, relative to the feeds directory")
    line: int = pa.Field(nullable=True, description="Line of the message start (labs) or CSV row (dosing)")
    control_id: str = pa.Field(nullable=True, description="MSH-10 of the message, when there is one")
    record_id: str = pa.Field(nullable=True, description="Dosing record_id, when there is one")
    analyte: str = pa.Field(nullable=True, description="Analyte of a held-back observation, when mapped")
    reason: str = pa.Field(description="Reason code, e.g. missing_patient_id, unknown_unit, bad_datetime")
    detail: str = pa.Field(nullable=True, description="What was wrong, in words a user can act on")
