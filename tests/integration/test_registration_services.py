"""Registration services: each change in its own transaction, refused with a message per field, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from competition.auth import PasswordChecks, authenticate
from competition.errors import Conflict, NotFound
from competition.models import AuditRecord, Competitor, Expert, Institution, Sector, Skill, StageEntry, User
from competition.registration import services
from competition.registration.records import (
    COMPETITOR_FIELDS,
    CompetitorData,
    EventData,
    ExpertData,
    FieldErrors,
    InstitutionData,
    SectorData,
    SkillData,
    StageData,
    read_record,
)
from competition.writer import write
from tests.helpers import World, build_world

pytestmark = pytest.mark.usefixtures("english")


def competitor(**changes: object) -> CompetitorData:
    values: dict[str, object] = {
        "code": "C010",
        "first_name": "Ieva",
        "last_name": "Zariņa",
        "institution": "RVT",
        "skill": "23",
        "stage": "SF1",
        "birth_date": dt.date(2005, 3, 14),
    }
    values.update(changes)
    return CompetitorData(**values)  # type: ignore[arg-type]


def expert(**changes: object) -> ExpertData:
    values: dict[str, object] = {
        "code": "E010",
        "first_name": "Rūta",
        "last_name": "Bērziņa",
        "email": "ruta@example.lv",
        "institution": "OT",
        "skill": "23",
        "role": "expert",
    }
    values.update(changes)
    return ExpertData(**values)  # type: ignore[arg-type]


async def refused(change: object) -> dict[str, str]:
    with pytest.raises(FieldErrors) as caught:
        await change  # type: ignore[misc]
    return caught.value.errors


async def test_an_event_is_created_with_its_audit_record(session: AsyncSession) -> None:
    world = await build_world(session)
    event = await write(
        session,
        services.create_event,
        world.organiser,
        EventData(
            code="RC2022", name="Road construction 2022", starts=dt.date(2022, 5, 3), ends=dt.date(2022, 5, 4)
        ),
    )
    assert event.id is not None
    record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "event_created"))
    assert (
        record is not None and record.actor == "organiser@example.lv" and "RC2022" in (record.new_value or "")
    )


async def test_an_event_code_is_unique_and_ends_after_it_starts(session: AsyncSession) -> None:
    world = await build_world(session)
    errors = await refused(
        write(
            session,
            services.create_event,
            world.organiser,
            EventData(code="sl2023", name="Again", starts=dt.date(2023, 5, 2), ends=dt.date(2023, 5, 1)),
        )
    )
    assert errors == {
        "code": "Code sl2023 is already used by SkillsLatvia 2023.",
        "ends": "Ends before it starts.",
    }


async def test_a_stage_ending_before_it_starts_is_refused(session: AsyncSession) -> None:
    await build_world(session)
    errors = await refused(
        write(
            session,
            services.create_stage,
            None,
            "SL2023",
            StageData(
                code="SF2",
                name="Semi-final 2",
                kind="semi_final",
                starts=dt.date(2023, 3, 2),
                ends=dt.date(2023, 3, 1),
            ),
        )
    )
    assert errors == {"ends": "Ends before it starts."}


async def test_an_event_has_one_final(session: AsyncSession) -> None:
    await build_world(session)
    errors = await refused(
        write(session, services.create_stage, None, "SL2023", StageData(code="F2", name="Final 2"))
    )
    assert errors == {"kind": "SL2023 already has a final: FINAL."}


async def test_a_competitor_is_registered_with_an_entry_in_their_stage(session: AsyncSession) -> None:
    world = await build_world(session)
    created = await write(session, services.create_competitor, world.organiser, "SL2023", competitor())
    entries = list(
        await session.scalars(select(StageEntry.stage_id).where(StageEntry.competitor_id == created.id))
    )
    assert entries == [world.semi_final.id]


async def test_moving_a_competitor_to_another_stage_moves_their_entry(session: AsyncSession) -> None:
    world = await build_world(session)
    await write(session, services.update_competitor, None, "SL2023", "C001", competitor(code="C001", stage="FINAL"))
    moved = await session.scalar(select(Competitor).where(Competitor.code == "C001"))
    assert moved is not None and moved.stage_id == world.final.id
    entries = list(
        await session.scalars(select(StageEntry.stage_id).where(StageEntry.competitor_id == moved.id))
    )
    assert entries == [world.final.id]


async def test_an_entry_earned_by_advancing_is_kept_when_the_registration_changes(
    session: AsyncSession,
) -> None:
    world = await build_world(session)
    first = world.competitors[0]
    session.add(
        StageEntry(competitor_id=first.id, stage_id=world.final.id, advanced_from_id=world.semi_final.id)
    )
    await session.commit()
    await write(
        session,
        services.update_competitor,
        None, "SL2023", "C001", competitor(code="C001", first_name="Annija")
    )
    entries = set(
        await session.scalars(select(StageEntry.stage_id).where(StageEntry.competitor_id == first.id))
    )
    assert entries == {world.semi_final.id, world.final.id}


async def test_a_competitor_names_known_records(session: AsyncSession) -> None:
    await build_world(session)
    errors = await refused(
        write(
            session,
            services.create_competitor,
            None, "SL2023", competitor(code="C001", institution="XYZ", skill="99", stage="SF9")
        )
    )
    assert errors == {
        "code": "Code C001 is already used by Anna Bērziņa.",
        "institution": "Unknown institution 'XYZ'.",
        "skill": "Unknown skill '99'.",
        "stage": "Unknown stage 'SF9'.",
    }
    assert await session.scalar(select(Competitor).where(Competitor.first_name == "Ieva")) is None


async def test_form_values_that_cannot_be_read_are_named_per_field() -> None:
    with pytest.raises(FieldErrors) as caught:
        read_record(
            COMPETITOR_FIELDS,
            CompetitorData,
            {
                "code": "C 1",
                "first_name": "",
                "last_name": "Zariņa",
                "birth_date": "14.03.2005",
                "institution": "RVT",
                "skill": "23",
                "stage": "SF1",
            },
        )
    assert caught.value.errors == {
        "code": "'C 1' is not a code: use at most 32 letters, digits, '.', '-' or '_'.",
        "first_name": "Fill this in.",
        "birth_date": "'14.03.2005' is not a date: use YYYY-MM-DD.",
    }


async def test_an_institution_with_competitors_is_not_deleted(session: AsyncSession) -> None:
    await build_world(session)
    with pytest.raises(Conflict) as caught:
        await write(session, services.delete_institution, None, "RTK")
    assert caught.value.message == (
        "Rīgas Tehniskā koledža is still in use (competitors: 1, experts: 2) and cannot be deleted."
    )
    assert await session.scalar(select(Institution).where(Institution.code == "RTK")) is not None


async def test_an_unused_institution_is_deleted(session: AsyncSession) -> None:
    await build_world(session)
    await write(
        session,
        services.create_institution,
        None, InstitutionData(code="ACME", name="Acme SIA", kind="company")
    )
    await write(session, services.delete_institution, None, "ACME")
    assert await session.scalar(select(Institution).where(Institution.code == "ACME")) is None


async def test_a_skill_with_marks_is_not_deleted(session: AsyncSession) -> None:
    world = await build_world(session)
    await _give_a_mark(session, world)
    with pytest.raises(Conflict) as caught:
        await write(session, services.delete_skill, None, "SL2023", "23")
    assert "marks: 1" in caught.value.message
    with pytest.raises(Conflict):
        await write(session, services.delete_competitor, None, "SL2023", "C001")
    with pytest.raises(Conflict):
        await write(session, services.delete_expert, None, "SL2023", "E002")


async def _give_a_mark(session: AsyncSession, world: World) -> None:
    """A judge's score in scoring's tables (registration never imports scoring)."""
    await session.execute(
        text(
            "INSERT INTO marking_scheme (skill_id, stage_id, title, status, judges, source_filename,"
            " created_at, updated_at)"
            " VALUES (:skill, :stage, '', 'ready', 3, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"skill": world.skill.id, "stage": world.semi_final.id},
    )
    scheme = await session.scalar(text("SELECT id FROM marking_scheme"))
    await session.execute(
        text(
            "INSERT INTO criterion (scheme_id, code, name, mark, position) VALUES (:scheme, 'A', 'A', 10, 1)"
        ),
        {"scheme": scheme},
    )
    criterion = await session.scalar(text("SELECT id FROM criterion"))
    await session.execute(
        text(
            "INSERT INTO sub_criterion (scheme_id, criterion_id, code, name, position) "
            "VALUES (:scheme, :criterion, 'A1', 'A1', 1)"
        ),
        {"scheme": scheme, "criterion": criterion},
    )
    sub = await session.scalar(text("SELECT id FROM sub_criterion"))
    await session.execute(
        text(
            "INSERT INTO aspect (scheme_id, sub_criterion_id, code, position, kind, description,"
            " extra_description, requirement) VALUES (:scheme, :sub, 'A1.1', 1, 'J', '', '', '')"
        ),
        {"scheme": scheme, "sub": sub},
    )
    aspect = await session.scalar(text("SELECT id FROM aspect"))
    await session.execute(
        text(
            "INSERT INTO judge_score (aspect_id, competitor_id, expert_id, score, created_at, updated_at)"
            " VALUES (:aspect, :competitor, :expert, 2, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"aspect": aspect, "competitor": world.competitors[0].id, "expert": world.experts[0].id},
    )
    await session.commit()


async def test_a_skill_with_competitors_is_not_deleted_but_an_empty_one_is(session: AsyncSession) -> None:
    await build_world(session)
    with pytest.raises(Conflict):
        await write(session, services.delete_skill, None, "SL2023", "23")
    await write(
        session,
        services.create_skill,
        None, "SL2023", SkillData(code="40", name="Graphic Design Technology")
    )
    await write(session, services.delete_skill, None, "SL2023", "40")
    assert await session.scalar(select(Skill).where(Skill.code == "40")) is None


async def test_a_stage_with_competitors_is_not_deleted(session: AsyncSession) -> None:
    await build_world(session)
    with pytest.raises(Conflict) as caught:
        await write(session, services.delete_stage, None, "SL2023", "SF1")
    assert "competitors: 4" in caught.value.message


async def test_a_sector_is_renamed_and_a_second_with_the_same_name_refused(session: AsyncSession) -> None:
    await build_world(session)
    sector = await write(session, services.create_sector, None, "SL2023", SectorData(name="Transport and logistics"))
    errors = await refused(
        write(session, services.create_sector, None, "SL2023", SectorData(name="transport and logistics"))
    )
    assert errors == {"name": "There is already a sector named transport and logistics."}
    await write(session, services.update_sector, None, "SL2023", str(sector.id), SectorData(name="Transport"))
    assert await session.scalar(select(Sector.name).where(Sector.id == sector.id)) == "Transport"


async def test_a_skill_names_a_known_sector(session: AsyncSession) -> None:
    await build_world(session)
    errors = await refused(
        write(
            session,
            services.create_skill,
            None,
            "SL2023",
            SkillData(code="40", name="Graphic Design Technology", sector="Creative arts"),
        )
    )
    assert errors == {"sector": "Unknown sector 'Creative arts'."}


async def test_an_expert_becomes_a_user_without_a_password(session: AsyncSession) -> None:
    world = await build_world(session)
    created = await write(session, services.create_expert, world.organiser, "SL2023", expert())
    user = await session.scalar(select(User).where(User.email == "ruta@example.lv"))
    assert user is not None and created.user_id == user.id
    assert user.role == "expert" and user.password_hash is None and user.name == "Rūta Bērziņa"


async def test_a_skill_has_one_chief_expert(session: AsyncSession) -> None:
    await build_world(session)
    errors = await refused(write(session, services.create_expert, None, "SL2023", expert(role="chief_expert")))
    assert errors == {"role": "Mobile Robotics already has a Chief Expert: Inese Kalniņa."}


async def test_an_expert_promoted_to_chief_gets_the_chief_role(session: AsyncSession) -> None:
    await build_world(session)
    await write(
        session,
        services.update_expert,
        None,
        "SL2023",
        "E001",
        expert(code="E001", first_name="Inese", last_name="Kalniņa", email="inese@example.lv", role="expert"),
    )
    await write(
        session,
        services.update_expert,
        None,
        "SL2023",
        "E002",
        expert(
            code="E002",
            first_name="Pēteris",
            last_name="Ozols",
            email="peteris@example.lv",
            role="chief_expert",
        ),
    )
    roles = dict(
        (
            await session.execute(
                select(User.email, User.role).where(
                    User.email.in_(["inese@example.lv", "peteris@example.lv"])
                )
            )
        ).all()
    )
    assert roles == {"inese@example.lv": "expert", "peteris@example.lv": "chief_expert"}


async def test_an_organiser_sets_an_experts_password_and_they_can_log_in(session: AsyncSession) -> None:
    world = await build_world(session)
    await write(session, services.create_expert, world.organiser, "SL2023", expert())
    errors = await refused(services.new_password_hash("short"))
    assert errors == {"password": "Use at least 8 characters."}
    password_hash = await services.new_password_hash("a good long password")
    await write(session, services.set_expert_password, world.organiser, "SL2023", "E010", password_hash)
    assert await authenticate(session, PasswordChecks(), "ruta@example.lv", "a good long password") is not None


async def test_unknown_codes_are_not_found(session: AsyncSession) -> None:
    await build_world(session)
    with pytest.raises(NotFound):
        await write(session, services.delete_competitor, None, "SL2023", "C999")
    with pytest.raises(NotFound):
        await write(session, services.create_stage, None, "NOPE", StageData(code="X", name="X"))


async def test_deleting_an_event_removes_its_records(session: AsyncSession) -> None:
    await build_world(session)
    await write(session, services.delete_event, None, "SL2023")
    assert list(await session.scalars(select(Competitor))) == []
    assert list(await session.scalars(select(Expert))) == []
    assert await session.scalar(select(AuditRecord.action).where(AuditRecord.action == "event_deleted"))


async def test_an_update_audits_only_what_changed(session: AsyncSession) -> None:
    world = await build_world(session)
    await write(
        session,
        services.update_competitor,
        world.organiser,
        "SL2023",
        "C001",
        competitor(
            code="C001",
            first_name="Anna",
            last_name="Ozola",
            institution="RTK",
            birth_date=dt.date(2004, 5, 1),
        ),
    )
    record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "competitor_updated"))
    assert record is not None and record.subject == "competitor C001"
    assert (record.old_value, record.new_value) == ('{"last_name": "Bērziņa"}', '{"last_name": "Ozola"}')
