"""The issue's "done when" on the demo: three demo experts of Mobile Robotics log in and mark a semi-final
form through the tablet's API, from judging to sign-off, and the results count it."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from competition.models import Competitor, Expert, Skill, Stage, StageEntry
from competition.registration.demo import DEMO_PASSWORD, load_demo
from scoring.models import Aspect, MarkingScheme, SubCriterion
from tests.helpers import csrf_headers, login

pytestmark = pytest.mark.usefixtures("english")


async def test_three_demo_experts_mark_a_form_from_judging_to_lock(
    engine: AsyncEngine, session: AsyncSession, client: AsyncTestClient[Any]
) -> None:
    await load_demo(engine)
    skill = await session.scalar(select(Skill).where(Skill.code == "23"))
    stage = await session.scalar(select(Stage).where(Stage.code == "SF1"))
    assert skill is not None and stage is not None
    experts = list(await session.scalars(select(Expert).where(Expert.skill_id == skill.id).order_by(Expert.code)))
    competitors = list(
        await session.scalars(
            select(Competitor)
            .join(StageEntry)
            .where(Competitor.skill_id == skill.id, StageEntry.stage_id == stage.id)
            .order_by(Competitor.code)
        )
    )
    competitor = competitors[0]
    judges = [e for e in experts if e.institution_id != competitor.institution_id][:3]
    assert len(judges) == 3, "the demo skill needs three experts who may judge its first competitor"
    scheme_id = await session.scalar(
        select(MarkingScheme.id).where(MarkingScheme.skill_id == skill.id, MarkingScheme.stage_id == stage.id)
    )
    sub = await session.scalar(
        select(SubCriterion)
        .join(Aspect, Aspect.sub_criterion_id == SubCriterion.id)
        .where(Aspect.kind == "J", SubCriterion.scheme_id == scheme_id)
        .order_by(SubCriterion.id)
        .limit(1)
    )
    assert sub is not None
    aspects = (
        await session.execute(
            select(Aspect.code, Aspect.kind, Aspect.calculation, Aspect.possible).where(
                Aspect.sub_criterion_id == sub.id
            )
        )
    ).all()
    await session.commit()
    api = "/api/v1/events/SL2023/skills/23/stages/SF1"
    for judge in judges:
        client.cookies.clear()
        assert (await login(client, judge.email, DEMO_PASSWORD)).status_code in (302, 303)
        headers = await csrf_headers(client)
        for code, kind, calculation, possible in aspects:
            body: dict[str, Any] = {"score": 2}
            if kind == "M":
                body = {"value": {"number_completed": possible, "deduction": 0, "choice": 1}.get(calculation, 1)}
            response = await client.put(f"{api}/marks/{competitor.code}/{code}", json=body, headers=headers)
            assert response.status_code == 200, response.text
    page = await client.get(f"/marking/SL2023/23/SF1/forms/{competitor.code}/{sub.code}")
    assert page.status_code == 200 and "gatava apstiprināšanai" in page.text  # the demo experts read Latvian
    locked = await client.post(f"{api}/forms/{competitor.code}/{sub.code}/lock", headers=headers)
    assert locked.status_code == 200, locked.text
