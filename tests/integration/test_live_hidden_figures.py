"""No figure a visibility policy hides reaches a live board viewer, on SQLite and PostgreSQL: one socket stays
connected while the organiser goes through every policy (progress, live, final unpublished and published,
ceremony step by step); every message it receives, the phone page, the screen and the anonymous results API
are searched for the final's known raw totals, scale scores, medals and medallists' names. Each policy that
may show something is also checked to show it, so the search is known to find what it looks for."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from litestar.testing.websocket_test_session import WebSocketTestSession
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.models import StageEntry
from scoring.models import Aspect
from scoring.results import stage_results
from tests.helpers import World, add_scheme, api_token, build_world, form_post, login, mark_all

pytestmark = pytest.mark.usefixtures("english")

EVENT = "/events/SL2023"
FINAL = f"{EVENT}/skills/23/stages/FINAL"
MEDAL_WORDS = ("Gold", "Silver", "Bronze", "Medallion")


class Final:
    """The final's secret figures as the results compute them."""

    def __init__(self, document: dict[str, Any]) -> None:
        lines = document["competitors"]
        assert all(line["complete"] for line in lines)
        self.raws = [line["raw"] for line in lines]
        self.scales = [line["scale"] for line in lines if line["scale"] is not None]
        self.names = {line["name"]: line["medal"] for line in lines}
        assert len(set(self.raws)) == len(self.raws), "distinct raw totals make the search meaningful"

    def raw_in(self, html: str) -> list[str]:
        return [raw for raw in self.raws if raw in html or raw.replace(".", ",") in html]

    def scale_in(self, html: str) -> list[int]:
        return [scale for scale in self.scales if f">{scale}<" in html]

    def names_in(self, html: str) -> set[str]:
        return {name for name in self.names if name in html}

    def medallists(self, medals: set[str]) -> set[str]:
        return {name for name, medal in self.names.items() if medal in medals}


@pytest.fixture
async def world(session: AsyncSession) -> World:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    scheme = await add_scheme(session, world.skill, world.final)
    session.add_all(StageEntry(competitor_id=c.id, stage_id=world.final.id) for c in world.competitors)
    await session.commit()
    for competitor, score in zip(world.competitors, [3, 2, 1, 0], strict=True):
        await mark_all(session, scheme, competitor, world.experts[:3], score=score)
    return world


