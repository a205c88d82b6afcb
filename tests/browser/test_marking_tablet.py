"""In Chromium at tablet size with touch: a judge marks a whole form and signs it off; a mark tapped while
the server is down is kept on the tablet and sent when the server returns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from competition.db import session_factory
from competition.models import Expert
from competition.writer import write
from scoring.marking import Marker, find_place, record_score
from scoring.models import Aspect, Form, JudgeScore, SubCriterion
from tests.browser.conftest import LiveServer, log_in, start_server
from tests.helpers import PASSWORD, add_scheme, build_world

PAGES = "/marking/SL2023/23/SF1"


def field_selector(aspect: str) -> str:
    return "#field-C002-" + aspect.replace(".", "\\.")


@pytest.fixture
async def tablet(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A tablet in landscape: touch, 1180×820."""
    created = await browser.new_context(
        locale="en-GB", viewport={"width": 1180, "height": 820}, has_touch=True, is_mobile=False
    )
    yield created
    await created.close()


async def arrange(engine: AsyncEngine) -> tuple[str, list[tuple[str, str, str | None, int | None]]]:
    """The small world with skill 23's scheme; Andris and Dace have judged C002 on the first sub-criterion."""
    async with session_factory(engine)() as session:
        world = await build_world(session)
        await add_scheme(session, world.skill, world.semi_final)
        first = await session.scalar(select(Aspect.code).where(Aspect.kind == "J").order_by(Aspect.id).limit(1))
        assert first is not None
        sub = first.split(".")[0]
        aspects = [
            (code, kind, calculation, possible)
            for code, kind, calculation, possible in (
                await session.execute(
                    select(Aspect.code, Aspect.kind, Aspect.calculation, Aspect.possible)
                    .join(SubCriterion, SubCriterion.id == Aspect.sub_criterion_id)
                    .where(SubCriterion.code == sub)
                    .order_by(Aspect.position)
                )
            ).all()
        ]
        place = await find_place(session, "SL2023", "23", "SF1")
        for email in ["andris@example.lv", "dace@example.lv"]:
            expert = await session.scalar(select(Expert).where(Expert.email == email))
            assert expert is not None
            for code, kind, _calculation, _possible in aspects:
                if kind == "J":
                    await write(session, record_score, place, Marker(None, expert), "C002", code, 2)
    return sub, aspects


async def test_a_judge_marks_a_form_on_a_tablet_and_signs_it_off(
    tablet: BrowserContext, live_server: LiveServer, live_engine: AsyncEngine
) -> None:
    sub, aspects = await arrange(live_engine)
    page = await tablet.new_page()
    await log_in(page, live_server, "peteris@example.lv", PASSWORD)
    await page.goto(f"{live_server.url}{PAGES}")
    await page.get_by_role("link", name="C002").first.tap()
    await page.wait_for_url(f"**/forms/C002/{sub}")
    for code, kind, calculation, possible in aspects:
        field = page.locator(field_selector(code))
        if kind == "J":
            target = field.locator("[data-body='{\"score\": 2}']")
        elif calculation == "deduction":
            await field.locator("input[name=value]").fill("0")
            target = field.get_by_role("button", name="Save")
        elif calculation == "number_completed":
            target = field.locator(f"[data-body='{{\"value\": {possible}}}']")
        elif calculation == "choice":
            target = field.locator("[data-body='{\"value\": 1}']")
        else:
            target = field.locator("[data-body='{\"value\": 1}']")
        box = await target.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, (code, box)
        await target.tap()
        await expect(field.locator("[data-save-state]")).to_have_text("Saved", timeout=10_000)
        await expect(field).to_have_attribute("data-status", "saved")
    sign_off = page.get_by_role("button", name="Sign off and lock")
    await expect(sign_off).to_be_enabled()
    await sign_off.tap()
    await expect(page.get_by_text("Signed off and locked.").first).to_be_visible()
    async with session_factory(live_engine)() as session:
        locked = await session.scalar(select(Form.locked))
        own = list(await session.scalars(select(JudgeScore.score).join(Expert).where(Expert.code == "E002")))
    assert locked is True
    assert own == [2] * sum(1 for _c, kind, _x, _p in aspects if kind == "J")


async def test_a_mark_tapped_while_the_server_is_down_is_sent_when_it_returns(
    tablet: BrowserContext, live_server: LiveServer, live_engine: AsyncEngine, tmp_path: Path
) -> None:
    sub, aspects = await arrange(live_engine)
    judged = next(code for code, kind, _c, _p in aspects if kind == "J")
    page: Page = await tablet.new_page()
    await log_in(page, live_server, "peteris@example.lv", PASSWORD)
    await page.goto(f"{live_server.url}{PAGES}/forms/C002/{sub}")
    field = page.locator(field_selector(judged))

    live_server.stop()
    await field.locator("[data-body='{\"score\": 3}']").tap()
    await expect(field.locator("[data-save-state]")).to_contain_text("Not sent yet", timeout=10_000)
    await expect(page.locator("[data-outbox-summary]")).to_contain_text("Marks kept on this tablet, not sent yet: 1")
    assert await page.evaluate("Object.keys(JSON.parse(localStorage.getItem('podium-outbox'))).length") == 1

    port = int(live_server.url.rsplit(":", 1)[1])
    returned = start_server(live_server.database_url, tmp_path / "data", port=port)
    try:
        await expect(field.locator("[data-save-state]")).to_have_text("Saved", timeout=40_000)
        await expect(page.locator("[data-outbox-summary]")).to_be_hidden()
        async with session_factory(live_engine)() as session:
            scores = list(await session.scalars(select(JudgeScore.score).join(Expert).where(Expert.code == "E002")))
        assert scores == [3]
        await page.reload()
        field = page.locator(field_selector(judged))
        await expect(field.locator("[data-body='{\"score\": 3}']")).to_have_attribute("aria-checked", "true")
    finally:
        returned.stop()
