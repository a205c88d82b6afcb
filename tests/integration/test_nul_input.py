"""A NUL character in a posted form field or a query parameter is refused with 400 naming it, and nothing is
saved (PostgreSQL refuses NUL in text: these used to be server errors, issue 8)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.models import AuditRecord, Competitor, Event, Institution, Sector, Stage
from tests.helpers import add_scheme, build_world, csrf_token, form_post, login

pytestmark = pytest.mark.usefixtures("english")

NUL = "Rīga\x00"
STAGE = "/events/SL2023/skills/23/stages/SF1"

FORMS = {
    "/events": {"code": "SL2024", "name": NUL, "starts": "2024-02-01", "ends": "2024-04-30", "venue": "Rīga"},
    "/institutions": {"code": "VTU", "name": NUL, "kind": "school"},
    "/events/SL2023/sectors": {"name": NUL},
    "/events/SL2023/stages": {"code": "SF2", "name": NUL, "kind": "semi_final", "starts": "2023-02-09",
                              "ends": "2023-02-10", "venue": "Liepāja"},
    "/events/SL2023/competitors": {"code": "C009", "first_name": NUL, "last_name": "Ozola", "institution": "RTK",
                                   "skill": "23", "stage": "SF1", "birth_date": "2004-05-01"},
    "/events/SL2023/competitors/C001/edit": {"code": "C001", "first_name": "Anna", "last_name": NUL,
                                             "institution": "RTK", "skill": "23", "stage": "SF1"},
    f"{STAGE}/results/unpublish": {"reason": NUL},
    "/marking/SL2023/23/SF1/forms/C003/A1/unlock": {"reason": NUL},
}
"""Forms an organiser posts, each valid but for a NUL in one field."""


async def counts(session: AsyncSession) -> tuple[int, ...]:
    await session.commit()
    return tuple(
        [
            await session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Event, Institution, Sector, Stage, Competitor, AuditRecord)
        ]
    )


async def test_a_nul_in_a_form_field_is_refused_naming_the_field_and_nothing_changes(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    await login(client, "organiser@example.lv")
    before = await counts(session)
    for url, form in FORMS.items():
        field = next(name for name, value in form.items() if value == NUL)
        response = await form_post(client, url, form, follow_redirects=False)
        assert response.status_code == 400, (url, response.status_code)
        assert f"{field} holds a NUL character" in response.text, url
    assert await counts(session) == before
    await session.refresh(world.competitors[0])
    assert world.competitors[0].last_name == "Bērziņa"


async def test_a_nul_in_the_log_in_form_is_refused(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await build_world(session)
    token = await csrf_token(client)
    response = await client.post(
        "/login",
        data={"email": "organiser@example.lv\x00", "password": "x", "_csrf_token": token},
        headers={"accept-language": "en"},
    )
    assert response.status_code == 400 and "email holds a NUL character" in response.text


@pytest.mark.parametrize(
    "url",
    [
        "/events/SL2023/competitors?skill=%00",
        f"{STAGE}/forms?competitor=C0%0001",
        "/marking/SL2023/23/SF1?competitor=%00",
        "/live/SL2023?lang=e%00n",
        "/api/v1/events/SL2023/skills/23/stages/SF1/results?x=%00",
    ],
)
async def test_a_nul_in_a_query_parameter_is_refused_naming_it(
    client: AsyncTestClient[Any], session: AsyncSession, url: str
) -> None:
    await build_world(session)
    await login(client, "organiser@example.lv")
    response = await client.get(url)
    assert response.status_code == 400
    name = url.split("?")[1].split("=")[0]
    assert f"{name} holds a NUL character" in response.text
    if url.startswith("/api/"):
        assert response.headers["content-type"].startswith("application/json")
