"""The live board in Latvian and English, on SQLite and PostgreSQL: the pages in the language asked for
(Latvian without asking), and two sockets of the same board in different languages each get every change
in their own language."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scoring.models import Aspect
from tests.helpers import World, add_scheme, api_token, build_world

LATVIAN = ("Ievadītās atzīmes", "Bloķētas veidlapas")
ENGLISH = ("Marks entered", "Forms locked")


@pytest.fixture
async def world(session: AsyncSession) -> World:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    return world


def only_latvian(html: str) -> bool:
    return all(text in html for text in LATVIAN) and not any(text in html for text in ENGLISH)


def only_english(html: str) -> bool:
    return all(text in html for text in ENGLISH) and not any(text in html for text in LATVIAN)


async def test_the_pages_speak_the_language_asked_for_latvian_by_default(
    client: AsyncTestClient[Any], world: World
) -> None:
    for path in ("/live/SL2023", "/live/SL2023/screen"):
        latvian = await client.get(f"{path}?lang=lv")
        assert latvian.status_code == 200 and only_latvian(latvian.text)
        assert 'ws-connect="/live/SL2023/ws?lang=lv"' in latvian.text
        english = await client.get(f"{path}?lang=en")
        assert english.status_code == 200 and only_english(english.text)
        assert 'ws-connect="/live/SL2023/ws?lang=en"' in english.text
    client.cookies.clear()
    assert only_latvian((await client.get("/live/SL2023")).text)


async def test_sockets_in_two_languages_each_get_the_change_in_their_own(
    client: AsyncTestClient[Any], session: AsyncSession, world: World
) -> None:
    token = await api_token(session, world.user("andris@example.lv"))
    aspect = await session.scalar(select(Aspect.code).where(Aspect.kind == "M").order_by(Aspect.id).limit(1))
    await session.commit()
    with (
        await client.websocket_connect("/live/SL2023/ws?lang=lv") as latvian,
        await client.websocket_connect("/live/SL2023/ws?lang=en") as english,
        await client.websocket_connect("/live/SL2023/ws?lang=xx") as unknown,
    ):
        assert only_latvian(latvian.receive_text(timeout=10))
        assert only_english(english.receive_text(timeout=10))
        assert only_latvian(unknown.receive_text(timeout=10))
        saved = await client.put(
            f"/api/v1/events/SL2023/skills/23/stages/SF1/marks/C002/{aspect}",
            json={"value": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert saved.status_code == 200, saved.text
        for socket, right in ((latvian, only_latvian), (english, only_english), (unknown, only_latvian)):
            change = socket.receive_text(timeout=10)
            assert change.startswith('<section hx-swap-oob="true" id="skill-23"') and right(change)
