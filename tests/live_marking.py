"""Marking load on a real `podium serve` for the crash and backup tests, and checks of what a database holds.

Each tablet (an expert with an API token, one request in flight) saves its marks in order, then
changes every judgement score once (so that later saves replace earlier ones); a save that gets no
answer (the server was killed) is sent again when the server is back, as a tablet would.
`read_marks` reads every mark and mark audit record of a database; `half_written` names every mark
without its audit record (or the other way round) and every stage whose revision does not count its changes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from decimal import Decimal

import httpx
from sqlalchemy import select

from bench.load import Save, Server, expert_saves
from bench.world import BuiltEvent, ExpertLogin, build_event, generated_scheme
from competition.db import create_engine, session_factory
from competition.models import AuditRecord, Competitor, Expert, Skill
from scoring.models import Aspect, JudgeScore, MarkingScheme, Measurement

MARK_ACTIONS = ("score", "measurement")


def key(save: Save) -> Hashable:
    """What a save sets: one judge's score of an aspect of a competitor, or the aspect's measurement."""
    if save.score is not None:
        return (save.skill, save.competitor, save.aspect, save.expert)
    return (save.skill, save.competitor, save.aspect)


def stored(save: Save) -> object:
    return save.score if save.score is not None else Decimal(save.value or "")


async def marking_world(database_url: str) -> BuiltEvent:
    """2 skills × 6 competitors, a 40-aspect scheme, 5 experts per skill with API tokens, no marks."""
    engine = create_engine(database_url, null_pool=True)
    try:
        return await build_event(engine, skills=2, competitors=6, scheme=generated_scheme(40), experts=5,
                                 judges=3, marked=False, tokens=True)
    finally:
        await engine.dispose()


@dataclass
class Tablet:
    login: ExpertLogin
    saves: list[Save]
    done: int = 0
    """How many of `saves` were acknowledged (200), in order."""
    pending: Save | None = None
    """The save sent without an answer yet (it may or may not have been committed)."""


@dataclass
class MarkingLoad:
    built: BuiltEvent
    tablets: list[Tablet]
    acknowledged: list[Save] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)
    running: int = 0

    @classmethod
    def of(cls, built: BuiltEvent) -> MarkingLoad:
        tablets = []
        for login in built.experts:
            first = expert_saves(built, login)
            again = [replace(save, score=3 - save.score) for save in first if save.score is not None]
            tablets.append(Tablet(login, first + again))
        return cls(built, tablets)

    async def _tablet(self, server: Server, tablet: Tablet) -> None:
        base = f"/api/v1/events/{self.built.event}/skills/{tablet.login.skill}/stages/{self.built.stage}/marks"
        headers = {"Authorization": f"Bearer {tablet.login.token}", "Accept-Language": "en"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as client:
            while tablet.done < len(tablet.saves):
                save = tablet.saves[tablet.done]
                tablet.pending = save
                try:
                    response = await client.put(f"{base}/{save.competitor}/{save.aspect}", json=save.body())
                except httpx.TransportError:
                    return  # the server is gone: send it again when it is back
                if response.status_code != 200:
                    self.refused.append(f"{save}: HTTP {response.status_code} {response.text[:200]}")
                    return
                tablet.pending = None
                tablet.done += 1
                async with self.progress:
                    self.acknowledged.append(save)
                    self.progress.notify_all()

    def start(self, server: Server) -> asyncio.Future[list[None]]:
        """Every tablet saves until it is done or the server stops answering (await the result)."""
        self.running = len(self.tablets)

        async def one(tablet: Tablet) -> None:
            try:
                await self._tablet(server, tablet)
            finally:
                async with self.progress:
                    self.running -= 1
                    self.progress.notify_all()

        return asyncio.gather(*(one(tablet) for tablet in self.tablets))

    async def reached(self, acknowledged: int) -> bool:
        """Wait until that many saves were acknowledged in all (False if every tablet stopped first)."""
        async with self.progress:
            await self.progress.wait_for(lambda: len(self.acknowledged) >= acknowledged or self.running == 0)
            return len(self.acknowledged) >= acknowledged

    @property
    def finished(self) -> bool:
        return all(tablet.done == len(tablet.saves) for tablet in self.tablets)

    def last_acknowledged(self, saves: list[Save] | None = None) -> dict[Hashable, object]:
        last: dict[Hashable, object] = {}
        for save in self.acknowledged if saves is None else saves:
            last[key(save)] = stored(save)
        return last


@dataclass
class AuditLine:
    id: int
    action: str
    skill: str
    competitor: str
    aspect: str
    new: dict[str, object]

    @property
    def key(self) -> Hashable:
        if self.action == "score":
            return (self.skill, self.competitor, self.aspect, self.new["expert"])
        return (self.skill, self.competitor, self.aspect)

    @property
    def value(self) -> object:
        return self.new["score"] if self.action == "score" else Decimal(str(self.new["value"]))


@dataclass
class StoredMarks:
    marks: dict[Hashable, object]
    """Every judge score and measurement, by `key`."""
    audit: list[AuditLine]
    """Every score and measurement audit record, in order."""
    revisions: dict[str, int]
    """Skill code → its marking scheme's revision."""


