"""The rule book's "Results of a stage": scale, rank, medals, excellence, best of, advancement."""

from decimal import Decimal as D

import pytest

from scoring.rules import (
    AspectMark,
    CompetitorInput,
    MedalCount,
    ResultsSettings,
    ScaleSettings,
    advancement,
    awards,
    best_of,
    best_of_event,
    excellence,
    medal_table,
    medals,
    median,
    population_sd,
    ranks,
    scale_scores,
    scale_shown,
    stage_results,
    tie_groups,
)


def decimals(*values: str | int) -> list[D]:
    return [D(value) for value in values]


def close(actual: D, expected: str) -> bool:
    return abs(actual - D(expected)) < D("0.0001")


# 3. Scale score


def test_odd_count_median_is_the_middle_one() -> None:
    assert median(decimals(80, 60, 70)) == D(70)


def test_even_count_median_is_mean_of_middle_two() -> None:
    assert median(decimals(1, 10, 2, 3)) == D("2.5")


def test_population_sd_divides_by_n() -> None:
    assert population_sd(decimals(2, 4, 4, 4, 5, 5, 7, 9)) == D(2)


def test_population_sd_does_not_depend_on_the_order_of_the_totals() -> None:
    # Found by hypothesis: summing rounded squares in the given order changed the 28th digit.
    totals = decimals("3.03", "3.03", "3.03", "3.03", "9.14", "48.04", "0.01", "3.03", "4.56")
    assert population_sd(totals) == population_sd(sorted(totals)) == population_sd(totals[::-1])


def test_scale_is_700_plus_30_robust_deviations() -> None:
    # m = 70, MAD = 10, s = 14.826; 30 × 10 / 14.826 = 20.2347
    scales = scale_scores(decimals(60, 70, 80))
    assert close(scales[0], "679.7653")
    assert scales[1] == D(700)
    assert close(scales[2], "720.2347")


def test_even_count_scale_centres_on_mean_of_middle_two() -> None:
    # m = 75, |raw − m| = 15, 5, 5, 15, MAD = 10, s = 14.826; 30 × 5 / 14.826 = 10.1173
    scales = scale_scores(decimals(60, 70, 80, 90))
    assert close(scales[1], "689.8827")
    assert close(scales[2], "710.1173")


def test_mad_zero_falls_back_to_population_sd() -> None:
    # m = 50, MAD = 0; mean 57.5, SD = sqrt(675 / 4) = 7.5 √3; 700 + 30 × 30 / (7.5 √3) = 700 + 40 √3
    scales = scale_scores(decimals(50, 50, 50, 80))
    assert scales[:3] == [D(700)] * 3
    assert close(scales[3], "769.2820")


def test_all_equal_scores_are_700() -> None:
    assert scale_scores(decimals("55.5", "55.5", "55.5")) == [D(700)] * 3


def test_a_single_competitor_is_700() -> None:
    assert scale_scores(decimals("42.00")) == [D(700)]


def test_no_competitors_give_no_scale() -> None:
    assert scale_scores([]) == []


def test_scale_is_kept_within_0_and_1000() -> None:
    # m = 51, MAD = 1, s = 1.4826: 100 would be 700 + 991.5 and 0 would be 700 − 1032.0
    assert scale_scores(decimals(50, 50, 51, 51, 100))[-1] == D(1000)
    assert scale_scores(decimals(0, 51, 51, 52, 52))[0] == D(0)


def test_mean_sd_method_uses_mean_and_population_sd() -> None:
    # mean 70, SD = sqrt(200 / 3) = 8.1650; 30 × 10 / 8.1650 = 36.7423
    scales = scale_scores(decimals(60, 70, 80), ScaleSettings(method="mean_sd"))
    assert close(scales[0], "663.2577")
    assert close(scales[2], "736.7423")


def test_centre_and_points_are_settings() -> None:
    scales = scale_scores(decimals(60, 70, 80), ScaleSettings(centre=D(500), points=D(100)))
    assert scales[1] == D(500)
    assert close(scales[2], "567.4491")  # 100 × 10 / 14.826


def test_scale_settings_refuse_a_centre_outside_the_bounds() -> None:
    with pytest.raises(ValueError, match="centre"):
        ScaleSettings(centre=D(1200))


def test_scale_is_shown_rounded_half_up_to_a_whole_number() -> None:
    assert scale_shown(D("742.5")) == 743
    assert scale_shown(D("742.4999")) == 742


