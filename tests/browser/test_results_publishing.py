"""In Chromium: the organiser confirms publishing a final's results, and the results sheet prints without
the page's navigation."""

from __future__ import annotations

from playwright.async_api import Dialog, Page
from sqlalchemy.ext.asyncio import AsyncEngine

from competition.db import session_factory
from tests.browser.conftest import LiveServer, log_in
from tests.helpers import PASSWORD
from tests.integration.test_results_pages import FINAL, with_final


async def test_organiser_publishes_the_final_and_prints_the_results_sheet(
    page: Page, live_server: LiveServer, live_engine: AsyncEngine
) -> None:
    async with session_factory(live_engine)() as session:
        await with_final(session)
    await log_in(page, live_server, "organiser@example.lv", PASSWORD)
    await page.goto(f"{live_server.url}{FINAL}/results")
    confirmations: list[str] = []

    async def accept(dialog: Dialog) -> None:
        confirmations.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await page.click("text=Publish the results")
    await page.wait_for_selector("text=The results are published.")
    assert confirmations == ["Publish these results to everyone?"]
    assert await page.locator("table.results tbody tr").count() == 3
    await page.emulate_media(media="print")
    assert not await page.locator(".topbar").is_visible()
    assert not await page.locator("text=Unpublish").is_visible()
    assert await page.locator("table.results").is_visible()
