"""The live board's projection per visibility policy: what each shows, and that no hidden figure ever
reaches the rendered bytes (every policy rendered over a competition with known, distinctive figures)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from competition import i18n
from live.board import CompetitorFacts, SkillFacts, StageFacts, project
from live.renderer import board_templates, render_skill
from scoring.marks import Progress

# Distinctive figures: if any of these strings appears in a rendered board, that figure was shown.
PROVISIONAL = Decimal("83.17")
RAW = Decimal("91.23")
SCALE = 737


def facts(*, published: bool, step: int = 0) -> list[SkillFacts]:
    people = (
        CompetitorFacts(
            "C001",
            "Anna Bērziņa",
            "Rīgas Tehniskā koledža",
            provisional_raw=PROVISIONAL,
            raw=RAW,
            rank=1,
            scale=SCALE,
            medal="gold",
        ),
        CompetitorFacts(
            "C002",
            "Jānis Kalniņš",
            "Rīgas Valsts tehnikums",
            provisional_raw=Decimal("71.09"),
            raw=Decimal("79.41"),
            rank=2,
            scale=681,
            medal="silver",
        ),
        CompetitorFacts(
            "C003",
            "Līga Ozola",
            "Liepājas Valsts tehnikums",
            provisional_raw=Decimal("64.55"),
            raw=Decimal("66.02"),
            rank=3,
            scale=655,
            medal="bronze",
        ),
    )
    final = StageFacts(
        "FINAL",
        "Final",
        "final",
        Progress(450, 600, 12, 30),
        published=published,
        ceremony_step=step,
        competitors=people,
    )
    return [SkillFacts("23", "Mobile Robotics", "Manufacturing", (final,))]


def rendered(policy: str, *, published: bool = False, step: int = 0) -> str:
    templates = board_templates()
    with i18n.language("en"):
        return "".join(
            render_skill(templates, skill, policy) for skill in project(facts(published=published, step=step), policy)
        )


FIGURES = [str(PROVISIONAL), "83,17", str(RAW), "91,23", str(SCALE), "71.09", "79.41", "681"]


@pytest.mark.parametrize("published", [False, True])
def test_progress_shows_shares_and_no_figure(published: bool) -> None:
    html = rendered("progress", published=published)
    assert "75 %" in html and "40 %" in html  # 450 of 600 marks, 12 of 30 forms
    assert not [figure for figure in FIGURES if figure in html]
    assert "Gold" not in html and "Anna" not in html


def test_live_shows_provisional_totals_and_ranks_but_no_official_figure() -> None:
    html = rendered("live")
    assert str(PROVISIONAL) in html and "Anna Bērziņa" in html
    assert html.index("Anna") < html.index("Jānis") < html.index("Līga")
    assert not [figure for figure in [str(RAW), str(SCALE), "79.41", "681"] if figure in html]
    assert "Gold" not in html


def test_final_shows_only_published_results() -> None:
    hidden = rendered("final", published=False)
    assert not [figure for figure in FIGURES if figure in hidden] and "Anna" not in hidden
    shown = rendered("final", published=True)
    assert str(RAW) in shown and str(SCALE) in shown and "Gold" in shown
    assert str(PROVISIONAL) not in shown


@pytest.mark.parametrize(
    ("step", "medals"), [(0, []), (1, ["Bronze"]), (2, ["Bronze", "Silver"]), (3, ["Bronze", "Silver", "Gold"])]
)
def test_the_ceremony_reveals_bronze_then_silver_then_gold_and_no_figure(step: int, medals: list[str]) -> None:
    html = rendered("ceremony", published=True, step=step)
    assert not [figure for figure in FIGURES if figure in html]
    for medal in ["Bronze", "Silver", "Gold"]:
        assert (medal in html) == (medal in medals), (step, medal)
    names = {"Bronze": "Līga Ozola", "Silver": "Jānis Kalniņš", "Gold": "Anna Bērziņa"}
    for medal, name in names.items():
        assert (name in html) == (medal in medals)
    if step == 0:
        assert "announced at the ceremony" in html
