"""Properties the rules keep for any input (hypothesis), checked against independent arithmetic."""

import re
from decimal import Decimal as D
from fractions import Fraction
from itertools import pairwise
from math import floor

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from scoring.rules import (
    AspectMark,
    Choice,
    CompetitorInput,
    ResultsSettings,
    ScaleMethod,
    ScaleSettings,
    StageKind,
    advancement,
    awards,
    best_of,
    format_mark,
    judgement_mark,
    measurement_mark,
    medal_table,
    medals,
    parse_measurement_value,
    ranks,
    round_half_up,
    scale_scores,
    stage_results,
    totals,
)

# No deadline: the suite must not depend on how fast the machine is.
rule_property = settings(deadline=None, max_examples=200)

raw_totals = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
max_marks = st.decimals(min_value=0, max_value=10, places=2, allow_nan=False, allow_infinity=False)
scale_values = st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False, allow_infinity=False)
margins = st.decimals(min_value=0, max_value=10, places=1, allow_nan=False, allow_infinity=False)
stage_kinds: st.SearchStrategy[StageKind] = st.sampled_from(["semi_final", "final"])
methods: st.SearchStrategy[ScaleMethod] = st.sampled_from(["robust", "mean_sd"])
rankings = st.lists(scale_values, max_size=12).map(lambda scales: sorted(scales, reverse=True))

ORDER = {"gold": 0, "silver": 1, "bronze": 2, None: 3}


def exact_half_up(value: Fraction) -> Fraction:
    """Half up to 2 decimals, for values ≥ 0, in exact rational arithmetic."""
    return Fraction(floor(value * 100 + Fraction(1, 2)), 100)


# Rounding


@rule_property
@given(st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False))
def test_round_half_up_matches_exact_arithmetic(value: D) -> None:
    assert Fraction(round_half_up(value)) == exact_half_up(Fraction(value))


@rule_property
@given(st.decimals(min_value=-(10**6), max_value=10**6, places=6, allow_nan=False, allow_infinity=False))
def test_format_mark_always_has_2_decimals(value: D) -> None:
    text = format_mark(value)
    assert re.fullmatch(r"-?\d+\.\d\d", text)
    assert D(text) == round_half_up(value)


# Marks


@rule_property
@given(max_marks, st.lists(st.integers(0, 3), min_size=3, max_size=5))
def test_judgement_mark_is_the_exact_mean_rounded_half_up(max_mark: D, scores: list[int]) -> None:
    mark = judgement_mark(max_mark, scores)
    assert 0 <= mark <= max_mark
    assert Fraction(mark) == exact_half_up(Fraction(max_mark) * sum(scores) / (3 * len(scores)))


@rule_property
@given(max_marks, st.integers(1, 12), st.data())
def test_number_completed_is_the_exact_share_rounded_half_up(
    max_mark: D, possible: int, data: st.DataObject
) -> None:
    completed = data.draw(st.integers(0, possible))
    mark = measurement_mark(max_mark, "number_completed", completed, possible=possible)
    assert 0 <= mark <= max_mark
    assert Fraction(mark) == exact_half_up(Fraction(max_mark) * completed / possible)


@rule_property
@given(max_marks, st.lists(st.decimals(min_value=0, max_value=2, places=2, allow_nan=False), max_size=6))
def test_deduction_stays_within_0_and_max(max_mark: D, deductions: list[D]) -> None:
    mark = measurement_mark(max_mark, "deduction", None, deductions=deductions)
    assert 0 <= mark <= max_mark
    assert mark == max(max_mark - sum(deductions, D(0)), D(0))


@rule_property
@given(st.integers(1, 12), st.integers(-3, 15))
def test_number_completed_input_is_taken_only_within_0_to_possible(possible: int, completed: int) -> None:
    if 0 <= completed <= possible:
        assert parse_measurement_value("number_completed", str(completed), possible=possible) == completed
    else:
        with pytest.raises(ValueError, match=rf"^completed {completed} is outside 0\.\.{possible}$"):
            parse_measurement_value("number_completed", completed, possible=possible)


