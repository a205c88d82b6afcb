"""The rule book's "Marking an aspect": rounding, judgement, measurement, parsing input, totals."""

from decimal import Decimal as D

import pytest

from scoring import rules
from scoring.rules import (
    AspectMark,
    Choice,
    format_mark,
    judgement_mark,
    judgement_spread_ok,
    measurement_mark,
    parse_measurement_value,
    round_half_up,
    totals,
)

CHOICES = (
    Choice("No errors", D("0")),
    Choice("Minor errors", D("33.3")),
    Choice("Major errors", D("66.6")),
    Choice("Not done", D("100")),
)


# Rounding


def test_half_up_rounding_of_0_125() -> None:
    assert round_half_up(D("0.125")) == D("0.13")  # banker's rounding would give 0.12


def test_half_up_rounding_to_whole_numbers() -> None:
    assert round_half_up(D("742.5"), 0) == D("743")
    assert round_half_up(D("741.5"), 0) == D("742")
    assert round_half_up(D("741.4999"), 0) == D("741")


def test_format_mark_gives_exactly_two_decimals() -> None:
    assert format_mark(D("20")) == "20.00"
    assert format_mark(D("87.415")) == "87.42"
    assert format_mark(D("0")) == "0.00"
    assert format_mark(D("-0.001")) == "0.00"


def test_rounding_refuses_what_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        round_half_up(D("NaN"))


# Judgement


def test_judgement_mark_is_max_times_mean_over_3() -> None:
    assert judgement_mark(D("2.00"), [2, 2, 3]) == D("1.56")  # 2 × 7/9 = 1.555…


def test_judgement_of_all_3s_is_the_max_and_of_all_0s_is_0() -> None:
    assert judgement_mark(D("1.50"), [3, 3, 3]) == D("1.50")
    assert judgement_mark(D("1.50"), [0, 0, 0]) == D("0.00")


def test_judgement_mark_rounds_the_exact_value_half_up() -> None:
    # 0.30 × 1/12 = 0.025 exactly; computing the mean first (0.0833…) would round it down to 0.02.
    assert judgement_mark(D("0.30"), [0, 0, 0, 1]) == D("0.03")


def test_judgement_with_five_judges() -> None:
    assert judgement_mark(D("1.00"), [1, 1, 2, 2, 2]) == D("0.53")  # 8/15 = 0.533…


@pytest.mark.parametrize("scores", [[0, 4, 1], [-1, 0, 0], []])
def test_judgement_scores_outside_0_to_3_or_none_are_refused(scores: list[int]) -> None:
    with pytest.raises(ValueError):
        judgement_mark(D("1.00"), scores)


def test_judgement_score_error_says_which_score() -> None:
    with pytest.raises(ValueError, match=r"score 4 is outside 0\.\.3"):
        judgement_mark(D("1.00"), [2, 4, 3])


def test_judges_within_1_keep_the_judgement_rule() -> None:
    assert judgement_spread_ok([1, 2, 2])
    assert judgement_spread_ok([3, 3, 3])


def test_judges_differing_by_more_than_1_break_the_judgement_rule() -> None:
    assert not judgement_spread_ok([1, 3, 2])
    assert not judgement_spread_ok([0, 2])


def test_judgement_rule_spread_is_configurable() -> None:
    assert judgement_spread_ok([1, 3], max_spread=2)
    assert not judgement_spread_ok([1, 2], max_spread=0)


# Measurement


def test_pass_fail_gives_max_or_0() -> None:
    assert measurement_mark(D("0.50"), "pass_fail", True) == D("0.50")
    assert measurement_mark(D("0.50"), "pass_fail", False) == D("0.00")
    assert measurement_mark(D("0.50"), "pass_fail", 1) == D("0.50")
    assert measurement_mark(D("0.50"), "pass_fail", 0) == D("0.00")
    assert measurement_mark(D("0.50"), "pass_fail", D(1)) == D("0.50")  # as parsed and stored


def test_pass_fail_refuses_other_values() -> None:
    with pytest.raises(ValueError, match="pass_fail value 2 is not 1/0, yes/no or jā/nē"):
        measurement_mark(D("0.50"), "pass_fail", 2)


def test_deduction_is_max_minus_the_sum_of_deductions() -> None:
    assert measurement_mark(D("1.00"), "deduction", None, deductions=[D("0.25"), D("0.30")]) == D("0.45")


def test_deduction_may_be_given_as_the_total_deducted() -> None:
    assert measurement_mark(D("1.00"), "deduction", D("0.40")) == D("0.60")


def test_deduction_never_goes_below_0() -> None:
    assert measurement_mark(D("1.00"), "deduction", None, deductions=[D("0.75"), D("0.50")]) == D("0.00")


