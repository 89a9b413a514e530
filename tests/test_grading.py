"""CTCAE v5 grades and injury pattern, every boundary, both bases (domain.md sections 3 and 4).

The criteria live in hepwatch/reference/ctcae_v5_grades.csv; these rows are read off domain.md's table.
"""

import pytest

from tests.sql_harness import open_scratch

BOUNDARIES = [
    # analyte, basis, ratio, expected grade
    ("ALT", "uln", 1.0, 0),  # at ULN: grade 0
    ("ALT", "uln", 1.0001, 1),
    ("ALT", "uln", 3.0, 1),  # domain.md: 3.0 x ULN is grade 1 for ALT
    ("ALT", "uln", 3.0001, 2),  # ... 3.0001 is grade 2
    ("ALT", "uln", 5.0, 2),
    ("ALT", "uln", 5.0001, 3),
    ("ALT", "uln", 20.0, 3),
    ("ALT", "uln", 20.0001, 4),
    ("AST", "uln", 3.0, 1),
    ("AST", "uln", 3.0001, 2),
    ("AST", "uln", 20.0001, 4),
    ("ALT", "baseline", 1.4999, 0),
    ("ALT", "baseline", 1.5, 1),  # 1.5 - 3.0 x BL, both ends included
    ("ALT", "baseline", 3.0, 1),
    ("ALT", "baseline", 3.0001, 2),
    ("ALT", "baseline", 5.0, 2),
    ("ALT", "baseline", 5.0001, 3),
    ("ALT", "baseline", 20.0, 3),
    ("ALT", "baseline", 20.0001, 4),
    ("ALP", "uln", 1.0, 0),
    ("ALP", "uln", 1.0001, 1),
    ("ALP", "uln", 2.5, 1),  # 2.5 x ULN is ALP grade 1
    ("ALP", "uln", 2.5001, 2),
    ("ALP", "uln", 5.0, 2),
    ("ALP", "uln", 5.0001, 3),
    ("ALP", "uln", 20.0, 3),
    ("ALP", "uln", 20.0001, 4),
    ("GGT", "uln", 2.5, 1),
    ("GGT", "uln", 2.5001, 2),
    ("ALP", "baseline", 1.9999, 0),
    ("ALP", "baseline", 2.0, 1),  # 2.0 - 2.5 x BL
    ("ALP", "baseline", 2.5, 1),
    ("ALP", "baseline", 2.5001, 2),
    ("GGT", "baseline", 5.0001, 3),
    ("GGT", "baseline", 20.0001, 4),
    ("TBIL", "uln", 1.0, 0),
    ("TBIL", "uln", 1.0001, 1),
    ("TBIL", "uln", 1.5, 1),  # 1.5 x ULN is bilirubin grade 1
    ("TBIL", "uln", 1.5001, 2),
    ("TBIL", "uln", 3.0, 2),
    ("TBIL", "uln", 3.0001, 3),
    ("TBIL", "uln", 10.0, 3),
    ("TBIL", "uln", 10.0001, 4),
    ("TBIL", "baseline", 1.0, 0),  # > 1.0 - 1.5 x BL
    ("TBIL", "baseline", 1.0001, 1),
    ("TBIL", "baseline", 1.5, 1),
    ("TBIL", "baseline", 1.5001, 2),
    ("TBIL", "baseline", 3.0001, 3),
    ("TBIL", "baseline", 10.0001, 4),
    ("ALT", "uln", 0.5, 0),
]


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    connection = open_scratch(tmp_path_factory.mktemp("grading"))
    yield connection
    connection.close()


@pytest.mark.parametrize(("analyte", "basis", "ratio", "grade"), BOUNDARIES)
def test_ctcae_grade_boundaries(conn, analyte, basis, ratio, grade):
    assert conn.execute("SELECT ctcae_grade(?, ?, ?)", [analyte, basis, ratio]).fetchall() == [(grade,)]


@pytest.mark.parametrize(
    ("r", "pattern"),
    [
        (5.0, "hepatocellular"),  # R >= 5
        (4.9999, "mixed"),
        (2.0001, "mixed"),
        (2.0, "cholestatic"),  # R <= 2
        (0.4, "cholestatic"),
        (None, None),
    ],
)
def test_injury_pattern_bands(conn, r, pattern):
    assert conn.execute("SELECT injury_pattern(?::DOUBLE)", [r]).fetchall() == [(pattern,)]
