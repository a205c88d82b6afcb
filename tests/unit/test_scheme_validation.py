"""The marking scheme's own rules (validate): totals, sections, descriptors and structure."""

from dataclasses import replace
from decimal import Decimal

import pytest

from scoring.scheme_data import (
    PASS_FAIL,
    AspectData,
    Calculation,
    Choice,
    CriterionData,
    DescriptorData,
    Problem,
    SchemeData,
    Section,
    SubCriterionData,
    usable_for_marking,
    validate,
)

pytestmark = pytest.mark.usefixtures("english")

D = Decimal

DESCRIPTORS = (
    DescriptorData(0, "Below industry standard"),
    DescriptorData(1, "Meets industry standard"),
    DescriptorData(2, "Meets and in some respects exceeds it"),
    DescriptorData(3, "Wholly exceeds industry standard"),
)
CHOICE = Calculation(
    "choice",
    "Doneness",
    None,
    (Choice("Perfect", D(0)), Choice("Slightly over", D("33.3")), Choice("Overcooked", D(100))),
)


def tidy_scheme() -> SchemeData:
    """A small scheme without a single problem: 100 marks, sections on their weightings."""
    return SchemeData(
        title="Test skill",
        sections=(
            Section(1, "Work organisation", D(40), row=5),
            Section(2, "Making the product", D(60), row=6),
        ),
        criteria=(
            CriterionData("A", "Preparation", D(40), row=15),
            CriterionData("B", "Product", D(60), row=16),
        ),
        sub_criteria=(
            SubCriterionData("A1", "A", "Planning", "1", row=24),
            SubCriterionData("A2", "A", "Safety", "1", row=32),
            SubCriterionData("B1", "B", "Finished product", "2", row=40),
        ),
        aspects=(
            AspectData("A1.1", "A1", "M", "Work plan handed in on time", section=1,
                       max_mark=D(20), row=25),
            AspectData("A1.2", "A1", "J", "Quality of the work plan", section=1, max_mark=D(10),
                       descriptors=DESCRIPTORS, row=26),
            AspectData("A2.1", "A2", "M", "Safe working", section=1, max_mark=D(10),
                       calculation=Calculation("deduction"), row=33),
            AspectData("B1.1", "B1", "M", "Required parts made", section=2, max_mark=D(30),
                       calculation=Calculation("number_completed", "Parts", 4), row=41),
            AspectData("B1.2", "B1", "M", "Finish of the product", section=2, max_mark=D(30),
                       calculation=CHOICE, row=42),
        ),
    )


def with_aspect(scheme: SchemeData, target: str, /, **changes: object) -> SchemeData:
    """The scheme with aspect `target` changed."""
    aspects = tuple(
        replace(aspect, **changes) if aspect.code == target else aspect  # type: ignore[arg-type]
        for aspect in scheme.aspects
    )
    return replace(scheme, aspects=aspects)


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_tidy_scheme_has_no_problems_and_can_be_marked() -> None:
    scheme = tidy_scheme()
    assert validate(scheme) == []
    assert usable_for_marking(scheme)


def test_totals_per_criterion_section_and_kind() -> None:
    scheme = tidy_scheme()
    assert scheme.total() == D(100)
    assert scheme.criterion_total("A") == D(40)
    assert scheme.criterion_total("B") == D(60)
    assert scheme.section_totals() == {1: D(40), 2: D(60)}
    assert scheme.section_variation() == D(0)
    assert scheme.counts_by_kind() == {"M": 4, "J": 1}
    assert str(scheme.summary()) == (
        "2 criteria, 3 sub-criteria, 5 aspects (4 M, 1 J), total 100.00"
    )


def test_m_aspect_without_calculation_is_pass_fail_and_j_has_none() -> None:
    measured = AspectData("A1.1", "A1", "M", "Done")
    judged = AspectData("A1.2", "A1", "J", "Looks good")
    assert measured.calculation == PASS_FAIL
    assert judged.calculation is None


def test_rows_do_not_count_for_equality() -> None:
    scheme = tidy_scheme()
    assert with_aspect(scheme, "A1.1", row=999) == scheme


