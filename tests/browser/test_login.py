"""In Chromium: a person logs in through the real form and switches the language."""

from __future__ import annotations

from playwright.async_api import Page
from sqlalchemy.ext.asyncio import AsyncEngine

from competition.db import session_factory
from tests.browser.conftest import LiveServer, log_in
from tests.helpers import PASSWORD, build_world


async def test_organiser_logs_in_and_switches_to_latvian(
    page: Page, live_server: LiveServer, live_engine: AsyncEngine
) -> None:
    async with session_factory(live_engine)() as session:
        await build_world(session)
    await log_in(page, live_server, "organiser@example.lv", PASSWORD)
    assert await page.locator(".who").inner_text() == "Olga Organizatore"
    await page.click("button[name=language][value=lv]")
    await page.wait_for_selector("text=Iziet")
    assert await page.locator("html").get_attribute("lang") == "lv"