async def read_marks(database_url: str) -> StoredMarks:
    engine = create_engine(database_url, null_pool=True)
    try:
        async with session_factory(engine)() as session:
            marks: dict[Hashable, object] = {}
            for skill, competitor, aspect, expert, score in await session.execute(
                select(Skill.code, Competitor.code, Aspect.code, Expert.code, JudgeScore.score)
                .join(Competitor, Competitor.id == JudgeScore.competitor_id)
                .join(Skill, Skill.id == Competitor.skill_id)
                .join(Aspect, Aspect.id == JudgeScore.aspect_id)
                .join(Expert, Expert.id == JudgeScore.expert_id)
            ):
                marks[(skill, competitor, aspect, expert)] = score
            for skill, competitor, aspect, value in await session.execute(
                select(Skill.code, Competitor.code, Aspect.code, Measurement.value)
                .join(Competitor, Competitor.id == Measurement.competitor_id)
                .join(Skill, Skill.id == Competitor.skill_id)
                .join(Aspect, Aspect.id == Measurement.aspect_id)
            ):
                marks[(skill, competitor, aspect)] = Decimal(value)
            audit = [
                AuditLine(id, action, skill, competitor, subject, json.loads(new or "{}"))
                for id, action, skill, competitor, subject, new in await session.execute(
                    select(AuditRecord.id, AuditRecord.action, Skill.code, Competitor.code, AuditRecord.subject,
                           AuditRecord.new_value)
                    .join(Skill, Skill.id == AuditRecord.skill_id)
                    .join(Competitor, Competitor.id == AuditRecord.competitor_id)
                    .where(AuditRecord.action.in_(MARK_ACTIONS))
                    .order_by(AuditRecord.id)
                )
            ]
            revisions = {
                skill: revision for skill, revision in await session.execute(
                    select(Skill.code, MarkingScheme.revision).join(MarkingScheme, MarkingScheme.skill_id == Skill.id)
                )
            }
    finally:
        await engine.dispose()
    return StoredMarks(marks, audit, revisions)


def replay(audit: list[AuditLine]) -> dict[Hashable, object]:
    """The marks the audit trail says there are: the last value recorded for each."""
    return {line.key: line.value for line in audit}


def half_written(marks: StoredMarks, revisions_before: dict[str, int]) -> list[str]:
    """Every mark that disagrees with its audit trail, and every stage whose revision did not count each change."""
    problems = []
    trail = replay(marks.audit)
    for mark_key in marks.marks.keys() | trail.keys():
        if marks.marks.get(mark_key) != trail.get(mark_key):
            problems.append(f"{mark_key}: stored {marks.marks.get(mark_key)!r}, audit says {trail.get(mark_key)!r}")
    for skill, revision in marks.revisions.items():
        changes = sum(1 for line in marks.audit if line.skill == skill)
        if revision - revisions_before.get(skill, 0) != changes:
            problems.append(f"skill {skill}: revision {revision} after {changes} changes")
    return problems
