"""`podium results` prints the contract's results document (or a table); `podium export-results` writes the
results workbook: results, criterion marks, every aspect mark with the judges' scores, the audit trail."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.writer import write
from scoring.marks import bump_revision
from scoring.models import Aspect, Form, MarkingScheme, SubCriterion
from scoring.publishing import publish_results
from tests.helpers import World, add_scheme, build_world, mark_all
from tests.integration.test_event_import_cli import command_environment, podium

__all__ = ["command_environment"]  # the fixture, used by every test here

TWO_DECIMALS = re.compile(r"^\d+\.\d\d$")


async def semi_final_with_marks(session: AsyncSession) -> World:
    """C001 all 3s, C002 and C004 all 2s, C003 marked but not locked."""
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    for competitor, score, lock in zip(world.competitors, [3, 2, 1, 2], [True, True, False, True], strict=True):
        await mark_all(session, scheme, competitor, world.experts[:3], score=score, lock=lock)
    return world


async def test_results_json_is_the_contract_document(
    session: AsyncSession, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await semi_final_with_marks(session)
    code, out, err = await podium(
        capsys, "--database", database_url, "results", "--event", "SL2023", "--skill", "23", "--stage", "SF1",
        "--format", "json",
    )
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert list(document) == ["event", "skill", "stage", "published", "competitors"]
    assert (document["event"], document["skill"], document["stage"], document["published"]) == (
        "SL2023", "23", "SF1", False,
    )
    lines = document["competitors"]
    assert [line["competitor"] for line in lines] == ["C001", "C002", "C004", "C003"]  # by rank, then code
    for line in lines:
        assert list(line) == ["competitor", "name", "institution", "complete", "raw", "rank", "scale", "medal",
                              "criteria", "advances"]
    first, second, fourth, unlocked = lines
    assert (first["name"], first["institution"], first["complete"]) == ("Anna Bērziņa", "RTK", True)
    assert first["raw"] == "100.00" and first["rank"] == 1 and first["advances"] is True
    assert (second["rank"], fourth["rank"]) == (2, 2) and second["raw"] == fourth["raw"]
    for line in (first, second, fourth):
        assert TWO_DECIMALS.match(line["raw"]) and isinstance(line["scale"], int) and line["medal"] is None
        assert list(line["criteria"]) == ["A", "B", "C", "D", "E", "F"]
        assert all(TWO_DECIMALS.match(mark) for mark in line["criteria"].values())
        assert sum(Decimal(mark) for mark in line["criteria"].values()) == Decimal(line["raw"])
    assert unlocked == {"competitor": "C003", "name": "Līga Ozola", "institution": "LVT", "complete": False,
                        "raw": None, "rank": None, "scale": None, "medal": None, "criteria": None,
                        "advances": False}


async def test_results_text_is_a_table_with_a_line_per_competitor(
    session: AsyncSession, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await semi_final_with_marks(session)
    code, out, err = await podium(
        capsys, "--database", database_url, "results", "--event", "SL2023", "--skill", "23", "--stage", "SF1"
    )
    assert (code, err) == (0, "")
    title, header, *rows = out.splitlines()
    assert title == "SL2023 · 23 · SF1 (not published)"
    assert header.split() == ["Rank", "Competitor", "Full", "name", "Institution", "Raw", "Scale", "Advances",
                              "A", "B", "C", "D", "E", "F"]
    assert rows[0].split()[:8] == ["1", "C001", "Anna", "Bērziņa", "RTK", "100.00", rows[0].split()[6], "yes"]
    assert rows[-1].split() == ["-", "C003", "Līga", "Ozola", "LVT", "incomplete"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--skill", "99", "--stage", "SF1"], "There is no skill 99 in SL2023."),
        (["--skill", "23", "--stage", "FINAL"], "Skill 23 has no marking scheme for stage FINAL."),
    ],
)
async def test_results_of_something_unknown_fail_with_one_line(
    session: AsyncSession, database_url: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    await semi_final_with_marks(session)
    code, out, err = await podium(capsys, "--database", database_url, "results", "--event", "SL2023", *args)
    assert (code, out) == (1, "")
    assert err.strip().splitlines() == [f"Error: {message}"]


async def test_export_results_writes_results_criteria_every_aspect_mark_and_the_audit_trail(
    session: AsyncSession, database_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    world = await semi_final_with_marks(session)
    scheme = await session.scalar(select(MarkingScheme).where(MarkingScheme.stage_id == world.semi_final.id))
    assert scheme is not None
    subs = await session.scalars(select(SubCriterion.id).where(SubCriterion.scheme_id == scheme.id))
    session.add_all(Form(sub_criterion_id=sub, competitor_id=world.competitors[2].id, locked=True) for sub in subs)
    await bump_revision(session, scheme.id)
    await session.commit()
    await write(session, publish_results, world.organiser, world.event, world.skill, world.semi_final)
    await add_scheme(session, world.skill, world.final)
    await add_scheme(session, world.other_skill, world.final)
    aspects = int(await session.scalar(select(func.count(Aspect.id)).where(Aspect.scheme_id == scheme.id)) or 0)
    out = tmp_path / "results.xlsx"
    code, printed, err = await podium(
        capsys, "--database", database_url, "export-results", "--event", "SL2023", "--skill", "23", "--out", str(out)
    )
    assert (code, err) == (0, "")
    assert printed.strip() == f"{out}: 2 skill stages, 4 results, 3 audit records"
    book = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    assert book.sheetnames == ["Results", "Criteria", "Marks", "Audit trail"]
    results = list(book["Results"].iter_rows(values_only=True))
    assert results[0] == ("Skill", "Skill name", "Stage", "Published", "Rank", "Competitor", "Full name", "Institution",
                          "Complete", "Raw total", "Scale score", "Medal", "Advances")
    assert results[1][:11] == ("23", "Mobile Robotics", "SF1", "yes", 1, "C001", "Anna Bērziņa", "RTK", "yes", 100,
                               results[1][10])
    assert [row[5] for row in results[1:]] == ["C001", "C002", "C004", "C003"]
    criteria = list(book["Criteria"].iter_rows(values_only=True))
    assert len(criteria) == 1 + 4 * 6  # four complete competitors × six criteria
    assert criteria[1] == ("23", "SF1", "C001", "A", criteria[1][4], criteria[1][6], criteria[1][6])
    marks = list(book["Marks"].iter_rows(values_only=True))
    assert marks[0][:7] == ("Competitor", "Aspect", "Value", "Judge 1", "Judge 2", "Judge 3", "Reason")
    assert len(marks) == 1 + 4 * aspects  # every competitor × every aspect of the semi-final
    judged = next(row for row in marks[1:] if row[3] is not None)
    assert judged[3:6] == (3, 3, 3) and judged[7] == "E002, E003, E004"
    audit = list(book["Audit trail"].iter_rows(values_only=True))
    assert [(row[2], row[3], row[4]) for row in audit[1:]] == [
        ("scheme_imported", "23", "SF1"), ("results_published", "23", "SF1"), ("scheme_imported", "23", "FINAL"),
    ]
    assert audit[2][1] == "organiser@example.lv"
