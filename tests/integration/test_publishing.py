"""Publishing results and entering a semi-final's advancing competitors into the final: organisers
only, refused while forms are open, idempotent, audited and announced after commit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition import notify
from competition.errors import Conflict, Forbidden
from competition.models import AuditRecord, Stage, StageEntry
from competition.writer import write
from scoring.event_results import load_event_results
from scoring.publishing import advance_to_final, publish_results, unpublish_results
from scoring.results import is_published, stage_results
from tests.helpers import World, add_scheme, build_world, mark_all

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def announced() -> Iterator[list[notify.Change]]:
    changes: list[notify.Change] = []
    notify.subscribe(changes.append)
    yield changes
    notify.unsubscribe(changes.append)


async def marked_semi_final(session: AsyncSession, scores: list[int | None]) -> World:
    """The world with the semi-final marked: competitor n gets scores[n] from every judge (None: unmarked)."""
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    for competitor, score in zip(world.competitors, scores, strict=True):
        if score is not None:
            await mark_all(session, scheme, competitor, world.experts[:3], score=score)
    return world


async def audit_actions(session: AsyncSession) -> list[tuple[str, str]]:
    rows = await session.execute(select(AuditRecord.action, AuditRecord.subject).order_by(AuditRecord.id))
    return [(action, subject) for action, subject in rows if action != "scheme_imported"]


async def test_results_cannot_be_published_until_every_form_is_locked(session: AsyncSession) -> None:
    world = await marked_semi_final(session, [3, 2, 1, None])
    with pytest.raises(Conflict, match=r"not all forms of C004 are locked"):
        await write(session, publish_results, world.organiser, world.event, world.skill, world.semi_final)
    assert not await is_published(session, world.skill, world.semi_final)


async def test_results_without_a_marking_scheme_cannot_be_published(session: AsyncSession) -> None:
    world = await build_world(session)
    with pytest.raises(Conflict, match="Skill 23 has no marking scheme for stage FINAL"):
        await write(session, publish_results, world.organiser, world.event, world.skill, world.final)


async def test_organiser_publishes_and_unpublishes_audited_and_announced(
    session: AsyncSession, announced: list[notify.Change]
) -> None:
    world = await marked_semi_final(session, [3, 2, 1, 2])
    announced.clear()
    await write(session, publish_results, world.organiser, world.event, world.skill, world.semi_final)
    assert await is_published(session, world.skill, world.semi_final)
    assert announced == [notify.Change("SL2023", "results", "23", "SF1")]
    assert await write(
        session, unpublish_results, world.organiser, world.event, world.skill, world.semi_final,
        reason="criterion B re-marked",
    )
    assert not await is_published(session, world.skill, world.semi_final)
    assert announced == [notify.Change("SL2023", "results", "23", "SF1")] * 2
    assert await audit_actions(session) == [
        ("results_published", "results 23 SF1"),
        ("results_unpublished", "results 23 SF1"),
    ]
    reason = await session.scalar(select(AuditRecord.reason).where(AuditRecord.action == "results_unpublished"))
    assert reason == "criterion B re-marked"


async def test_publishing_twice_or_unpublishing_what_is_hidden_changes_nothing(session: AsyncSession) -> None:
    world = await marked_semi_final(session, [3, 2, 1, 2])
    assert not await write(session, unpublish_results, world.organiser, world.event, world.skill, world.semi_final)
    first = await write(session, publish_results, world.organiser, world.event, world.skill, world.semi_final)
    again = await write(session, publish_results, world.organiser, world.event, world.skill, world.semi_final)
    assert again.id == first.id
    assert await audit_actions(session) == [("results_published", "results 23 SF1")]


async def test_only_organisers_publish_unpublish_or_advance(session: AsyncSession) -> None:
    world = await marked_semi_final(session, [3, 2, 1, 2])
    chief = world.user("inese@example.lv")
    with pytest.raises(Forbidden):
        await write(session, publish_results, chief, world.event, world.skill, world.semi_final)
    with pytest.raises(Forbidden):
        await write(session, unpublish_results, chief, world.event, world.skill, world.semi_final)
    with pytest.raises(Forbidden):
        await write(session, advance_to_final, chief, world.event, world.skill, world.semi_final)
    assert await audit_actions(session) == []


async def test_semi_final_top_competitors_and_those_tied_at_the_cut_off_enter_the_final_once(
    session: AsyncSession, announced: list[notify.Change]
) -> None:
    world = await marked_semi_final(session, [3, 2, 2, 1])  # ranks 1, 2, 2, 4; the skill advances 2
    announced.clear()
    entered = await write(session, advance_to_final, world.organiser, world.event, world.skill, world.semi_final)
    assert [competitor.code for competitor in entered] == ["C001", "C002", "C003"]
    assert announced == [notify.Change("SL2023", "entries", "23", "FINAL")]
    assert await write(session, advance_to_final, world.organiser, world.event, world.skill, world.semi_final) == []
    rows = await session.execute(
        select(StageEntry.competitor_id, StageEntry.advanced_from_id).where(StageEntry.stage_id == world.final.id)
    )
    assert sorted(tuple(row) for row in rows) == [(c.id, world.semi_final.id) for c in world.competitors[:3]]
    assert await audit_actions(session) == [
        ("advanced_to_final", "competitor C001"),
        ("advanced_to_final", "competitor C002"),
        ("advanced_to_final", "competitor C003"),
    ]


async def test_advanced_competitors_take_part_in_the_final_results(session: AsyncSession) -> None:
    world = await marked_semi_final(session, [3, 2, 1, 1])
    await add_scheme(session, world.skill, world.final)
    before = await stage_results(session, world.event, world.skill, world.final)
    assert before is not None and before.lines == ()
    await write(session, advance_to_final, world.organiser, world.event, world.skill, world.semi_final)
    after = await stage_results(session, world.event, world.skill, world.final)
    assert after is not None and [line.competitor.code for line in after.lines] == ["C001", "C002"]
    assert after.incomplete == ["C001", "C002"]


async def test_advancement_is_refused_while_the_semi_final_is_incomplete(session: AsyncSession) -> None:
    world = await marked_semi_final(session, [3, 2, None, None])
    with pytest.raises(Conflict, match="not all forms of C003, C004 are locked"):
        await write(session, advance_to_final, world.organiser, world.event, world.skill, world.semi_final)
    assert await session.scalar(select(StageEntry.id).where(StageEntry.stage_id == world.final.id)) is None


async def test_advancement_needs_a_semi_final_and_a_final(session: AsyncSession) -> None:
    world = await marked_semi_final(session, [3, 2, 1, 2])
    with pytest.raises(Conflict, match="Stage FINAL is not a semi-final"):
        await write(session, advance_to_final, world.organiser, world.event, world.skill, world.final)
    final = await session.get(Stage, world.final.id)
    assert final is not None
    final.kind = "semi_final"
    await session.commit()
    with pytest.raises(Conflict, match="Event SL2023 has no final stage"):
        await write(session, advance_to_final, world.organiser, world.event, world.skill, world.semi_final)


async def test_advancement_needs_places_to_advance(session: AsyncSession) -> None:
    world = await marked_semi_final(session, [3, 2, 1, 2])
    world.skill.advance = 0
    await session.commit()
    with pytest.raises(Conflict, match="Skill 23 sends nobody to the final"):
        await write(session, advance_to_final, world.organiser, world.event, world.skill, world.semi_final)


async def test_event_standings_count_only_published_finals_unless_the_organiser_asks(session: AsyncSession) -> None:
    world = await marked_semi_final(session, [3, 2, 1, 2])
    await write(session, publish_results, world.organiser, world.event, world.skill, world.semi_final)
    await write(session, advance_to_final, world.organiser, world.event, world.skill, world.semi_final)
    final = await add_scheme(session, world.skill, world.final)
    for competitor, score in zip(world.competitors, [2, 3, None, 1], strict=True):
        if score is not None:
            await mark_all(session, final, competitor, world.experts[:3], score=score)
    assert (await load_event_results(session, world.event)).placings == ()  # a published semi-final counts not
    everything = await load_event_results(session, world.event, include_unpublished=True)
    assert [(p.competitor, p.medal) for p in everything.placings] == [
        ("C002", "gold"), ("C001", "silver"), ("C004", "bronze"),
    ]
    await write(session, publish_results, world.organiser, world.event, world.skill, world.final)
    public = await load_event_results(session, world.event)
    assert [p.competitor for p in public.best_of_event] == ["C002"]
    assert [code for code, _count in public.by_institution] == ["RVT", "RTK", "OT"]