# 2. Rank


def test_equal_raw_totals_share_a_rank() -> None:
    assert ranks(decimals(90, 80, 80, 70)) == [1, 2, 2, 4]


def test_ranks_follow_the_given_order() -> None:
    assert ranks(decimals(70, 80, 90, 80)) == [4, 2, 1, 2]


# 4. Medals (margin 2 unless said otherwise): each case of the rule book in its order, then the details


def test_two_gold_ties_skip_silver() -> None:
    """One gold group of 2: both gold, no silver, bronze to the next group."""
    assert medals(decimals(750, 749, 740, 730)) == ["gold", "gold", "bronze", None]


def test_gold_group_of_three_gives_bronze_only_within_margin() -> None:
    """A gold group of 3 or more: all gold, no silver; bronze to the next group only if its first
    competitor is within the margin of the last gold."""
    # gold group 750, 749, 748.5 (747 is 3 below 750); 747 is within 2 of the last gold, 748.5
    assert medals(decimals(750, 749, "748.5", 747, 740)) == ["gold", "gold", "gold", "bronze", None]


def test_gold_group_of_three_gives_no_bronze_beyond_margin() -> None:
    assert medals(decimals(750, 749, "748.5", 745)) == ["gold", "gold", "gold", None]


def test_gold_group_of_four_is_all_gold_and_bronze_goes_to_the_whole_next_group_within_margin() -> None:
    scales = decimals(750, "749.5", 749, "748.5", 747, "746.5", 740)
    assert medals(scales) == ["gold"] * 4 + ["bronze", "bronze", None]


def test_one_gold_then_silver_group_means_no_bronze() -> None:
    """One gold, then a silver group of 2 or more: all silver, no bronze."""
    assert medals(decimals(750, 740, 739, 730)) == ["gold", "silver", "silver", None]


def test_one_gold_one_silver_then_bronze_group_all_bronze() -> None:
    """One gold, one silver, then a bronze group: all bronze."""
    scales = decimals(750, 740, 730, 729, "728.5", 720)
    assert medals(scales) == ["gold", "silver", "bronze", "bronze", "bronze", None]


def test_otherwise_gold_silver_bronze_go_to_the_first_three_groups() -> None:
    """Otherwise gold, silver, bronze to the 1st, 2nd and 3rd groups."""
    assert medals(decimals(750, 740, 730, 720)) == ["gold", "silver", "bronze", None]


def test_two_gold_ties_give_bronze_to_the_whole_next_group() -> None:
    assert medals(decimals(750, 749, 740, "739.5", 720)) == ["gold", "gold", "bronze", "bronze", None]


def test_exact_triple_tie_with_margin_zero_gives_no_bronze() -> None:
    assert medals(decimals(720, 720, 720, 710), margin=D(0)) == ["gold", "gold", "gold", None]


def test_tie_group_is_measured_from_its_first_member() -> None:
    # 737 is within 2 of 738.5 but 3 below 740, the silver group's first: it does not chain in.
    assert tie_groups(decimals(750, 740, "738.5", 737), D(2)) == [range(0, 1), range(1, 3), range(3, 4)]
    assert medals(decimals(750, 740, "738.5", 737, 720)) == ["gold", "silver", "silver", None, None]


def test_margin_zero_means_exact_ties_only() -> None:
    assert medals(decimals(750, "749.99", 740), margin=D(0)) == ["gold", "silver", "bronze"]
    assert medals(decimals(750, 750, 740), margin=D(0)) == ["gold", "gold", "bronze"]


def test_medal_margin_compares_unrounded_scales() -> None:
    # shown 703 and 701 are 2 apart, but the unrounded scores are 2.1 apart: no tie
    assert medals(decimals("702.6", "700.5")) == ["gold", "silver"]


def test_fewer_competitors_than_medals() -> None:
    assert medals([]) == []
    assert medals(decimals(700)) == ["gold"]
    assert medals(decimals(710, 700)) == ["gold", "silver"]


def test_medals_need_the_ranking_order() -> None:
    with pytest.raises(ValueError, match="ranking order"):
        medals(decimals(700, 710))


# 5. Medallion for Excellence


def test_excellence_for_everyone_without_a_medal_at_or_above_700() -> None:
    scales = decimals(760, 740, 720, 705, 700, "699.99")
    assert awards(scales) == ["gold", "silver", "bronze", "excellence", "excellence", None]


