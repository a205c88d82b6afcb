"""The live board hears of a mark only after its transaction commits, on SQLite and PostgreSQL: marks saved in
a transaction that is then rolled back (a refused paper-backup file) are never announced; marks committed
together are announced once per competitor form they touched."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition import notify
from competition.models import Expert
from scoring.marking import Marker, find_place, record_mark
from scoring.models import Aspect, JudgeScore
from tests.helpers import add_scheme, build_world

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def announced() -> Iterator[list[notify.Change]]:
    changes: list[notify.Change] = []
    notify.subscribe(changes.append)
    yield changes
    notify.unsubscribe(changes.append)


async def test_rolled_back_marks_are_never_announced_and_committed_ones_once(
    session: AsyncSession, announced: list[notify.Change]
) -> None:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    judge = await session.scalar(select(Expert).where(Expert.code == "E004"))
    codes = list(await session.scalars(select(Aspect.code).where(Aspect.kind == "J").order_by(Aspect.id).limit(3)))
    assert judge is not None and len(codes) == 3
    place = await find_place(session, "SL2023", "23", "SF1")
    announced.clear()

    for code in codes:
        await record_mark(session, place, Marker(None, judge), "C002", code, {"score": 2})
    assert announced == []  # saved in the transaction, not yet committed
    await session.rollback()
    assert announced == []
    assert await session.scalar(select(func.count()).select_from(JudgeScore)) == 0

    place = await find_place(session, "SL2023", "23", "SF1")  # the rollback expired what was read
    judge = await session.scalar(select(Expert).where(Expert.code == "E004"))
    assert judge is not None
    for competitor in ("C001", "C002"):
        for code in codes:
            await record_mark(session, place, Marker(None, judge), competitor, code, {"score": 1})
    await session.commit()
    assert announced == [notify.Change("SL2023", "marks", "23", "SF1", competitor) for competitor in ("C001", "C002")]
    assert await session.scalar(select(func.count()).select_from(JudgeScore)) == 6