def test_total_not_100_is_a_warning_and_unusable_for_marking() -> None:
    scheme = with_aspect(tidy_scheme(), "A1.1", max_mark=D("19.75"))
    problems = validate(scheme)
    total = [p for p in problems if "marking scheme totals 100" in p.message]
    assert only(total) == Problem(
        "warning", "CIS Marking Scheme Import", None,
        "The aspects total 99.75 marks; a marking scheme totals 100.",
    )
    assert not usable_for_marking(scheme)


def test_criterion_whose_aspects_miss_its_table_mark_is_a_warning_at_its_row() -> None:
    scheme = with_aspect(tidy_scheme(), "A1.1", max_mark=D(25))
    problem = only([p for p in validate(scheme) if "Criteria table" in p.message])
    assert problem.severity == "warning"
    assert problem.row == 15
    assert problem.message == (
        "Row 15: criterion A 'Preparation' has 40.00 marks in the Criteria table but its "
        "aspects total 45.00."
    )


def test_section_variation_of_exactly_5_is_allowed() -> None:
    # 2.5 marks move from section 2 to section 1: |42.5 − 40| + |57.5 − 60| = 5
    scheme = tidy_scheme()
    scheme = with_aspect(scheme, "A1.1", max_mark=D("22.5"))
    scheme = with_aspect(scheme, "B1.1", max_mark=D("27.5"))
    scheme = replace(scheme, criteria=(
        CriterionData("A", "Preparation", D("42.5")), CriterionData("B", "Product", D("57.5")),
    ))
    assert scheme.section_variation() == D(5)
    assert validate(scheme) == []


def test_section_variation_over_5_is_a_warning_naming_each_section() -> None:
    scheme = with_aspect(tidy_scheme(), "A1.1", section=2)  # 20 marks move to section 2
    problem = only([p for p in validate(scheme) if "standards section differ" in p.message])
    assert problem.severity == "warning"
    assert problem.message == (
        "Row 5: the marks per standards section differ from the weightings by 40.00 in total; "
        "at most 5.00 is allowed (section 1: 20.00 marks for a weighting of 40.00; "
        "section 2: 80.00 marks for a weighting of 60.00)."
    )


def test_weightings_not_totalling_100_is_a_warning() -> None:
    scheme = replace(tidy_scheme(), sections=(
        Section(1, "Work organisation", D(40), row=5), Section(2, "Making", D(50), row=6),
    ))
    problem = only([p for p in validate(scheme) if "weightings of the standards" in p.message])
    assert (problem.severity, problem.row) == ("warning", 5)
    assert problem.message == (
        "Row 5: the weightings of the standards sections total 90.00, not 100."
    )


def test_j_aspect_with_three_descriptors_is_a_warning_at_its_row() -> None:
    scheme = with_aspect(tidy_scheme(), "A1.2", description="Navigation design", row=41,
                         descriptors=DESCRIPTORS[:3])
    problem = only(validate(scheme))
    assert problem == Problem(
        "warning", "CIS Marking Scheme Import", 41,
        "Row 41: J aspect A1.2 'Navigation design' has 3 descriptors; it needs scores 0, 1, 2 "
        "and 3.",
    )


def test_j_aspect_with_a_score_twice_is_a_warning() -> None:
    twice = (*DESCRIPTORS[:2], DescriptorData(1, "again"), DESCRIPTORS[3])
    scheme = with_aspect(tidy_scheme(), "A1.2", descriptors=twice)
    problem = only(validate(scheme))
    assert problem.message == (
        "Row 26: J aspect A1.2 'Quality of the work plan' has descriptors for scores 0, 1, 1, 3; "
        "it needs one each for scores 0, 1, 2 and 3."
    )


def test_m_aspect_with_descriptors_is_a_warning() -> None:
    scheme = with_aspect(tidy_scheme(), "A1.1", descriptors=DESCRIPTORS)
    problem = only(validate(scheme))
    assert (problem.severity, problem.row) == ("warning", 25)
    assert "M aspect A1.1 'Work plan handed in on time' has judgement score rows" in problem.message


@pytest.mark.parametrize(
    ("max_mark", "message"),
    [
        (None, "Row 25: aspect A1.1 'Work plan handed in on time' has no max mark."),
        (D(0), "Row 25: aspect A1.1 'Work plan handed in on time' has a max mark of 0.00; "
               "it must be above 0."),
        (D("-1.5"), "Row 25: aspect A1.1 'Work plan handed in on time' has a max mark of "
                    "-1.50; it must be above 0."),
    ],
)
def test_missing_or_non_positive_max_mark_is_a_warning(
    max_mark: Decimal | None, message: str
) -> None:
    problems = validate(with_aspect(tidy_scheme(), "A1.1", max_mark=max_mark))
    problem = only([p for p in problems if "max mark" in p.message])
    assert (problem.severity, problem.message) == ("warning", message)


