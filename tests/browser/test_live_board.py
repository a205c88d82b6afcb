"""In Chromium: a form locked on an expert's tablet updates the live board open in another browser, without
a reload (htmx's ws extension swapping in the fragment the server sends)."""

from __future__ import annotations

from playwright.async_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from competition.db import session_factory
from competition.models import Expert
from competition.writer import write
from scoring.marking import Marker, find_place, record_mark
from scoring.models import Aspect, SubCriterion
from tests.browser.conftest import LiveServer, log_in
from tests.helpers import PASSWORD, add_scheme, build_world


async def test_a_lock_on_a_tablet_updates_the_board_in_another_browser(
    browser: Browser, live_server: LiveServer, live_engine: AsyncEngine
) -> None:
    async with session_factory(live_engine)() as session:
        world = await build_world(session)
        await add_scheme(session, world.skill, world.semi_final)
        sub = await session.scalar(select(SubCriterion).order_by(SubCriterion.id).limit(1))
        assert sub is not None
        aspects = list(await session.scalars(select(Aspect).where(Aspect.sub_criterion_id == sub.id)))
        place = await find_place(session, "SL2023", "23", "SF1")
        judges = list(await session.scalars(select(Expert).where(Expert.code.in_(["E002", "E004", "E005"]))))
        for aspect in aspects:
            for judge in judges if aspect.kind == "J" else judges[:1]:
                value = {"number_completed": aspect.possible, "deduction": 0, "choice": 1}.get(
                    aspect.calculation or "", 1
                )
                body = {"score": 2} if aspect.kind == "J" else {"value": value}
                await write(session, record_mark, place, Marker(None, judge), "C002", aspect.code, body)
        sub_code = sub.code

    board_context = await browser.new_context(locale="en-GB", viewport={"width": 412, "height": 915})
    board = await board_context.new_page()
    await board.goto(f"{live_server.url}/live/SL2023?lang=en")
    skill = board.locator("#skill-23")
    await expect(skill).to_contain_text("Forms locked")
    forms = skill.locator(".stage").first.locator(".bar").nth(1).locator(".bar-value")
    await expect(forms).to_have_text("0 %")

    tablet_context = await browser.new_context(locale="en-GB", viewport={"width": 1024, "height": 768}, has_touch=True)
    tablet = await tablet_context.new_page()
    await log_in(tablet, live_server, "peteris@example.lv", PASSWORD)
    await tablet.goto(f"{live_server.url}/marking/SL2023/23/SF1/forms/C002/{sub_code}")
    await tablet.get_by_role("button", name="Sign off and lock").tap()
    await expect(tablet.get_by_text("Signed off and locked.").first).to_be_visible()

    # 1 of the 4 competitors' forms of that sub-criterion, out of every form of the stage
    await expect(forms).not_to_have_text("0 %", timeout=10_000)
    await board_context.close()
    await tablet_context.close()
