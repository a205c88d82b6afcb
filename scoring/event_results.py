"""Event-wide results: medal tables per institution and per sector, best of institution, best of event.

`standings` is pure: it takes the final's results of each skill (as `Placing`s) and applies rules 4-6
across the event. `load_event_results` reads them: only published final results count, unless the
caller may see everything (organisers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from competition.models import Event, Skill, Stage, StageKind
from scoring import rules
from scoring.models import MarkingScheme, ResultsPublication
from scoring.results import stage_results


@dataclass(frozen=True)
class Placing:
    """One complete competitor's final result, with what the event-wide tables group it by."""

    skill: str
    skill_name: str
    sector: str
    """The skill's sector ('' when it has none)."""
    competitor: str
    name: str
    institution: str
    institution_name: str
    rank: int
    scale: Decimal
    scale_shown: int
    medal: str | None


@dataclass(frozen=True)
class Standings:
    """The event's medal tables and best-of awards, from the skills' final results."""

    placings: tuple[Placing, ...]
    by_institution: list[tuple[str, rules.MedalCount]]
    by_sector: list[tuple[str, rules.MedalCount]]
    best_of_institution: list[tuple[str, list[Placing]]]
    """Per institution (by code), its competitors with the top scale score."""
    best_of_event: list[Placing]

    def institution_name(self, code: str) -> str:
        return next((p.institution_name for p in self.placings if p.institution == code), code)


def standings(placings: Sequence[Placing]) -> Standings:
    """Medal tables (rule 4, 5 awards counted per institution and sector) and best of (rule 6)."""
    best = rules.best_of((p.institution, p, p.scale) for p in placings)
    return Standings(
        placings=tuple(placings),
        by_institution=rules.medal_table((p.institution, p.medal) for p in placings),
        by_sector=rules.medal_table((p.sector, p.medal) for p in placings),
        best_of_institution=sorted(best.items(), key=lambda item: (-item[1][0].scale, item[0])),
        best_of_event=rules.best_of_event((p, p.scale) for p in placings),
    )


@dataclass(frozen=True)
class SkillStage:
    """One skill in one stage as the event's results page lists it."""

    skill: Skill
    stage: Stage
    published: bool


async def skill_stages(session: AsyncSession, event: Event) -> list[SkillStage]:
    """Every skill in every stage of the event that has a marking scheme, with whether it is published."""
    rows = await session.execute(
        select(Skill, Stage, ResultsPublication.id)
        .join(MarkingScheme, MarkingScheme.skill_id == Skill.id)
        .join(Stage, Stage.id == MarkingScheme.stage_id)
        .outerjoin(
            ResultsPublication,
            (ResultsPublication.skill_id == Skill.id) & (ResultsPublication.stage_id == Stage.id),
        )
        .where(Skill.event_id == event.id)
        .options(selectinload(Skill.sector))
        .order_by(Skill.code, Stage.starts, Stage.code)
    )
    return [SkillStage(skill, stage, publication is not None) for skill, stage, publication in rows]


async def load_event_results(session: AsyncSession, event: Event, *, include_unpublished: bool = False) -> Standings:
    """The event's standings from each skill's final results: published ones only, unless
    `include_unpublished` (organisers). Competitors whose forms are not all locked do not count."""
    placings: list[Placing] = []
    for entry in await skill_stages(session, event):
        if entry.stage.kind != StageKind.FINAL or not (entry.published or include_unpublished):
            continue
        results = await stage_results(session, event, entry.skill, entry.stage)
        if results is None:
            continue
        sector = entry.skill.sector.name if entry.skill.sector else ""
        for line in results.lines:
            result = line.result
            if result.scale is None or result.rank is None or result.scale_shown is None:
                continue
            placings.append(
                Placing(
                    skill=entry.skill.code,
                    skill_name=entry.skill.name,
                    sector=sector,
                    competitor=line.competitor.code,
                    name=line.competitor.name,
                    institution=line.competitor.institution,
                    institution_name=line.competitor.institution_name,
                    rank=result.rank,
                    scale=result.scale,
                    scale_shown=result.scale_shown,
                    medal=result.medal,
                )
            )
    return standings(placings)

