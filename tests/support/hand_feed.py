"""The small hand-written feed of tests/test_pipeline_end_to_end.py (its docstring works out every expected
row by hand), which other tests build on."""

from tests.hl7_samples import obx, oru

ALT, AST, ALP, GGT, TBIL = (
    "1742-6^ALT^LN",
    "1920-8^AST^LN",
    "6768-6^ALP^LN",
    "2324-2^GGT^LN",
    "1975-2^Bilirubin total^LN",
)


def write_feeds(root):
    labs = root / "labs"
    (labs / "northlab").mkdir(parents=True)
    (labs / "eurolab").mkdir(parents=True)
    day1 = "20260601083000"
    first = oru(
        "N-1",
        [
            obx(1, ALT, "100"),
            obx(2, AST, "60"),
            obx(3, ALP, "90", reference_range="35-105", status="P"),
            obx(4, GGT, "70", status="P"),
        ],
        collected=day1,
        message_time="20260601100000",
    )
    update = oru(
        "N-2",
        [
            obx(1, ALT, "150", status="C"),
            obx(2, AST, "60", status="X"),
            obx(3, ALP, "95", reference_range="35-105"),
        ],
        collected=day1,
        message_time="20260602100000",
        order_status="C",
    )
    (labs / "northlab" / "2026-06-01.hl7").write_text(first + update)
    euro = oru(
        "E-1",
        [
            obx(1, ALT, "1.5", unit="ukat/L", reference_range="0.1-0.6"),
            obx(2, TBIL, "34.2", unit="umol/L", reference_range="<21"),
        ],
        facility="EUROLAB",
        mrn="MRN002",
        collected="20260603090000",
        placer="EO1",
        filler="EF1",
    )
    (labs / "eurolab" / "2026-06-03.hl7").write_text("\x0b" + euro + "\x1c\r")
    m6 = oru(
        "N-6",
        [
            obx(1, ALT, "80", reference_range=""),
            obx(2, "ALT^ALT (SGPT)^L", "see comment", sub_id="2"),
            obx(3, AST, "50", unit="mmol/s"),
        ],
        mrn="MRN003",
        collected="20260605080000",
        placer="ORD6",
        filler="FIL6",
    )
    bad = [
        oru("N-8", [obx(1, ALT, "30")], mrn="", authority="", placer="ORD8", filler="FIL8"),
        oru("N-9", [obx(1, ALT, "30")], placer="ORD9").replace("ORU^R01", "ADT^A08"),
        oru("N-10", [obx(1, ALT, "30")], collected="", placer="ORD10", filler="FIL10"),
    ]
    (labs / "northlab" / "2026-06-05.hl7").write_text(m6 + "".join(bad))
    (labs / "northlab" / "2026-06-07.hl7").write_text(m6)  # a resend, arriving later
    (root / "dosing").mkdir()
    (root / "dosing" / "2026-06.csv").write_text(
        "record_id,patient_id,id_authority,substance,product,dose_amount,dose_unit,taken_at,source\n"
        "D1,MRN001,HWCLINIC,kratom,leaf powder,2,g,2026-06-01T08:00:00,self_report\n"
        "D2,MRN001,HWCLINIC,Kratom,capsules,500,mg,2026-06-01T20:00:00,self_report\n"
        "D3,MRN001,HWCLINIC,methadone,,60,mg,2026-06-01,dispensed\n"
        "D4,MRN002,HWCLINIC,Mitragyna speciosa,,3,g,2026-06-02,observed\n"
        "D5,MRN002,HWCLINIC,kratom,,abc,g,2026-06-02,self_report\n"
        "D6,MRN002,HWCLINIC,kratom,,3,tablespoon,2026-06-02,self_report\n"
    )
    return root
