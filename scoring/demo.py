"""The demo competition's marking schemes: fixtures/schemes/skill_<code>_*.xlsx for those skills' stages."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from competition.config import FIXTURES_DIR
from competition.models import Competitor, Event, Skill, Stage, StageEntry, StageKind
from competition.writer import write
from scoring.cis_xlsx import ReadResult, read_scheme
from scoring.scheme import find_scheme, save_scheme
from scoring.scheme_data import SchemeData

SCHEMES_DIR = FIXTURES_DIR / "schemes"


def demo_scheme_files() -> dict[str, Path]:
    """Skill code -> its fixture scheme file (`skill_23_mobile_robotics.xlsx` is skill 23's)."""
    return {path.name.split("_")[1]: path for path in sorted(SCHEMES_DIR.glob("skill_*.xlsx"))}


async def extend(engine: AsyncEngine, event_code: str) -> list[str]:
    """Give each demo skill with a fixture scheme that scheme in its semi-final(s) and the final, where it
    has none yet (a `podium demo` entry point: idempotent, never replaces a scheme)."""
    files = demo_scheme_files()
    read = await asyncio.to_thread(lambda: {code: read_scheme(path) for code, path in files.items()})
    return await write(engine, _add_demo_schemes, event_code, read, files)


async def _add_demo_schemes(
    session: AsyncSession, event_code: str, read: dict[str, ReadResult], files: dict[str, Path]
) -> list[str]:
    lines: list[str] = []
    event = await session.scalar(select(Event).where(Event.code == event_code))
    if event is None:
        return lines
    for code, result in read.items():
        skill = await session.scalar(select(Skill).where(Skill.event_id == event.id, Skill.code == code))
        if skill is None or result.scheme is None:
            continue
        for stage in await _stages_of(session, event, skill):
            if await find_scheme(session, skill, stage) is None:
                data: SchemeData = result.scheme
                await save_scheme(session, None, skill, stage, data, source_filename=files[code].name)
                lines.append(f"marking scheme for skill {skill.code}, stage {stage.code}: {result.summary}")
    return lines


async def _stages_of(session: AsyncSession, event: Event, skill: Skill) -> list[Stage]:
    """The stages the skill's competitors are entered in, and the event's final."""
    entered = select(StageEntry.stage_id).join(Competitor, Competitor.id == StageEntry.competitor_id).where(
        Competitor.skill_id == skill.id
    )
    stages = await session.scalars(
        select(Stage).where(Stage.event_id == event.id, (Stage.id.in_(entered)) | (Stage.kind == StageKind.FINAL))
        .order_by(Stage.starts, Stage.code)
    )
    return list(stages)
