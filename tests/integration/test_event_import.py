"""The event workbook import: everything registered at once, updated by code on re-import, or with any bad
row refused whole, every bad row named with its sheet and row, and nothing saved."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.errors import Invalid
from competition.models import (
    AuditRecord,
    Competitor,
    Event,
    Expert,
    Institution,
    Sector,
    Skill,
    Stage,
    StageEntry,
    User,
)
from competition.registration.workbook import import_event_workbook
from tests.helpers import build_world
from tests.unit.event_workbooks import Sheets, good_sheets, workbook_bytes

pytestmark = pytest.mark.usefixtures("english")

RECORDS = (Event, Stage, Sector, Skill, Institution, Competitor, StageEntry, Expert, User)


async def counts(session: AsyncSession) -> dict[str, int]:
    return {
        model.__name__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
        for model in RECORDS
    }


async def refused(session: AsyncSession, sheets: Sheets) -> list[str]:
    """Import a spoilt workbook; it must be refused with nothing saved; returns the problems."""
    before = await counts(session)
    with pytest.raises(Invalid) as caught:
        await import_event_workbook(session, None, workbook_bytes(sheets), "event.xlsx")
    await session.rollback()
    assert await counts(session) == before, "a refused workbook saves nothing"
    assert caught.value.message.startswith("event.xlsx was refused")
    return caught.value.problems


async def test_a_good_workbook_registers_the_whole_event(session: AsyncSession) -> None:
    summary = await import_event_workbook(session, None, workbook_bytes(good_sheets()), "event.xlsx")
    assert summary.line() == (
        "TEST23: 2 stages (2 new), 2 sectors (2 new), 2 skills (2 new), 3 institutions (3 new), "
        "4 competitors (4 new), 5 experts (5 new), 4 expert log-ins (4 new)"
    )
    event = await session.scalar(select(Event).where(Event.code == "TEST23"))
    assert event is not None
    assert (event.name, event.starts, event.ends, event.venue) == (
        "Test Skills 2023",
        dt.date(2023, 2, 7),
        dt.date(2023, 4, 28),
        "Rīga",
    )
    robotics = await session.scalar(select(Skill).where(Skill.code == "23"))
    assert robotics is not None and (robotics.team_size, robotics.advance) == (2, 4)
    web = await session.scalar(select(Skill).where(Skill.code == "17"))
    assert web is not None and web.team_size == 1, "an empty Team size is 1"
    anna = await session.scalar(select(Competitor).where(Competitor.code == "C001"))
    assert anna is not None and anna.birth_date == dt.date(2004, 5, 1)
    assert await counts(session) == {
        "Event": 1,
        "Stage": 2,
        "Sector": 2,
        "Skill": 2,
        "Institution": 3,
        "Competitor": 4,
        "StageEntry": 4,
        "Expert": 5,
        "User": 4,
    }


async def test_experts_become_users_by_email_with_their_role(session: AsyncSession) -> None:
    await import_event_workbook(session, None, workbook_bytes(good_sheets()), "event.xlsx")
    users = {u.email: u for u in await session.scalars(select(User))}
    assert users["inese@example.lv"].role == "chief_expert", "chief of one skill, expert of another"
    assert users["andris@example.lv"].role == "chief_expert", "emails are kept in lower case"
    assert users["peteris@example.lv"].role == "expert"
    assert all(u.password_hash is None for u in users.values())
    inese = list(await session.scalars(select(Expert).where(Expert.email == "inese@example.lv")))
    assert {e.user_id for e in inese} == {users["inese@example.lv"].id}


async def test_an_import_is_audited(session: AsyncSession) -> None:
    await import_event_workbook(session, None, workbook_bytes(good_sheets()), "event.xlsx")
    record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "event_imported"))
    assert record is not None and record.subject == "event.xlsx" and record.actor == "command line"
    assert "4 competitors (4 new)" in (record.new_value or "")


async def test_importing_again_updates_by_code_and_never_duplicates(session: AsyncSession) -> None:
    await import_event_workbook(session, None, workbook_bytes(good_sheets()), "event.xlsx")
    first = await counts(session)
    sheets = good_sheets()
    sheets["Competitors"][1][2] = "Bērziņa-Ozola"
    sheets["Competitors"][1][6] = "FINAL"
    sheets["Institutions"][3][1] = "Acme Baltic SIA"
    sheets["Competitors"].append(["C005", "Ilze", "Vītola", "2004-07-07", "ACME", "17", "SF1"])
    summary = await import_event_workbook(session, None, workbook_bytes(sheets), "event.xlsx")
    assert "5 competitors (1 new)" in summary.line() and "3 institutions (0 new)" in summary.line()
    assert await counts(session) == {**first, "Competitor": 5, "StageEntry": 5}
    anna = await session.scalar(select(Competitor).where(Competitor.code == "C001"))
    final = await session.scalar(select(Stage).where(Stage.code == "FINAL"))
    assert anna is not None and final is not None
    assert anna.last_name == "Bērziņa-Ozola" and anna.stage_id == final.id
    entries = list(
        await session.scalars(select(StageEntry.stage_id).where(StageEntry.competitor_id == anna.id))
    )
    assert entries == [final.id], "the registration entry follows the stage"
    assert (
        await session.scalar(select(Institution.name).where(Institution.code == "ACME")) == "Acme Baltic SIA"
    )


async def test_rows_may_refer_to_records_already_registered(session: AsyncSession) -> None:
    await build_world(session)
    sheets = good_sheets()
    sheets["Competitors"].append(["C005", "Ilze", "Vītola", None, "OT", "17", "SF1"])
    await import_event_workbook(session, None, workbook_bytes(sheets), "event.xlsx")
    ilze = await session.scalar(select(Competitor).where(Competitor.code == "C005"))
    assert ilze is not None


async def test_headers_match_without_regard_to_case_or_spaces(session: AsyncSession) -> None:
    sheets = good_sheets()
    sheets["Competitors"][0] = [
        " CODE",
        "first NAME ",
        "Last name",
        "birth date",
        "Institution",
        "SKILL",
        "stage",
    ]
    await import_event_workbook(session, None, workbook_bytes(sheets), "event.xlsx")
    assert await session.scalar(select(func.count()).select_from(Competitor)) == 4


async def test_a_missing_column_is_refused(session: AsyncSession) -> None:
    sheets = good_sheets()
    for row in sheets["Competitors"]:
        del row[4]
    assert await refused(session, sheets) == ["Competitors row 1: missing column 'Institution'"]


async def test_an_unknown_institution_is_refused(session: AsyncSession) -> None:
    sheets = good_sheets()
    sheets["Competitors"][2][4] = "XYZ"
    sheets["Experts"][3][4] = "ABC"
    assert await refused(session, sheets) == [
        "Competitors row 3: unknown institution 'XYZ'",
        "Experts row 4: unknown institution 'ABC'",
    ]


async def test_an_unknown_skill_or_stage_is_refused(session: AsyncSession) -> None:
    sheets = good_sheets()
    sheets["Competitors"][1][5] = "99"
    sheets["Competitors"][4][6] = "SF7"
    sheets["Experts"][5][5] = "42"
    assert await refused(session, sheets) == [
        "Competitors row 2: unknown skill '99'",
        "Competitors row 5: unknown stage 'SF7'",
        "Experts row 6: unknown skill '42'",
    ]


async def test_a_duplicate_code_is_refused(session: AsyncSession) -> None:
    sheets = good_sheets()
    sheets["Competitors"][3][0] = "C001"
    sheets["Institutions"].append(["rvt", "Rīgas Valsts tehnikums (again)", "school"])
    assert await refused(session, sheets) == [
        "Institutions row 5: code rvt is also on row 2",
        "Competitors row 4: code C001 is also on row 2",
    ]


async def test_a_bad_date_is_refused(session: AsyncSession) -> None:
    sheets = good_sheets()
    sheets["Stages"][1][3] = "31.02.2023"
    sheets["Competitors"][2][3] = "2005-02-30"
    assert await refused(session, sheets) == [
        "Stages row 2: Starts: '31.02.2023' is not a date: use YYYY-MM-DD.",
        "Competitors row 3: Birth date: '2005-02-30' is not a date: use YYYY-MM-DD.",
    ]


async def test_ends_before_it_starts_is_refused(session: AsyncSession) -> None:
    sheets = good_sheets()
    sheets["Stages"][2][4] = "2023-04-01"
    assert await refused(session, sheets) == ["Stages row 3: ends before it starts"]


async def test_unknown_kinds_roles_and_bad_emails_are_refused(session: AsyncSession) -> None:
    sheets = good_sheets()
    sheets["Stages"][1][2] = "quarter_final"
    sheets["Institutions"][1][2] = "university"
    sheets["Experts"][2][6] = "judge"
    sheets["Experts"][3][3] = "zane at example.lv"
    assert await refused(session, sheets) == [
        "Stages row 2: Kind: 'quarter_final' is not one of: semi_final, final.",
        "Institutions row 2: Kind: 'university' is not one of: school, company.",
        "Experts row 3: Role: 'judge' is not one of: chief_expert, expert.",
        "Experts row 4: Email: 'zane at example.lv' is not an email address.",
    ]


async def test_a_missing_value_is_refused(session: AsyncSession) -> None:
    sheets = good_sheets()
    sheets["Competitors"][2][1] = None
    assert await refused(session, sheets) == ["Competitors row 3: First name: Fill this in."]


async def test_a_second_chief_expert_for_a_skill_is_refused(session: AsyncSession) -> None:
    sheets = good_sheets()
    sheets["Experts"][2][6] = "chief_expert"
    assert await refused(session, sheets) == ["Experts row 3: skill 23 already has a Chief Expert (E001)"]


async def test_every_bad_row_is_named_at_once(session: AsyncSession) -> None:
    sheets = good_sheets()
    sheets["Competitors"].extend([[f"C1{i}", "X", "Y", None, "NOPE", "23", "SF1"] for i in range(10)])
    assert len(await refused(session, sheets)) == 10


async def test_a_file_that_is_not_a_workbook_is_refused(session: AsyncSession) -> None:
    with pytest.raises(Invalid) as caught:
        await import_event_workbook(session, None, b"Code,Name\nSL,Skills\n", "event.csv")
    assert caught.value.message == "event.csv is not an Excel workbook (.xlsx)."
    assert caught.value.problems == []


async def test_a_workbook_without_a_sheet_is_refused(session: AsyncSession) -> None:
    sheets = good_sheets()
    del sheets["Experts"]
    del sheets["Stages"]
    with pytest.raises(Invalid) as caught:
        await import_event_workbook(session, None, workbook_bytes(sheets), "event.xlsx")
    assert caught.value.message.startswith("event.xlsx lacks the sheets Stages, Experts")
    assert await session.scalar(select(func.count()).select_from(Event)) == 0