def test_medallists_are_not_also_excellent() -> None:
    scales = decimals(760, 740)
    assert excellence(scales, medals(scales)) == [False, False]


def test_excellence_compares_the_unrounded_scale() -> None:
    assert awards(decimals(760, 740, 720, "699.6")) == ["gold", "silver", "bronze", None]


def test_excellence_threshold_is_an_argument() -> None:
    scales = decimals(760, 740, 720, 690, 680)
    assert awards(scales, excellence_threshold=D(685)) == ["gold", "silver", "bronze", "excellence", None]


# 6. Best of institution, best of event


def test_best_of_institution_is_the_top_scale_of_each() -> None:
    entries = [
        ("RTRIT", "C1", D("712.3")),
        ("RVT", "C2", D(705)),
        ("RTRIT", "C3", D(730)),
        ("RVT", "C4", D(690)),
    ]
    assert best_of(entries) == {"RTRIT": ["C3"], "RVT": ["C2"]}


def test_best_of_institution_ties_give_several() -> None:
    entries = [("RVT", "C2", D(705)), ("RVT", "C5", D(705)), ("RVT", "C4", D(690))]
    assert best_of(entries) == {"RVT": ["C2", "C5"]}


def test_best_of_event_ties_give_several_winners() -> None:
    assert best_of_event([("23/C1", D(741)), ("17/C9", D(741)), ("05/C2", D(720))]) == ["23/C1", "17/C9"]
    assert best_of_event([]) == []


def test_medal_table_sorts_by_gold_then_silver_then_bronze_then_excellence() -> None:
    entries = [
        ("RVT", "silver"), ("RVT", "silver"), ("RTK", "gold"), ("LVT", "gold"), ("LVT", "bronze"),
        ("OT", "excellence"), ("RTK", None), ("RVT", "excellence"), ("VTU", None),
    ]
    assert medal_table(entries) == [
        ("LVT", MedalCount(gold=1, bronze=1)),
        ("RTK", MedalCount(gold=1)),
        ("RVT", MedalCount(silver=2, excellence=1)),
        ("OT", MedalCount(excellence=1)),
    ]


def test_medal_table_equal_rows_go_by_name() -> None:
    assert [group for group, _ in medal_table([("B", "gold"), ("A", "gold")])] == ["A", "B"]


def test_medallions_are_not_counted_as_medals() -> None:
    assert MedalCount(gold=1, silver=2, bronze=3, excellence=4).medals == 6


# 7. Advancement


def test_top_k_advance() -> None:
    assert advancement(decimals(90, 80, 70, 60), 2) == [True, True, False, False]


def test_tied_at_cutoff_all_advance() -> None:
    assert advancement(decimals(90, 80, 80, 60), 2) == [True, True, True, False]


def test_advancement_does_not_need_sorted_input() -> None:
    assert advancement(decimals(60, 80, 90, 70), 2) == [False, True, True, False]


def test_minimum_raw_total_bars_advancement() -> None:
    assert advancement(decimals(90, 80, 70), 3, minimum=D(75)) == [True, True, False]


def test_fewer_competitors_than_places_all_advance() -> None:
    assert advancement(decimals(50, 40), 4) == [True, True]


def test_no_places_means_nobody_advances() -> None:
    assert advancement(decimals(90, 80), 0) == [False, False]


# Results of a stage in one call


def competitor(code: str, raw: str, complete: bool = True, institution: str = "RVT") -> CompetitorInput:
    """A competitor whose raw total is split as 20.00 in criterion B (section 2) and the rest in A."""
    rest = D(raw) - 20
    marks = [AspectMark("A1.1", "A", "A1", 1, rest), AspectMark("B1.1", "B", "B1", 2, D(20))]
    return CompetitorInput(code, institution, complete, marks)


