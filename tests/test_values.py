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
        # A number on its own line, then a comment starting with a letter (docs/hl7-reading.md).
        ("NM", ["54¬ALT <80 IU/L is rarely significant"], 54.0, None, None),  # WinPath's ¬ line break
        ("NM", ["12.8\nThis result could indicate sepsis."], 12.8, None, None),  # `\.br\` decoded
        ("NM", ["<5\r\nbelow the limit of detection"], 5.0, "<", None),
        ("NM", ["54¬"], 54.0, None, None),
        ("NM", ["54\n60"], None, None, "non_numeric_value"),  # two numbers: which one?
        ("NM", ["54\n(repeat 60)"], None, None, "non_numeric_value"),  # the comment must start with a letter
        ("NM", ["54 see comment"], None, None, "non_numeric_value"),  # no line break: not a comment
        ("NM", ["¬54"], None, None, "non_numeric_value"),
        ("SN", [">", "54¬comment"], None, None, "non_numeric_value"),  # SN stays strict
        ("NM", ["54", " "], 54.0, None, None),  # `54^ `: a blank trailing component
        ("NM", ["54", "x"], None, None, "non_numeric_value"),
        ("NM", ["1" * 400], None, None, "non_numeric_value"),  # not a finite number
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
        ("<9 mcg/dL:  Acceptable background lead exposure", 9.0),  # a note after the bound
        ("4.0-11.0 x10^9/L", 11.0),  # a unit with digits is not a second bound
        ("0-40 (M) 0-35 (F)", None),  # two ranges: which one applies is not hepwatch's to choose
        ("<40 adult, <30 child", None),
        ("0-1+", None),  # a semi-quantitative grade, not a number
        ("56-7", None),  # upper bound below the lower one
        ("0-" + "9" * 400, None),  # not a finite number
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
