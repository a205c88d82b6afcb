"""Event-wide standings (pure): medal tables per institution and sector, best of institution, best of event."""

from decimal import Decimal as D

from scoring.event_results import Placing, standings
from scoring.rules import MedalCount


def placing(skill: str, competitor: str, institution: str, scale: str, medal: str | None, sector: str = "") -> Placing:
    return Placing(skill=skill, skill_name=f"Skill {skill}", sector=sector, competitor=competitor, name=competitor,
                   institution=institution, institution_name=f"School {institution}", rank=1, scale=D(scale),
                   scale_shown=round(D(scale)), medal=medal)


FIELD = [
    placing("23", "C1", "RTK", "741.2", "gold", "Manufacturing"),
    placing("23", "C2", "RVT", "720", "silver", "Manufacturing"),
    placing("23", "C3", "RTK", "705", "excellence", "Manufacturing"),
    placing("17", "C7", "RVT", "741.2", "gold", "ICT"),
    placing("17", "C8", "LVT", "690", None, "ICT"),
]


def test_medal_tables_per_institution_and_sector() -> None:
    result = standings(FIELD)
    assert result.by_institution == [("RVT", MedalCount(gold=1, silver=1)), ("RTK", MedalCount(gold=1, excellence=1))]
    assert result.by_sector == [("Manufacturing", MedalCount(gold=1, silver=1, excellence=1)),
                                ("ICT", MedalCount(gold=1))]


def test_best_of_event_ties_give_several_winners_across_skills() -> None:
    assert [(p.skill, p.competitor) for p in standings(FIELD).best_of_event] == [("23", "C1"), ("17", "C7")]


def test_best_of_institution_is_each_institutions_top_scale_highest_first() -> None:
    best = standings(FIELD).best_of_institution
    assert [(code, [p.competitor for p in winners]) for code, winners in best] == [
        ("RTK", ["C1"]), ("RVT", ["C7"]), ("LVT", ["C8"]),
    ]


def test_no_placings_give_empty_standings() -> None:
    result = standings([])
    assert (result.by_institution, result.by_sector, result.best_of_institution, result.best_of_event) == (
        [], [], [], [],
    )
