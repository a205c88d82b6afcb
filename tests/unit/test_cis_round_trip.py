"""Any scheme written in the CIS layout reads back as the same scheme."""

import io
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.cis_xlsx import read_scheme, write_scheme
from scoring.scheme_data import (
    AspectData,
    Calculation,
    Choice,
    CriterionData,
    DescriptorData,
    SchemeData,
    Section,
    SubCriterionData,
)
from tests.unit.test_scheme_validation import tidy_scheme

# Text as people type it into cells: letters, digits, punctuation, symbols and spaces, without
# surrounding spaces (the reader strips them). '#' is left out of choice labels only.
TEXT = st.text(
    st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="\x00"),
    min_size=1,
    max_size=40,
).map(str.strip).filter(bool)
LABEL = TEXT.filter(lambda text: "#" not in text)
MARK = st.decimals(min_value=Decimal("-2"), max_value=Decimal(40), places=2)
PERCENT = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2)

CALCULATION = st.one_of(
    st.builds(Calculation, st.just("pass_fail"), st.none() | TEXT),
    st.builds(Calculation, st.just("deduction"), st.none() | TEXT),
    st.builds(Calculation, st.just("number_completed"), st.none() | TEXT,
              st.integers(min_value=1, max_value=30)),
    st.builds(Calculation, st.just("choice"), st.none() | TEXT, st.none(),
              st.lists(st.builds(Choice, LABEL, PERCENT), min_size=1, max_size=5).map(tuple)),
)
DESCRIPTORS = st.lists(
    st.builds(DescriptorData, st.integers(min_value=0, max_value=3), st.just("") | TEXT),
    max_size=5,
).map(tuple)


@st.composite
def schemes(draw: st.DrawFn) -> SchemeData:
    """Schemes with every field exercised, in the canonical order the writer lays them out."""
    numbers = draw(st.lists(st.integers(min_value=1, max_value=12), unique=True, max_size=6))
    sections = tuple(Section(n, draw(TEXT), draw(PERCENT)) for n in numbers)
    section = st.none() | st.sampled_from(numbers or [1]) | st.integers(min_value=1, max_value=20)
    letters = "ABCDEFG"[: draw(st.integers(min_value=1, max_value=7))]
    criteria, sub_criteria, aspects = [], [], []
    for letter in letters:
        criteria.append(CriterionData(letter, draw(TEXT), draw(MARK)))
        for n in range(1, draw(st.integers(min_value=0, max_value=3)) + 1):
            sub = SubCriterionData(
                f"{letter}{n}", letter, draw(st.just("") | TEXT),
                draw(st.none() | st.sampled_from(["1", "2", "3", "C-1", "Day 2"])),
            )
            sub_criteria.append(sub)
            for position in range(1, draw(st.integers(min_value=0, max_value=4)) + 1):
                kind = draw(st.sampled_from(["M", "J"]))
                aspects.append(AspectData(
                    code=f"{sub.code}.{position}",
                    sub_criterion=sub.code,
                    kind=kind,
                    description=draw(TEXT),
                    extra_description=draw(st.just("") | TEXT),
                    requirement=draw(st.just("") | TEXT),
                    section=draw(section),
                    max_mark=draw(st.none() | MARK),
                    calculation=draw(CALCULATION) if kind == "M" else None,
                    descriptors=draw(DESCRIPTORS) if kind == "J" else (),
                ))
    if not aspects:  # a scheme without aspects is refused, not round-tripped
        criteria.append(CriterionData("Z", "Last", Decimal(1)))
        sub_criteria.append(SubCriterionData("Z1", "Z", "Last"))
        aspects.append(AspectData("Z1.1", "Z1", "M", "Last aspect", max_mark=Decimal(1)))
    return SchemeData(draw(st.just("") | TEXT), sections, tuple(criteria), tuple(sub_criteria),
                      tuple(aspects))


@given(schemes())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_scheme_reads_back_identically(scheme: SchemeData) -> None:
    result = read_scheme(write_scheme(scheme))
    assert result.errors == []
    assert result.scheme == scheme


def test_round_trip_keeps_text_that_looks_like_a_formula_or_a_number() -> None:
    scheme = tidy_scheme()
    odd = AspectData("B1.3", "B1", "M", "=SUM(A1:A3) is shown", extra_description="12",
                     requirement="0.50", section=2, max_mark=Decimal(0))
    scheme = SchemeData(scheme.title, scheme.sections, scheme.criteria, scheme.sub_criteria,
                        (*scheme.aspects, odd))
    assert read_scheme(write_scheme(scheme)).scheme == scheme


def test_written_file_looks_like_a_cis_export() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(write_scheme(tidy_scheme())))
    assert workbook.sheetnames == ["CIS Marking Scheme Import", "Calculations"]
    sheet = workbook["CIS Marking Scheme Import"]
    cells = {cell.coordinate: cell.value for row in sheet.iter_rows() for cell in row
             if cell.value is not None}
    assert cells["A1"] == "Test skill"
    assert (cells["A4"], cells["I4"], cells["J4"], cells["K4"]) == (
        "Section", "WSOS Marks", "Aspect Marks", "Variation"
    )
    assert cells["J5"].startswith("=SUMIF(") and cells["K5"] == "=ABS(I5-J5)"
    assert "Criterion A" in cells.values() and "Criterion B" in cells.values()
    assert [row for row in workbook["Calculations"].iter_rows(values_only=True)] == [
        (None, "PASS_FAIL", True, None),
        (None, "DEDUCTION", True, None),
        ("Parts", "NUMBER_COMPLETED", True, "NUM_POSSIBLE:::4.00000000#x~x#"),
        ("Doneness", "CHOICE", False,
         "DEDUCTION_TYPE:::#x~x#PERCENT#-#CHOICE1_LABEL:::#x~x#Perfect#-#"
         "CHOICE1_DEDUCTION:::0.00000000#x~x##-#CHOICE2_LABEL:::#x~x#Slightly over#-#"
         "CHOICE2_DEDUCTION:::33.30000000#x~x##-#CHOICE3_LABEL:::#x~x#Overcooked#-#"
         "CHOICE3_DEDUCTION:::100.00000000#x~x#"),
    ]


def test_choice_label_the_calculations_sheet_cannot_hold_is_refused_when_writing() -> None:
    scheme = tidy_scheme()
    broken = Calculation("choice", None, None, (Choice("ends with #-", Decimal(0)),))
    aspects = tuple(
        AspectData(a.code, a.sub_criterion, a.kind, a.description, section=a.section,
                   max_mark=a.max_mark, calculation=broken, row=a.row)
        if a.code == "B1.2" else a
        for a in scheme.aspects
    )
    with pytest.raises(ValueError, match="cannot hold these choice labels"):
        write_scheme(SchemeData(scheme.title, scheme.sections, scheme.criteria,
                                scheme.sub_criteria, aspects))
