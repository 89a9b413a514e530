"""The sending labs of the synthetic feed and their habits, kept as data.

Each lab differs the way real ones do (domain.md sections 1, 2 and 7): code system (LOINC only, local codes
only, dual-coded), units (U/L or IU/L, ukat/L and umol/L in the European lab), reference ranges (ALT upper
limits 33 to 56 U/L, one lab sending none), HL7 version, segment endings and framing. Codes used for the
liver panel are all in `hepwatch/reference/analyte_codes.csv`, so every normal result maps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LIVER_ANALYTES = ("ALT", "AST", "ALP", "GGT", "TBIL", "DBIL", "ALB", "INR")
OTHER_ANALYTES = ("NA", "CREA", "GLU")
ENZYMES = frozenset({"ALT", "AST", "ALP", "GGT"})


@dataclass(frozen=True, slots=True)
class AnalyteHabit:
    """How one lab sends one analyte. Limits are in the lab's unit; `high=None` means no upper bound sent."""

    code: str  # OBX-3 as sent (CE/CWE, possibly with an alternate LOINC triplet)
    unit: str
    per_canonical: float  # lab unit per canonical unit (ukat/L per U/L is 1/60)
    decimals: int
    low: float | None = None
    high: float | None = None
    range_text: str = ""

    def to_lab_unit(self, canonical: float) -> float:
        return canonical * self.per_canonical


@dataclass(frozen=True, slots=True)
class LabProfile:
    name: str  # MSH-4
    application: str  # MSH-3
    version: str  # MSH-12
    framing: str  # mllp | lf | batch | cr
    control_prefix: str  # MSH-10 prefix, unique per facility
    filler_prefix: str  # OBR-3 prefix
    utc_offset: str  # appended to MSH-7 / OBR-7 ("" for none)
    value_type: str  # NM | ST | mixed (NM, sometimes empty)
    normal_flag: str  # OBX-8 for a value inside the range: "N" or ""
    sub_id: str  # OBX-4
    sends_obx14: bool
    reportable_max: float | None  # enzymes above this (lab unit) are sent as `>max`
    no_range_share: float  # share of results sent without OBX-7
    bom_share: float  # share of files starting with a UTF-8 BOM
    extra_identifier: bool  # PID-3 also carries the lab's own patient number
    panel_code: str
    other_panel_code: str
    habits: dict[str, AnalyteHabit] = field(default_factory=dict)

    def upper_limit_canonical(self, analyte: str) -> float | None:
        habit = self.habits[analyte]
        return None if habit.high is None or not habit.range_text else habit.high / habit.per_canonical


def _h(code: str, unit: str, factor: float, decimals: int, low: float | None, high: float | None, text: str):
    return AnalyteHabit(code, unit, factor, decimals, low, high, text)


NORTHLAB = LabProfile(
    name="NORTHLAB",
    application="SUNQUEST",
    version="2.5.1",
    framing="mllp",
    control_prefix="NL",
    filler_prefix="NLF",
    utc_offset="-0500",
    value_type="NM",
    normal_flag="N",
    sub_id="1",
    sends_obx14=True,
    reportable_max=1000.0,
    no_range_share=0.0,
    bom_share=0.0,
    extra_identifier=False,
    panel_code="24325-3^Hepatic function panel^LN",
    other_panel_code="51990-0^Basic metabolic panel^LN",
    habits={
        "ALT": _h("1742-6^ALT SerPl-cCnc^LN", "U/L", 1, 0, 7, 56, "7-56"),
        "AST": _h("1920-8^AST SerPl-cCnc^LN", "U/L", 1, 0, 10, 40, "10-40"),
        "ALP": _h("6768-6^ALP SerPl-cCnc^LN", "U/L", 1, 0, 44, 147, "44-147"),
        "GGT": _h("2324-2^GGT SerPl-cCnc^LN", "U/L", 1, 0, 9, 48, "9-48"),
        "TBIL": _h("1975-2^Bilirub SerPl-mCnc^LN", "mg/dL", 1, 1, 0.1, 1.2, "0.1-1.2"),
        "DBIL": _h("1968-7^Bilirub Direct SerPl-mCnc^LN", "mg/dL", 1, 1, 0.0, 0.3, "0.0-0.3"),
        "ALB": _h("1751-7^Albumin SerPl-mCnc^LN", "g/dL", 1, 1, 3.5, 5.0, "3.5-5.0"),
        "INR": _h("6301-6^INR PPP^LN", "{INR}", 1, 2, 0.8, 1.2, "0.8-1.2"),
        "NA": _h("2951-2^Sodium SerPl-sCnc^LN", "mmol/L", 1, 0, 136, 145, "136-145"),
        "CREA": _h("2160-0^Creat SerPl-mCnc^LN", "mg/dL", 1, 2, 0.7, 1.3, "0.70-1.30"),
        "GLU": _h("2345-7^Glucose SerPl-mCnc^LN", "mg/dL", 1, 0, 70, 99, "70-99"),
    },
)