def test_no_deduction_recorded_gives_the_max() -> None:
    assert measurement_mark(D("1.00"), "deduction", None) == D("1.00")


def test_deduction_total_must_match_the_deductions() -> None:
    with pytest.raises(ValueError, match="does not match"):
        measurement_mark(D("1.00"), "deduction", D("0.40"), deductions=[D("0.25")])


def test_negative_deduction_is_refused() -> None:
    with pytest.raises(ValueError, match="below 0"):
        measurement_mark(D("1.00"), "deduction", D("-0.10"))
    with pytest.raises(ValueError, match="below 0"):
        measurement_mark(D("1.00"), "deduction", None, deductions=[D("-0.10")])


def test_number_completed_is_max_times_completed_over_possible() -> None:
    assert measurement_mark(D("1.00"), "number_completed", 3, possible=5) == D("0.60")
    assert measurement_mark(D("1.00"), "number_completed", 0, possible=5) == D("0.00")
    assert measurement_mark(D("1.00"), "number_completed", 5, possible=5) == D("1.00")


def test_number_completed_rounds_the_exact_value_half_up() -> None:
    # 0.45 × 5/6 = 0.375 exactly; 5/6 first (0.8333…) would round it down to 0.37.
    assert measurement_mark(D("0.45"), "number_completed", 5, possible=6) == D("0.38")


def test_number_completed_outside_0_to_possible_is_refused() -> None:
    with pytest.raises(ValueError, match=r"completed 7 is outside 0\.\.5"):
        measurement_mark(D("1.00"), "number_completed", 7, possible=5)


def test_number_completed_needs_a_possible_count() -> None:
    with pytest.raises(ValueError, match="possible count of at least 1"):
        measurement_mark(D("1.00"), "number_completed", 1, possible=None)


def test_choice_deducts_its_percent_of_the_max() -> None:
    assert measurement_mark(D("1.00"), "choice", 1, choices=CHOICES) == D("1.00")
    assert measurement_mark(D("1.00"), "choice", 2, choices=CHOICES) == D("0.67")  # 0.667
    assert measurement_mark(D("1.50"), "choice", 3, choices=CHOICES) == D("0.50")  # 0.501
    assert measurement_mark(D("1.00"), "choice", 4, choices=CHOICES) == D("0.00")


def test_choice_outside_the_options_is_refused() -> None:
    with pytest.raises(ValueError, match=r"option 5 is outside 1\.\.4"):
        measurement_mark(D("1.00"), "choice", 5, choices=CHOICES)


def test_choice_deducting_more_than_100_percent_is_refused() -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.100"):
        Choice("Worse than nothing", D("120"))


def test_unknown_calculation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown calculation 'average'"):
        measurement_mark(D("1.00"), "average", 1)


# Input from people and workbooks


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("yes", 1),
        ("No", 0),
        ("1", 1),
        ("0", 0),
        (" Y ", 1),
        (1, 1),
        (0.0, 0),
        (True, 1),
        (False, 0),
        ("TRUE", 1),
        ("false", 0),
    ],
)
def test_pass_fail_input_gives_1_or_0(raw: object, expected: int) -> None:
    parsed = parse_measurement_value("pass_fail", raw)
    assert isinstance(parsed, D)
    assert parsed == expected


@pytest.mark.parametrize(("raw", "expected"), [("jā", 1), ("Jā", 1), ("JĀ", 1), ("nē", 0), ("NĒ", 0)])
def test_pass_fail_input_in_latvian(raw: str, expected: int) -> None:
    assert parse_measurement_value("pass_fail", raw) == expected


@pytest.mark.parametrize("raw", ["maybe", "2", 2, None, ""])
def test_pass_fail_input_that_is_neither(raw: str | int | None) -> None:
    with pytest.raises(ValueError, match="pass_fail value"):
        parse_measurement_value("pass_fail", raw)


def test_deduction_input_is_the_total_deducted() -> None:
    assert parse_measurement_value("deduction", "0.5") == D("0.5")
    assert parse_measurement_value("deduction", 0) == D(0)
    assert parse_measurement_value("deduction", "0,25") == D("0.25")  # a decimal comma
    assert parse_measurement_value("deduction", 0.1) == D("0.1")  # a spreadsheet's float


def test_deduction_input_that_is_not_a_number_or_negative() -> None:
    with pytest.raises(ValueError, match="total deducted 'lots' is not a number"):
        parse_measurement_value("deduction", "lots")
    with pytest.raises(ValueError, match="total deducted -1 is below 0"):
        parse_measurement_value("deduction", "-1")
    with pytest.raises(ValueError, match="total deducted is missing"):
        parse_measurement_value("deduction", "  ")


