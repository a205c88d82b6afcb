"""Results pages through the test client: who sees which figures, the marks behind them, publishing and
advancement from the page, downloads, printable forms, the event's medal tables."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition import i18n
from competition.models import StageEntry
from competition.writer import write
from scoring import rules
from scoring.publishing import advance_to_final, publish_results
from scoring.results import is_published, stage_results
from tests.helpers import World, add_scheme, build_world, form_post, login, mark_all

SEMI = "/events/SL2023/skills/23/stages/SF1"
FINAL = "/events/SL2023/skills/23/stages/FINAL"
ENGLISH = {"accept-language": "en"}


async def with_final(session: AsyncSession) -> World:
    """Semi-final marked (C001 3s, C002 2s, C003 1s, C004 2s), C001, C002 and C004 entered into the final
    and marked there (C001 3s, C002 2s, C004 1s); nothing published."""
    world = await build_world(session)
    semi = await add_scheme(session, world.skill, world.semi_final)
    for competitor, score in zip(world.competitors, [3, 2, 1, 2], strict=True):
        await mark_all(session, semi, competitor, world.experts[:3], score=score)
    await write(session, advance_to_final, world.organiser, world.event, world.skill, world.semi_final)
    final = await add_scheme(session, world.skill, world.final)
    anna, janis, _liga, martins = world.competitors
    for competitor, score in ((anna, 3), (janis, 2), (martins, 1)):
        await mark_all(session, final, competitor, world.experts[:3], score=score)
    return world


async def figures(session: AsyncSession, world: World) -> list[bytes]:
    """Every raw total and criterion mark of both stages, as an English or a Latvian page would show them."""
    shown: set[str] = set()
    for stage in (world.semi_final, world.final):
        results = await stage_results(session, world.event, world.skill, stage)
        assert results is not None
        for line in results.lines:
            for value in [line.result.raw, *line.result.criteria.values()]:
                if value is not None and value:
                    for language in ("en", "lv"):
                        with i18n.language(language):
                            shown.add(i18n.format_number(rules.round_half_up(value)))
    return [text.encode() for text in shown]


def no_figures(page: bytes, shown: list[bytes]) -> bool:
    return not [figure for figure in shown if figure in page]


@pytest.mark.parametrize("who", [None, "peteris@example.lv", "guntis@example.lv"])
async def test_unpublished_results_show_no_figure_to_visitors_or_experts(
    client: AsyncTestClient[Any], session: AsyncSession, who: str | None
) -> None:
    world = await with_final(session)
    if who:
        await login(client, who)
    shown = await figures(session, world)
    for url in (f"{SEMI}/results", f"{FINAL}/results", "/events/SL2023/results"):
        response = await client.get(url, headers=ENGLISH)
        assert response.status_code == 200, url
        assert no_figures(response.content, shown), url
        assert b"Anna" not in response.content, url
    assert b"The results are not published yet." in (await client.get(f"{FINAL}/results", headers=ENGLISH)).content


@pytest.mark.parametrize("who", [None, "peteris@example.lv"])
async def test_marks_behind_the_figures_are_only_for_the_chief_expert_and_organisers(
    client: AsyncTestClient[Any], session: AsyncSession, who: str | None
) -> None:
    world = await with_final(session)
    await write(session, publish_results, world.organiser, world.event, world.skill, world.final)
    if who:
        await login(client, who)
    for url in (f"{FINAL}/results/competitors/C001", f"{FINAL}/forms?competitor=C001", f"{FINAL}/results/export",
                "/events/SL2023/results/export"):
        response = await client.get(url, follow_redirects=False)
        assert response.status_code == (403 if who else 302), url
        if who:
            assert no_figures(response.content, await figures(session, world))


async def test_chief_expert_sees_unpublished_ranking_with_links_to_the_marks(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await with_final(session)
    await login(client, "inese@example.lv")
    page = (await client.get(f"{FINAL}/results")).text
    assert "Not published" in page and "Publish the results" not in page
    assert page.index("Anna Bērziņa") < page.index("Jānis Kalniņš") < page.index("Mārtiņš Liepiņš")
    assert f'href="{FINAL}/results/competitors/C001">100.00</a>' in page
    assert f'href="{FINAL}/results/competitors/C001#criterion-A"' in page
    assert "Gold" in page and "<svg" in page
    assert page.count('class="chart"') == 3


async def test_the_marks_page_shows_every_aspect_with_each_judges_score(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    world = await with_final(session)
    await login(client, "inese@example.lv")
    response = await client.get(f"{FINAL}/results/competitors/C002")
    assert response.status_code == 200
    page = response.text
    results = await stage_results(session, world.event, world.skill, world.final)
    assert results is not None
    for criterion in results.criteria:
        assert f'id="criterion-{criterion.code}"' in page
    assert page.count("E002: <strong>2</strong>") == page.count("E004: <strong>2</strong>") > 0
    assert "pass" in page and "Total of A1" in page


async def test_organiser_publishes_and_then_visitors_see_the_results(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    world = await with_final(session)
    await login(client, "organiser@example.lv")
    response = await form_post(client, f"{FINAL}/results/publish", {}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"{FINAL}/results?done=published"
    assert await is_published(session, world.skill, world.final)
    page = (await client.get(f"{FINAL}/results?done=published")).text
    assert "The results are published." in page and "Unpublish" in page
    await client.post("/logout", headers={"x-csrftoken": client.cookies["csrftoken"]})
    public = (await client.get(f"{FINAL}/results", headers=ENGLISH)).text
    assert "Anna Bērziņa" in public and "100.00" in public and "Gold" in public
    assert "/results/competitors/" not in public and "Unpublish" not in public
    event_page = (await client.get("/events/SL2023/results", headers=ENGLISH)).text
    assert "Rīgas Tehniskā koledža" in event_page and "Best of event" in event_page


async def test_only_organisers_may_publish(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    world = await with_final(session)
    await login(client, "inese@example.lv")
    response = await form_post(client, f"{FINAL}/results/publish", {}, follow_redirects=False)
    assert response.status_code == 403
    assert not await is_published(session, world.skill, world.final)


async def test_publishing_incomplete_results_is_refused_with_who_is_missing(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    await mark_all(session, scheme, world.competitors[0], world.experts[:3])
    await login(client, "organiser@example.lv")
    response = await form_post(client, f"{SEMI}/results/publish", {})
    assert response.status_code == 409
    assert "not all forms of C002, C003, C004 are locked" in response.text


async def test_organiser_enters_the_semi_finals_advancing_competitors_into_the_final(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    for competitor, score in zip(world.competitors, [3, 2, 1, 2], strict=True):
        await mark_all(session, scheme, competitor, world.experts[:3], score=score)
    await login(client, "organiser@example.lv")
    page = (await client.get(f"{SEMI}/results")).text
    assert "Enter 3 competitors into the final" in page
    response = await form_post(client, f"{SEMI}/results/advance", {}, follow_redirects=False)
    assert response.headers["location"] == f"{SEMI}/results?done=advanced&count=3"
    entered = await session.scalars(select(StageEntry.competitor_id).where(StageEntry.stage_id == world.final.id))
    assert sorted(entered) == sorted(c.id for c in (world.competitors[0], world.competitors[1], world.competitors[3]))
    page = (await client.get(f"{SEMI}/results?done=advanced&count=3")).text
    assert "3 competitors entered into the final." in page and "Everyone advancing is in the final." in page


async def test_downloads_are_the_results_workbook(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await with_final(session)
    await login(client, "inese@example.lv")
    response = await client.get(f"{FINAL}/results/export")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="SL2023-23-results.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Results", "Criteria", "Marks", "Audit trail"]
    await login(client, "organiser@example.lv")
    whole = await client.get("/events/SL2023/results/export")
    assert whole.status_code == 200 and whole.content[:2] == b"PK"


async def test_blank_forms_for_the_skills_experts_and_filled_ones_for_the_chief_expert(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await with_final(session)
    await login(client, "peteris@example.lv")
    blank = await client.get(f"{FINAL}/forms?sub_criterion=A1")
    assert blank.status_code == 200
    assert blank.text.count('class="marking-form card"') == 1
    assert "Chief Expert: name and signature" in blank.text and "Judge 3" in blank.text
    assert "Anna" not in blank.text
    await login(client, "inese@example.lv")
    filled = (await client.get(f"{FINAL}/forms?competitor=C001")).text
    assert "C001 Anna Bērziņa" in filled and filled.count('class="marking-form card"') > 1
    await login(client, "guntis@example.lv")
    assert (await client.get(f"{FINAL}/forms")).status_code == 403


async def test_results_pages_speak_latvian(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    world = await with_final(session)
    await write(session, publish_results, world.organiser, world.event, world.skill, world.final)
    page = (await client.get(f"{FINAL}/results", headers={"accept-language": "lv"})).text
    assert "Zelts" in page and "100,00" in page
