"""Log-in, log-out, throttling, CSRF, API tokens and the language switch, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.models import ApiToken, User
from tests.helpers import PASSWORD, api_token, build_world, csrf_token, form_post, login


async def test_organiser_logs_in_and_sees_events(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await build_world(session)
    response = await login(client, "organiser@example.lv")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = await client.get("/")
    assert "SkillsLatvia 2023" in home.text
    assert "Olga Organizatore" in home.text


async def test_wrong_password_is_refused_with_a_message(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await build_world(session)
    response = await login(client, "organiser@example.lv", "not the password")
    assert response.status_code == 400
    assert "Nepareizs e-pasts vai parole." in response.text or "Wrong email or password." in response.text
    assert "podium_session" not in client.cookies


async def test_repeated_failures_get_429(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await build_world(session)
    for _ in range(5):
        assert (await login(client, "organiser@example.lv", "guess")).status_code == 400
    response = await login(client, "organiser@example.lv", PASSWORD)
    assert response.status_code == 429


async def test_login_without_csrf_token_is_refused(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await build_world(session)
    await csrf_token(client)
    response = await client.post("/login", data={"email": "organiser@example.lv", "password": PASSWORD})
    assert response.status_code == 403
    assert "podium_session" not in client.cookies


async def test_log_out_ends_the_session(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await build_world(session)
    await login(client, "organiser@example.lv")
    assert "Olga Organizatore" in (await client.get("/")).text
    response = await form_post(client, "/logout", {}, follow_redirects=False)
    assert response.status_code == 303
    assert "Olga Organizatore" not in (await client.get("/")).text


async def test_next_never_leaves_the_site(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await build_world(session)
    token = await csrf_token(client)
    response = await client.post(
        "/login",
        data={"email": "organiser@example.lv", "password": PASSWORD, "next": "//evil.example", "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


async def test_api_token_is_stored_only_as_a_hash(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    world = await build_world(session)
    token = await api_token(session, world.organiser)
    digests = list(await session.scalars(select(ApiToken.digest)))
    assert token not in digests and len(digests) == 1
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == "organiser@example.lv"
    bad = await client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json() == {"detail": bad.json()["detail"]}


async def test_password_is_stored_only_as_an_argon2_hash(session: AsyncSession) -> None:
    await build_world(session)
    stored = await session.scalar(select(User.password_hash).where(User.email == "organiser@example.lv"))
    assert stored is not None and stored.startswith("$argon2") and PASSWORD not in stored


async def test_language_switch_is_remembered_for_the_user(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await build_world(session)
    await login(client, "organiser@example.lv")
    await form_post(client, "/language", {"language": "lv", "next": "/"})
    assert "Pieteikties" not in (await client.get("/")).text
    assert "Iziet" in (await client.get("/")).text
    stored = await session.scalar(select(User.language).where(User.email == "organiser@example.lv"))
    assert stored == "lv"
    client.cookies.delete("podium_lang")
    assert "Iziet" in (await client.get("/")).text, "the choice follows the user, not only the cookie"


async def test_pages_carry_security_headers(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    cookie = response.headers.get("set-cookie", "")
    assert "csrftoken" in cookie