def test_number_completed_input_is_a_whole_count() -> None:
    assert parse_measurement_value("number_completed", "3", possible=5) == D(3)
    assert parse_measurement_value("number_completed", 4.0, possible=5) == 4
    with pytest.raises(ValueError, match=r"completed 3\.5 is not a whole number"):
        parse_measurement_value("number_completed", "3.5", possible=5)
    with pytest.raises(ValueError, match=r"completed 6 is outside 0\.\.5"):
        parse_measurement_value("number_completed", "6", possible=5)


def test_choice_input_is_an_option_number_or_its_exact_label() -> None:
    assert parse_measurement_value("choice", "2", choices=CHOICES) == D(2)
    assert parse_measurement_value("choice", 3, choices=CHOICES) == D(3)
    assert parse_measurement_value("choice", "Minor errors", choices=CHOICES) == D(2)


def test_choice_input_that_matches_nothing_names_the_labels() -> None:
    options = (Choice("Good", D(0)), Choice("Fair", D(50)), Choice("Poor", D(100)))
    with pytest.raises(ValueError, match=r"^'maybe' is not one of: Good, Fair, Poor$"):
        parse_measurement_value("choice", "maybe", choices=options)


def test_choice_label_must_match_exactly() -> None:
    with pytest.raises(ValueError, match="'minor errors' is not one of: No errors, Minor errors"):
        parse_measurement_value("choice", "minor errors", choices=CHOICES)


def test_choice_number_outside_the_options_is_refused_on_input() -> None:
    with pytest.raises(ValueError, match=r"option 0 is outside 1\.\.4"):
        parse_measurement_value("choice", "0", choices=CHOICES)


def test_choice_label_that_is_another_options_number_is_ambiguous() -> None:
    reversed_numbers = (Choice("2", D("0")), Choice("1", D("100")))
    with pytest.raises(ValueError, match="ambiguous"):
        parse_measurement_value("choice", "2", choices=reversed_numbers)


def test_choice_label_that_is_its_own_number_is_fine() -> None:
    numbered = (Choice("1", D("0")), Choice("2", D("50")))
    assert parse_measurement_value("choice", "2", choices=numbered) == 2


def test_parsed_values_give_the_same_marks() -> None:
    completed = parse_measurement_value("number_completed", "3", possible=5)
    assert measurement_mark(D("1.00"), "number_completed", completed, possible=5) == D("0.60")
    option = parse_measurement_value("choice", "Major errors", choices=CHOICES)
    assert measurement_mark(D("1.00"), "choice", option, choices=CHOICES) == D("0.33")  # 0.334


# Totals


def _mark(aspect: str, section: int | None, mark: str) -> AspectMark:
    sub_criterion = aspect.split(".")[0]
    return AspectMark(aspect, sub_criterion[0], sub_criterion, section, D(mark))


def test_totals_are_exact_sums_of_aspect_marks() -> None:
    marks = [
        _mark("A1.1", 1, "0.33"),
        _mark("A1.2", 2, "0.33"),
        _mark("A10.1", 1, "1.50"),
        _mark("A2.1", 2, "0.34"),
        _mark("B1.1", 3, "2.00"),
        _mark("B1.2", None, "0.25"),
    ]
    result = totals(marks)
    assert result.raw == D("4.75")
    assert result.criteria == {"A": D("2.50"), "B": D("2.25")}
    assert list(result.sub_criteria.items()) == [
        ("A1", D("0.66")),
        ("A2", D("0.34")),
        ("A10", D("1.50")),
        ("B1", D("2.25")),
    ]
    assert list(result.sections.items()) == [(1, D("1.83")), (2, D("0.67")), (3, D("2.00"))]


def test_totals_of_no_marks_are_0() -> None:
    assert totals([]).raw == D("0")


def test_a_judgement_waits_until_every_judge_has_scored() -> None:
    assert rules.judgement_status(D(1), [], judges=3) == ("missing", None)
    assert rules.judgement_status(D(1), [2, 3], judges=3) == ("waiting", None)


def test_a_judgement_beyond_the_spread_is_a_disagreement_without_a_mark() -> None:
    assert rules.judgement_status(D(1), [0, 2, 1], judges=3, max_spread=1) == ("disagreement", None)
    assert rules.judgement_status(D(1), [0, 2, 1], judges=3, max_spread=2) == ("saved", D("0.33"))


def test_a_larger_team_counts_every_score() -> None:
    assert rules.judgement_status(D(3), [2, 2, 3, 3], judges=3) == ("saved", D("2.50"))
