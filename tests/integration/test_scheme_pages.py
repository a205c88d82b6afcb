"""Marking scheme pages through the test client: who reads a scheme, the upload (the ES2025 file, broken files,
a marked scheme), the downloads (the scheme re-imports as itself; the blank marks workbook)."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition import i18n
from competition.models import AuditRecord
from scoring.cis_xlsx import read_scheme, write_scheme
from scoring.models import Aspect, MarkingScheme
from scoring.scheme import find_scheme, full_scheme_query, scheme_data_of
from tests.conftest import shared_data
from tests.helpers import SCHEMES, add_scheme, build_world, csrf_token, login, mark_all

SCHEME = "/events/SL2023/skills/23/stages/SF1/scheme"
ENGLISH = {"accept-language": "en"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def upload(client: AsyncTestClient[Any], content: bytes, filename: str = "scheme.xlsx") -> Any:
    token = await csrf_token(client)
    return await client.post(
        f"{SCHEME}/upload",
        files={"scheme": (filename, content, XLSX)},
        data={"_csrf_token": token},
        headers=ENGLISH,
    )


async def counts(session: AsyncSession) -> tuple[int, int]:
    schemes = await session.scalar(select(func.count()).select_from(MarkingScheme))
    aspects = await session.scalar(select(func.count()).select_from(Aspect))
    return schemes or 0, aspects or 0


async def stored(session: AsyncSession) -> MarkingScheme | None:
    """The scheme as the database has it now (not as this session remembers it)."""
    await session.commit()
    query = select(MarkingScheme).options(*full_scheme_query()).execution_options(populate_existing=True)
    return await session.scalar(query)


def broken_copy(tmp_path: Path) -> tuple[bytes, list[int]]:
    """The mobile robotics scheme with the type of its first two aspects made "X": two structural errors."""
    workbook = openpyxl.load_workbook(SCHEMES / "skill_23_mobile_robotics.xlsx")
    rows = []
    for row in workbook.worksheets[0].iter_rows():
        if row[3].value in ("M", "J") and len(rows) < 2:
            row[3].value = "X"
            rows.append(row[3].row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), rows


# --- reading the scheme -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["peteris@example.lv", "inese@example.lv", "organiser@example.lv"])
async def test_the_skills_experts_chief_expert_and_organisers_read_the_scheme(
    client: AsyncTestClient[Any], session: AsyncSession, who: str
) -> None:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    await login(client, who)
    response = await client.get(SCHEME, headers=ENGLISH)
    assert response.status_code == 200
    page = response.text
    loaded = await find_scheme(session, world.skill, world.semi_final)
    assert loaded is not None and loaded.id == scheme.id
    for criterion in loaded.criteria:
        assert f"{criterion.code} {criterion.name}" in page
        for sub in criterion.sub_criteria:
            assert f'id="sub-{sub.code}"' in page
            if sub.day:
                assert f"Day {sub.day}" in page
            for aspect in sub.aspects:
                assert f'id="aspect-{aspect.code}"' in page
                for descriptor in aspect.descriptors:
                    assert descriptor.text.replace("'", "&#39;").replace('"', "&#34;") in page
    assert "Ready for marking" in page
    assert "<svg" in page and "Marks per standards section against their weightings" in page
    assert "100.00" in page
    manager = who != "peteris@example.lv"
    assert ("Edit the scheme" in page) is manager


@pytest.mark.parametrize("who", [None, "guntis@example.lv"])
async def test_visitors_and_experts_of_other_skills_do_not_read_the_scheme(
    client: AsyncTestClient[Any], session: AsyncSession, who: str | None
) -> None:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    if who:
        await login(client, who)
    for url in (SCHEME, f"{SCHEME}/download", f"{SCHEME}/marks-template"):
        response = await client.get(url, headers=ENGLISH, follow_redirects=False)
        if who:
            assert response.status_code == 403, url
        else:  # asked to log in
            assert response.status_code == 302 and response.headers["location"].startswith("/login"), url


async def test_a_draft_shows_its_warnings_and_a_marked_scheme_cannot_be_edited(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    world = await build_world(session)
    read = read_scheme(shared_data("ES2025_Marking_Scheme_Web_Development_17.xlsx"))
    assert read.scheme is not None
    from dataclasses import replace

    shorter = replace(read.scheme, aspects=read.scheme.aspects[:-1])
    from scoring.scheme import save_scheme

    scheme = await save_scheme(session, None, world.skill, world.semi_final, shorter)
    await session.commit()
    await login(client, "inese@example.lv")
    page = (await client.get(SCHEME, headers=ENGLISH)).text
    assert "Draft: cannot be marked yet" in page
    assert "a marking scheme totals 100" in page
    assert "Edit the scheme" in page
    await mark_all(session, scheme, world.competitors[0], world.experts[:3], lock=False)
    page = (await client.get(SCHEME, headers=ENGLISH)).text
    assert "Edit the scheme" not in page
    assert "can no longer be edited" in page


async def test_without_a_scheme_the_chief_expert_is_offered_the_import(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await build_world(session)
    await login(client, "inese@example.lv")
    response = await client.get(SCHEME, headers=ENGLISH)
    assert response.status_code == 200
    assert "no marking scheme for this stage yet" in response.text
    assert f'href="{SCHEME}/upload"' in response.text
    assert (await client.get(f"{SCHEME}/download", headers=ENGLISH)).status_code == 404


async def test_the_stage_results_page_and_the_event_overview_link_to_the_scheme(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    await login(client, "organiser@example.lv")
    assert f'href="{SCHEME}"' in (await client.get("/events/SL2023/skills/23/stages/SF1/results")).text
    assert f'href="{SCHEME}"' in (await client.get("/events/SL2023")).text


# --- upload ---------------------------------------------------------------------------------------


async def test_the_es2025_file_uploads_with_its_counts_and_flaws_as_the_command_prints_them(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await build_world(session)
    await login(client, "inese@example.lv")
    path = shared_data("ES2025_Marking_Scheme_Web_Development_17.xlsx")
    response = await upload(client, path.read_bytes(), path.name)
    assert response.status_code == 200
    page = response.text
    assert (f"{path.name}: 6 criteria, 31 sub-criteria, 192 aspects (173 M, 19 J), total 100.00") in page
    assert "CIS Marking Scheme Import: Row 333: warning:" in page
    assert "CIS Marking Scheme Import: Row 334: warning:" in page
    assert "RANGED_SCORE" in page
    assert "Saved for skill 23, stage SF1: ready for marking." in page
    assert await counts(session) == (1, 192)
    audit = await session.scalar(select(AuditRecord).where(AuditRecord.action == "scheme_imported"))
    assert audit is not None and audit.actor


async def test_a_broken_file_is_refused_with_every_bad_row_and_nothing_changes(
    client: AsyncTestClient[Any], session: AsyncSession, tmp_path: Path
) -> None:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    before = scheme_data_of(await find_scheme(session, world.skill, world.semi_final))  # type: ignore[arg-type]
    await login(client, "organiser@example.lv")
    content, rows = broken_copy(tmp_path)
    response = await upload(client, content, "broken.xlsx")
    assert response.status_code == 422
    for row in rows:
        assert f"CIS Marking Scheme Import: Row {row}: error:" in response.text
    assert "broken.xlsx: refused with" in response.text and "nothing was saved" in response.text
    after = await stored(session)
    assert after is not None and scheme_data_of(after) == before


async def test_a_file_that_is_not_a_workbook_is_refused(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await build_world(session)
    await login(client, "inese@example.lv")
    response = await upload(client, b"not a spreadsheet", "notes.xlsx")
    assert response.status_code == 422
    assert "nothing was saved" in response.text
    assert await counts(session) == (0, 0)


async def test_a_scheme_with_marks_is_not_replaced_by_an_upload(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    await mark_all(session, scheme, world.competitors[0], world.experts[:3])
    await login(client, "inese@example.lv")
    response = await upload(client, (SCHEMES / "skill_34_cooking.xlsx").read_bytes(), "cooking.xlsx")
    assert response.status_code == 409
    assert "can no longer be replaced" in response.text
    kept = await stored(session)
    assert kept is not None and kept.id == scheme.id and kept.source_filename == "skill_23_mobile_robotics.xlsx"


async def test_experts_may_not_upload(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await build_world(session)
    await login(client, "peteris@example.lv")
    assert (await client.get(f"{SCHEME}/upload")).status_code == 403
    response = await upload(client, (SCHEMES / "skill_34_cooking.xlsx").read_bytes())
    assert response.status_code == 403
    assert await counts(session) == (0, 0)


# --- downloads ------------------------------------------------------------------------------------


async def test_the_downloaded_scheme_imports_back_as_the_same_scheme(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    world = await build_world(session)
    await login(client, "inese@example.lv")
    path = shared_data("ES2025_Marking_Scheme_Web_Development_17.xlsx")
    assert (await upload(client, path.read_bytes(), path.name)).status_code == 200
    response = await client.get(f"{SCHEME}/download")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(XLSX)
    assert "SL2023-23-SF1-marking-scheme.xlsx" in response.headers["content-disposition"]
    again = read_scheme(response.content)
    assert again.scheme is not None, again.problems
    stored = await find_scheme(session, world.skill, world.semi_final)
    assert stored is not None
    assert again.scheme == scheme_data_of(stored)
    with i18n.language("en"):  # the labels the reader gives ranged options are in the page's language
        original = read_scheme(path)
    assert original.scheme is not None and again.scheme == original.scheme


async def test_the_blank_marks_workbook_has_a_row_per_competitor_and_aspect(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    await login(client, "peteris@example.lv")
    response = await client.get(f"{SCHEME}/marks-template")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    rows = list(workbook["Marks"].iter_rows(values_only=True))
    assert rows[0] == ("Competitor", "Aspect", "Value", "Judge 1", "Judge 2", "Judge 3", "Reason")
    stored = await find_scheme(session, world.skill, world.semi_final)
    assert stored is not None
    codes = [a.code for c in stored.criteria for s in c.sub_criteria for a in s.aspects]
    expected = [(competitor.code, code) for competitor in sorted(world.competitors, key=lambda c: c.code)
                for code in codes]
    assert [(row[0], row[1]) for row in rows[1:]] == expected
    assert all(row[2:] == (None,) * 5 for row in rows[1:])


async def test_a_name_longer_than_podium_stores_is_refused_at_its_row_and_nothing_is_saved(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    """On PostgreSQL a name wider than its column used to fail the save with a server error."""
    await build_world(session)
    await login(client, "inese@example.lv")
    scheme = read_scheme(SCHEMES / "skill_23_mobile_robotics.xlsx").scheme
    assert scheme is not None
    criterion = scheme.criteria[0]
    long = replace(scheme, criteria=(replace(criterion, name="N" * 301), *scheme.criteria[1:]))
    content = write_scheme(long)
    read_back = read_scheme(content).scheme
    response = await upload(client, content, "long.xlsx")
    assert response.status_code == 422
    assert f"the name of criterion {criterion.code} is 301 characters long; Podium stores at most 300." in response.text
    assert "long.xlsx: refused with 1 error; nothing was saved" in response.text
    assert read_back is None
    assert await counts(session) == (0, 0)