CITYHOSP = LabProfile(
    name="CITYHOSP",
    application="MEDITECH",
    version="2.3",
    framing="lf",
    control_prefix="CH",
    filler_prefix="CHF",
    utc_offset="",
    value_type="ST",
    normal_flag="",
    sub_id="",
    sends_obx14=False,
    reportable_max=1000.0,
    no_range_share=0.15,
    bom_share=0.4,
    extra_identifier=True,
    panel_code="HFP^Hepatic Function Panel^L",
    other_panel_code="BMP^Basic Metabolic Panel^L",
    habits={
        "ALT": _h("SGPT^ALT (SGPT)^L", "IU/L", 1, 0, 0, 40, "0-40"),
        "AST": _h("SGOT^AST (SGOT)^L", "IU/L", 1, 0, 10, 35, "10-35"),
        "ALP": _h("ALKP^ALK PHOS^L", "IU/L", 1, 0, 40, 129, "40-129"),
        "GGT": _h("GGTP^GGT^L", "IU/L", 1, 0, 8, 61, "8-61"),
        "TBIL": _h("T BILI^Bilirubin, Total^L", "mg/dL", 1, 1, 0.2, 1.2, "0.2-1.2"),
        "DBIL": _h("DBIL^Direct Bilirubin^L", "mg/dL", 1, 1, 0.0, 0.4, "0.0-0.4"),
        "ALB": _h("ALB^Albumin^L", "g/dL", 1, 1, 3.4, 5.4, "3.4-5.4"),
        "INR": _h("INR^PT INR^L", "", 1, 1, 0.9, 1.1, "0.9-1.1"),
        "NA": _h("NA^Sodium^L", "mmol/L", 1, 0, 135, 145, "135-145"),
        "CREA": _h("CREAT^Creatinine^L", "mg/dL", 1, 1, 0.6, 1.2, "0.6-1.2"),
        "GLU": _h("GLU^Glucose^L", "mg/dL", 1, 0, 65, 99, "65-99"),
    },
)

