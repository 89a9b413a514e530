"""HL7 field values: numbers, comparators, SN, reference ranges and timestamps (domain.md sections 2, 7)."""

from datetime import datetime

import pytest

from hepwatch.hl7.values import parse_numeric, parse_timestamp, parse_upper_limit


@pytest.mark.parametrize(
    ("value_type", "components", "value", "comparator", "problem"),
    [
        ("NM", ["56"], 56.0, None, None),
        ("NM", [" 0.63 "], 0.63, None, None),
        ("", ["19"], 19.0, None, None),  # empty OBX-2 (older and device feeds)
        ("ST", ["21"], 21.0, None, None),  # ST may carry a number
        ("ST", ["<1"], 1.0, "<", None),
        ("ST", ["< 1"], 1.0, "<", None),
        ("NM", [">1000"], 1000.0, ">", None),
        ("SN", [">", "1000"], 1000.0, ">", None),  # `>^1000` is graded at 1000 and keeps its comparator
        ("SN", ["<", "5"], 5.0, "<", None),
        ("SN", ["", "182"], 182.0, None, None),  # `^182`
        ("SN", ["=", "7"], 7.0, None, None),
        ("SN", ["", "100", "-", "200"], None, None, "non_numeric_value"),  # a range is not one value
        ("SN", ["", "1", ":", "40"], None, None, "non_numeric_value"),  # a ratio neither
        ("NM", ["see comment"], None, None, "non_numeric_value"),
        ("NM", ["## TEST CANCELLED ##"], None, None, "non_numeric_value"),
        ("NM", [""], None, None, "missing_value"),
        ("NM", ["1,5"], None, None, "non_numeric_value"),
        ("TX", ["cancelled"], None, None, "non_numeric_value"),
    ],
)
def test_parse_numeric(value_type, components, value, comparator, problem):
    result = parse_numeric(value_type, components)
    assert (result.value, result.comparator, result.problem) == (value, comparator, problem)


@pytest.mark.parametrize(
    ("reference_range", "upper"),
    [
        ("7-56", 56.0),  # domain.md: `7-56` gives 56
        ("<40", 40.0),  # `<40` gives 40
        ("0-40", 40.0),  # `0-40` gives 40
        (">3.5", None),  # no upper bound
        ("30-65", 65.0),
        ("0.00-1.00", 1.0),
        (" 0.000 - 100.000", 100.0),
        ("3.4 - 5.3", 5.3),
        ("(1.0 - 12.0)", 12.0),
        ("[1.00;30.00]", 30.0),
        ("70_105", 105.0),
        ("4.3 to 6.2", 6.2),
        ("<0.50 IU/mL", 0.5),
        ("0-0", None),  # an upper bound of zero is no usable ULN
        ("NEGATIVE", None),
        ("", None),
        ("High Viral Load > or = 850000iU/mL", None),
    ],
)
def test_parse_upper_limit(reference_range, upper):
    assert parse_upper_limit(reference_range) == upper


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20100604234724.085-0400", datetime(2010, 6, 4, 23, 47, 24)),  # offset not applied: date as written
        ("201006041144", datetime(2010, 6, 4, 11, 44)),
        ("20061122", datetime(2006, 11, 22)),
        ("200911231509", datetime(2009, 11, 23, 15, 9)),
        ("2007100914484648", None),  # 16 digits is not a timestamp
        ("20240000000000", None),  # month 00 does not exist
        ("", None),
        ("Aug 15, 1942", None),
    ],
)
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected
