"""Results of a skill in a stage: locked marks through the rule book, cached per stage, and whether published.

`stage_results` loads the stage's marks (`scoring.marks`), lets `rules.stage_results` rank, scale
and award them with the event's settings, and keeps the answer until something it depends on
changes: the stage's marks revision (every mark, lock and unlock bumps it), the competitors taking
part and the event's settings. The cache key is read in one small query, so every worker sees
the same results however the change reached the database.

Whether results may be shown is a separate question (`is_published`): they are computed for the
skill's Chief Expert and organisers before they are released.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.auth import may_manage_skill
from competition.i18n import gettext as _
from competition.models import Competitor, Event, Institution, Skill, Stage, StageEntry, User
from scoring import rules
from scoring.marks import CompetitorEntry, StageMarks, load_stage_marks
from scoring.models import Criterion, MarkingScheme, ResultsPublication

CACHED_STAGES = 512
"""How many stages' results a worker keeps (an event of 60 skills with semi-finals fits many times)."""


class CompetitorDocument(TypedDict):
    """One competitor in the results document; figures are null until all their forms are locked."""

    competitor: str
    name: str
    institution: str
    complete: bool
    raw: str | None
    """The raw total with exactly 2 decimals, e.g. "87.42"."""
    rank: int | None
    scale: int | None
    medal: str | None
    """gold, silver, bronze, excellence or null."""
    criteria: dict[str, str] | None
    advances: bool | None
    """true or false in a semi-final, null in a final."""


class ResultsDocument(TypedDict):
    """The results of one skill in one stage (CONTRACT.md, "Results"), sorted by rank, then competitor code."""

    event: str
    skill: str
    stage: str
    published: bool
    competitors: list[CompetitorDocument]


@dataclass(frozen=True)
class ResultLine:
    """One competitor's line of the results: who they are and what the rule book gives them."""

    competitor: CompetitorEntry
    result: rules.CompetitorResult


@dataclass(frozen=True)
class CriterionInfo:
    """A criterion of the stage's marking scheme and the most its aspects can give."""

    code: str
    name: str
    max_mark: Decimal


@dataclass(frozen=True)
class StageResults:
    """The results of one skill in one stage, in results order (rank, then code; incomplete last)."""

    event: str
    skill: str
    stage: str
    stage_kind: str
    lines: tuple[ResultLine, ...]
    revision: int
    criteria: tuple[CriterionInfo, ...] = ()

    @property
    def incomplete(self) -> list[str]:
        """Codes of the competitors not all of whose forms are locked (they have no figures yet)."""
        return [line.competitor.code for line in self.lines if not line.result.complete]

    @property
    def advancing(self) -> list[ResultLine]:
        """The lines of the competitors who go on to the final (a semi-final's results)."""
        return [line for line in self.lines if line.result.advances]

    def document(self, published: bool) -> ResultsDocument:
        """The contract's results document (`podium results --format json`, the results API)."""
        return {
            "event": self.event,
            "skill": self.skill,
            "stage": self.stage,
            "published": published,
            "competitors": [_line_document(line) for line in self.lines],
        }


def _line_document(line: ResultLine) -> CompetitorDocument:
    result = line.result
    return {
        "competitor": line.competitor.code,
        "name": line.competitor.name,
        "institution": line.competitor.institution,
        "complete": result.complete,
        "raw": rules.format_mark(result.raw) if result.raw is not None else None,
        "rank": result.rank,
        "scale": result.scale_shown,
        "medal": result.medal,
        "criteria": {code: rules.format_mark(mark) for code, mark in result.criteria.items()}
        if result.complete
        else None,
        "advances": result.advances,
    }


def medal_label(medal: str | None) -> str:
    """An award as people read it: Gold, Silver, Bronze, Medallion for Excellence (empty for none)."""
    labels = {
        rules.GOLD: _("Gold"),
        rules.SILVER: _("Silver"),
        rules.BRONZE: _("Bronze"),
        rules.EXCELLENCE: _("Medallion for Excellence"),
    }
    return labels.get(medal or "", "")


def results_settings(event: Event, skill: Skill, stage: Stage) -> rules.ResultsSettings:
    """The event's (and skill's) settings that shape the results of a stage."""
    return rules.ResultsSettings(
        stage_kind="final" if stage.is_final else "semi_final",
        scale=rules.ScaleSettings(
            centre=Decimal(event.scale_centre),
            points=Decimal(event.scale_points),
            method="mean_sd" if event.scale_method == "mean_sd" else "robust",
        ),
        medal_margin=Decimal(event.medal_margin),
        excellence_threshold=Decimal(event.excellence_threshold),
        advance=skill.advance,
        advance_minimum=Decimal(skill.advance_minimum) if skill.advance_minimum is not None else None,
    )


