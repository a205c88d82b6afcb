"""In Chromium: the live board survives the server going away. A form locked while the board's connection is
down (its change message was never sent to anyone) shows on the open board once the server is back, without
a reload: htmx's ws extension reconnects by itself and the socket sends the current board on connect."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from competition.db import session_factory
from competition.models import Expert
from competition.writer import write
from scoring.marking import Marker, find_place, lock_form, record_mark
from scoring.models import Aspect, SubCriterion
from tests.browser.conftest import LiveServer, start_server
from tests.helpers import add_scheme, build_world


async def test_the_board_gets_what_changed_while_its_connection_was_down(
    page: Page, live_server: LiveServer, live_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with session_factory(live_engine)() as session:
        world = await build_world(session)
        await add_scheme(session, world.skill, world.semi_final)
    await page.set_viewport_size({"width": 412, "height": 915})
    await page.goto(f"{live_server.url}/live/SL2023?lang=en")
    forms = page.locator("#skill-23 .stage").first.locator(".bar").nth(1).locator(".bar-value")
    await expect(forms).to_have_text("0 %")
    await page.evaluate("window.podiumNotReloaded = true")

    port = int(live_server.url.rsplit(":", 1)[1])
    live_server.stop()
    await expect(page.locator("[data-connection]")).to_contain_text("Connection lost", timeout=10_000)

    # while no server runs: a whole form of C002 marked and locked (nobody is told of it)
    async with session_factory(live_engine)() as session:
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
        await write(session, lock_form, place, None, "C002", sub.code)

    back = start_server(live_server.database_url, tmp_path / "data-again", port=port)
    live_server.process = back.process  # the fixture stops this one
    await expect(forms).not_to_have_text("0 %", timeout=30_000)
    await expect(page.locator("[data-connection]")).to_have_text("")
    assert await page.evaluate("window.podiumNotReloaded === true")
