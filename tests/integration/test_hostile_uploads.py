"""Hostile and oversized files through the three upload pages (event workbook, marking scheme, marks
workbook) on SQLite and PostgreSQL: the page says what is wrong, and nothing already saved changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.config import Settings
from competition.models import AuditRecord, Competitor, Event
from scoring.models import Aspect, JudgeScore, Measurement
from tests import hostile_workbooks as hostile
from tests.helpers import add_scheme, build_world, csrf_token, login

LIMIT = 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ENGLISH = {"accept-language": "en"}

pytestmark = pytest.mark.usefixtures("english")

# who uploads, where, under which form field
UPLOADS: dict[str, tuple[str, str, str]] = {
    "event": ("organiser@example.lv", "/events/import", "workbook"),
    "scheme": ("organiser@example.lv", "/events/SL2023/skills/23/stages/SF1/scheme/upload", "scheme"),
    "marks": ("organiser@example.lv", "/marking/SL2023/23/SF1/import", "workbook"),
}
GOOD: dict[str, Callable[[], bytes]] = {
    "event": hostile.good_event,
    "scheme": hostile.good_scheme,
    "marks": hostile.good_marks,
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The test settings with a 1 MB upload limit, so an oversized upload is cheap to send."""
    return Settings(
        database_url=database_url, secret="test-secret-" + "x" * 32, data_dir=tmp_path / "data", max_upload_bytes=LIMIT
    )


async def saved(session: AsyncSession) -> dict[str, int]:
    """How many records of each kind an upload could add or change."""
    models = (Event, Competitor, Aspect, JudgeScore, Measurement, AuditRecord)
    session.expire_all()
    return {model.__name__: int(await session.scalar(select(func.count()).select_from(model)) or 0) for model in models}


async def post(client: AsyncTestClient[Any], kind: str, name: str, content: bytes) -> Any:
    email, url, field = UPLOADS[kind]
    await login(client, email)
    token = await csrf_token(client)
    return await client.post(url, files={field: (name, content, XLSX)}, data={"_csrf_token": token}, headers=ENGLISH)


@pytest.fixture
async def world(session: AsyncSession) -> dict[str, int]:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    return await saved(session)


HOSTILE: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "billion laughs": (hostile.entity_bomb, "declares an XML document type or entities"),
    "zip bomb": (hostile.zip_bomb, "The workbook unpacks to 250 MB; at most 200 MB are read."),
    "not a workbook": (lambda _good: hostile.csv_text(), "not a"),
}


@pytest.mark.parametrize("spoiler", HOSTILE)
@pytest.mark.parametrize("kind", UPLOADS)
async def test_a_hostile_upload_is_refused_on_the_page_and_nothing_changes(
    client: AsyncTestClient[Any], session: AsyncSession, world: dict[str, int], kind: str, spoiler: str
) -> None:
    spoil, expected = HOSTILE[spoiler]
    response = await post(client, kind, "upload.xlsx", spoil(GOOD[kind]()))
    assert response.status_code == 422, response.text[:500]
    assert expected in response.text
    assert await saved(session) == world


@pytest.mark.parametrize("kind", UPLOADS)
async def test_an_upload_over_the_size_limit_is_refused_with_413_and_nothing_changes(
    client: AsyncTestClient[Any], session: AsyncSession, world: dict[str, int], kind: str
) -> None:
    response = await post(client, kind, "big.xlsx", GOOD[kind]() + b"\0" * (LIMIT + 1))
    assert response.status_code == 413
    assert "The upload is larger than the limit of 1 MB; nothing was saved." in response.text
    assert await saved(session) == world


async def test_merged_competitor_cells_in_a_marks_upload_name_the_row(
    client: AsyncTestClient[Any], session: AsyncSession, world: dict[str, int]
) -> None:
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(hostile.marks_bytes([["C002", "A1.1", 1], ["C002", "A1.2", 1]])))
    book["Marks"].merge_cells("A2:A3")
    response = await post(client, "marks", "merged.xlsx", hostile.saved(book))
    assert response.status_code == 422
    assert "Marks row 3: " in response.text and "nothing was saved" in response.text
    assert await saved(session) == world
