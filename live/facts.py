"""The facts the live board is projected from, read from the database: per skill and stage, progress,
provisional and official figures, publication and the ceremony's step.

Facts hold secret figures; only `live.board.project` decides what of them a viewer sees. A stage's
facts are kept per worker until its marks revision, publication or ceremony step changes, so that a
change re-reads only the stage it touched.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from competition.models import Event, Skill, Stage, Visibility
from live.board import CompetitorFacts, SkillFacts, StageFacts
from live.models import CeremonyReveal
from scoring import rules
from scoring.marks import load_stage_marks, stage_progress
from scoring.models import MarkingScheme, ResultsPublication
from scoring.results import compute, results_settings

CACHED_STAGES = 512


class _FactsCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[int, int], tuple[Hashable, StageFacts]] = OrderedDict()

    def get(self, where: tuple[int, int], key: Hashable) -> StageFacts | None:
        entry = self.entries.get(where)
        if entry is None or entry[0] != key:
            return None
        self.entries.move_to_end(where)
        return entry[1]

    def put(self, where: tuple[int, int], key: Hashable, facts: StageFacts) -> None:
        self.entries[where] = (key, facts)
        self.entries.move_to_end(where)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


_cache = _FactsCache(CACHED_STAGES)


def forget_cached_facts() -> None:
    """Registration changed (names, institutions, who takes part): read every stage afresh."""
    _cache.entries.clear()


async def stage_facts(
    session: AsyncSession,
    event: Event,
    skill: Skill,
    stage: Stage,
    *,
    published: bool,
    step: int,
    key: Hashable,
    progress_only: bool = False,
) -> StageFacts:
    """A stage's facts; `progress_only` (the board shows progress only) counts in the database instead."""
    cached = _cache.get((skill.id, stage.id), key)
    if cached is not None:
        return cached
    if progress_only:
        progress = await stage_progress(session, skill, stage.id)
        assert progress is not None
        facts = StageFacts(stage.code, stage.name, stage.kind, progress, published=published, ceremony_step=step)
        _cache.put((skill.id, stage.id), key, facts)
        return facts
    marks = await load_stage_marks(session, skill, stage.id)
    assert marks is not None  # only stages with a scheme are asked for
    results = {line.competitor.code: line.result for line in compute(marks, results_settings(event, skill, stage))}
    competitors = []
    for competitor in marks.competitors:
        entered = [mark.mark for mark in marks.aspect_marks(competitor.code)]
        result = results.get(competitor.code)
        competitors.append(
            CompetitorFacts(
                code=competitor.code,
                name=competitor.name,
                institution=competitor.institution_name,
                provisional_raw=rules.exact_sum(entered) if entered else None,
                raw=result.raw if result else None,
                rank=result.rank if result else None,
                scale=result.scale_shown if result else None,
                medal=result.medal if result else None,
            )
        )
    facts = StageFacts(
        code=stage.code,
        name=stage.name,
        kind=stage.kind,
        progress=marks.progress(),
        published=published,
        ceremony_step=step,
        competitors=tuple(competitors),
    )
    _cache.put((skill.id, stage.id), key, facts)
    return facts


async def event_facts(
    session: AsyncSession, event: Event, skill_codes: Iterable[str] | None = None
) -> list[SkillFacts]:
    """The facts of every skill of the event with a marking scheme (or of those skills only), by code."""
    progress_only = event.visibility == Visibility.PROGRESS  # then no figure is even read
    query = (
        select(
            Skill, Stage, MarkingScheme.revision, MarkingScheme.updated_at, ResultsPublication.id, CeremonyReveal.step
        )
        .join(MarkingScheme, MarkingScheme.skill_id == Skill.id)
        .join(Stage, Stage.id == MarkingScheme.stage_id)
        .outerjoin(
            ResultsPublication, (ResultsPublication.skill_id == Skill.id) & (ResultsPublication.stage_id == Stage.id)
        )
        .outerjoin(CeremonyReveal, (CeremonyReveal.skill_id == Skill.id) & (CeremonyReveal.stage_id == Stage.id))
        .where(Skill.event_id == event.id)
        .options(selectinload(Skill.sector))
        .order_by(Skill.code, Stage.starts, Stage.code)
    )
    if skill_codes is not None:
        query = query.where(Skill.code.in_(list(skill_codes)))
    skills: dict[str, tuple[Skill, list[StageFacts]]] = {}
    for skill, stage, revision, updated, publication, step in (await session.execute(query)).all():
        published = publication is not None
        key = (revision, updated, published, step or 0, event.updated_at, progress_only)
        facts = await stage_facts(
            session, event, skill, stage, published=published, step=step or 0, key=key, progress_only=progress_only
        )
        skills.setdefault(skill.code, (skill, []))[1].append(facts)
    return [
        SkillFacts(skill.code, skill.name, skill.sector.name if skill.sector else "", tuple(stages))
        for skill, stages in skills.values()
    ]