def compute(marks: StageMarks, settings: rules.ResultsSettings) -> list[ResultLine]:
    """Results from marks (pure): a competitor counts once every one of their forms is locked."""
    entries = {competitor.code: competitor for competitor in marks.competitors}
    inputs = [
        rules.CompetitorInput(
            competitor=competitor.code,
            institution=competitor.institution,
            complete=marks.all_locked(competitor.code),
            marks=marks.aspect_marks(competitor.code),
        )
        for competitor in marks.competitors
    ]
    return [ResultLine(entries[result.competitor], result) for result in rules.stage_results(inputs, settings)]


class _Cache:
    """Results per (skill, stage), with the key they were computed at; least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[int, int], tuple[Hashable, StageResults]] = OrderedDict()

    def get(self, where: tuple[int, int], key: Hashable) -> StageResults | None:
        entry = self.entries.get(where)
        if entry is None or entry[0] != key:
            return None
        self.entries.move_to_end(where)
        return entry[1]

    def put(self, where: tuple[int, int], key: Hashable, results: StageResults) -> None:
        self.entries[where] = (key, results)
        self.entries.move_to_end(where)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def clear(self) -> None:
        self.entries.clear()


_cache = _Cache(CACHED_STAGES)


async def _cache_key(session: AsyncSession, event: Event, skill: Skill, stage: Stage) -> Hashable:
    """What the results depend on, in one query: the scheme and its marks revision, the competitors
    taking part (who, their names and institutions) and the settings of the event, skill and stage."""
    scheme = (
        select(MarkingScheme.id, MarkingScheme.revision, MarkingScheme.updated_at)
        .where(MarkingScheme.skill_id == skill.id, MarkingScheme.stage_id == stage.id)
        .subquery()
    )
    entries = (
        select(
            func.count(StageEntry.id),
            func.max(StageEntry.id),
            func.sum(StageEntry.competitor_id),
            func.max(StageEntry.updated_at),
            func.max(Competitor.updated_at),
            func.max(Institution.updated_at),
        )
        .join(Competitor, Competitor.id == StageEntry.competitor_id)
        .join(Institution, Institution.id == Competitor.institution_id)
        .where(Competitor.skill_id == skill.id, StageEntry.stage_id == stage.id)
    )
    settings = [
        select(model.updated_at).where(model.id == record.id).scalar_subquery()
        for model, record in ((Event, event), (Skill, skill), (Stage, stage))
    ]
    scheme_columns = [select(column).scalar_subquery() for column in scheme.c]
    row = (await session.execute(entries.add_columns(*scheme_columns, *settings))).one()
    return tuple(_comparable(value) for value in row)


def _comparable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


async def stage_results(session: AsyncSession, event: Event, skill: Skill, stage: Stage) -> StageResults | None:
    """The results of the skill in the stage (None without a marking scheme), from the cache when current."""
    where = (skill.id, stage.id)
    key = await _cache_key(session, event, skill, stage)
    cached = _cache.get(where, key)
    if cached is not None:
        return cached
    marks = await load_stage_marks(session, skill, stage.id)
    if marks is None:
        return None
    results = StageResults(
        event=event.code,
        skill=skill.code,
        stage=stage.code,
        stage_kind=stage.kind,
        lines=tuple(compute(marks, results_settings(event, skill, stage))),
        revision=marks.revision,
        criteria=await _criteria(session, marks),
    )
    _cache.put(where, key, results)
    return results


async def _criteria(session: AsyncSession, marks: StageMarks) -> tuple[CriterionInfo, ...]:
    """The scheme's criteria in order, each with the sum of its aspects' max marks."""
    rows = await session.execute(
        select(Criterion.code, Criterion.name)
        .where(Criterion.scheme_id == marks.scheme_id)
        .order_by(Criterion.position)
    )
    return tuple(
        CriterionInfo(code, name, rules.exact_sum(a.max_mark for a in marks.aspects if a.criterion == code))
        for code, name in rows
    )


def forget_cached_results() -> None:
    """Drop every cached result (tests and benchmarks that measure the computation itself)."""
    _cache.clear()


async def may_see_results(session: AsyncSession, user: User | None, skill: Skill, stage: Stage) -> bool:
    """Everyone may see published results; before that only the skill's Chief Expert and organisers."""
    if user is not None and await may_manage_skill(session, user, skill):
        return True
    return await is_published(session, skill, stage)


async def is_published(session: AsyncSession, skill: Skill, stage: Stage) -> bool:
    """Whether the organiser has released the skill's results for the stage to the public."""
    found = await session.scalar(
        select(ResultsPublication.id).where(
            ResultsPublication.skill_id == skill.id, ResultsPublication.stage_id == stage.id
        )
    )
    return found is not None
