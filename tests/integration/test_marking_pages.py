"""Marking pages on SQLite and PostgreSQL: the expert's day, forms (blind, own institution not offered),
the landscape view, sign-off and unlocking through the page, marking teams and the audit trail."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.models import AuditRecord
from scoring.models import Aspect, MarkingTeamMember, SubCriterion
from tests.helpers import World, add_scheme, build_world, csrf_headers, form_post, login

pytestmark = pytest.mark.usefixtures("english")

PAGES = "/marking/SL2023/23/SF1"
API = "/api/v1/events/SL2023/skills/23/stages/SF1"


@pytest.fixture
async def world(session: AsyncSession) -> World:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    return world


async def first_sub(session: AsyncSession) -> tuple[str, list[tuple[str, str, str | None, int | None]]]:
    """The first sub-criterion with a judgement aspect, and its aspects (code, kind, calculation, possible)."""
    code = await session.scalar(select(Aspect.code).where(Aspect.kind == "J").order_by(Aspect.id).limit(1))
    assert code is not None
    sub = code.split(".")[0]
    rows = (
        await session.execute(
            select(Aspect.code, Aspect.kind, Aspect.calculation, Aspect.possible)
            .join(SubCriterion, SubCriterion.id == Aspect.sub_criterion_id)
            .where(SubCriterion.code == sub)
            .order_by(Aspect.position)
        )
    ).all()
    await session.commit()
    return sub, [tuple(row) for row in rows]  # type: ignore[misc]


async def as_user(client: AsyncTestClient[Any], email: str) -> None:
    client.cookies.clear()
    response = await login(client, email)
    assert response.status_code in (302, 303), response.text


async def put_mark(client: AsyncTestClient[Any], competitor: str, aspect: str, body: dict[str, Any]) -> None:
    response = await client.put(f"{API}/marks/{competitor}/{aspect}", json=body, headers=await csrf_headers(client))
    assert response.status_code == 200, response.text


async def test_an_expert_sees_their_skill_and_forms_but_not_their_own_institution(
    client: AsyncTestClient[Any], session: AsyncSession, world: World
) -> None:
    sub, _aspects = await first_sub(session)
    await as_user(client, "peteris@example.lv")  # RTK, like C001
    home = await client.get("/marking")
    assert home.status_code == 200 and f'href="{PAGES}"' in home.text
    day = await client.get(PAGES)
    assert day.status_code == 200
    assert f'href="{PAGES}/forms/C002/{sub}"' in day.text
    assert f'href="{PAGES}/forms/C001/{sub}"' not in day.text and "own institution" in day.text
    assert (await client.get(f"{PAGES}/forms/C001/{sub}")).status_code == 403
    form = await client.get(f"{PAGES}/forms/C002/{sub}")
    assert form.status_code == 200
    assert f'data-url="{API}/marks/C002/{sub}.1"' in form.text
    assert "/static/js/marking.js" in form.text
    landscape = await client.get(f"{PAGES}/aspects/{sub}.1")
    assert landscape.status_code == 200
    shown = re.findall(r'data-competitor="(C\d+)"', landscape.text)
    assert shown == ["C002", "C003", "C004"]
    await as_user(client, "guntis@example.lv")  # another skill's expert
    assert (await client.get(PAGES)).status_code == 403


async def test_a_judge_sees_only_their_own_score_until_every_judge_is_in(
    client: AsyncTestClient[Any], session: AsyncSession, world: World
) -> None:
    sub, aspects = await first_sub(session)
    judged = next(code for code, kind, _c, _p in aspects if kind == "J")
    await as_user(client, "andris@example.lv")
    await put_mark(client, "C002", judged, {"score": 3})
    await as_user(client, "peteris@example.lv")
    assert "Waiting for judges: 1" in (await client.get(PAGES)).text
    page = (await client.get(f"{PAGES}/forms/C002/{sub}")).text
    field = page[page.index(f'id="field-C002-{judged}"') :]
    field = field[: field.index('<div class="field-foot">')]
    assert 'aria-checked="true"' not in field  # Andris's 3 is not shown to Pēteris
    assert "1 of 3 in" not in page or "waiting" in page
    await put_mark(client, "C002", judged, {"score": 2})
    page = (await client.get(f"{PAGES}/forms/C002/{sub}")).text
    field = page[page.index(f'id="field-C002-{judged}"') :]
    field = field[: field.index('<div class="field-foot">')]
    assert field.count('aria-checked="true"') == 1 and 'data-body=\'{"score": 2}\' aria-checked="true"' in field


async def test_sign_off_and_unlock_through_the_pages_with_the_audit_trail(
    client: AsyncTestClient[Any], session: AsyncSession, world: World
) -> None:
    sub, aspects = await first_sub(session)
    await as_user(client, "peteris@example.lv")
    refused = await form_post(client, f"{PAGES}/forms/C002/{sub}/lock", {})
    assert refused.status_code == 409 and "is not complete" in refused.text
    for code, kind, calculation, possible in aspects:
        if kind == "J":
            for who in ["andris", "dace", "peteris"]:
                await as_user(client, f"{who}@example.lv")
                await put_mark(client, "C002", code, {"score": 2})
        else:
            value = {"number_completed": possible, "deduction": 0, "choice": 1}.get(calculation or "", 1)
            await put_mark(client, "C002", code, {"value": value})
    page = await client.get(f"{PAGES}/forms/C002/{sub}")
    assert "ready to sign off" in page.text
    locked = await form_post(client, f"{PAGES}/forms/C002/{sub}/lock", {}, follow_redirects=True)
    assert locked.status_code == 200 and "Signed off and locked." in locked.text
    assert "Reason for unlocking" not in locked.text  # only the Chief Expert unlocks

    await as_user(client, "inese@example.lv")
    no_reason = await form_post(client, f"{PAGES}/forms/C002/{sub}/unlock", {"reason": ""})
    assert no_reason.status_code == 422 and "needs a reason" in no_reason.text
    unlocked = await form_post(
        client, f"{PAGES}/forms/C002/{sub}/unlock", {"reason": "wrong robot scored"}, follow_redirects=True
    )
    assert "Unlocked" in unlocked.text
    trail = await client.get(f"{PAGES}/audit", params={"action": "unlock"})
    assert trail.status_code == 200 and "wrong robot scored" in trail.text and "inese@example.lv" in trail.text
    scores = await client.get(f"{PAGES}/audit", params={"competitor": "C002", "action": "score"})
    assert scores.text.count("<tr><td>") == sum(3 for _c, kind, _x, _p in aspects if kind == "J")
    await as_user(client, "peteris@example.lv")
    assert (await client.get(f"{PAGES}/audit")).status_code == 403


async def test_the_chief_expert_assigns_marking_teams(
    client: AsyncTestClient[Any], session: AsyncSession, world: World
) -> None:
    sub, _aspects = await first_sub(session)
    await as_user(client, "inese@example.lv")
    page = await client.get(f"{PAGES}/teams")
    assert page.status_code == 200 and f'name="team-{sub}"' in page.text
    too_small = await form_post(client, f"{PAGES}/teams", {f"team-{sub}": ["E003", "E004"]})
    assert too_small.status_code == 422 and "at least 3" in too_small.text
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(MarkingTeamMember)) == 0
    saved = await form_post(client, f"{PAGES}/teams", {f"team-{sub}": ["E003", "E004", "E005"]}, follow_redirects=True)
    assert "Marking teams saved." in saved.text
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(MarkingTeamMember)) == 3
    assert await session.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "team")) == 1
    await as_user(client, "peteris@example.lv")
    form = await client.get(f"{PAGES}/forms/C002/{sub}")
    assert "not on the marking team" in form.text and "disabled" in form.text
    assert (await client.get(f"{PAGES}/teams")).status_code == 403


async def test_after_log_in_an_expert_lands_on_their_marking(client: AsyncTestClient[Any], world: World) -> None:
    response = await login(client, "peteris@example.lv")
    assert response.status_code == 303 and response.headers["location"] == "/marking"
    client.cookies.clear()
    organiser = await login(client, "organiser@example.lv")
    assert organiser.headers["location"] == "/"
