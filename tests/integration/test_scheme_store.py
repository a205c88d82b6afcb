"""Saving a marking scheme in the database: round trip, replacement, refusal once marked, audit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.errors import Conflict, Invalid
from competition.models import AuditRecord
from scoring.cis_xlsx import read_scheme
from scoring.models import Aspect, JudgeScore, MarkingScheme, SchemeStatus
from scoring.scheme import get_scheme, save_scheme, scheme_data_of
from scoring.scheme_data import SchemeData
from tests.helpers import SCHEMES, add_scheme, build_world

pytestmark = pytest.mark.usefixtures("english")


@pytest.mark.parametrize("file", sorted(p.name for p in SCHEMES.glob("*.xlsx")))
async def test_a_saved_scheme_reads_back_as_the_same_data(session: AsyncSession, file: str) -> None:
    world = await build_world(session)
    read = read_scheme(SCHEMES / file)
    assert read.scheme is not None
    await add_scheme(session, world.skill, world.semi_final, file)
    session.expunge_all()
    stored = await get_scheme(session, world.skill, world.semi_final)
    assert scheme_data_of(stored) == read.scheme
    assert stored.status == SchemeStatus.READY
    audit = (await session.scalars(select(AuditRecord).where(AuditRecord.action == "scheme_imported"))).one()
    assert audit.skill_id == world.skill.id and file in (audit.new_value or "")


async def test_replacing_an_unmarked_scheme_keeps_one(session: AsyncSession) -> None:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    await add_scheme(session, world.skill, world.semi_final, "skill_34_cooking.xlsx")
    assert await session.scalar(select(func.count()).select_from(MarkingScheme)) == 1
    actions = (await session.scalars(select(AuditRecord.action).order_by(AuditRecord.id))).all()
    assert actions[-2:] == ["scheme_imported", "scheme_replaced"]


async def test_a_marked_scheme_cannot_be_replaced(session: AsyncSession) -> None:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    aspect = (await session.scalars(select(Aspect).where(Aspect.scheme_id == scheme.id, Aspect.kind == "J"))).first()
    assert aspect is not None
    session.add(JudgeScore(aspect_id=aspect.id, competitor_id=world.competitors[0].id,
                           expert_id=world.experts[0].id, score=2))
    await session.commit()
    read = read_scheme(SCHEMES / "skill_34_cooking.xlsx")
    assert read.scheme is not None
    with pytest.raises(Conflict, match="already has marks"):
        await save_scheme(session, None, world.skill, world.semi_final, read.scheme)


async def test_a_scheme_with_errors_is_refused_and_one_with_warnings_is_a_draft(session: AsyncSession) -> None:
    world = await build_world(session)
    with pytest.raises(Invalid, match="no criteria"):
        await save_scheme(session, None, world.skill, world.semi_final, SchemeData(title="Empty"))
    read = read_scheme(SCHEMES / "skill_23_mobile_robotics.xlsx")
    assert read.scheme is not None
    first = read.scheme.aspects[0]
    short = SchemeData(
        title=read.scheme.title,
        sections=read.scheme.sections,
        criteria=read.scheme.criteria,
        sub_criteria=read.scheme.sub_criteria,
        aspects=(type(first)(**{**first.__dict__, "max_mark": (first.max_mark or Decimal(1)) + 1}),
                 *read.scheme.aspects[1:]),
    )
    scheme = await save_scheme(session, None, world.skill, world.semi_final, short)
    assert scheme.status == SchemeStatus.DRAFT