def test_aspect_in_a_section_missing_from_the_standards_table_is_a_warning() -> None:
    problems = validate(with_aspect(tidy_scheme(), "A1.1", section=7))
    problem = only([p for p in problems if "not in the standards table" in p.message])
    assert problem.message == (
        "Row 25: aspect A1.1 'Work plan handed in on time' is in WSOS section 7, which is not "
        "in the standards table."
    )


def test_aspect_without_a_section_is_a_warning() -> None:
    problems = validate(with_aspect(tidy_scheme(), "B1.2", section=None, max_mark=D(30)))
    assert "Row 42: aspect B1.2 'Finish of the product' has no WSOS section." in [
        p.message for p in problems
    ]


def test_scheme_without_standards_table_warns_once() -> None:
    problem = only(validate(replace(tidy_scheme(), sections=())))
    assert problem.severity == "warning"
    assert "no standards table" in problem.message


def test_aspect_without_description_is_a_warning() -> None:
    problem = only(validate(with_aspect(tidy_scheme(), "A1.1", description="")))
    assert problem.message == "Row 25: aspect A1.1 has no description."


def test_sub_criterion_without_aspects_is_a_warning() -> None:
    scheme = tidy_scheme()
    empty = SubCriterionData("B2", "B", "Presentation", "2", row=50)
    problem = only(validate(replace(scheme, sub_criteria=(*scheme.sub_criteria, empty))))
    assert problem.message == "Row 50: sub-criterion B2 'Presentation' has no aspects."


def test_sub_criterion_id_not_starting_with_its_criterion_is_a_warning() -> None:
    scheme = tidy_scheme()
    sub_criteria = (*scheme.sub_criteria[:2], replace(scheme.sub_criteria[2], code="X1"))
    aspects = tuple(
        replace(a, sub_criterion="X1", code=a.code.replace("B1", "X1")) if a.code[:2] == "B1"
        else a for a in scheme.aspects
    )
    problem = only(validate(replace(scheme, sub_criteria=sub_criteria, aspects=aspects)))
    assert (problem.severity, problem.row) == ("warning", 40)
    assert problem.message == (
        "Row 40: sub-criterion ID X1 does not start with the letter of its criterion, B."
    )


# Structural errors: the scheme cannot be marked as it stands.


def test_duplicate_sub_criterion_id_is_an_error_at_the_second_row() -> None:
    scheme = tidy_scheme()
    twin = SubCriterionData("A1", "A", "Planning again", "1", row=60)
    problems = validate(replace(scheme, sub_criteria=(*scheme.sub_criteria, twin)))
    problem = only([p for p in problems if p.severity == "error"])
    assert problem.row == 60
    assert problem.message == (
        "Row 60: sub-criterion ID A1 is used more than once (first at row 24); each "
        "sub-criterion is one marking form and needs its own ID."
    )
    assert not usable_for_marking(replace(scheme, sub_criteria=(*scheme.sub_criteria, twin)))


def test_duplicate_criterion_and_section_are_errors() -> None:
    scheme = tidy_scheme()
    scheme = replace(
        scheme,
        criteria=(*scheme.criteria, CriterionData("A", "Again", D(0), row=17)),
        sections=(*scheme.sections, Section(2, "Again", D(0), row=7)),
    )
    errors = [p.message for p in validate(scheme) if p.severity == "error"]
    assert errors == [
        "Row 7: standards section 2 appears more than once.",
        "Row 17: criterion A appears more than once in the Criteria table.",
    ]


def test_sub_criterion_of_a_criterion_missing_from_the_criteria_table_is_an_error() -> None:
    scheme = tidy_scheme()
    stray = SubCriterionData("C1", "C", "Extra", None, row=70)
    problems = validate(replace(scheme, sub_criteria=(*scheme.sub_criteria, stray)))
    assert Problem(
        "error", "CIS Marking Scheme Import", 70,
        "Row 70: sub-criterion C1 belongs to criterion C, which is not in the Criteria table.",
    ) in problems


