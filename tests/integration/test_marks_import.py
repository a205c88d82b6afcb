"""`podium import-marks` (the paper backup) on SQLite and PostgreSQL: a good file is recorded and audited
(and locked with --lock); a file with any bad row is refused whole, every bad row named, nothing saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.models import AuditRecord
from competition.writer import write
from scoring.marking import find_place, set_marking_team
from scoring.models import Aspect, Form, JudgeScore, Measurement, SubCriterion
from tests.helpers import World, add_scheme, build_world
from tests.hostile_workbooks import MARKS_HEADER, marks_bytes
from tests.integration.test_event_import_cli import command_environment, podium

__all__ = ["command_environment"]

pytestmark = pytest.mark.usefixtures("english")

HEADER = MARKS_HEADER


def workbook(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    path.write_bytes(marks_bytes(rows, header))
    return path


def args(database_url: str, file: Path, *more: str) -> list[str]:
    return [
        "--database",
        database_url,
        "import-marks",
        "--event",
        "SL2023",
        "--skill",
        "23",
        "--stage",
        "SF1",
        *more,
        str(file),
    ]


async def form_rows(session: AsyncSession, competitor: str) -> tuple[str, list[list[Any]]]:
    """Filled-in rows for the first sub-criterion with a J aspect: every judge 2, measurements full."""
    first = await session.scalar(select(Aspect.code).where(Aspect.kind == "J").order_by(Aspect.id).limit(1))
    assert first is not None
    sub = first.split(".")[0]
    aspects = (
        await session.execute(
            select(Aspect.code, Aspect.kind, Aspect.calculation, Aspect.possible)
            .join(SubCriterion, SubCriterion.id == Aspect.sub_criterion_id)
            .where(SubCriterion.code == sub)
            .order_by(Aspect.position)
        )
    ).all()
    await session.commit()
    rows: list[list[Any]] = []
    for code, kind, calculation, possible in aspects:
        if kind == "J":
            rows.append([competitor, code, None, 2, 2, 3, None])
        else:
            value = {"number_completed": possible, "deduction": 0.5, "choice": 1}.get(calculation, "yes")
            rows.append(
                [competitor, code, value, None, None, None, "cable loose" if calculation == "deduction" else None]
            )
    return sub, rows


@pytest.fixture
async def world(session: AsyncSession) -> World:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    return world


async def counts(session: AsyncSession) -> tuple[int, int, int, int]:
    await session.commit()
    return (
        await session.scalar(select(func.count()).select_from(JudgeScore)) or 0,
        await session.scalar(select(func.count()).select_from(Measurement)) or 0,
        await session.scalar(select(func.count()).select_from(Form).where(Form.locked.is_(True))) or 0,
        await session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.competitor_id.is_not(None))
        )
        or 0,
    )


async def test_a_good_file_is_recorded_audited_and_locked(
    capsys: pytest.CaptureFixture[str], database_url: str, session: AsyncSession, world: World, tmp_path: Path
) -> None:
    _sub, rows = await form_rows(session, "C002")
    blank = ["C003", rows[0][1], None, None, None, None, None]  # a template row nobody filled in
    file = workbook(tmp_path / "marks.xlsx", [*rows, blank])
    judged = sum(1 for row in rows if row[2] is None)
    measured = len(rows) - judged
    code, out, err = await podium(capsys, *args(database_url, file, "--lock"))
    assert (code, err) == (0, ""), err
    assert out.strip() == (
        f"marks.xlsx: {len(rows)} rows, {judged * 3 + measured} marks recorded, 0 unchanged. "
        "Signed off and locked 1 forms."
    )
    assert await counts(session) == (judged * 3, measured, 1, judged * 3 + measured + 1)
    actors = set(await session.scalars(select(AuditRecord.actor).where(AuditRecord.competitor_id.is_not(None))))
    assert actors == {"command line"}
    again = await podium(capsys, *args(database_url, file))
    assert again[0] != 0 and "is locked" in again[2]  # the form is locked now: refused, unchanged
    assert await counts(session) == (judged * 3, measured, 1, judged * 3 + measured + 1)


async def test_a_file_with_bad_rows_is_refused_whole_with_every_row_named(
    capsys: pytest.CaptureFixture[str], database_url: str, session: AsyncSession, world: World, tmp_path: Path
) -> None:
    _sub, rows = await form_rows(session, "C003")
    j = next(row[1] for row in rows if row[2] is None)
    pass_fail = next((row[1] for row in rows if row[2] == "yes"), None)
    deduction = next((row[1] for row in rows if row[6] == "cable loose"), None)
    bad = [
        ["C999", j, None, 2, 2, 2, None],  # row 2 (after the good ones)
        ["C004", "Z9.9", None, 2, 2, 2, None],
        ["C004", j, None, 4, 2, 2, None],
        ["C004", j.replace(".1", ".1"), None, 0, 2, 3, None],
    ]
    if pass_fail:
        bad.append(["C004", pass_fail, "maybe", None, None, None, None])
    if deduction:
        bad.append(["C001", deduction, 1, None, None, None, None])
    file = workbook(tmp_path / "bad.xlsx", [*rows, *bad])
    code, _out, err = await podium(capsys, *args(database_url, file))
    assert code != 0
    lines = err.strip().splitlines()
    first_bad = len(rows) + 2
    assert f"Marks row {first_bad}: unknown competitor C999" in lines[0]
    assert f"Marks row {first_bad + 1}: unknown aspect Z9.9" in lines[1]
    assert f"Marks row {first_bad + 2}: Judge 1: 4 is not a score" in lines[2]
    assert f"Marks row {first_bad + 3}: C004 {j} is already on row {first_bad + 2}" in lines[3]
    assert len(lines) == len(bad) + 1 and "refused with" in lines[-1] and "nothing was saved" in lines[-1]
    assert await counts(session) == (0, 0, 0, 0)  # the good rows of C003 were not saved either


async def test_spread_and_conflicts_of_interest_refuse_the_file(
    capsys: pytest.CaptureFixture[str], database_url: str, session: AsyncSession, world: World, tmp_path: Path
) -> None:
    sub, rows = await form_rows(session, "C002")
    j = next(row[1] for row in rows if row[2] is None)
    place = await find_place(session, "SL2023", "23", "SF1")
    await write(session, set_marking_team, place, None, sub, ["E002", "E003", "E004"])  # E003 is from C002's RVT
    file = workbook(tmp_path / "team.xlsx", [["C002", j, None, 2, 2, 2, None], ["C004", j, None, 0, 2, 2, None]])
    code, _out, err = await podium(capsys, *args(database_url, file))
    assert code != 0
    assert "Marks row 2: only 2 experts of the marking team may judge C002" in err
    assert "Marks row 3:" in err and "differ by more than 1" in err
    assert await counts(session) == (0, 0, 0, 0)


async def test_a_file_that_is_not_a_marks_workbook_is_refused(
    capsys: pytest.CaptureFixture[str], database_url: str, world: World, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    code, _out, err = await podium(capsys, *args(database_url, broken))
    assert code != 0 and "not an Excel workbook" in err
    wrong = workbook(tmp_path / "wrong.xlsx", [], header=["Competitor", "Aspect"])
    code, _out, err = await podium(capsys, *args(database_url, wrong))
    assert code != 0 and "lacks the columns: value, reason, Judge 1" in err


async def test_the_upload_page_records_a_good_file_and_names_every_bad_row(
    client: Any, session: AsyncSession, world: World, tmp_path: Path
) -> None:
    from tests.helpers import csrf_token, login

    _sub, rows = await form_rows(session, "C002")
    await login(client, "inese@example.lv")
    page = await client.get("/marking/SL2023/23/SF1/import")
    assert page.status_code == 200 and "marks-template.xlsx" in page.text
    template = await client.get("/marking/SL2023/23/SF1/marks-template.xlsx")
    assert template.status_code == 200
    (tmp_path / "template.xlsx").write_bytes(template.content)
    sheet = openpyxl.load_workbook(tmp_path / "template.xlsx")["Marks"]
    assert [cell.value for cell in sheet[1]] == HEADER
    token = await csrf_token(client)
    bad = workbook(tmp_path / "bad.xlsx", [*rows, ["C999", rows[0][1], None, 2, 2, 2, None]])
    refused = await client.post(
        "/marking/SL2023/23/SF1/import",
        data={"_csrf_token": token},
        files={"workbook": ("bad.xlsx", bad.read_bytes())},
    )
    assert refused.status_code == 422
    assert f"Marks row {len(rows) + 2}: unknown competitor C999" in refused.text and "nothing was saved" in refused.text
    assert await counts(session) == (0, 0, 0, 0)
    good = workbook(tmp_path / "good.xlsx", rows)
    accepted = await client.post(
        "/marking/SL2023/23/SF1/import",
        data={"_csrf_token": token, "lock": "on"},
        files={"workbook": ("good.xlsx", good.read_bytes())},
    )
    assert accepted.status_code == 200 and "Signed off and locked 1 forms." in accepted.text
    assert (await counts(session))[2] == 1
    actors = set(await session.scalars(select(AuditRecord.actor).where(AuditRecord.competitor_id.is_not(None))))
    assert actors == {"inese@example.lv"}
    await login(client, "peteris@example.lv")
    assert (await client.get("/marking/SL2023/23/SF1/import")).status_code == 403
