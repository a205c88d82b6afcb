"""Importing a real CIS export: the EuroSkills 2025 Web Development (17) marking scheme.

The file is read from ../shared/data beside the repository (as CI has it), never copied in.
Its true content, counted independently of the reader by going down the sheet by hand and
with a plain openpyxl scan of column D: 6 criteria (A-F), 31 sub-criteria, 192 aspects
(173 M, 19 J), 100 marks; every criterion adds up to its Criteria table mark; sections 2 and 5
carry 0.25 more and sections 3 and 4 0.25 less than their weighting (variation 1.00, within 5);
every J aspect has descriptors 0-3. Its one flaw for Podium: aspects E1.2 and E1.3 (rows 333
and 334) use RANGED_SCORE calculations (Calculations rows 11 and 12), a type Podium does not
mark, with ranges that look unfinished (row 11: 20 to 0; row 12: 0 to 3 and 0 to 15).
"""

from collections import Counter
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from competition import i18n
from scoring.cis_xlsx import ReadResult, read_scheme, write_scheme
from scoring.scheme_data import Calculation, Choice, SchemeData, usable_for_marking

pytestmark = pytest.mark.usefixtures("english")

D = Decimal
ES2025 = (
    Path(__file__).resolve().parents[3]
    / "shared" / "data" / "ES2025_Marking_Scheme_Web_Development_17.xlsx"
)


@pytest.fixture(scope="module")
def result() -> ReadResult:
    with i18n.language("en"):
        return read_scheme(ES2025)


@pytest.fixture(scope="module")
def scheme(result: ReadResult) -> SchemeData:
    assert result.scheme is not None, result.problems
    return result.scheme


def aspect(scheme: SchemeData, code: str):  # type: ignore[no-untyped-def]
    return next(a for a in scheme.aspects if a.code == code)


def test_es2025_has_6_criteria_31_sub_criteria_173_m_and_19_j_aspects(scheme: SchemeData) -> None:
    assert [c.code for c in scheme.criteria] == ["A", "B", "C", "D", "E", "F"]
    assert len(scheme.sub_criteria) == 31
    assert [s.code for s in scheme.sub_criteria if s.criterion == "D"] == [
        f"D{n}" for n in range(1, 10)
    ]
    assert scheme.counts_by_kind() == {"M": 173, "J": 19}
    assert scheme.title == "17 Web Development"


def test_es2025_aspect_counts_match_a_plain_scan_of_column_d(scheme: SchemeData) -> None:
    sheet = openpyxl.load_workbook(ES2025, read_only=True)["CIS Marking Scheme Import"]
    column_d = Counter(
        str(row[3]).strip() for row in sheet.iter_rows(values_only=True)
        if len(row) > 3 and str(row[3]).strip() in ("M", "J")
    )
    assert scheme.counts_by_kind() == dict(column_d)


def test_es2025_totals_100_with_criteria_matching_the_criteria_table(scheme: SchemeData) -> None:
    assert scheme.total() == D(100)
    assert {c.code: c.mark for c in scheme.criteria} == {
        "A": D("16.5"), "B": D(23), "C": D("16.75"), "D": D(22), "E": D("16.75"), "F": D(5),
    }
    for criterion in scheme.criteria:
        assert scheme.criterion_total(criterion.code) == criterion.mark


def test_es2025_section_marks_vary_by_one_mark_which_is_within_the_limit(
    scheme: SchemeData, result: ReadResult
) -> None:
    assert [(s.number, s.weighting) for s in scheme.sections] == [
        (1, D(5)), (2, D(5)), (3, D(25)), (4, D(25)), (5, D(40)),
    ]
    assert scheme.section_totals() == {
        1: D(5), 2: D("5.25"), 3: D("24.75"), 4: D("24.75"), 5: D("40.25"),
    }
    assert scheme.section_variation() == D(1)
    assert not [p for p in result.problems if "standards section" in p.message]


def test_es2025_ranged_scores_are_its_only_problems_read_as_choices_with_a_warning(
    result: ReadResult, scheme: SchemeData
) -> None:
    assert [(p.severity, p.row) for p in result.problems] == [("warning", 333), ("warning", 334)]
    assert result.problems[0].message == (
        "Row 333: aspect E1.2 'All files test coverage of lines or branches (lower value)' uses "
        "calculation row 11: it is a RANGED_SCORE, which Podium does not mark as such; it is "
        "read as a choice between its ranges (0 to 20: 100% deducted; 20 or more: 60% "
        "deducted). Check the options before marking."
    )
    assert aspect(scheme, "E1.2").calculation == Calculation(
        "choice", None, None, (Choice("0 to 20", D(100)), Choice("20 or more", D(60)))
    )
    assert aspect(scheme, "E1.3").calculation == Calculation(
        "choice", None, None, (Choice("0 to 3", D(0)), Choice("0 to 15", D(60)))
    )


def test_es2025_is_usable_for_marking(result: ReadResult, scheme: SchemeData) -> None:
    assert result.errors == []
    assert usable_for_marking(scheme)
    assert str(result.summary) == (
        "6 criteria, 31 sub-criteria, 192 aspects (173 M, 19 J), total 100.00"
    )


def test_es2025_calculation_rows_are_linked(scheme: SchemeData) -> None:
    accessibility = aspect(scheme, "A5.1")
    assert accessibility.row == 91
    assert accessibility.calculation is not None
    assert [c.deduction_percent for c in accessibility.calculation.choices] == [
        D(0), D("33.3"), D("66.6"), D(100),
    ]
    assert accessibility.calculation.choices[0].label == (
        "The axe browser extension reports no violations on all implemented pages"
    )
    assert aspect(scheme, "E2.2").calculation == Calculation(
        "number_completed", "Number Completed 5", 5
    )
    assert aspect(scheme, "D3.10").calculation == Calculation(
        "number_completed", "Number Completed 6", 6
    )
    assert aspect(scheme, "A1.1").calculation == Calculation("pass_fail", "Measurement")
    kinds = Counter(a.calculation.kind for a in scheme.aspects if a.calculation)
    assert kinds == {"pass_fail": 161, "number_completed": 6, "choice": 6}


def test_es2025_every_j_aspect_has_descriptors_0_to_3(scheme: SchemeData) -> None:
    judged = [a for a in scheme.aspects if a.kind == "J"]
    assert len(judged) == 19
    assert all([d.score for d in a.descriptors] == [0, 1, 2, 3] for a in judged)
    navigation = aspect(scheme, "A1.3")
    assert (navigation.description, navigation.row, navigation.max_mark) == (
        "Navigation design", 28, D("0.75")
    )
    assert navigation.descriptors[1].text == "Navigation has basic styling applied"


def test_es2025_aspect_on_the_same_row_as_its_sub_criterion_is_read(scheme: SchemeData) -> None:
    first = aspect(scheme, "B5.1")
    assert first.row == 185
    assert first.description.startswith("Access to /admin/* is only possible when logged in")
    assert [a.code for a in scheme.aspects if a.sub_criterion == "B5"][-1] == "B5.8"


def test_es2025_round_trips_through_write_scheme(scheme: SchemeData) -> None:
    again = read_scheme(write_scheme(scheme))
    assert again.problems == []  # the ranged scores are now plain choices
    assert again.scheme == scheme
