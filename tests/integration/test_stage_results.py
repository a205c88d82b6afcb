"""Results of a stage computed from locked marks, and kept until the marks change."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from scoring.results import stage_results
from tests.helpers import add_scheme, build_world, mark_all


async def test_results_count_competitors_whose_forms_are_all_locked(session: AsyncSession) -> None:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    anna, janis, liga, _martins = world.competitors
    judges = world.experts[:3]
    await mark_all(session, scheme, anna, judges, score=3)
    await mark_all(session, scheme, janis, judges, score=1)
    await mark_all(session, scheme, liga, judges, score=2, lock=False)

    results = await stage_results(session, world.event, world.skill, world.semi_final)
    assert results is not None
    document = results.document(published=False)
    assert [line["competitor"] for line in document["competitors"]] == ["C001", "C002", "C003", "C004"]
    first, second, unlocked, unmarked = document["competitors"]
    assert first["complete"] and first["raw"] == "100.00" and first["rank"] == 1 and first["advances"] is True
    assert second["rank"] == 2 and Decimal(second["raw"]) < 100 and second["advances"] is True
    assert first["scale"] > 700 > second["scale"]
    assert unlocked == {"competitor": "C003", "name": "Līga Ozola", "institution": "LVT", "complete": False,
                        "raw": None, "rank": None, "scale": None, "medal": None, "criteria": None,
                        "advances": False}
    assert not unmarked["complete"]
    assert set(first["criteria"]) == {"A", "B", "C", "D", "E", "F"}


async def test_results_follow_a_change_of_marks(session: AsyncSession) -> None:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    judges = world.experts[:3]
    await mark_all(session, scheme, world.competitors[0], judges, score=3)
    before = await stage_results(session, world.event, world.skill, world.semi_final)
    assert before is not None and await stage_results(session, world.event, world.skill, world.semi_final) is before
    await mark_all(session, scheme, world.competitors[1], judges, score=3)
    after = await stage_results(session, world.event, world.skill, world.semi_final)
    assert after is not None and after is not before
    assert [line.result.rank for line in after.lines[:2]] == [1, 1]


async def test_results_follow_the_event_settings_names_institutions_and_stage_kind(session: AsyncSession) -> None:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    for competitor, score in zip(world.competitors, [3, 2, 1, 2], strict=True):
        await mark_all(session, scheme, competitor, world.experts[:3], score=score)

    async def first_line() -> dict[str, object]:
        results = await stage_results(session, world.event, world.skill, world.semi_final)
        assert results is not None
        return dict(results.document(published=False)["competitors"][0])

    before = await first_line()
    assert before["advances"] is True and isinstance(before["scale"], int) and before["scale"] > 700
    world.event.scale_points = Decimal(60)
    await session.commit()
    doubled = await first_line()
    assert isinstance(doubled["scale"], int) and abs(doubled["scale"] - 700 - 2 * (before["scale"] - 700)) <= 1
    world.event.scale_centre = Decimal(500)
    await session.commit()
    assert (await first_line())["scale"] == doubled["scale"] - 200
    world.competitors[0].first_name = "Anniņa"
    await session.commit()
    assert (await first_line())["name"] == "Anniņa Bērziņa"
    world.schools[0].code = "RTK2"
    await session.commit()
    assert (await first_line())["institution"] == "RTK2"
    world.semi_final.kind = "final"
    await session.commit()
    line = await first_line()
    assert (line["medal"], line["advances"]) == ("gold", None)