EUROLAB = LabProfile(
    name="EUROLAB",
    application="LABOSYS",
    version="2.4",
    framing="batch",
    control_prefix="EU",
    filler_prefix="EUF",
    utc_offset="+0200",
    value_type="NM",
    normal_flag="N",
    sub_id="1",
    sends_obx14=True,
    reportable_max=None,
    no_range_share=0.0,
    bom_share=0.0,
    extra_identifier=False,
    panel_code="LFT^Leberwerte^L",
    other_panel_code="ELEK^Elektrolyte und Nierenwerte^L",
    habits={
        "ALT": _h(
            "ALT^Alanine aminotransferase^L^1742-6^ALT SerPl-cCnc^LN",
            "ukat/L",
            1 / 60,
            2,
            None,
            0.56,
            "<0.56",
        ),
        "AST": _h(
            "AST^Aspartate aminotransferase^L^1920-8^AST SerPl-cCnc^LN",
            "ukat/L",
            1 / 60,
            2,
            None,
            0.60,
            "<0.60",
        ),
        "ALP": _h(
            "ALP^Alkaline phosphatase^L^6768-6^ALP SerPl-cCnc^LN",
            "ukat/L",
            1 / 60,
            2,
            0.58,
            1.74,
            "0.58-1.74",
        ),
        "GGT": _h(
            "GGT^Gamma-glutamyl transferase^L^2324-2^GGT SerPl-cCnc^LN",
            "ukat/L",
            1 / 60,
            2,
            None,
            0.64,
            "<0.64",
        ),
        "TBIL": _h(
            "BILI^Bilirubin, total^L^14631-6^Bilirub SerPl-sCnc^LN", "umol/L", 17.1, 0, None, 21, "<21"
        ),
        "DBIL": _h(
            "DBIL^Bilirubin, direct^L^14629-0^Bilirub Direct SerPl-sCnc^LN", "umol/L", 17.1, 0, None, 5, "<5"
        ),
        "ALB": _h("ALB^Albumin^L^1751-7^Albumin SerPl-mCnc^LN", "g/L", 10, 0, 35, 52, "35-52"),
        "INR": _h("INR^INR^L^6301-6^INR PPP^LN", "ratio", 1, 2, 0.85, 1.15, "0.85-1.15"),
        "NA": _h("NA^Natrium^L^2951-2^Sodium SerPl-sCnc^LN", "mmol/L", 1, 0, 136, 145, "136-145"),
        "CREA": _h("CREA^Kreatinin^L^14682-9^Creat SerPl-sCnc^LN", "umol/L", 88.4, 0, 59, 104, "59-104"),
        "GLU": _h("GLU^Glukose^L^14749-6^Glucose SerPl-sCnc^LN", "mmol/L", 1 / 18, 1, 3.9, 5.5, "3.9-5.5"),
    },
)

POCTNET = LabProfile(
    name="POCTNET",
    application="POCCONNECT",
    version="2.3.1",
    framing="cr",
    control_prefix="PN",
    filler_prefix="PNF",
    utc_offset="",
    value_type="mixed",
    normal_flag="",
    sub_id="",
    sends_obx14=False,
    reportable_max=1000.0,
    no_range_share=1.0,
    bom_share=0.5,
    extra_identifier=False,
    panel_code="24325-3^Hepatic function panel^LN",
    other_panel_code="24321-2^Basic metabolic panel^LN",
    habits={
        "ALT": _h("1742-6^ALT^LN", "U/l", 1, 0, None, None, ""),
        "AST": _h("1920-8^AST^LN", "U/l", 1, 0, None, None, ""),
        "ALP": _h("6768-6^ALP^LN", "U/l", 1, 0, None, None, ""),
        "GGT": _h("2324-2^GGT^LN", "U/l", 1, 0, None, None, ""),
        "TBIL": _h("1975-2^TBIL^LN", "mg/dL", 1, 1, None, None, ""),
        "DBIL": _h("1968-7^DBIL^LN", "mg/dL", 1, 1, None, None, ""),
        "ALB": _h("1751-7^ALB^LN", "g/dL", 1, 1, None, None, ""),
        "INR": _h("34714-6^INR^LN", "", 1, 1, None, None, ""),
        "NA": _h("2947-0^Sodium Bld-sCnc^LN", "mmol/L", 1, 0, None, None, ""),
        "CREA": _h("38483-4^Creat Bld-mCnc^LN", "mg/dL", 1, 1, None, None, ""),
        "GLU": _h("2339-0^Glucose Bld-mCnc^LN", "mg/dL", 1, 0, None, None, ""),
    },
)

LABS: dict[str, LabProfile] = {lab.name: lab for lab in (NORTHLAB, CITYHOSP, EUROLAB, POCTNET)}
HOME_LAB_WEIGHTS = {"NORTHLAB": 0.35, "CITYHOSP": 0.30, "EUROLAB": 0.20, "POCTNET": 0.15}

# domain.md section 2: the default ULN when a result carries no usable range, in canonical units.
DEFAULT_ULN = {"ALT": 40.0, "AST": 40.0, "ALP": 120.0, "GGT": 60.0, "TBIL": 1.2, "DBIL": 0.3, "INR": 1.2}


def uln(lab: LabProfile, analyte: str) -> float:
    """The ULN a reader would use for this lab's result, in canonical units (range, else default)."""
    return lab.upper_limit_canonical(analyte) or DEFAULT_ULN[analyte]