choice_options = st.lists(
    st.tuples(
        st.text(st.characters(categories=["L"]), min_size=1, max_size=8),  # letters: never a number
        st.decimals(min_value=0, max_value=100, places=1, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda option: option[0],
).map(lambda options: tuple(Choice(label, percent) for label, percent in options))


@rule_property
@given(choice_options, max_marks)
def test_a_choice_label_and_its_number_give_the_same_option_and_mark(
    options: tuple[Choice, ...], max_mark: D
) -> None:
    for number, option in enumerate(options, 1):
        assert parse_measurement_value("choice", option.label, choices=options) == number
        assert parse_measurement_value("choice", number, choices=options) == number
        mark = measurement_mark(max_mark, "choice", D(number), choices=options)
        kept = 1 - Fraction(option.deduction_percent) / 100
        assert Fraction(mark) == exact_half_up(Fraction(max_mark) * kept)
        assert 0 <= mark <= max_mark


aspect_marks = st.builds(
    AspectMark,
    aspect=st.just("X"),
    criterion=st.sampled_from("ABC"),
    sub_criterion=st.sampled_from(["A1", "A2", "B1", "C10"]),
    section=st.one_of(st.none(), st.integers(1, 4)),
    mark=max_marks,
)


@rule_property
@given(st.lists(aspect_marks, max_size=30))
def test_totals_equal_the_exact_sum(marks: list[AspectMark]) -> None:
    result = totals(marks)
    exact = sum((Fraction(m.mark) for m in marks), Fraction(0))
    assert Fraction(result.raw) == exact
    assert sum(map(Fraction, result.criteria.values()), Fraction(0)) == exact
    assert sum(map(Fraction, result.sub_criteria.values()), Fraction(0)) == exact
    with_section = sum((Fraction(m.mark) for m in marks if m.section is not None), Fraction(0))
    assert sum(map(Fraction, result.sections.values()), Fraction(0)) == with_section


# Scale


@rule_property
@given(st.lists(raw_totals, min_size=1, max_size=15), methods)
def test_scale_is_monotonic_in_raw(raws: list[D], method: ScaleMethod) -> None:
    scales = scale_scores(raws, ScaleSettings(method=method))
    for raw_a, scale_a in zip(raws, scales, strict=True):
        for raw_b, scale_b in zip(raws, scales, strict=True):
            if raw_a <= raw_b:
                assert scale_a <= scale_b
            if raw_a == raw_b:
                assert scale_a == scale_b


@rule_property
@given(st.lists(raw_totals, max_size=15), methods)
def test_scale_is_within_bounds(raws: list[D], method: ScaleMethod) -> None:
    bounds = ScaleSettings(method=method, low=D(600), high=D(800))
    assert all(D(600) <= scale <= D(800) for scale in scale_scores(raws, bounds))
    assert all(D(0) <= scale <= D(1000) for scale in scale_scores(raws))


@rule_property
@given(st.lists(raw_totals, min_size=1, max_size=15), st.data())
def test_scale_does_not_depend_on_the_order_given(raws: list[D], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(raws))
    by_raw = dict(zip(raws, scale_scores(raws), strict=True))
    assert scale_scores(shuffled) == [by_raw[raw] for raw in shuffled]


@rule_property
@given(st.lists(raw_totals, min_size=1, max_size=15))
def test_odd_count_median_competitor_scores_the_centre(raws: list[D]) -> None:
    if len(raws) % 2 == 0:
        raws = raws[:-1]
    middle = sorted(raws)[len(raws) // 2]
    scales = scale_scores(raws)
    assert all(scale == 700 for raw, scale in zip(raws, scales, strict=True) if raw == middle)


# Ranks


@rule_property
@given(st.lists(raw_totals, max_size=15))
def test_ranks_are_consistent_with_the_ordering(raws: list[D]) -> None:
    rank_list = ranks(raws)
    by_raw = sorted(zip(raws, rank_list, strict=True), key=lambda pair: pair[0], reverse=True)
    for position, (raw, rank) in enumerate(by_raw, 1):
        first_with_this_raw = next(p for p, (other, _) in enumerate(by_raw, 1) if other == raw)
        assert rank == first_with_this_raw
        assert rank <= position


# Medals


@rule_property
@given(rankings, margins)
def test_medals_follow_the_ranking_and_ties(scales: list[D], margin: D) -> None:
    given_medals = medals(scales, margin)
    assert [ORDER[m] for m in given_medals] == sorted(ORDER[m] for m in given_medals)
    for (scale_a, medal_a), (scale_b, medal_b) in pairwise(zip(scales, given_medals, strict=True)):
        if scale_a == scale_b:
            assert medal_a == medal_b
    if scales:
        assert given_medals[0] == "gold"


def tie_group_sizes(scales: list[D], margin: D) -> list[int]:
    """Rule 4's tie groups, counted here independently of the module."""
    sizes, start = [], 0
    while start < len(scales):
        size = sum(1 for scale in scales[start:] if scales[start] - scale <= margin)
        sizes.append(size)
        start += size
    return sizes


@rule_property
@given(rankings, margins)
def test_no_medal_after_a_none(scales: list[D], margin: D) -> None:
    given_medals = medals(scales, margin)
    for earlier, later in pairwise(given_medals):
        if earlier is None:
            assert later is None


@rule_property
@given(rankings, margins)
def test_each_medal_goes_to_at_most_one_whole_tie_group(scales: list[D], margin: D) -> None:
    given_medals = medals(scales, margin)
    per_group: list[str | None] = []
    start = 0
    for size in tie_group_sizes(scales, margin):
        shared = set(given_medals[start : start + size])
        assert len(shared) == 1  # a tie group shares one medal (or none)
        per_group.extend(shared)
        start += size
    awarded = [medal for medal in per_group if medal is not None]
    assert len(awarded) == len(set(awarded)) <= 3


def rule_case_medals(scales: list[D], margin: D) -> tuple[str, list[str | None]]:
    """Which case of rule 4 a ranking falls under, and the medals the rule book gives it, worked out
    from the rule book's words alone (tie groups counted by `tie_group_sizes`)."""
    sizes = tie_group_sizes(scales, margin)
    starts = [sum(sizes[:n]) for n in range(len(sizes))]
    per_group: list[str | None]
    if not sizes:
        return "nobody", []
    if sizes[0] == 2:
        case, per_group = "one gold group of 2", ["gold", "bronze"]
    elif sizes[0] >= 3:
        last_gold = scales[sizes[0] - 1]
        close_enough = len(sizes) > 1 and last_gold - scales[starts[1]] <= margin
        case, per_group = "a gold group of 3 or more", ["gold", "bronze" if close_enough else None]
    elif len(sizes) > 1 and sizes[1] >= 2:
        case, per_group = "one gold, then a silver group of 2 or more", ["gold", "silver"]
    elif len(sizes) > 2:
        case, per_group = "one gold, one silver, then a bronze group", ["gold", "silver", "bronze"]
    else:
        case, per_group = "otherwise", ["gold", "silver", "bronze"]
    expected: list[str | None] = []
    for group, size in enumerate(sizes):
        expected.extend([per_group[group] if group < len(per_group) else None] * size)
    return case, expected


@rule_property
@given(rankings, margins)
def test_medals_follow_exactly_the_rule_case_the_ranking_falls_under(scales: list[D], margin: D) -> None:
    case, expected = rule_case_medals(scales, margin)
    event(case)  # hypothesis' statistics show every case is reached
    assert medals(scales, margin) == expected


@rule_property
@given(rankings, margins)
def test_medals_never_skip_a_rule_case(scales: list[D], margin: D) -> None:
    """Silver is left out only after a gold group of 2 or more; bronze only after a silver group of 2 or
    more, or a gold group of 3 or more whose next group is beyond the margin of the last gold."""
    given_medals = medals(scales, margin)
    golds, silvers, bronzes = (given_medals.count(m) for m in ("gold", "silver", "bronze"))
    if len(scales) > golds and silvers == 0:
        assert golds >= 2
    if len(scales) > golds + silvers and bronzes == 0:
        assert silvers >= 2 or golds >= 3


@rule_property
@given(rankings, margins)
def test_no_silver_when_the_gold_group_has_two_or_more(scales: list[D], margin: D) -> None:
    given_medals = medals(scales, margin)
    if given_medals.count("gold") >= 2:
        assert "silver" not in given_medals


@rule_property
@given(rankings, margins)
def test_no_bronze_after_one_gold_and_a_silver_group(scales: list[D], margin: D) -> None:
    given_medals = medals(scales, margin)
    if given_medals.count("gold") == 1 and given_medals.count("silver") >= 2:
        assert "bronze" not in given_medals


@rule_property
@given(rankings, margins)
def test_medal_groups_are_within_the_margin(scales: list[D], margin: D) -> None:
    given_medals = medals(scales, margin)
    for medal in ("gold", "silver"):
        members = [s for s, m in zip(scales, given_medals, strict=True) if m == medal]
        if members:
            assert members[0] - members[-1] <= margin


@rule_property
@given(st.lists(scale_values, min_size=3, max_size=12, unique=True))
def test_well_separated_scores_get_gold_silver_bronze(values: list[D]) -> None:
    scales = sorted(values, reverse=True)
    margin = min(a - b for a, b in pairwise(scales)) / 2
    assert medals(scales, margin) == ["gold", "silver", "bronze"] + [None] * (len(scales) - 3)


@rule_property
@given(rankings, margins, scale_values)
def test_excellence_only_without_a_medal_and_at_or_above_the_threshold(
    scales: list[D], margin: D, threshold: D
) -> None:
    for scale, medal, award in zip(
        scales, medals(scales, margin), awards(scales, margin, threshold), strict=True
    ):
        if medal is not None:
            assert award == medal
        else:
            assert award == ("excellence" if scale >= threshold else None)


# Advancement


@rule_property
@given(st.lists(raw_totals, max_size=15), st.integers(0, 8))
def test_advancement_takes_top_k_and_everyone_tied_at_the_cutoff(raws: list[D], places: int) -> None:
    advancing = advancement(raws, places)
    assert sum(advancing) >= min(places, len(raws))
    for raw, advances in zip(raws, advancing, strict=True):
        strictly_above = sum(1 for other in raws if other > raw)
        assert advances == (strictly_above < places)


@rule_property
@given(st.lists(raw_totals, max_size=15), st.integers(0, 8), raw_totals)
def test_advancement_minimum_only_removes(raws: list[D], places: int, minimum: D) -> None:
    without = advancement(raws, places)
    with_minimum = advancement(raws, places, minimum)
    assert with_minimum == [a and raw >= minimum for raw, a in zip(raws, without, strict=True)]


def entrants(entries: list[tuple[D, bool]]) -> list[CompetitorInput]:
    """Competitors C00, C01, … with one aspect mark each (the raw total) and whether complete."""
    return [
        CompetitorInput(f"C{n:02}", "RVT", complete, [AspectMark("A1.1", "A", "A1", 1, raw)])
        for n, (raw, complete) in enumerate(entries)
    ]


@rule_property
@given(st.lists(st.tuples(raw_totals, st.booleans()), max_size=12), st.integers(0, 6))
def test_semi_final_advances_at_least_k_complete_ones_and_all_tied_with_them(
    entries: list[tuple[D, bool]], places: int
) -> None:
    results = stage_results(entrants(entries), ResultsSettings(stage_kind="semi_final", advance=places))
    complete = [r for r in results if r.complete]
    advancing = [r for r in complete if r.advances]
    assert len(advancing) >= min(places, len(complete))
    assert not any(r.advances for r in results if not r.complete)
    advancing_raws = {r.raw for r in advancing}
    assert all(r.advances for r in complete if r.raw in advancing_raws)


# Medal tables


@rule_property
@given(st.lists(st.tuples(st.sampled_from("XYZ"), st.sampled_from(["gold", "silver", "bronze", "excellence", None]))))
def test_medal_table_counts_every_award_once_and_is_sorted(entries: list[tuple[str, str | None]]) -> None:
    table = medal_table(entries)
    for award in ("gold", "silver", "bronze", "excellence"):
        assert sum(getattr(count, award) for _, count in table) == sum(1 for _, a in entries if a == award)
    keys = [(-c.gold, -c.silver, -c.bronze, -c.excellence) for _, c in table]
    assert keys == sorted(keys)


# Best of


@rule_property
@given(st.lists(st.tuples(st.sampled_from("XYZ"), st.text(max_size=3), scale_values), max_size=15))
def test_best_of_gives_each_groups_top_scale(entries: list[tuple[str, str, D]]) -> None:
    winners = best_of(entries)
    assert set(winners) == {group for group, _, _ in entries}
    for group, names in winners.items():
        top = max(scale for g, _, scale in entries if g == group)
        assert names == [name for g, name, scale in entries if g == group and scale == top]


# A stage's results


@rule_property
@given(
    st.lists(st.tuples(raw_totals, st.booleans()), max_size=10),
    stage_kinds,
)
def test_stage_results_are_sorted_and_figured_for_complete_ones_only(
    entries: list[tuple[D, bool]], stage_kind: StageKind
) -> None:
    results = stage_results(entrants(entries), ResultsSettings(stage_kind=stage_kind, advance=2))
    complete, incomplete = results[: sum(c for _, c in entries)], results[sum(c for _, c in entries) :]
    assert all(r.complete for r in complete) and not any(r.complete for r in incomplete)
    ranked = [(r.rank or 0, r.competitor) for r in complete]
    assert ranked == sorted(ranked)
    assert [r.rank for r in complete] == ranks([r.raw or D(0) for r in complete])
    assert [r.competitor for r in incomplete] == sorted(r.competitor for r in incomplete)
    assert all(r.raw is None and r.scale is None and r.medal is None for r in incomplete)
    if stage_kind == "final":
        assert all(r.advances is None for r in results)
    else:
        assert all(r.medal is None and isinstance(r.advances, bool) for r in results)
