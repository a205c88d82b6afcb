"""`podium demo` through scoring's entry point: the fixture schemes of four demo skills are stored, ready for
marking, in each skill's semi-final and in the final, once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from competition.models import Skill, Stage
from competition.registration.demo import load_demo
from scoring.demo import extend
from scoring.models import Aspect, MarkingScheme

pytestmark = pytest.mark.usefixtures("english")


async def test_the_demo_skills_get_their_schemes_once(engine: AsyncEngine, session: AsyncSession) -> None:
    lines = await load_demo(engine)
    assert sum(line.startswith("marking scheme for skill") for line in lines) == 8
    stored = (
        await session.execute(
            select(Skill.code, Stage.code, MarkingScheme.status)
            .join(MarkingScheme, MarkingScheme.skill_id == Skill.id)
            .join(Stage, Stage.id == MarkingScheme.stage_id)
            .order_by(Skill.code, Stage.code)
        )
    ).all()
    assert [tuple(row) for row in stored] == [
        ("18", "FINAL", "ready"), ("18", "SF4", "ready"),
        ("23", "FINAL", "ready"), ("23", "SF1", "ready"),
        ("34", "FINAL", "ready"), ("34", "SF2", "ready"),
        ("40", "FINAL", "ready"), ("40", "SF3", "ready"),
    ]
    aspects = await session.scalar(select(func.count()).select_from(Aspect))
    assert await extend(engine, "SL2023") == []
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(MarkingScheme)) == 8
    assert await session.scalar(select(func.count()).select_from(Aspect)) == aspects
