"""Fidelity: every public corpus file read as a careful integration engineer would.

Each file is ingested alone into a scratch warehouse through the real path (`ingest_lab_files`, then the
reference-table script and `assets/sql/liver_observations.sql`), and the outcome is compared with what is
pinned here: every message's outcome (accepted / ignored / quarantined + reason, with its OBX count) and every
liver-panel observation (analyte, value, canonical unit, ULN and x ULN, or its quarantine reason).

The expected values were written by hand from ../shared/hl7-corpus/MANIFEST.md and the raw files, with the
arithmetic beside them; none was copied from the code's output. The decisions behind the hard cases are in
docs/hl7-reading.md.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import NamedTuple

import pytest

from assets.ingest import REFERENCE_DIR
from assets.tables import run_script, sql
from hepwatch.hl7.oru import read_lab_bytes
from hepwatch.ingest.labs import ingest_lab_files
from hepwatch.pseudonym import Pseudonymizer
from hepwatch.warehouse import connect
from tests.conftest import CORPUS
from tests.hl7_samples import obx, oru

CORPUS_FILES = sorted(CORPUS.glob("*.hl7"))


class Msg(NamedTuple):
    outcome: str
    reason: str | None
    observations: int  # OBX segments read (0 unless accepted)


class Result(NamedTuple):
    """A liver-panel result in staging.liver_observations (no quarantine reason)."""

    analyte: str
    code: str
    value: float
    unit: str
    uln: float
    uln_source: str
    x_uln: float


class Held(NamedTuple):
    """A quarantined liver-panel observation."""

    analyte: str | None
    code: str
    reason: str
    value_as_sent: str


class Pinned(NamedTuple):
    messages: list[Msg]
    liver: list[Result | Held]


def accepted(obx_count: int) -> list[Msg]:
    return [Msg("accepted", None, obx_count)]


PINNED: dict[str, Pinned] = {
    # CBC + differential, LOINC coded (11156-7 leukocytes ... 30180-4 basophils): no liver analyte.
    "fhirconverter__LAB-ORU-1_statuses_I_P_F_v25.hl7": Pinned(accepted(10), []),
    # NIST CBC: erythrocytes, haemoglobin, ... morphology; no liver analyte.
    "fhirconverter__NIST_LRI_2.0-NG_CBC_v251.hl7": Pinned(accepted(28), []),
    # GHH glucose, SN `^182`, range `70_105`: not liver.
    "fhirconverter__ORU-R01-RMGEAD_GHH_glucose_SN_v24.hl7": Pinned(accepted(1), []),
    # ZPI before PID does not hide the PID: erythrocytes, not liver.
    "hapi__OLIS_ZPI_zsegment_before_PID_v23.hl7": Pinned(accepted(1), []),
    # MSH-9 `ORU` without trigger event is a lab result; cholesterol + FT comment.
    "hapi__OLIS_cholesterol_NTE_F_br_escapes_v23.hl7": Pinned(accepted(2), []),
    # Shifted OBX: `OBX|2|NM|ALT^Alanine Aminotransferase|13|umol/L|2-20^65^1000|N|||F` - OBX-4 `13` is a
    # number, OBX-5 `umol/L` a unit, OBX-6 `2-20` a range: the fields slid one place; never read.
    "hl7enumerator__CERNER_PriorityHealth_BMP_ALT_shifted_OBX_v23.hl7": Pinned(
        accepted(2), [Held("ALT", "ALT", "shifted_fields", "umol/L")]
    ),
    # `PID|1||||SMITH^Jessica...`: PID-3 is empty, the whole message is held back.
    "hl7enumerator__MERIDIAN_AUS_AS4700_escapes_H_N_T_X0D_v231.hl7": Pinned(
        [Msg("quarantined", "missing_patient_id", 0)], []
    ),
    # Creatinine / microalbumin: not liver.
    "ipf__msg-02_repeated_NM_ZBE_ZYX_v24.hl7": Pinned(accepted(3), []),
    # Electrolytes: not liver.
    "ipf__oru-r01-25_USLabReport_electrolytes_CRLF_v25.hl7": Pinned(accepted(4), []),
    # Hepatitis A/B serology: not liver-panel analytes.
    "linuxforhealth__NIST_LOI_hepatitis_ABC_panel_v251.hl7": Pinned(accepted(3), []),
    # MANIFEST: ALT 19 U/L [0-35]; AST 21 U/L [0-35] (twice: the 2nd CMP is a copy of the 1st); ALP 46 U/L
    # [35-105]; BILI 0.6 mg/dL [0.0-1.2]; plus albumin 4.7 g/dL [3.5-5.2] (also in the copy). The copies agree
    # field for field, so each is one observation.
    "mirth__donkey_large_ORU_R01_v22_CBC_CMP_liver.hl7": Pinned(
        accepted(84),
        [
            Result("ALT", "ALT", 19.0, "U/L", 35.0, "range", 19 / 35),  # 0.543 x ULN
            Result("AST", "AST", 21.0, "U/L", 35.0, "range", 21 / 35),  # 0.6
            Result("ALP", "ALK", 46.0, "U/L", 105.0, "range", 46 / 105),  # 0.438
            Result("TBIL", "TB", 0.6, "mg/dL", 1.2, "range", 0.6 / 1.2),  # 0.5
            Result("ALB", "ALB", 4.7, "g/dL", 5.2, "range", 4.7 / 5.2),  # 0.904
        ],
    ),
    # `82314^DIRECT BILIRUBIN^GH` 6.1 MG/DL, no range -> default DBIL ULN 0.3 mg/dL, 6.1 / 0.3 = 20.33;
    # `82319^ALK PHOS^GH` 100.1 MG/DL: an enzyme in mg/dL cannot be converted. (`ALUBUMIN` is a typo that maps
    # to nothing and does not look like a liver code.)
    "mirth__donkey_small_ORU_R01_v24_CMP.hl7": Pinned(
        accepted(17),
        [
            Result("DBIL", "82314", 6.1, "mg/dL", 0.3, "default", 6.1 / 0.3),
            Held("ALP", "82319", "unknown_unit", "100.1"),
        ],
    ),
    # Three MLLP frames, each a bare `MSH|^~\&|N` stub: not lab results.
    "nextlevelseven__MultipleMessagesAsMlp_3_MLLP_frames_stub.hl7": Pinned(
        [Msg("ignored", "not_lab_result", 0)] * 3, []
    ),
    # MANIFEST: ALP 138 [50-136] H; ALT 39 [30-65]; AST 27 [15-37]; TBIL 0.63 mg/dL [0.00-1.00]; plus
    # INR 2.1 RATIO [2.0-3.0] and albumin 3.2 g/dL [3.4-5.0].
    "nextlevelseven__MultipleObr_CMP_liver_escS_v23.hl7": Pinned(
        accepted(31),
        [
            Result("ALP", "ALKP", 138.0, "U/L", 136.0, "range", 138 / 136),  # 1.015 x ULN
            Result("ALT", "ALT", 39.0, "U/L", 65.0, "range", 39 / 65),  # 0.6
            Result("AST", "AST", 27.0, "U/L", 37.0, "range", 27 / 37),  # 0.730
            Result("TBIL", "TBIL", 0.63, "mg/dL", 1.0, "range", 0.63),
            Result("INR", "INR", 2.1, "ratio", 3.0, "range", 2.1 / 3.0),  # 0.7
            Result("ALB", "ALB", 3.2, "g/dL", 5.0, "range", 3.2 / 5.0),  # 0.64
        ],
    ),
    # Lipid profile, shifted like CERNER's; no liver analyte.
    "nextlevelseven__MultiplePid_PriorityHealth_shifted_OBX_v23.hl7": Pinned(accepted(4), []),
    # CBC with OBX-11 `Z`; no liver analyte.
    "nhapi__DenverHealth_CBC_MSH2_dollar_OBX11_Z_v231.hl7": Pinned(accepted(20), []),
    # ORF^R04 (a query response) is not a lab result message.
    "nhapi__DenverHealth_ORF_R04_corrected_C_v231.hl7": Pinned([Msg("ignored", "not_lab_result", 0)], []),
    # Blood lead: not liver.
    "nodehl7complete__NIST_ELR_SampleTestCase1_lead_v251.hl7": Pinned(accepted(1), []),
    # HCV RNA: not a liver-panel analyte.
    "nodehl7complete__NIST_ELR_SampleTestCase5_HCV_RNA_v251.hl7": Pinned(accepted(1), []),
    # Blood lead, range `^^10.000000`: not liver.
    "nodehl7complete__cerner_HealthSentry_lead_v251.hl7": Pinned(accepted(1), []),
    # HCV antibody (field-shifted SN), age, employment: not liver.
    "nodehl7complete__realm_ELR_hepatitis_C_SN_v251.hl7": Pinned(accepted(3), []),
    # `PID|||||^^^^^^U`: no patient identifier.
    "nodeserver__BioNote_IHE_PCD_range_brackets_v26.hl7": Pinned(
        [Msg("quarantined", "missing_patient_id", 0)], []
    ),
    # `PID|1`: no patient identifier.
    "nodeserver__Dymind_DP-H1x_hematology_flags_H~A_v231.hl7": Pinned(
        [Msg("quarantined", "missing_patient_id", 0)], []
    ),
    # OBX-3 empty, test mnemonic in OBX-4, OBX-7 `0-0` (no usable upper bound) -> default ULNs (domain.md 2:
    # ALT 40, AST 40, ALP 120, GGT 60 U/L, TBIL 1.2, DBIL 0.3 mg/dL). IBIL is no hepwatch analyte; ALB's value
    # is two U+FFFD replacement characters and `1`.
    "nodeserver__PointCareM_chem_analyzer_full_liver_ST_v231.hl7": Pinned(
        accepted(19),
        [
            Result("TBIL", "TBIL", 7.95, "mg/dL", 1.2, "default", 7.95 / 1.2),  # 6.625 x ULN
            Result("DBIL", "DBIL", 1.04, "mg/dL", 0.3, "default", 1.04 / 0.3),  # 3.467
            Result("ALT", "ALT", 267.0, "U/L", 40.0, "default", 267 / 40),  # 6.675
            Result("AST", "AST", 55.0, "U/L", 40.0, "default", 55 / 40),  # 1.375
            Result("GGT", "GGT", 66.0, "U/L", 60.0, "default", 66 / 60),  # 1.1
            Result("ALP", "ALP", 307.0, "U/L", 120.0, "default", 307 / 120),  # 2.558
            Held("ALB", "ALB", "non_numeric_value", "\ufffd\ufffd1"),
        ],
    ),
    # Urine microalbumin (`MAU` in OBX-4): not liver.
    "nodeserver__Wondfo_FineCarePlus_POCT_UTF8_CJK_v24.hl7": Pinned(accepted(1), []),
    # GHH glucose SN and FN: not liver.
    "pythonhl7__sample_hl7_GHH_SN_FN_v24.hl7": Pinned(accepted(2), []),
    # `RLU^RENAL/LIVER/UREA` order, but only renal analytes in it.
    "renalware__KCH_multiOBR_renal_liver_urea_statuses_P_F_NTE_v231.hl7": Pinned(accepted(7), []),
    # `54¬ALT <80 IU/L is rarely significant...` IU/L [0 - 50]: the value is the number on the first line;
    # IU/L = U/L, ULN 50, 54 / 50 = 1.08 x ULN.
    "renalware__WinPath_ALT_value_with_notsign_comment_br_v231.hl7": Pinned(
        accepted(2),
        [Result("ALT", "ALT", 54.0, "U/L", 50.0, "range", 54 / 50)],
    ),
    # WBC, RBC, tacrolimus (`## TEST CANCELLED ##`), referral lab: not liver.
    "renalware__WinPath_missing_values_TEST_CANCELLED_escT_v231.hl7": Pinned(accepted(4), []),
    # Newborn screening: not liver.
    "reportstream__CA_newborn_screening_64NM_utf8_v251.hl7": Pinned(accepted(149), []),
    # Arbovirus serology, MSH-2 `^~\&#`: not liver.
    "reportstream__CDC_STARLIMS_ELIMS_NoPII_MSH2_5char_v251.hl7": Pinned(accepted(6), []),
    # SARS-CoV-2 in an FHS/BHS batch: not liver.
    "reportstream__Example-hl7-file_FHS_BHS_ORU_v251.hl7": Pinned(accepted(5), []),
    # Two COVID antigen ORUs in one batch.
    "reportstream__batch_message_FHS_BHS_2xORU_v251.hl7": Pinned(accepted(5) * 2, []),
}


def _ref_tables(conn) -> None:
    run_script(
        conn,
        sql("ref_tables"),
        code_map_files=[str(REFERENCE_DIR / "analyte_codes.csv")],
        unit_file=str(REFERENCE_DIR / "unit_conversions.csv"),
        default_uln_file=str(REFERENCE_DIR / "default_uln.csv"),
        ctcae_file=str(REFERENCE_DIR / "ctcae_v5_grades.csv"),
        threshold_files=[str(REFERENCE_DIR / "signal_thresholds.csv")],
        thresholds_file="",
    )


def through_staging(tmp: Path, files: dict[str, bytes]) -> tuple[list[Msg], list[Result | Held]]:
    """Ingest the files (in name order) into a scratch warehouse and stage every liver observation."""
    labs = tmp / "feeds" / "labs"
    labs.mkdir(parents=True)
    for name, data in files.items():
        (labs / name).write_bytes(data)
    with connect(tmp / "warehouse") as conn:
        ingest_lab_files(conn, tmp / "feeds", Pseudonymizer(b"k"))
        _ref_tables(conn)
        messages = [
            Msg(*row)
            for row in conn.execute(
                "SELECT outcome, reason, observations FROM landing.lab_messages ORDER BY arrival_seq"
            ).fetchall()
        ]
        rows = conn.execute(
            f"""
            SELECT analyte, code, value, unit, uln, uln_source, x_uln, quarantine_reason, value_as_sent
            FROM ({sql("liver_observations")})
            ORDER BY arrival_seq, code
            """,
            {"start": date(1900, 1, 1), "end": date(2100, 1, 1)},
        ).fetchall()
    liver: list[Result | Held] = [
        Held(analyte, code, reason, as_sent) if reason else Result(analyte, code, v, unit, uln, src, x)
        for analyte, code, v, unit, uln, src, x, reason, as_sent in rows
    ]
    return messages, liver


def _rounded(row: Result | Held) -> tuple:
    return tuple(round(x, 9) if isinstance(x, float) else x for x in row)


def test_every_corpus_file_is_pinned():
    assert sorted(PINNED) == [p.name for p in CORPUS_FILES]


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name[:50] for p in CORPUS_FILES])
def test_corpus_file_reads_as_pinned(path, tmp_path):
    messages, liver = through_staging(tmp_path / "w", {path.name: path.read_bytes()})
    pinned = PINNED[path.name]
    assert messages == pinned.messages
    assert sorted(map(_rounded, liver), key=repr) == sorted(map(_rounded, pinned.liver), key=repr)


# What the reader itself returns for the hard cases (fields as read, before any staging decision) ------------


def _obx(name: str, index: int):
    return read_lab_bytes((CORPUS / name).read_bytes()).observations[index]


def test_shifted_rows_are_read_by_position_only():
    # `OBX|2|NM|ALT^Alanine Aminotransferase|13|umol/L|2-20^65^1000|N|||F|||20061122154733|`
    alt = _obx("hl7enumerator__CERNER_PriorityHealth_BMP_ALT_shifted_OBX_v23.hl7", 1)
    assert (alt.sub_id, alt.value_text, alt.unit, alt.reference_range) == ("13", "umol/L", "2-20", "N")
    assert (alt.value, alt.value_problem, alt.result_status) == (None, "non_numeric_value", "")
    # `OBX|1|NM|13457-7^LDL (CALCULATED)^LOINC|49.000|MG/DL| 0.000 - 100.000|N|||F|`
    ldl = _obx("nextlevelseven__MultiplePid_PriorityHealth_shifted_OBX_v23.hl7", 0)
    assert (ldl.sub_id, ldl.value_text, ldl.unit, ldl.value) == ("49.000", "MG/DL", "0.000 - 100.000", None)
    # realm HCV: `OBX|1|SN|5198-7^...|1|||>^11.0|...` - OBX-5 empty, the value sits in OBX-7: not read.
    hcv = _obx("nodehl7complete__realm_ELR_hepatitis_C_SN_v251.hl7", 0)
    assert (hcv.value, hcv.value_problem, hcv.range_upper) == (None, "missing_value", None)


def test_comment_after_the_number_keeps_the_number_and_the_text():
    name = "renalware__WinPath_ALT_value_with_notsign_comment_br_v231.hl7"
    wbc, alt = _obx(name, 0), _obx(name, 1)
    # `12.8\.br\This result could indicate your patient might have\.br\sepsis.` x 10^9/l [4 - 10]
    assert (wbc.value, wbc.value_problem, wbc.range_upper) == (12.8, None, 10.0)
    assert wbc.value_text.startswith("12.8\nThis result")
    assert (alt.value, alt.value_problem, alt.range_upper) == (54.0, None, 50.0)
    assert alt.value_text == "54¬ALT <80 IU/L is rarely significant and is often¬related to a raised BMI."


def test_cancelled_test_and_parenthesised_range():
    # `OBX|3|NM|TACR^Tacrolimus^WinPath||## TEST CANCELLED ##|ug/L|(1.0 - 12.0)||||F`
    tacr = _obx("renalware__WinPath_missing_values_TEST_CANCELLED_escT_v231.hl7", 2)
    assert (tacr.value, tacr.value_problem, tacr.range_upper) == (None, "non_numeric_value", 12.0)


@pytest.mark.parametrize(
    ("name", "index", "reference_range", "upper"),
    [
        ("nodehl7complete__cerner_HealthSentry_lead_v251.hl7", 0, "", None),  # `^^10.000000`: 1st component
        ("hl7enumerator__CERNER_PriorityHealth_BMP_ALT_shifted_OBX_v23.hl7", 0, "L", None),  # shifted flag
        ("fhirconverter__ORU-R01-RMGEAD_GHH_glucose_SN_v24.hl7", 0, "70_105", 105.0),
        ("fhirconverter__NIST_LRI_2.0-NG_CBC_v251.hl7", 0, "4.3 to 6.2", 6.2),
        ("nodeserver__PointCareM_chem_analyzer_full_liver_ST_v231.hl7", 7, "0-0", None),
        ("nodehl7complete__NIST_ELR_SampleTestCase1_lead_v251.hl7", 0, "<9 mcg/dL:  Acceptable background lead "
         "exposure", 9.0),
        ("nodehl7complete__NIST_ELR_SampleTestCase5_HCV_RNA_v251.hl7", 0, "High Viral Load > or = 850000iU/mL",
         None),
    ],
)  # fmt: skip
def test_reference_ranges_as_written(name, index, reference_range, upper):
    o = _obx(name, index)
    assert (o.reference_range, o.range_upper) == (reference_range, upper)


def test_sn_values_five_encoding_characters_and_dollar_subcomponents():
    # MSH-2 `^~\&#`: the 5th (truncation) character is ignored; SN `^76` years is 76.
    age = _obx("reportstream__CDC_STARLIMS_ELIMS_NoPII_MSH2_5char_v251.hl7", 1)
    assert (age.value_type, age.value, age.comparator, age.unit) == ("SN", 76.0, None, "a")
    # MSH-2 `^~\$`: `PL^Y` in OBX-8 is a flag with a second component; OBX-11 `Z` is kept as sent (it waits).
    plt = _obx("nhapi__DenverHealth_CBC_MSH2_dollar_OBX11_Z_v231.hl7", 16)
    assert (plt.code, plt.value, plt.abnormal_flags, plt.result_status) == ("PLTC", 45.0, "PL", "Z")
    # NM and TX rows with the same OBX-1: two observations, told apart by OBX-4 (`` and `1`).
    wbc_nm, wbc_tx = (_obx("nhapi__DenverHealth_CBC_MSH2_dollar_OBX11_Z_v231.hl7", i) for i in (0, 1))
    assert (wbc_nm.sub_id, wbc_tx.sub_id, wbc_tx.value_problem) == ("", "1", "non_numeric_value")


def test_repeated_flags_and_repeated_values():
    # ipf: `100~200~300` is three values; the staging SQL holds it back as multiple_values.
    creat = _obx("ipf__msg-02_repeated_NM_ZBE_ZYX_v24.hl7", 0)
    assert (creat.value, creat.value_repeats) == (100.0, 3)
    # Dymind's `H~A` cannot be seen in the corpus (no PID-3); the same OBX in a message with a patient:
    message = oru("D1", [obx(1, "6690-2^WBC^LN", "17.48", "10*3/uL", "3.50-9.50", flags="H~A")])
    (o,) = read_lab_bytes(message.encode()).observations
    assert o.abnormal_flags == "H~A"


# The staging decisions on hand-written messages (the rules behind the pinned corpus outcomes) ----------------

ALT = "1742-6^ALT^LN"


def _stage(tmp_path, *messages: str) -> list[Result | Held]:
    files = {f"m{i:02}.hl7": m.encode() for i, m in enumerate(messages)}
    return through_staging(tmp_path / "w", files)[1]


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        # CERNER's shape: number in OBX-4, known unit in OBX-5, range in OBX-6.
        ("OBX|1|NM|ALT^ALT^L|13|U/L|0-40|N|||F", Held("ALT", "ALT", "shifted_fields", "U/L")),
        # ... with nothing in OBX-6.
        ("OBX|1|NM|ALT^ALT^L|13|IU/L||N|||F", Held("ALT", "ALT", "shifted_fields", "IU/L")),
        # ... with a unit hepwatch does not convert but that looks like one.
        ("OBX|1|NM|ALT^ALT^L|13|mmol/L|0-40||||F", Held("ALT", "ALT", "shifted_fields", "mmol/L")),
        # OBX-4 `1` (a real sub-ID) with a text value: not a shift, the value is simply not a number.
        ("OBX|1|NM|ALT^ALT^L|1|see comment|U/L|0-40|||F", Held("ALT", "ALT", "non_numeric_value", "see comment")),
        # OBX-4 a number and OBX-5 unit-like, but OBX-6 is a unit, not a range: not recognised as a shift.
        ("OBX|1|NM|ALT^ALT^L|1|mg/dL|U/L|0-40|||F", Held("ALT", "ALT", "non_numeric_value", "mg/dL")),
        # A sub-ID and a number where they belong: a result (39 / 40 = 0.975 x ULN).
        ("OBX|1|NM|ALT^ALT^L|1|39|U/L|0-40|||F", Result("ALT", "ALT", 39.0, "U/L", 40.0, "range", 39 / 40)),
    ],
)  # fmt: skip
def test_shifted_fields_rule(tmp_path, segment, expected):
    assert _stage(tmp_path, oru("S1", [segment])) == [expected]


def test_agreeing_copies_in_one_message_are_one_observation(tmp_path):
    copy = obx(1, ALT, "45")
    # 45 / 40 = 1.125 x ULN, once.
    assert _stage(tmp_path, oru("C1", [copy, obx(2, "X^OTHER^L", "1"), copy])) == [
        Result("ALT", "1742-6", 45.0, "U/L", 40.0, "range", 45 / 40)
    ]


def test_conflicting_copies_are_held_back(tmp_path):
    liver = _stage(tmp_path, oru("C1", [obx(1, ALT, "45"), obx(2, ALT, "54")]))
    assert sorted(liver) == [
        Held("ALT", "1742-6", "conflicting_copies", "45"),
        Held("ALT", "1742-6", "conflicting_copies", "54"),
    ]


def test_copies_told_apart_by_sub_id_are_two_observations(tmp_path):
    liver = _stage(tmp_path, oru("C1", [obx(1, ALT, "45", sub_id="1"), obx(2, ALT, "54", sub_id="2")]))
    assert sorted(liver) == [
        Result("ALT", "1742-6", 45.0, "U/L", 40.0, "range", 45 / 40),
        Result("ALT", "1742-6", 54.0, "U/L", 40.0, "range", 54 / 40),
    ]


def test_a_correction_after_copies_replaces_the_observation_once(tmp_path):
    first = oru("C1", [obx(1, ALT, "45"), obx(2, ALT, "45")], message_time="20260601120000")
    corrected = oru("C2", [obx(1, ALT, "60", status="C")], message_time="20260602120000")
    # 60 / 40 = 1.5 x ULN; the second copy of the first version is not a second observation.
    assert _stage(tmp_path, first, corrected) == [Result("ALT", "1742-6", 60.0, "U/L", 40.0, "range", 1.5)]


def test_obx4_identifies_the_test_only_when_obx3_is_empty(tmp_path):
    device = oru("D1", ["OBX|1|ST||ALT|80|U/L|0-0|H|||", "OBX|2|ST||IBIL|6.91|mg/dL|0-0|H"])
    labelled = oru("D2", ["OBX|1|NM|GLU^Glucose^L|ALT|80|mg/dL|70-99||||F"])
    unknown = oru("D3", ["OBX|1|NM||SGPT-X|80|U/L|0-40||||F"])
    liver = _stage(tmp_path, device, labelled, unknown)
    # ALT 80 U/L, `0-0` gives no ULN -> default 40, 80 / 40 = 2.0. IBIL maps to nothing and does not look like
    # a liver code; glucose with `ALT` as its sub-ID stays glucose; `SGPT-X` looks like a liver code but maps
    # to nothing.
    assert sorted(liver, key=repr) == [
        Held(None, "SGPT-X", "unmapped_liver_code", "80"),
        Result("ALT", "ALT", 80.0, "U/L", 40.0, "default", 2.0),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("54\\.br\\Repeat advised", Result("ALT", "1742-6", 54.0, "U/L", 40.0, "range", 54 / 40)),
        ("54¬ALT <80 IU/L is rarely significant", Result("ALT", "1742-6", 54.0, "U/L", 40.0, "range", 1.35)),
        ("<5\\.br\\below the limit of detection", Result("ALT", "1742-6", 5.0, "U/L", 40.0, "range", 5 / 40)),
        ("54\\.br\\60", Held("ALT", "1742-6", "non_numeric_value", "54\n60")),  # two numbers: which?
        ("54 see comment", Held("ALT", "1742-6", "non_numeric_value", "54 see comment")),  # no line break
        ("## TEST CANCELLED ##", Held("ALT", "1742-6", "non_numeric_value", "## TEST CANCELLED ##")),
    ],
)
def test_values_with_comments(tmp_path, value, expected):
    assert _stage(tmp_path, oru("V1", [obx(1, ALT, value)])) == [expected]
