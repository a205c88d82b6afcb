"""The organiser's registration pages through the test client: guards, round trips with CSRF, messages
beside fields, search, and the htmx partials."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.models import Competitor, Event, Institution, StageEntry, User
from tests.helpers import build_world, csrf_headers, csrf_token, form_post, login

ORGANISER_PAGES = [
    "/events",
    "/events/SL2023",
    "/events/SL2023/edit",
    "/events/SL2023/stages",
    "/events/SL2023/stages/SF1/edit",
    "/events/SL2023/sectors",
    "/events/SL2023/skills",
    "/events/SL2023/skills/23/edit",
    "/events/SL2023/competitors",
    "/events/SL2023/competitors/C001/edit",
    "/events/SL2023/experts",
    "/events/SL2023/experts/E001/edit",
    "/institutions",
    "/institutions/RTK/edit",
    "/events/import",
]
NEW_COMPETITOR = {
    "code": "C010",
    "first_name": "Ieva",
    "last_name": "Zariņa",
    "birth_date": "2005-03-14",
    "institution": "RVT",
    "skill": "23",
    "stage": "SF1",
}
HTMX = {"hx-request": "true"}


def field_errors(html: str) -> dict[str, str]:
    """The message shown beside each field: {field name: message}."""
    return {
        name: message
        for name, message in re.findall(r'<p class="field-error" id="e-([\w-]+)">([^<]*)</p>', html)
    }


async def as_organiser(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await build_world(session)
    assert (await login(client, "organiser@example.lv")).status_code == 303


@pytest.mark.parametrize("url", ORGANISER_PAGES)
async def test_anonymous_visitors_are_sent_to_log_in(
    client: AsyncTestClient[Any], session: AsyncSession, url: str
) -> None:
    await build_world(session)
    response = await client.get(url, follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"] == f"/login?next={url}"


async def test_anonymous_json_requests_get_a_readable_401(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await build_world(session)
    response = await client.get("/events", headers={"accept": "application/json", "accept-language": "en"})
    assert (response.status_code, response.json()) == (401, {"detail": "Please log in."})


async def test_experts_may_not_open_organiser_pages(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await build_world(session)
    await login(client, "inese@example.lv")
    for url in ORGANISER_PAGES:
        assert (await client.get(url)).status_code == 403, url
    response = await form_post(client, "/events/SL2023/competitors", NEW_COMPETITOR)
    assert response.status_code == 403
    assert await session.scalar(select(Competitor).where(Competitor.code == "C010")) is None


async def test_organisers_open_every_page(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await as_organiser(client, session)
    for url in ORGANISER_PAGES:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert "<title>" in response.text


async def test_a_competitor_is_registered_edited_and_deleted(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    response = await form_post(client, "/events/SL2023/competitors", NEW_COMPETITOR, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/events/SL2023/competitors?saved=C010"
    listed = await client.get(response.headers["location"])
    assert "Saved C010." in listed.text and "Ieva Zariņa" in listed.text

    edit = await client.get("/events/SL2023/competitors/C010/edit")
    assert 'value="2005-03-14"' in edit.text and 'value="Zariņa"' in edit.text
    changed = {**NEW_COMPETITOR, "last_name": "Zariņa-Kalna", "stage": "FINAL"}
    response = await form_post(
        client, "/events/SL2023/competitors/C010/edit", changed, follow_redirects=False
    )
    assert response.status_code == 303
    stored = await session.scalar(select(Competitor).where(Competitor.code == "C010"))
    assert stored is not None and stored.last_name == "Zariņa-Kalna"
    entries = list(await session.scalars(select(StageEntry).where(StageEntry.competitor_id == stored.id)))
    assert [e.stage_id for e in entries] == [stored.stage_id]

    response = await form_post(client, "/events/SL2023/competitors/C010/delete", {}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("?deleted=C010")
    await session.rollback()  # end the read transaction that saw C010
    assert await session.scalar(select(Competitor).where(Competitor.code == "C010")) is None


async def test_a_refused_form_comes_back_with_messages_beside_the_fields(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    response = await form_post(
        client, "/events/SL2023/competitors", {**NEW_COMPETITOR, "code": "C001", "institution": "XYZ"}
    )
    assert response.status_code == 422
    assert field_errors(response.text) == {
        "code": "Code C001 is already used by Anna Bērziņa.",
        "institution": "Unknown institution &#39;XYZ&#39;.",
    }
    assert 'value="Zariņa"' in response.text, "what was typed is kept"
    assert '<details id="create" class="card" open>' in response.text


async def test_an_unreadable_date_is_named_beside_its_field(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    response = await form_post(
        client,
        "/events/SL2023/stages",
        {"code": "SF2", "name": "2", "kind": "semi_final", "starts": "1.3.2023"},
    )
    assert response.status_code == 422
    assert field_errors(response.text) == {"starts": "&#39;1.3.2023&#39; is not a date: use YYYY-MM-DD."}


async def test_an_event_ending_before_it_starts_is_refused_on_its_page(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    data = {"code": "SL2023", "name": "SkillsLatvia 2023", "starts": "2023-04-28", "ends": "2023-02-07"}
    response = await form_post(client, "/events/SL2023/edit", data)
    assert response.status_code == 422
    assert field_errors(response.text) == {"ends": "Ends before it starts."}


async def test_posting_without_the_csrf_token_is_refused(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    response = await client.post("/events/SL2023/competitors", data=NEW_COMPETITOR)
    assert response.status_code == 403
    assert await session.scalar(select(Competitor).where(Competitor.code == "C010")) is None


async def test_competitors_are_searched_by_name_without_diacritics(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    response = await client.get("/events/SL2023/competitors?q=berzina")
    assert "Anna Bērziņa" in response.text and "Jānis Kalniņš" not in response.text
    response = await client.get("/events/SL2023/competitors?q=C004")
    assert "Mārtiņš Liepiņš" in response.text and "Anna Bērziņa" not in response.text


async def test_competitors_are_filtered_by_skill_stage_and_institution(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    assert "Shown: 1" in (await client.get("/events/SL2023/competitors?institution=RVT")).text
    assert "Shown: 4" in (await client.get("/events/SL2023/competitors?stage=SF1&skill=23")).text
    assert "Nothing matches the search." in (await client.get("/events/SL2023/competitors?stage=FINAL")).text


async def test_live_search_gets_only_the_list(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await as_organiser(client, session)
    response = await client.get("/events/SL2023/competitors?q=liga", headers={**HTMX, "hx-target": "rows"})
    assert response.status_code == 200
    assert "<html" not in response.text and "<table>" in response.text
    assert "Līga Ozola" in response.text and "Anna Bērziņa" not in response.text
    page = await client.get("/events/SL2023/competitors")
    assert 'hx-trigger="input changed delay:300ms, search"' in page.text and 'hx-target="#rows"' in page.text


async def test_htmx_registration_swaps_the_form_and_the_list(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    headers = {
        **HTMX,
        **await csrf_headers(client),
        "hx-current-url": "http://testserver.local/events/SL2023/competitors",
    }
    response = await client.post("/events/SL2023/competitors", data=NEW_COMPETITOR, headers=headers)
    assert response.status_code == 200
    assert '<form id="create-form"' in response.text and 'hx-swap-oob="true"' in response.text
    assert "Saved C010 Ieva Zariņa." in response.text and "<html" not in response.text

    response = await client.post(
        "/events/SL2023/competitors", data={**NEW_COMPETITOR, "skill": "99"}, headers=headers
    )
    assert response.status_code == 200, "htmx swaps the form back with its messages"
    assert field_errors(response.text) == {
        "code": "Code C010 is already used by Ieva Zariņa.",
        "skill": "Unknown skill &#39;99&#39;.",
    }
    assert "hx-swap-oob" not in response.text


async def test_htmx_deletion_removes_the_row_or_says_why_not(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    headers = {**HTMX, **await csrf_headers(client)}
    response = await client.post("/institutions/RTK/delete", headers=headers)
    assert response.status_code == 200
    assert response.headers["hx-retarget"] == "#notice"
    assert "Rīgas Tehniskā koledža is still in use (competitors: 1, experts: 2)" in response.text
    await form_post(client, "/institutions", {"code": "ACME", "name": "Acme SIA", "kind": "company"})
    response = await client.post("/institutions/ACME/delete", headers=headers)
    assert (response.status_code, response.text) == (200, "")
    assert await session.scalar(select(Institution).where(Institution.code == "ACME")) is None


async def test_a_refused_deletion_without_javascript_shows_the_reason(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    response = await form_post(client, "/events/SL2023/stages/SF1/delete", {})
    assert response.status_code == 409
    assert "Semi-final 1 is still in use (competitors: 4) and cannot be deleted." in response.text


async def test_an_organiser_gives_an_expert_a_password(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    expert = {
        "code": "E010",
        "first_name": "Rūta",
        "last_name": "Bērziņa",
        "email": "Ruta@Example.lv",
        "institution": "OT",
        "skill": "04",
        "role": "chief_expert",
    }
    assert (
        await form_post(client, "/events/SL2023/experts", expert, follow_redirects=False)
    ).status_code == 303
    page = await client.get("/events/SL2023/experts/E010/edit")
    assert "ruta@example.lv has no password yet" in page.text
    short = await form_post(client, "/events/SL2023/experts/E010/password", {"password": "short"})
    assert short.status_code == 422
    assert field_errors(short.text) == {"password": "Use at least 8 characters."}
    response = await form_post(
        client,
        "/events/SL2023/experts/E010/password",
        {"password": "marking day one"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert (
        "Password set: ruta@example.lv can log in now."
        in (await client.get(response.headers["location"])).text
    )
    user = await session.scalar(select(User).where(User.email == "ruta@example.lv"))
    assert user is not None and user.role == "chief_expert"
    await form_post(client, "/logout", {})
    assert (await login(client, "ruta@example.lv", "marking day one")).status_code == 303


async def test_an_event_is_created_from_the_events_page(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    data = {"code": "RC2022", "name": "Road construction 2022", "starts": "2022-05-03", "ends": "2022-05-04"}
    response = await form_post(client, "/events", data, follow_redirects=False)
    assert response.headers["location"] == "/events?saved=RC2022"
    events = await client.get("/events")
    assert "Road construction 2022" in events.text and "3 May 2022" in events.text
    assert await session.scalar(select(Event.name).where(Event.code == "RC2022")) == "Road construction 2022"


async def test_the_overview_counts_competitors_per_skill_and_stage(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await as_organiser(client, session)
    page = (await client.get("/events/SL2023")).text
    row = re.search(r"23 Mobile Robotics</a></th>(.*?)</tr>", page, re.S)
    assert row is not None
    cells = [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]
    assert cells == ["Manufacturing and engineering technology", "Inese Kalniņa", "5", "4", "", "4"]
    assert "7 Feb 2023" in page, "dates in the local format"


async def test_the_pages_speak_latvian(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await as_organiser(client, session)
    await form_post(client, "/language", {"language": "lv", "next": "/"})
    page = await client.get("/events/SL2023/competitors")
    assert "Sacensību dalībnieki" in page.text and "Reģistrēt dalībnieku" in page.text


async def test_an_uploaded_workbook_is_imported(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    from tests.unit.event_workbooks import good_sheets, workbook_bytes

    await as_organiser(client, session)
    token = await csrf_token(client)
    files = {"workbook": ("event.xlsx", workbook_bytes(good_sheets()), "application/octet-stream")}
    response = await client.post("/events/import", files=files, data={"_csrf_token": token})
    assert response.status_code == 200
    assert "TEST23: 2 stages (2 new)" in response.text and 'href="/events/TEST23"' in response.text
    record = await session.scalar(select(User).where(User.email == "zane@example.lv"))
    assert record is not None


async def test_a_refused_upload_lists_every_problem(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    from tests.unit.event_workbooks import good_sheets, workbook_bytes

    await as_organiser(client, session)
    token = await csrf_token(client)
    sheets = good_sheets()
    sheets["Competitors"][2][4] = "XYZ"
    files = {"workbook": ("event.xlsx", workbook_bytes(sheets), "application/octet-stream")}
    response = await client.post("/events/import", files=files, data={"_csrf_token": token})
    assert response.status_code == 422
    assert "Competitors row 3: unknown institution &#39;XYZ&#39;" in response.text
    assert await session.scalar(select(Event).where(Event.code == "TEST23")) is None
    files = {"workbook": ("notes.xlsx", b"not a workbook", "application/octet-stream")}
    response = await client.post("/events/import", files=files, data={"_csrf_token": token})
    assert response.status_code == 422 and "notes.xlsx is not an Excel workbook (.xlsx)." in response.text
    response = await client.post(
        "/events/import", data={"_csrf_token": token}, files={"other": ("x", b"", "")}
    )
    assert response.status_code == 400 and "Choose an event workbook (.xlsx) to import." in response.text


async def test_an_expert_with_the_longest_names_allowed_is_registered_with_a_log_in(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    """First and last name at their limits (100 characters each) make a full name longer than a user's name
    column: it was a server error on PostgreSQL."""
    await as_organiser(client, session)
    expert = {"code": "E011", "first_name": "Ā" * 100, "last_name": "Ē" * 100, "email": "long@example.lv",
              "institution": "OT", "skill": "04", "role": "expert"}
    response = await form_post(client, "/events/SL2023/experts", expert, follow_redirects=False)
    assert response.status_code == 303
    user = await session.scalar(select(User).where(User.email == "long@example.lv"))
    assert user is not None and user.name.startswith("Ā" * 100 + " Ē")
