"""In Chromium: an organiser registers a competitor on the competitors page (htmx swaps the form and the
list), finds them with the live search, and the competitor is in the database with their stage entry."""

from __future__ import annotations

from playwright.async_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from competition.db import session_factory
from competition.models import Competitor, StageEntry
from tests.browser.conftest import LiveServer, log_in
from tests.helpers import PASSWORD, build_world


async def test_organiser_registers_a_competitor(
    page: Page, live_server: LiveServer, live_engine: AsyncEngine
) -> None:
    async with session_factory(live_engine)() as session:
        world = await build_world(session)
    await log_in(page, live_server, "organiser@example.lv", PASSWORD)
    await page.goto(f"{live_server.url}/events/SL2023/competitors")

    await page.click("#create summary")
    form = page.locator("#create-form")
    await form.locator("#f-code").fill("C010")
    await form.locator("#f-first_name").fill("Ieva")
    await form.locator("#f-last_name").fill("Zariņa")
    await form.locator("#f-birth_date").fill("2005-03-14")
    await form.locator("#f-institution").select_option("RVT")
    await form.locator("#f-skill").select_option("23")
    await form.locator("#f-stage").select_option("SF1")
    await form.locator("button[type=submit]").click()

    await expect(page.locator("#create-form .alert.ok")).to_have_text("Saved C010 Ieva Zariņa.")
    await expect(page.locator("#rows")).to_contain_text("Ieva Zariņa")
    await expect(page.locator("#create-form #f-code")).to_have_value("")
    assert page.url.endswith("/events/SL2023/competitors"), "htmx saved it without leaving the page"

    await page.fill("input[type=search]", "zarin")
    await expect(page.locator("#rows tbody tr")).to_have_count(1)
    await expect(page.locator("#rows tbody tr")).to_contain_text("C010")

    async with session_factory(live_engine)() as session:
        stored = await session.scalar(select(Competitor).where(Competitor.code == "C010"))
        assert stored is not None
        assert (stored.first_name, stored.last_name, stored.stage_id) == (
            "Ieva",
            "Zariņa",
            world.semi_final.id,
        )
        entries = list(
            await session.scalars(select(StageEntry.stage_id).where(StageEntry.competitor_id == stored.id))
        )
        assert entries == [world.semi_final.id]
