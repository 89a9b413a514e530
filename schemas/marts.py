"""Published marts (contract section 4). Column descriptions become the DuckDB COMMENTs analysts read."""

from typing import Any

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
    unreadable_reason: str | None = pa.Field(
        nullable=True,
        description="Why an unreadable file could not be read: the OS error, empty_file, not a regular file "
        "(a directory, a FIFO), a symbolic link loop, not CSV, no header",
    )

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


def grade(description: str) -> Any:
    """A CTCAE grade column: 0 to 4, NULL when the analyte was not measured."""
    return pa.Field(nullable=True, ge=0, le=4, description=description)


def x_uln(description: str) -> Any:
    """A multiple-of-ULN column: >= 0, NULL when the analyte was not measured."""
    return pa.Field(nullable=True, ge=0, description=description)


class AbnormalEnzymeCasesDaily(pa.DataFrameModel):
    """One row per patient and day with an abnormal enzyme (some ALT, AST, ALP or GGT result that day above
    the ULN): peaks, CTCAE v5 grades, injury pattern, DILI criteria, potential Hy's law, kratom exposure."""

    case_date: pl.Date = pa.Field(description="Collection date")
    patient_key: str = pa.Field(str_matches=PATIENT_KEY_PATTERN, description=PATIENT_KEY)
    alt_xuln: float = x_uln("The day's peak ALT x ULN; NULL when not measured")
    ast_xuln: float = x_uln("The day's peak AST x ULN; NULL when not measured")
    alp_xuln: float = x_uln("The day's peak ALP x ULN; NULL when not measured")
    ggt_xuln: float = x_uln("The day's peak GGT x ULN; NULL when not measured")
    tbil_xuln: float = x_uln("The day's peak total bilirubin x ULN; NULL when not measured")
    alt_grade: pl.Int32 = grade("CTCAE v5 grade of the ALT peak, baseline-aware")
    ast_grade: pl.Int32 = grade("CTCAE v5 grade of the AST peak, baseline-aware")
    alp_grade: pl.Int32 = grade("CTCAE v5 grade of the ALP peak, baseline-aware")
    ggt_grade: pl.Int32 = grade("CTCAE v5 grade of the GGT peak, baseline-aware")
    tbil_grade: pl.Int32 = grade("CTCAE v5 grade of the bilirubin peak, baseline-aware")
    max_grade: pl.Int32 = pa.Field(ge=0, le=4, description="The highest of the five grades")
    r_ratio: float = pa.Field(
        nullable=True, ge=0, description="R = (ALT/ULN)/(ALP/ULN); NULL without ALT or ALP"
    )
    nr_ratio: float = pa.Field(
        nullable=True, ge=0, description="nR: the higher of ALT or AST x ULN over ALP x ULN; NULL without ALP"
    )
    injury_pattern: str = pa.Field(
        nullable=True,
        isin=["hepatocellular", "mixed", "cholestatic"],
        description="From R (nR when R is NULL): >= 5 hepatocellular, <= 2 cholestatic, else mixed",
    )
    dili_criteria_met: bool = pa.Field(
        description="Same day: ALT >= 5 x ULN, or ALP >= 2 x ULN, or ALT >= 3 x ULN with TBIL > 2 x ULN "
        "(AST stands in for a missing ALT)"
    )
    potential_hys_law: bool = pa.Field(
        description="Over [case_date-29, case_date]: ALT or AST >= 3 x ULN, TBIL > 2 x ULN, no ALP >= 2 x ULN"
    )
    kratom_exposed: bool = pa.Field(
        description="case_date lies in a kratom exposure episode (first dose to last dose + 30 days)"
    )
    days_since_kratom_start: pl.Int32 = pa.Field(
        nullable=True,
        ge=0,
        description="case_date minus the episode's first dose date; NULL when not exposed",
    )
    days_since_last_kratom_dose: pl.Int32 = pa.Field(
        nullable=True, ge=0, description="case_date minus the latest kratom dose date on or before it"
    )
    kratom_7d_g: float = pa.Field(
        ge=0, description="Grams of kratom over [case_date-6, case_date]; 0 when none"
    )
    moud: str = pa.Field(
        isin=["methadone", "buprenorphine", "both", "none"],
        description="Opioid treatment doses over [case_date-6, case_date]",
    )
    new_case: bool = pa.Field(description="No case day for the patient in [case_date-30, case_date-1]")

    class Config:
        unique = ("case_date", "patient_key")

    @pa.dataframe_check
    def exposure_fields_agree(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """days_since_kratom_start is set exactly when the day is exposed."""
        return data.lazyframe.select(
            pl.col("kratom_exposed") == pl.col("days_since_kratom_start").is_not_null()
        )


class DailySummary(pa.DataFrameModel):
    """One row per day from the first to the last collection date in the data: tests, cases and signals."""

    summary_date: pl.Date = pa.Field(unique=True, description="The day")
    results: pl.Int32 = pa.Field(ge=0, description="Current liver-panel results collected that day")
    patients_tested: pl.Int32 = pa.Field(ge=0, description="Patients with a result that day")
    case_patients: pl.Int32 = pa.Field(ge=0, description="Patients with a case day (an enzyme above ULN)")
    new_cases: pl.Int32 = pa.Field(ge=0, description="Case patients with no case day in the 30 days before")
    grade3plus_patients: pl.Int32 = pa.Field(ge=0, description="Case patients with max_grade 3 or 4")
    dili_patients: pl.Int32 = pa.Field(ge=0, description="Case patients meeting the DILI case criteria")
    hys_law_patients: pl.Int32 = pa.Field(ge=0, description="Case patients with potential Hy's law")

    @pa.dataframe_check
    def counts_nest(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Every count of case patients is at most the patients tested that day."""
        return data.lazyframe.select(
            (pl.col("case_patients") <= pl.col("patients_tested"))
            & (pl.col("new_cases") <= pl.col("case_patients"))
            & (pl.col("grade3plus_patients") <= pl.col("case_patients"))
        )


EDISH_QUADRANTS = ["potential_hys_law", "temples_corollary", "hyperbilirubinaemia", "normal_range"]


class Edish(pa.DataFrameModel):
    """One point per patient with at least one ALT and one total bilirubin result (FDA eDISH)."""

    patient_key: str = pa.Field(unique=True, str_matches=PATIENT_KEY_PATTERN, description=PATIENT_KEY)
    peak_alt_xuln: float = pa.Field(ge=0, description="Peak ALT x ULN (x axis, log scale, line at 3)")
    peak_alt_date: pl.Date = pa.Field(description="Collection date of the ALT peak")
    peak_tbil_xuln: float = pa.Field(
        ge=0, description="Peak total bilirubin x ULN (y axis, log scale, line at 2)"
    )
    peak_tbil_date: pl.Date = pa.Field(description="Collection date of the bilirubin peak")
    quadrant: str = pa.Field(
        isin=EDISH_QUADRANTS,
        description="potential_hys_law (ALT >= 3, TBIL > 2), temples_corollary (ALT >= 3), "
        "hyperbilirubinaemia (TBIL > 2), normal_range",
    )


class MonitoringGaps(pa.DataFrameModel):
    """One row per kratom-exposed patient past due for liver tests (ALT or AST) as of the last date in the
    data, per the monitoring policy of domain.md section 6."""

    patient_key: str = pa.Field(unique=True, str_matches=PATIENT_KEY_PATTERN, description=PATIENT_KEY)
    as_of_date: pl.Date = pa.Field(description="Latest lab collection date or dose date in the data")
    episode_start: pl.Date = pa.Field(description="First dose of the current kratom exposure episode")
    last_test_date: pl.Date = pa.Field(
        nullable=True, description="Last ALT or AST test; NULL when never tested"
    )
    due_date: pl.Date = pa.Field(description="When the next ALT or AST was due")
    days_overdue: pl.Int32 = pa.Field(gt=0, description="as_of_date minus due_date")
    reason: str = pa.Field(isin=["no_baseline", "overdue"], description="no_baseline or overdue")


class LiverInjuryEpisodes(pa.DataFrameModel):
    """One row per patient and liver injury episode (case days with gaps of at most 30 days): onset, peaks,
    pattern at onset, latency from kratom start (RUCAM), kratom stopping, dechallenge, resolution, rechallenge,
    and dose and response: whether the dose was lowered or stopped after onset and how the enzymes moved."""

    patient_key: str = pa.Field(str_matches=PATIENT_KEY_PATTERN, description=PATIENT_KEY)
    episode_no: pl.Int32 = pa.Field(ge=1, description="1 for the patient's first injury episode, then 2, ...")
    onset_date: pl.Date = pa.Field(description="First case day of the episode")
    last_case_date: pl.Date = pa.Field(description="Last case day of the episode")
    case_days: pl.Int32 = pa.Field(ge=1, description="Case days in the episode")
    peak_alt_xuln: float = x_uln("Peak ALT x ULN over the episode's case days")
    peak_ast_xuln: float = x_uln("Peak AST x ULN over the episode's case days")
    peak_alp_xuln: float = x_uln("Peak ALP x ULN over the episode's case days")
    peak_tbil_xuln: float = x_uln("Peak total bilirubin x ULN over the episode's case days")
    peak_grade: pl.Int32 = pa.Field(ge=0, le=4, description="Highest CTCAE grade over the episode")
    pattern_at_onset: str = pa.Field(
        nullable=True,
        isin=["hepatocellular", "mixed", "cholestatic"],
        description="Injury pattern on the onset day",
    )
    r_at_onset: float = pa.Field(nullable=True, ge=0, description="R on the onset day")
    potential_hys_law: bool = pa.Field(description="Potential Hy's law on any case day of the episode")
    dili_criteria_met: bool = pa.Field(description="DILI case criteria met on any case day of the episode")
    kratom_start: pl.Date = pa.Field(
        nullable=True,
        description="First dose of the kratom exposure episode the onset falls in; NULL if none",
    )
    latency_days: pl.Int32 = pa.Field(nullable=True, ge=0, description="onset_date minus kratom_start")
    rucam_latency_band: str = pa.Field(
        nullable=True,
        isin=["under_5_days", "5_to_90_days", "over_90_days"],
        description="RUCAM latency band; 5 to 90 days after start is compatible",
    )
    rucam_latency_points: pl.Int32 = pa.Field(
        nullable=True, description="RUCAM points for latency: +2 for 5 to 90 days (domain.md gives no others)"
    )
    kratom_last_dose_date: pl.Date = pa.Field(nullable=True, description="Last dose of that exposure episode")
    kratom_stopped: str = pa.Field(
        nullable=True,
        isin=["before_onset", "during_injury", "after_injury", "not_stopped"],
        description="When kratom stopped relative to the injury; not_stopped when exposure continues",
    )
    alt_halved_8d: bool = pa.Field(
        nullable=True, description="Dechallenge: ALT fell below half its post-stop peak within 8 days"
    )
    alt_halved_30d: bool = pa.Field(
        nullable=True, description="Dechallenge: ALT fell below half its post-stop peak within 30 days"
    )
    alp_or_tbil_halved_180d: bool = pa.Field(
        nullable=True,
        description="Dechallenge: ALP or TBIL fell below half its post-stop peak within 180 days",
    )
    resolution_date: pl.Date = pa.Field(
        nullable=True,
        description="First day after the episode with every measured enzyme and TBIL at or below ULN",
    )
    rechallenge: bool = pa.Field(
        description="The episode began within 90 days of restarting kratom after an earlier episode's dechallenge"
    )
    kratom_7d_g_before_onset: float = pa.Field(
        nullable=True, ge=0, description="Kratom grams over the 7 days before onset; NULL when none was taken"
    )
    dose_change: str = pa.Field(
        nullable=True,
        isin=["stopped", "reduced", "not_lowered"],
        description="First change on or after onset: the 7-day total at most half the dose before onset "
        "(stopped when 0), or not_lowered (domain.md section 6, dose and response)",
    )
    dose_change_date: pl.Date = pa.Field(
        nullable=True, description="Day the 7-day total first fell to half or less"
    )
    kratom_7d_g_after_change: float = pa.Field(
        nullable=True, ge=0, description="Kratom grams over the 7 days up to the change"
    )
    response_after_change: str = pa.Field(
        nullable=True,
        isin=["strong", "positive", "none"],
        description="Dechallenge counted from the change: hepatocellular ALT below half its peak within 8 days "
        "(strong) or 30 (positive); cholestatic or mixed ALP or TBIL within 180 days (positive); else none",
    )
    rechallenge_after_dose_rise: bool = pa.Field(
        nullable=True,
        description="After the change, the dose rose again (7-day total above half the dose before onset) and "
        "ALT (hepatocellular) or ALP (otherwise) reached the episode's peak again",
    )

    class Config:
        unique = ("patient_key", "episode_no")