def test_final_results_rank_scale_and_award() -> None:
    # m = 78, |raw − m| = 12 7 2 0 8 13 18, MAD = 8, s = 11.8608
    field = [
        competitor("C05", "70"),
        competitor("C01", "90", institution="RTRIT"),
        competitor("C09", "60"),
        competitor("C02", "85"),
        competitor("C99", "95", complete=False),
        competitor("C03", "80"),
        competitor("C04", "78"),
        competitor("C06", "65"),
    ]
    results = stage_results(field, ResultsSettings(stage_kind="final"))
    assert [r.competitor for r in results] == ["C01", "C02", "C03", "C04", "C05", "C06", "C09", "C99"]
    assert [r.rank for r in results] == [1, 2, 3, 4, 5, 6, 7, None]
    assert [r.scale_shown for r in results] == [730, 718, 705, 700, 680, 667, 654, None]
    assert [r.medal for r in results] == ["gold", "silver", "bronze", "excellence", None, None, None, None]
    assert [r.advances for r in results] == [None] * 8
    first = results[0]
    assert (first.institution, first.raw, first.complete) == ("RTRIT", D(90), True)
    assert first.criteria == {"A": D(70), "B": D(20)}
    assert first.sub_criteria == {"A1": D(70), "B1": D(20)}
    assert first.sections == {1: D(70), 2: D(20)}
    assert first.scale is not None and close(first.scale, "730.3521")


def test_incomplete_competitors_have_no_figures_and_come_last() -> None:
    results = stage_results(
        [
            competitor("C02", "50", complete=False),
            competitor("C01", "40", complete=False),
            competitor("C03", "30"),
        ],
        ResultsSettings(stage_kind="final"),
    )
    assert [r.competitor for r in results] == ["C03", "C01", "C02"]
    last = results[-1]
    assert (last.complete, last.raw, last.rank, last.scale, last.scale_shown, last.medal) == (
        False,
        None,
        None,
        None,
        None,
        None,
    )
    assert (last.criteria, last.sections, last.sub_criteria) == ({}, {}, {})


def test_scale_is_computed_over_the_complete_competitors_only() -> None:
    with_incomplete = [competitor("C1", "60"), competitor("C2", "70"), competitor("C3", "99", complete=False)]
    results = stage_results(with_incomplete, ResultsSettings(stage_kind="final"))
    assert [r.scale for r in results[:2]] == scale_scores(decimals(70, 60))


def test_semi_final_gives_advancement_and_no_medals() -> None:
    field = [
        competitor("C4", "60"),
        competitor("C3", "70"),
        competitor("C1", "80"),
        competitor("C2", "70"),
        competitor("C5", "75", complete=False),
    ]
    results = stage_results(field, ResultsSettings(stage_kind="semi_final", advance=2))
    assert [r.competitor for r in results] == ["C1", "C2", "C3", "C4", "C5"]
    assert [r.rank for r in results] == [1, 2, 2, 4, None]
    assert [r.advances for r in results] == [True, True, True, False, False]
    assert [r.medal for r in results] == [None] * 5


def test_semi_final_advancement_minimum() -> None:
    field = [competitor("C1", "80"), competitor("C2", "70")]
    settings = ResultsSettings(stage_kind="semi_final", advance=2, advance_minimum=D(75))
    assert [r.advances for r in stage_results(field, settings)] == [True, False]


def test_medal_margin_is_a_setting() -> None:
    field = [competitor("C1", "80"), competitor("C2", "70"), competitor("C3", "60")]
    settings = ResultsSettings(stage_kind="final", medal_margin=D(100))
    assert [r.medal for r in stage_results(field, settings)] == ["gold", "gold", "gold"]


def test_excellence_threshold_is_a_setting() -> None:
    # m = 70, MAD = 5, s = 7.413: 80 → 740.47, 75 → 720.23, 70 → 700, 65 → 679.77, 60 → 659.53
    field = [competitor(f"C{n}", str(raw)) for n, raw in enumerate([80, 75, 70, 65, 60], 1)]
    settings = ResultsSettings(stage_kind="final", excellence_threshold=D(650))
    medal_list = [r.medal for r in stage_results(field, settings)]
    assert medal_list == ["gold", "silver", "bronze", "excellence", "excellence"]
    assert [r.medal for r in stage_results(field, ResultsSettings())][3:] == [None, None]


def test_results_settings_default_to_a_final() -> None:
    settings = ResultsSettings()
    assert settings.stage_kind == "final"
    assert (settings.medal_margin, settings.excellence_threshold) == (D(2), D(700))
    assert (settings.advance, settings.advance_minimum) == (0, None)
    assert settings.scale == ScaleSettings()


def test_a_competitor_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="C1 is listed twice"):
        stage_results([competitor("C1", "80"), competitor("C1", "70")], ResultsSettings(stage_kind="final"))
