"""Hand-written HL7 v2 messages for tests: small, readable, one knob per scenario."""

from __future__ import annotations

from collections.abc import Sequence

CLINIC = "HWCLINIC"


def obx(
    set_id: int,
    code: str,
    value: str,
    unit: str = "U/L",
    reference_range: str = "0-40",
    status: str = "F",
    value_type: str = "NM",
    flags: str = "",
    sub_id: str = "",
) -> str:
    return f"OBX|{set_id}|{value_type}|{code}|{sub_id}|{value}|{unit}|{reference_range}|{flags}|||{status}"


def oru(
    control_id: str,
    observations: Sequence[str],
    *,
    mrn: str = "MRN001",
    authority: str = CLINIC,
    facility: str = "NORTHLAB",
    message_time: str = "20260601120000",
    collected: str = "20260601083000",
    placer: str = "ORD1",
    filler: str = "FIL1",
    order_status: str = "F",
    version: str = "2.5.1",
    name: str = "TESTSURNAME^TESTGIVEN",
    birth_date: str = "19800101",
    encoding: str = "^~\\&",
    separator: str = "\r",
) -> str:
    segments = [
        f"MSH|{encoding}|LIS|{facility}|EHR|CLINIC|{message_time}||ORU^R01|{control_id}|P|{version}",
        f"PID|1||{mrn}^^^{authority}^MR||{name}||{birth_date}|F|||17 TESTADDRESS ST^^TOWN^ST^00000",
        f"OBR|1|{placer}|{filler}|LFT^LIVER PANEL^L|||{collected}||||||||||||||||||{order_status}",
        *observations,
    ]
    return separator.join(segments) + separator