def test_no_criteria_and_no_aspects_are_errors() -> None:
    problems = validate(SchemeData("Empty"))
    assert [(p.severity, p.message) for p in problems] == [
        ("error", "The scheme has no criteria: the Criteria table is missing or empty."),
        ("error", "The scheme has no aspects."),
    ]


def test_aspect_of_an_unknown_sub_criterion_is_an_error() -> None:
    problems = validate(with_aspect(tidy_scheme(), "B1.2", sub_criterion="B9", code="B9.1"))
    errors = [p for p in problems if p.severity == "error"]
    assert only(errors).message == (
        "Row 42: aspect B9.1 'Finish of the product' belongs to sub-criterion B9, which the "
        "scheme does not have."
    )


def test_aspect_numbered_out_of_its_position_is_an_error() -> None:
    problem = only(validate(with_aspect(tidy_scheme(), "B1.2", code="B1.5")))
    assert (problem.severity, problem.row) == ("error", 42)
    assert "should be numbered B1.2" in problem.message


def test_j_aspect_with_a_calculation_is_an_error() -> None:
    problem = only(validate(with_aspect(tidy_scheme(), "A1.2", calculation=PASS_FAIL)))
    assert (problem.severity, problem.row) == ("error", 26)
    assert "J aspect A1.2 'Quality of the work plan' has a calculation" in problem.message


@pytest.mark.parametrize(
    ("calculation", "message"),
    [
        (Calculation("number_completed", None, None),
         "Row 41: M aspect B1.1 'Required parts made' counts completed items but does not say "
         "how many are possible (at least 1)."),
        (Calculation("number_completed", None, 0),
         "Row 41: M aspect B1.1 'Required parts made' counts completed items but does not say "
         "how many are possible (at least 1)."),
        (Calculation("choice"),
         "Row 41: M aspect B1.1 'Required parts made' is a choice without options."),
        (Calculation("choice", None, None, (Choice("Way off", D(120)),)),
         "Row 41: M aspect B1.1 'Required parts made': option 'Way off' deducts 120.00%; a "
         "deduction must be between 0 and 100%."),
    ],
)
def test_calculation_that_cannot_be_applied_is_an_error(
    calculation: Calculation, message: str
) -> None:
    problem = only(validate(with_aspect(tidy_scheme(), "B1.1", calculation=calculation)))
    assert (problem.severity, problem.message) == ("error", message)
    assert not usable_for_marking(with_aspect(tidy_scheme(), "B1.1", calculation=calculation))


def test_long_descriptions_are_shortened_to_their_first_line_in_messages() -> None:
    long = "Login works:\nTest: POST /auth/login with the given user and check the token"
    problem = only(validate(with_aspect(tidy_scheme(), "A1.2", description=long, descriptors=())))
    assert "J aspect A1.2 'Login works:' has 0 descriptors" in problem.message
    longer = "A" * 80
    problem = only(validate(with_aspect(tidy_scheme(), "A1.2", description=longer,
                                        descriptors=())))
    assert f"'{'A' * 59}…'" in problem.message


def test_text_longer_than_podium_stores_is_an_error_naming_what_and_where() -> None:
    scheme = tidy_scheme()
    long_name = "Ļoti garš nosaukums " * 20  # 400 characters
    scheme = replace(
        scheme,
        criteria=(replace(scheme.criteria[0], name=long_name), scheme.criteria[1]),
        sub_criteria=(replace(scheme.sub_criteria[0], day="The first day of the competition, morning"),
                      *scheme.sub_criteria[1:]),
    )
    choice = Calculation("choice", "Doneness", None, (Choice("x" * 201, D(0)),))
    scheme = with_aspect(scheme, "B1.2", calculation=choice)
    problems = [problem for problem in validate(scheme) if "Podium stores" in problem.message]
    assert [(problem.severity, problem.row) for problem in problems] == [("error", 15), ("error", 24), ("error", 42)]
    assert problems[0].message == "Row 15: the name of criterion A is 400 characters long; Podium stores at most 300."
    assert problems[1].message == "Row 24: the day of sub-criterion A1 is 41 characters long; Podium stores at most 32."
    assert problems[2].message == "Row 42: option 1 of aspect B1.2 is 201 characters long; Podium stores at most 200."
    assert not usable_for_marking(scheme)
