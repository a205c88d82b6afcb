"""`podium import-scheme`: prints what the CIS workbook holds and every problem with its sheet row, stores the
scheme (ready, or a draft when it does not total 100), and refuses broken files or marked schemes unchanged."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scoring.models import Aspect, MarkingScheme
from tests.helpers import SCHEMES, add_scheme, build_world, mark_all
from tests.integration.test_event_import_cli import command_environment, podium

__all__ = ["command_environment"]  # the fixture, used by every test here

pytestmark = pytest.mark.usefixtures("english")

ES2025 = Path(__file__).resolve().parents[3] / "shared" / "data" / "ES2025_Marking_Scheme_Web_Development_17.xlsx"


def import_args(database_url: str, file: Path, stage: str = "FINAL") -> list[str]:
    return ["--database", database_url, "import-scheme", "--event", "SL2023", "--skill", "23", "--stage", stage,
            str(file)]


async def schemes_and_aspects(session: AsyncSession) -> tuple[int, int]:
    schemes = await session.scalar(select(func.count()).select_from(MarkingScheme))
    aspects = await session.scalar(select(func.count()).select_from(Aspect))
    return schemes or 0, aspects or 0


async def test_the_es2025_file_imports_with_its_counts_and_flaws_named(
    capsys: pytest.CaptureFixture[str], database_url: str, session: AsyncSession
) -> None:
    await build_world(session)
    await session.commit()
    code, out, err = await podium(capsys, *import_args(database_url, ES2025))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        "ES2025_Marking_Scheme_Web_Development_17.xlsx: 6 criteria, 31 sub-criteria, 192 aspects (173 M, 19 J), "
        "total 100.00"
    )
    assert [line.split(":")[1].strip() for line in lines[1:3]] == ["Row 333", "Row 334"]
    assert all("warning" in line for line in lines[1:3])
    assert "RANGED_SCORE" in lines[1] and "E1.2" in lines[1]
    assert lines[-1] == "Saved for skill 23, stage FINAL: ready for marking."  # it totals 100; ranges read as choices
    assert await schemes_and_aspects(session) == (1, 192)


async def test_a_demo_scheme_is_ready_for_marking(
    capsys: pytest.CaptureFixture[str], database_url: str, session: AsyncSession
) -> None:
    await build_world(session)
    await session.commit()
    code, out, err = await podium(capsys, *import_args(database_url, SCHEMES / "skill_23_mobile_robotics.xlsx"))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "Saved for skill 23, stage FINAL: ready for marking."
    scheme = await session.scalar(select(MarkingScheme))
    assert scheme is not None and scheme.status == "ready"


async def test_a_scheme_not_totalling_100_is_saved_as_a_draft(
    capsys: pytest.CaptureFixture[str], database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    await build_world(session)
    await session.commit()
    workbook = openpyxl.load_workbook(SCHEMES / "skill_23_mobile_robotics.xlsx")
    sheet = workbook.worksheets[0]
    aspect_row = next(row for row in sheet.iter_rows() if row[3].value == "M")
    max_mark = next(cell for cell in reversed(aspect_row) if isinstance(cell.value, (int, float)))
    max_mark.value = max_mark.value + 1
    short = tmp_path / "short.xlsx"
    workbook.save(short)
    code, out, err = await podium(capsys, *import_args(database_url, short))
    assert (code, err) == (0, "")
    assert any("warning" in line and "100" in line for line in out.splitlines()[1:-1])
    assert out.splitlines()[-1] == (
        "Saved for skill 23, stage FINAL as a draft: it cannot be marked until its aspects total 100."
    )
    scheme = await session.scalar(select(MarkingScheme))
    assert scheme is not None and scheme.status == "draft"


async def test_a_broken_file_names_every_bad_row_and_saves_nothing(
    capsys: pytest.CaptureFixture[str], database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    await build_world(session)
    await session.commit()
    workbook = openpyxl.load_workbook(SCHEMES / "skill_23_mobile_robotics.xlsx")
    sheet = workbook.worksheets[0]
    broken_rows = []
    for row in sheet.iter_rows():
        if row[3].value in ("M", "J") and len(broken_rows) < 2:
            row[3].value = "X"
            broken_rows.append(row[3].row)
    broken = tmp_path / "broken.xlsx"
    workbook.save(broken)
    code, _out, err = await podium(capsys, *import_args(database_url, broken))
    assert code != 0
    for number in broken_rows:
        assert f"Row {number}: error" in err
    assert err.splitlines()[-1].startswith("Error: broken.xlsx: refused with")
    assert "nothing was saved" in err.splitlines()[-1]
    assert await schemes_and_aspects(session) == (0, 0)


async def test_a_file_that_is_not_a_workbook_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    await build_world(session)
    await session.commit()
    junk = tmp_path / "scheme.xlsx"
    junk.write_bytes(b"not a zip at all")
    code, _out, err = await podium(capsys, *import_args(database_url, junk))
    assert code != 0 and "nothing was saved" in err
    assert await schemes_and_aspects(session) == (0, 0)


async def test_a_scheme_with_marks_is_not_replaced(
    capsys: pytest.CaptureFixture[str], database_url: str, session: AsyncSession
) -> None:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.final)
    await mark_all(session, scheme, world.competitors[0], world.experts[:3], lock=False)
    await session.commit()
    before = await schemes_and_aspects(session)
    code, _out, err = await podium(capsys, *import_args(database_url, ES2025))
    assert code != 0
    assert err.splitlines()[-1] == (
        "Error: Skill 23 already has marks for stage FINAL; its marking scheme can no longer be replaced."
    )
    assert await schemes_and_aspects(session) == before