def receive_until(socket: WebSocketTestSession, wanted: Callable[[str], bool], timeout: float = 10) -> list[str]:
    """Every message up to and including the first one `wanted` accepts."""
    messages: list[str] = []
    while True:
        try:
            message = socket.receive_text(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no wanted message in {timeout} s; received {messages!r}"[:3000]) from None
        messages.append(message)
        if wanted(message):
            return messages


@contextlib.contextmanager
def anonymous(client: AsyncTestClient[Any]) -> Iterator[None]:
    """The client as a visitor without log-in for the block's requests."""
    cookies = list(client.cookies.jar)
    client.cookies.clear()
    try:
        yield
    finally:
        client.cookies.clear()
        for cookie in cookies:
            client.cookies.jar.set_cookie(cookie)


async def viewer_pages(client: AsyncTestClient[Any]) -> tuple[str, int]:
    """The phone page and the screen (one string), and the results API's status, as anyone sees them."""
    with anonymous(client):
        phone = await client.get("/live/SL2023?lang=en")
        screen = await client.get("/live/SL2023/screen?lang=en")
        api = await client.get(f"/api/v1{FINAL}/results")
    assert phone.status_code == 200 and screen.status_code == 200
    return phone.text + screen.text, api.status_code


def nothing_official(final: Final, html: str) -> None:
    assert not final.raw_in(html)
    assert not final.scale_in(html)
    assert not [word for word in MEDAL_WORDS if word in html]


async def test_no_policy_lets_a_hidden_figure_reach_a_viewer(
    client: AsyncTestClient[Any], session: AsyncSession, world: World
) -> None:
    results = await stage_results(session, world.event, world.skill, world.final)
    assert results is not None
    final = Final(dict(results.document(False)))
    token = await api_token(session, world.user("andris@example.lv"))
    aspect = await session.scalar(select(Aspect.code).where(Aspect.kind == "M").order_by(Aspect.id).limit(1))
    await session.commit()
    await login(client, "organiser@example.lv")

    with await client.websocket_connect("/live/SL2023/ws?lang=en") as socket:
        # progress (the default): shares only, also in the message a saved mark sends
        whole = socket.receive_text(timeout=10)
        assert 'id="board"' in whole and "Forms locked" in whole
        saved = await client.put(
            f"/api/v1{EVENT}/skills/23/stages/SF1/marks/C002/{aspect}",
            json={"value": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert saved.status_code == 200, saved.text
        messages = [whole, *receive_until(socket, lambda m: 'id="skill-23"' in m)]
        pages, api = await viewer_pages(client)
        assert api == 403
        for html in [*messages, pages]:
            nothing_official(final, html)
            assert not final.names_in(html)

        # live: provisional totals and ranks of everyone (the positive control), never a scale score or medal
        await form_post(client, f"{EVENT}/live/visibility", {"policy": "live"})
        messages = receive_until(socket, lambda m: 'data-policy="live"' in m)
        pages, api = await viewer_pages(client)
        assert api == 403
        assert final.names_in(messages[-1]) == set(final.names) and final.raw_in(messages[-1]) == final.raws
        for html in [*messages, pages]:
            assert not final.scale_in(html)
            assert not [word for word in MEDAL_WORDS if word in html]

        # final: nothing until the results are published, then all of them
        await form_post(client, f"{EVENT}/live/visibility", {"policy": "final"})
        messages = receive_until(socket, lambda m: 'data-policy="final"' in m)
        pages, api = await viewer_pages(client)
        assert api == 403
        for html in [*messages, pages]:
            nothing_official(final, html)
            assert not final.names_in(html)
        await form_post(client, f"{FINAL}/results/publish", {})
        messages = receive_until(socket, lambda m: "Gold" in m)
        assert final.raw_in(messages[-1]) == final.raws and final.names_in(messages[-1]) == set(final.names)
        pages, api = await viewer_pages(client)
        assert api == 200 and final.raw_in(pages) == final.raws
        await form_post(client, f"{FINAL}/results/unpublish", {})
        messages = receive_until(socket, lambda m: 'id="skill-23"' in m and "Gold" not in m)
        for html in [*messages[-1:], (await viewer_pages(client))[0]]:
            nothing_official(final, html)
            assert not final.names_in(html)

        # ceremony: one medal more at each step, names and medals only, never a figure
        await form_post(client, f"{EVENT}/live/visibility", {"policy": "ceremony"})
        messages = receive_until(socket, lambda m: 'data-policy="ceremony"' in m)
        pages, api = await viewer_pages(client)
        assert api == 403
        for html in [*messages, pages]:
            nothing_official(final, html)
            assert not final.names_in(html)
        revealed: set[str] = set()
        for step, medal in enumerate(("bronze", "silver", "gold"), start=1):
            revealed.add(medal)
            await form_post(client, f"{EVENT}/live/ceremony/23/FINAL", {"step": str(step)})
            label = medal.capitalize()
            messages = receive_until(socket, lambda m, label=label: label in m)  # type: ignore[misc]
            pages, api = await viewer_pages(client)
            assert api == 403
            shown = final.medallists(revealed)
            assert shown, f"the final has a {medal} medallist"
            for html in [*messages, pages]:
                assert not final.raw_in(html) and not final.scale_in(html)
                assert final.names_in(html) <= shown
                assert not [w for w in MEDAL_WORDS if w in html and w.lower() not in revealed]
            assert final.names_in(messages[-1]) == shown and final.names_in(pages) == shown
