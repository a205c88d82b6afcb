"""CSRF refusals for form and htmx posts without the token, and the session cookie's flags over HTTP and HTTPS."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from http.cookies import SimpleCookie
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import create_app
from competition.config import Settings
from competition.models import Event, Institution, Stage, Visibility
from scoring.models import Aspect, Form, MarkingScheme
from tests.helpers import World, add_scheme, build_world, csrf_token, login, mark_all

pytestmark = pytest.mark.usefixtures("english")

HTMX = {"hx-request": "true"}
Check = Callable[[AsyncSession, AsyncTestClient[Any]], Awaitable[Any]]


async def institutions(session: AsyncSession, client: AsyncTestClient[Any]) -> Any:
    return await session.scalar(select(func.count()).select_from(Institution))


async def final_aspects(session: AsyncSession, client: AsyncTestClient[Any]) -> Any:
    return await session.scalar(
        select(func.count())
        .select_from(Aspect)
        .join(MarkingScheme, MarkingScheme.id == Aspect.scheme_id)
        .join(Stage, Stage.id == MarkingScheme.stage_id)
        .where(Stage.code == "FINAL")
    )


async def locked_forms(session: AsyncSession, client: AsyncTestClient[Any]) -> Any:
    return await session.scalar(select(func.count()).select_from(Form).where(Form.locked.is_(True)))


async def visibility(session: AsyncSession, client: AsyncTestClient[Any]) -> Any:
    return await session.scalar(select(Event.visibility).where(Event.code == "SL2023"))


async def signed_in(session: AsyncSession, client: AsyncTestClient[Any]) -> Any:
    return (await client.get("/api/v1/me")).status_code == 200


@dataclass(frozen=True)
class Post:
    """A state-changing post, who sends it, and what it changes (read before and after)."""

    email: str
    url: str
    data: dict[str, str]
    state: Check


POSTS = {
    "create an institution": Post(
        "organiser@example.lv", "/institutions", {"code": "ACME", "name": "Acme SIA", "kind": "company"}, institutions
    ),
    "add an aspect in the scheme editor": Post(
        "inese@example.lv",
        "/events/SL2023/skills/23/stages/FINAL/scheme/edit/sub-criteria/A1/aspects",
        {"kind": "M"},
        final_aspects,
    ),
    "unlock a marking form": Post(
        "inese@example.lv", "/marking/SL2023/23/SF1/forms/C004/A1/unlock", {"reason": "a typo"}, locked_forms
    ),
    "change the live board's visibility": Post(
        "organiser@example.lv", "/events/SL2023/live/visibility", {"policy": Visibility.LIVE.value}, visibility
    ),
    "log out": Post("zane@example.lv", "/logout", {}, signed_in),
}


async def arrange(session: AsyncSession) -> World:
    world = await build_world(session)
    semi = await add_scheme(session, world.skill, world.semi_final)
    await add_scheme(session, world.skill, world.final)
    await mark_all(session, semi, world.competitors[3], [world.chief, *world.experts[:2]])  # C004's forms locked
    return world


@pytest.mark.parametrize("name", list(POSTS))
async def test_a_post_without_the_csrf_token_is_refused(
    client: AsyncTestClient[Any], session: AsyncSession, name: str
) -> None:
    post = POSTS[name]
    await arrange(session)
    assert (await login(client, post.email)).status_code == 303
    before = await post.state(session, client)
    await session.commit()
    refused = {
        "form without the token": await client.post(post.url, data=post.data),
        "htmx without the token": await client.post(post.url, data=post.data, headers=HTMX),
        "form with another token": await client.post(post.url, data={**post.data, "_csrf_token": "forged"}),
        "htmx with another token": await client.post(post.url, data=post.data, headers={**HTMX, "x-csrftoken": "x"}),
    }
    for how, response in refused.items():
        assert response.status_code == 403, f"{name}, {how}: {response.status_code}"
    assert await post.state(session, client) == before, f"{name}: a refused post changed something"
    await session.commit()
    token = await csrf_token(client)
    accepted = await client.post(post.url, data={**post.data, "_csrf_token": token}, follow_redirects=False)
    assert accepted.status_code == 303, f"{name} with the token: {accepted.status_code} {accepted.text[:300]}"
    assert await post.state(session, client) != before, f"{name}: the same post with the token changes it"


def cookies_set(response: Any) -> dict[str, Any]:
    """The response's Set-Cookie headers by cookie name (morsels: flags read as `morsel["httponly"]`)."""
    found: dict[str, Any] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        found.update(jar)
    return found


async def test_the_session_cookie_is_http_only_and_same_site_lax(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await build_world(session)
    page = cookies_set(await client.get("/login"))
    assert page["csrftoken"]["samesite"].lower() == "strict"
    assert not page["csrftoken"]["secure"], "plain HTTP (PODIUM_HTTPS unset): a Secure cookie would never come back"
    response = await login(client, "organiser@example.lv")
    cookie = cookies_set(response)["podium_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert not cookie["secure"]


@pytest.fixture
def https_app(settings: Settings, engine: AsyncEngine) -> Litestar:
    """The app as deployed behind HTTPS: PODIUM_HTTPS=1 (README, "Deploying")."""
    return create_app(replace(settings, https=True), engine=engine)


async def test_over_https_the_session_and_csrf_cookies_are_secure(https_app: Litestar, session: AsyncSession) -> None:
    await build_world(session)
    async with AsyncTestClient(app=https_app, base_url="https://testserver.local") as client:
        page = cookies_set(await client.get("/login"))
        assert page["csrftoken"]["secure"] is True
        assert page["csrftoken"]["samesite"].lower() == "strict"
        cookie = cookies_set(await login(client, "organiser@example.lv"))["podium_session"]
        assert cookie["secure"] is True
        assert cookie["httponly"] is True
        assert cookie["samesite"].lower() == "lax"
        assert (await client.get("/api/v1/me")).json()["email"] == "organiser@example.lv"
