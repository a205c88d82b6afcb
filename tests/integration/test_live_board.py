"""The live board on SQLite and PostgreSQL: pages without log-in, the WebSocket's state on connect and a
change reaching it, the organiser's policy and ceremony control, and no figure a policy hides."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.models import Event
from scoring.models import Aspect
from scoring.results import stage_results
from tests.helpers import World, add_scheme, api_token, build_world, form_post, login, mark_all

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
async def world(session: AsyncSession) -> World:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    return world


async def figures(session: AsyncSession, world: World) -> list[str]:
    """The raw totals of the semi-final's complete competitors, as results print them."""
    results = await stage_results(session, world.event, world.skill, world.semi_final)
    assert results is not None
    return [line["raw"] for line in results.document(False)["competitors"] if line["raw"]]


async def test_the_board_pages_need_no_log_in_and_show_progress_only(
    client: AsyncTestClient[Any], session: AsyncSession, world: World
) -> None:
    scheme = await add_scheme(session, world.skill, world.final)
    for competitor, score in zip(world.competitors, [3, 2, 1, 2], strict=True):
        await mark_all(session, scheme, competitor, world.experts[:3], score=score)
    phone = await client.get("/live/SL2023?lang=en")
    assert phone.status_code == 200
    assert 'ws-connect="/live/SL2023/ws?lang=en"' in phone.text and "23" in phone.text
    assert "Mobile Robotics" in phone.text and "Forms locked" in phone.text
    screen = await client.get("/live/SL2023/screen?lang=en")
    assert screen.status_code == 200 and "data-clock" in screen.text
    for page in (phone.text, screen.text):
        assert not [raw for raw in await figures(session, world) if raw in page]
        assert "Anna" not in page
    assert (await client.get("/live/NOPE")).status_code == 404


async def test_the_socket_sends_the_board_then_each_change(
    client: AsyncTestClient[Any], session: AsyncSession, world: World
) -> None:
    token = await api_token(session, world.user("andris@example.lv"))
    aspect = await session.scalar(select(Aspect.code).where(Aspect.kind == "M").order_by(Aspect.id).limit(1))
    await session.commit()
    with await client.websocket_connect("/live/SL2023/ws?lang=en") as socket:
        first = socket.receive_text(timeout=10)
        assert first.startswith('<div id="board" hx-swap-oob="true"') and 'id="skill-23"' in first
        assert "0 %" in first
        saved = await client.put(
            f"/api/v1/events/SL2023/skills/23/stages/SF1/marks/C002/{aspect}",
            json={"value": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert saved.status_code == 200
        change = socket.receive_text(timeout=10)
        assert change.startswith('<section hx-swap-oob="true" id="skill-23"')
        assert "Marks entered" in change


async def test_a_socket_from_another_site_is_refused(client: AsyncTestClient[Any], world: World) -> None:
    from litestar.exceptions import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect),
        await client.websocket_connect(
            "/live/SL2023/ws", headers={"origin": "https://evil.example", "host": "testserver.local"}
        ) as socket,
    ):
        socket.receive_text(timeout=5)


async def test_the_organiser_sets_the_policy_and_runs_the_ceremony(
    client: AsyncTestClient[Any], session: AsyncSession, world: World
) -> None:
    from competition.models import StageEntry

    scheme = await add_scheme(session, world.skill, world.final)
    session.add_all(StageEntry(competitor_id=c.id, stage_id=world.final.id) for c in world.competitors)
    await session.commit()
    for competitor, score in zip(world.competitors, [3, 2, 1, 0], strict=True):
        await mark_all(session, scheme, competitor, world.experts[:3], score=score)
    await login(client, "inese@example.lv")
    assert (await client.get("/events/SL2023/live?lang=en")).status_code == 403
    client.cookies.clear()
    await login(client, "organiser@example.lv")
    control = await client.get("/events/SL2023/live?lang=en")
    assert control.status_code == 200 and "Reveal Bronze" in control.text
    bad = await form_post(client, "/events/SL2023/live/visibility", {"policy": "everything"})
    assert bad.status_code == 422
    await form_post(client, "/events/SL2023/live/visibility", {"policy": "ceremony"})
    await session.commit()
    assert await session.scalar(select(Event.visibility)) == "ceremony"
    board = (await client.get("/live/SL2023?lang=en")).text
    assert "announced at the ceremony" in board and "Anna" not in board
    revealed = await form_post(client, "/events/SL2023/live/ceremony/23/FINAL", {"step": "1"}, follow_redirects=True)
    assert revealed.status_code == 200 and "alert error" not in revealed.text
    board = (await client.get("/live/SL2023?lang=en")).text
    assert "Bronze" in board and "Gold" not in board
    for step in ("2", "3"):
        await form_post(client, "/events/SL2023/live/ceremony/23/FINAL", {"step": step})
    board = (await client.get("/live/SL2023?lang=en")).text
    assert "Gold" in board and "Anna Bērziņa" in board
    results = await stage_results(session, world.event, world.skill, world.final)
    assert results is not None
    assert not [line["raw"] for line in results.document(False)["competitors"] if line["raw"] and line["raw"] in board]
    semi = await form_post(client, "/events/SL2023/live/ceremony/23/SF1", {"step": "1"})
    assert semi.status_code == 409


async def test_two_workers_share_one_board_over_redis(
    settings: Any, engine: Any, session: AsyncSession, world: World, database_url: str, tmp_path: Any
) -> None:
    """A mark saved through worker A (a `uvicorn` process of its own) reaches a viewer connected to
    worker B (this process) only through the real Redis: the two share nothing else but the database."""
    import dataclasses
    import uuid

    import httpx

    from app import create_app
    from tests.browser.conftest import start_server
    from tests.conftest import REDIS_URL

    prefix = f"podium-test-{uuid.uuid4().hex[:8]}"
    token = await api_token(session, world.user("andris@example.lv"))
    aspect = await session.scalar(select(Aspect.code).where(Aspect.kind == "M").order_by(Aspect.id).limit(1))
    await session.commit()
    worker_a = start_server(
        database_url, tmp_path / "a", extra_env={"PODIUM_REDIS_URL": REDIS_URL, "PODIUM_REDIS_PREFIX": prefix}
    )
    shared = dataclasses.replace(settings, redis_url=REDIS_URL, redis_prefix=prefix)
    try:
        async with AsyncTestClient(app=create_app(shared, engine=engine), base_url="http://b.local") as worker_b:
            with await worker_b.websocket_connect("/live/SL2023/ws?lang=en") as socket:
                assert 'id="skill-23"' in socket.receive_text(timeout=10)
                async with httpx.AsyncClient(base_url=worker_a.url) as client_a:
                    saved = await client_a.put(
                        f"/api/v1/events/SL2023/skills/23/stages/SF1/marks/C002/{aspect}",
                        json={"value": 1},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                assert saved.status_code == 200, saved.text
                change = socket.receive_text(timeout=10)
                assert change.startswith('<section hx-swap-oob="true" id="skill-23"')
    finally:
        worker_a.stop()
