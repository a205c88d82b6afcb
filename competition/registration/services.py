"""Registration services: one function per change of an event, stage, sector, skill, institution,
competitor or expert, each with its audit record. Changes run through `competition.writer`
(`await write(session, create_stage, actor, event_code, data)`): they write without committing.

Refusals raise `FieldErrors` (422, a message per field) or `competition.errors` types: `NotFound`
for an unknown code, `Conflict` for deleting something still in use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, column, delete, func, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from competition import audit as audit_trail
from competition import notify
from competition.audit import Actor
from competition.auth import find_user_by_email, hash_password
from competition.errors import Conflict, NotFound
from competition.i18n import gettext as _
from competition.models import (
    Competitor,
    Event,
    Expert,
    ExpertRole,
    Institution,
    Role,
    Sector,
    Skill,
    Stage,
    StageEntry,
    StageKind,
    User,
)
from competition.registration.records import (
    CompetitorData,
    EventData,
    ExpertData,
    FieldErrors,
    InstitutionData,
    SectorData,
    SkillData,
    StageData,
    ends_before_start,
)

M = TypeVar("M")
RESERVED_EVENT_CODES = frozenset({"import"})
"""Codes that would hide a page under /events/."""
MIN_PASSWORD = 8

# Marks live in scoring's tables; registration only asks whether any exist (it never imports scoring).
_judge_score = table("judge_score", column("competitor_id"), column("expert_id"))
_measurement = table("measurement", column("competitor_id"), column("expert_id"))
_form = table("form", column("competitor_id"))
_marking_scheme = table("marking_scheme", column("skill_id"), column("stage_id"))


# --- shared steps --------------------------------------------------------------------------------


async def audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    subject: str,
    *,
    event: Event | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> None:
    """Add the audit record of a registration change (in the change's transaction)."""
    await audit_trail.record(
        session, actor, action, subject, event_id=event.id if event is not None else None, old=old, new=new
    )


async def _update(
    session: AsyncSession,
    actor: Actor,
    record: Any,
    before: dict[str, Any],
    data: Any,
    *,
    kind: str,
    event: Event | None,
    columns: dict[str, Any] | None = None,
) -> None:
    """Set the record's columns (by default the fields of `data`) and audit the values that changed."""
    after = asdict(data)
    changed = [key for key in after if before.get(key) != after[key]]
    for name, value in (columns if columns is not None else after).items():
        setattr(record, name, value)
    await audit(
        session,
        actor,
        f"{kind}_updated",
        f"{kind} {after.get('code') or after.get('name')}",
        event=event,
        old={key: before.get(key) for key in changed},
        new={key: after[key] for key in changed},
    )


async def bump_event_revision(session: AsyncSession, event_id: int) -> None:
    """The event's registration or settings changed (in the change's transaction): whatever was read of them
    (who takes part, who may mark whom, the judgement rule) is read again (`Event.revision`)."""
    await session.execute(update(Event).where(Event.id == event_id).values(revision=Event.revision + 1))


async def registration_changed(session: AsyncSession, event: Event) -> None:
    """`bump_event_revision`, and live boards hear of the change once it is committed."""
    await bump_event_revision(session, event.id)
    notify.on_commit(session, notify.Change(event=event.code, what="registration"))


async def _finish(session: AsyncSession, event: Event | None) -> None:
    if event is not None:
        await registration_changed(session, event)


async def _one(session: AsyncSession, query: Select[M], missing: str) -> M:
    found = await session.scalar(query)
    if found is None:
        raise NotFound(missing)
    return found


async def _taken(
    session: AsyncSession, model: Any, code: str, *, event: Event | None, exclude: int | None
) -> Any | None:
    """Another record of `model` (in `event`, when given) that already has `code`."""
    query = select(model).where(code_is(model, code))
    if event is not None:
        query = query.where(model.event_id == event.id)
    if exclude is not None:
        query = query.where(model.id != exclude)
    return await session.scalar(query)


def code_is(model: Any, code: str) -> ColumnElement[bool]:
    """Codes match without regard to case (they are letters, digits and . - _ only)."""
    return func.lower(model.code) == code.lower()


def code_used_by(code: str, name: str) -> str:
    return _("Code %(code)s is already used by %(name)s.", code=code, name=name)


async def _check_code(
    session: AsyncSession,
    errors: dict[str, str],
    model: Any,
    code: str,
    *,
    event: Event | None,
    exclude: int | None,
) -> None:
    other = await _taken(session, model, code, event=event, exclude=exclude)
    if other is not None:
        errors["code"] = code_used_by(code, other.name)


def _refuse(errors: dict[str, str]) -> None:
    if errors:
        raise FieldErrors(errors)


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


async def _marks_count(
    session: AsyncSession, competitor_ids: Select[Any] | None = None, expert_id: int | None = None
) -> int:
    """How many scores, measurements and forms exist for these competitors (or by this expert)."""
    total = 0
    if competitor_ids is not None:
        for marks in (_judge_score, _measurement, _form):
            total += await _count(
                session, select(marks.c.competitor_id).where(marks.c.competitor_id.in_(competitor_ids))
            )
    if expert_id is not None:
        for marks in (_judge_score, _measurement):
            total += await _count(session, select(marks.c.expert_id).where(marks.c.expert_id == expert_id))
    return total


def _in_use(name: str, uses: dict[str, int]) -> None:
    """Refuse to delete `name` while any of `uses` (a label and a count) is above zero."""
    held = ", ".join(f"{label}: {count}" for label, count in uses.items() if count)
    if held:
        raise Conflict(_("%(name)s is still in use (%(uses)s) and cannot be deleted.", name=name, uses=held))


# --- look-ups ------------------------------------------------------------------------------------


async def get_event(session: AsyncSession, code: str) -> Event:
    return await _one(
        session,
        select(Event).where(code_is(Event, code)),
        _("There is no event with code %(code)s.", code=code),
    )


async def get_stage(session: AsyncSession, event: Event, code: str) -> Stage:
    return await _one(
        session,
        select(Stage).where(Stage.event_id == event.id, code_is(Stage, code)),
        _("There is no stage %(code)s in %(event)s.", code=code, event=event.code),
    )


async def get_sector(session: AsyncSession, event: Event, sector_id: str | int) -> Sector:
    number = int(sector_id) if str(sector_id).isdigit() else -1
    return await _one(
        session,
        select(Sector).where(Sector.event_id == event.id, Sector.id == number),
        _("There is no such sector in %(event)s.", event=event.code),
    )


async def get_skill(session: AsyncSession, event: Event, code: str) -> Skill:
    return await _one(
        session,
        select(Skill)
        .where(Skill.event_id == event.id, code_is(Skill, code))
        .options(selectinload(Skill.sector)),
        _("There is no skill %(code)s in %(event)s.", code=code, event=event.code),
    )


async def get_institution(session: AsyncSession, code: str) -> Institution:
    return await _one(
        session,
        select(Institution).where(code_is(Institution, code)),
        _("There is no institution with code %(code)s.", code=code),
    )


async def get_competitor(session: AsyncSession, event: Event, code: str) -> Competitor:
    return await _one(
        session,
        select(Competitor)
        .where(Competitor.event_id == event.id, code_is(Competitor, code))
        .options(selectinload(Competitor.skill), selectinload(Competitor.stage)),
        _("There is no competitor %(code)s in %(event)s.", code=code, event=event.code),
    )


async def get_expert(session: AsyncSession, event: Event, code: str) -> Expert:
    return await _one(
        session,
        select(Expert)
        .where(Expert.event_id == event.id, code_is(Expert, code))
        .options(selectinload(Expert.skill), selectinload(Expert.user)),
        _("There is no expert %(code)s in %(event)s.", code=code, event=event.code),
    )


async def _by_code(session: AsyncSession, model: Any, code: str, event: Event | None) -> Any | None:
    query = select(model).where(code_is(model, code))
    if event is not None:
        query = query.where(model.event_id == event.id)
    return await session.scalar(query)


def unknown(kind: str, code: str) -> str:
    """The message for a reference to a record that does not exist."""
    messages = {
        "institution": _("Unknown institution '%(code)s'.", code=code),
        "skill": _("Unknown skill '%(code)s'.", code=code),
        "stage": _("Unknown stage '%(code)s'.", code=code),
        "sector": _("Unknown sector '%(code)s'.", code=code),
    }
    return messages[kind]


# --- what a record holds, as its form and the audit trail show it ----------------------------------


def event_values(event: Event) -> dict[str, Any]:
    return {
        "code": event.code,
        "name": event.name,
        "starts": event.starts,
        "ends": event.ends,
        "venue": event.venue,
    }


def stage_values(stage: Stage) -> dict[str, Any]:
    return {
        "code": stage.code,
        "name": stage.name,
        "kind": stage.kind,
        "starts": stage.starts,
        "ends": stage.ends,
        "venue": stage.venue,
    }


def sector_values(sector: Sector) -> dict[str, Any]:
    return {"name": sector.name}


def skill_values(skill: Skill) -> dict[str, Any]:
    return {
        "code": skill.code,
        "name": skill.name,
        "sector": skill.sector.name if skill.sector else "",
        "team_size": skill.team_size,
        "advance": skill.advance,
    }


def institution_values(institution: Institution) -> dict[str, Any]:
    return {"code": institution.code, "name": institution.name, "kind": institution.kind}


def competitor_values(competitor: Competitor) -> dict[str, Any]:
    return {
        "code": competitor.code,
        "first_name": competitor.first_name,
        "last_name": competitor.last_name,
        "birth_date": competitor.birth_date,
        "institution": competitor.institution.code,
        "skill": competitor.skill.code,
        "stage": competitor.stage.code,
    }


def expert_values(expert: Expert) -> dict[str, Any]:
    return {
        "code": expert.code,
        "first_name": expert.first_name,
        "last_name": expert.last_name,
        "email": expert.email,
        "institution": expert.institution.code,
        "skill": expert.skill.code,
        "role": expert.role,
    }


# --- events --------------------------------------------------------------------------------------


async def _event_errors(session: AsyncSession, data: EventData, exclude: int | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if data.code.lower() in RESERVED_EVENT_CODES:
        errors["code"] = _("Code %(code)s is reserved; choose another.", code=data.code)
    else:
        await _check_code(session, errors, Event, data.code, event=None, exclude=exclude)
    if ends_before_start(data.starts, data.ends):
        errors["ends"] = _("Ends before it starts.")
    return errors


async def create_event(session: AsyncSession, actor: Actor, data: EventData) -> Event:
    _refuse(await _event_errors(session, data, None))
    event = Event(**asdict(data))
    session.add(event)
    await session.flush()
    await audit(session, actor, "event_created", f"event {event.code}", event=event, new=asdict(data))
    await _finish(session, event)
    return event


async def update_event(session: AsyncSession, actor: Actor, code: str, data: EventData) -> Event:
    event = await get_event(session, code)
    _refuse(await _event_errors(session, data, event.id))
    await _update(session, actor, event, event_values(event), data, kind="event", event=event)
    await _finish(session, event)
    return event


async def delete_event(session: AsyncSession, actor: Actor, code: str) -> None:
    """Deletes the event with its stages, skills, competitors and experts, unless anything has marks."""
    event = await get_event(session, code)
    competitors = select(Competitor.id).where(Competitor.event_id == event.id)
    _in_use(event.name, {_("marks"): await _marks_count(session, competitors)})
    await audit(session, actor, "event_deleted", f"event {event.code}", old=event_values(event))
    # People first: a competitor's registration stage may not disappear from under them.
    await session.execute(delete(Competitor).where(Competitor.event_id == event.id))
    await session.execute(delete(Expert).where(Expert.event_id == event.id))
    await session.delete(event)


# --- stages --------------------------------------------------------------------------------------


async def _stage_errors(
    session: AsyncSession, event: Event, data: StageData, exclude: int | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    await _check_code(session, errors, Stage, data.code, event=event, exclude=exclude)
    if ends_before_start(data.starts, data.ends):
        errors["ends"] = _("Ends before it starts.")
    if data.kind == StageKind.FINAL:
        query = select(Stage).where(Stage.event_id == event.id, Stage.kind == StageKind.FINAL.value)
        if exclude is not None:
            query = query.where(Stage.id != exclude)
        final = await session.scalar(query)
        if final is not None:
            errors["kind"] = _(
                "%(event)s already has a final: %(stage)s.", event=event.code, stage=final.code
            )
    return errors


async def create_stage(session: AsyncSession, actor: Actor, event_code: str, data: StageData) -> Stage:
    event = await get_event(session, event_code)
    _refuse(await _stage_errors(session, event, data, None))
    stage = Stage(event_id=event.id, **asdict(data))
    session.add(stage)
    await audit(session, actor, "stage_created", f"stage {stage.code}", event=event, new=asdict(data))
    await _finish(session, event)
    return stage


async def update_stage(
    session: AsyncSession, actor: Actor, event_code: str, code: str, data: StageData
) -> Stage:
    event = await get_event(session, event_code)
    stage = await get_stage(session, event, code)
    _refuse(await _stage_errors(session, event, data, stage.id))
    await _update(session, actor, stage, stage_values(stage), data, kind="stage", event=event)
    await _finish(session, event)
    return stage


async def delete_stage(session: AsyncSession, actor: Actor, event_code: str, code: str) -> None:
    event = await get_event(session, event_code)
    stage = await get_stage(session, event, code)
    _in_use(
        stage.name,
        {
            _("competitors"): await _count(
                session, select(StageEntry.id).where(StageEntry.stage_id == stage.id)
            ),
            _("marking schemes"): await _count(
                session, select(_marking_scheme.c.stage_id).where(_marking_scheme.c.stage_id == stage.id)
            ),
        },
    )
    await audit(session, actor, "stage_deleted", f"stage {stage.code}", event=event, old=stage_values(stage))
    await session.delete(stage)
    await _finish(session, event)


# --- sectors -------------------------------------------------------------------------------------


async def _sector_errors(
    session: AsyncSession, event: Event, data: SectorData, exclude: int | None
) -> dict[str, str]:
    query = select(Sector).where(Sector.event_id == event.id, func.lower(Sector.name) == data.name.lower())
    if exclude is not None:
        query = query.where(Sector.id != exclude)
    if await session.scalar(query) is not None:
        return {"name": _("There is already a sector named %(name)s.", name=data.name)}
    return {}


async def create_sector(session: AsyncSession, actor: Actor, event_code: str, data: SectorData) -> Sector:
    event = await get_event(session, event_code)
    _refuse(await _sector_errors(session, event, data, None))
    sector = Sector(event_id=event.id, name=data.name)
    session.add(sector)
    await audit(session, actor, "sector_created", f"sector {data.name}", event=event, new=asdict(data))
    await _finish(session, event)
    return sector


async def update_sector(
    session: AsyncSession, actor: Actor, event_code: str, sector_id: str, data: SectorData
) -> Sector:
    event = await get_event(session, event_code)
    sector = await get_sector(session, event, sector_id)
    _refuse(await _sector_errors(session, event, data, sector.id))
    await _update(session, actor, sector, sector_values(sector), data, kind="sector", event=event)
    await _finish(session, event)
    return sector


async def delete_sector(session: AsyncSession, actor: Actor, event_code: str, sector_id: str) -> None:
    event = await get_event(session, event_code)
    sector = await get_sector(session, event, sector_id)
    _in_use(
        sector.name,
        {_("skills"): await _count(session, select(Skill.id).where(Skill.sector_id == sector.id))},
    )
    await audit(session, actor, "sector_deleted", f"sector {sector.name}", event=event, old=sector_values(sector))
    await session.delete(sector)
    await _finish(session, event)


# --- skills --------------------------------------------------------------------------------------


async def _skill_values(
    session: AsyncSession, event: Event, data: SkillData, exclude: int | None
) -> dict[str, Any]:
    """The skill's columns from `data`, or FieldErrors."""
    errors: dict[str, str] = {}
    await _check_code(session, errors, Skill, data.code, event=event, exclude=exclude)
    sector_id = None
    if data.sector:
        sector = await session.scalar(
            select(Sector).where(Sector.event_id == event.id, Sector.name == data.sector)
        )
        if sector is None:
            errors["sector"] = unknown("sector", data.sector)
        else:
            sector_id = sector.id
    _refuse(errors)
    return {
        "code": data.code,
        "name": data.name,
        "sector_id": sector_id,
        "team_size": data.team_size,
        "advance": data.advance,
    }


async def create_skill(session: AsyncSession, actor: Actor, event_code: str, data: SkillData) -> Skill:
    event = await get_event(session, event_code)
    skill = Skill(event_id=event.id, **await _skill_values(session, event, data, None))
    session.add(skill)
    await audit(session, actor, "skill_created", f"skill {skill.code}", event=event, new=asdict(data))
    await _finish(session, event)
    return skill


async def update_skill(
    session: AsyncSession, actor: Actor, event_code: str, code: str, data: SkillData
) -> Skill:
    event = await get_event(session, event_code)
    skill = await get_skill(session, event, code)
    columns = await _skill_values(session, event, data, skill.id)
    await _update(session, actor, skill, skill_values(skill), data, kind="skill", event=event, columns=columns)
    await _finish(session, event)
    return skill


async def delete_skill(session: AsyncSession, actor: Actor, event_code: str, code: str) -> None:
    """Refused while the skill has competitors, experts or a marking scheme (and so any marks)."""
    event = await get_event(session, event_code)
    skill = await get_skill(session, event, code)
    competitors = select(Competitor.id).where(Competitor.skill_id == skill.id)
    _in_use(
        skill.name,
        {
            _("marks"): await _marks_count(session, competitors),
            _("competitors"): await _count(session, competitors),
            _("experts"): await _count(session, select(Expert.id).where(Expert.skill_id == skill.id)),
            _("marking schemes"): await _count(
                session, select(_marking_scheme.c.skill_id).where(_marking_scheme.c.skill_id == skill.id)
            ),
        },
    )
    await audit(session, actor, "skill_deleted", f"skill {skill.code}", event=event, old=skill_values(skill))
    await session.delete(skill)
    await _finish(session, event)


# --- institutions --------------------------------------------------------------------------------


async def _institution_errors(
    session: AsyncSession, data: InstitutionData, exclude: int | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    await _check_code(session, errors, Institution, data.code, event=None, exclude=exclude)
    return errors


async def create_institution(session: AsyncSession, actor: Actor, data: InstitutionData) -> Institution:
    _refuse(await _institution_errors(session, data, None))
    institution = Institution(**asdict(data))
    session.add(institution)
    await audit(session, actor, "institution_created", f"institution {data.code}", new=asdict(data))
    await session.flush()
    return institution


async def update_institution(
    session: AsyncSession, actor: Actor, code: str, data: InstitutionData
) -> Institution:
    institution = await get_institution(session, code)
    _refuse(await _institution_errors(session, data, institution.id))
    await _update(
        session, actor, institution, institution_values(institution), data, kind="institution", event=None
    )
    await session.flush()
    return institution


async def delete_institution(session: AsyncSession, actor: Actor, code: str) -> None:
    """Refused while any competitor or expert belongs to it."""
    institution = await get_institution(session, code)
    _in_use(
        institution.name,
        {
            _("competitors"): await _count(
                session, select(Competitor.id).where(Competitor.institution_id == institution.id)
            ),
            _("experts"): await _count(
                session, select(Expert.id).where(Expert.institution_id == institution.id)
            ),
        },
    )
    await audit(session, actor, "institution_deleted", f"institution {code}", old=institution_values(institution))
    await session.delete(institution)


# --- competitors ---------------------------------------------------------------------------------


async def _references(
    session: AsyncSession,
    event: Event,
    errors: dict[str, str],
    *,
    institution: str,
    skill: str,
    stage: str | None = None,
) -> dict[str, Any]:
    """The institution, skill (and stage) a competitor or expert names, by code; unknown ones in `errors`."""
    found: dict[str, Any] = {
        "institution": await _by_code(session, Institution, institution, None),
        "skill": await _by_code(session, Skill, skill, event),
    }
    if stage is not None:
        found["stage"] = await _by_code(session, Stage, stage, event)
    codes = {"institution": institution, "skill": skill, "stage": stage}
    for kind, record in found.items():
        if record is None:
            errors[kind] = unknown(kind, codes[kind] or "")
    return found


async def _competitor_columns(
    session: AsyncSession, event: Event, data: CompetitorData, exclude: int | None
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    await _check_code(session, errors, Competitor, data.code, event=event, exclude=exclude)
    found = await _references(
        session, event, errors, institution=data.institution, skill=data.skill, stage=data.stage
    )
    _refuse(errors)
    return {
        "code": data.code,
        "first_name": data.first_name,
        "last_name": data.last_name,
        "birth_date": data.birth_date,
        "institution_id": found["institution"].id,
        "skill_id": found["skill"].id,
        "stage_id": found["stage"].id,
    }


async def keep_registration_entry(
    session: AsyncSession, competitor: Competitor, entries: Iterable[StageEntry], old_stage_id: int | None
) -> None:
    """Keep the competitor's StageEntry for their registration stage in step with `competitor.stage_id`.

    `entries` are the competitor's current entries; an entry they earned by advancing is left alone."""
    by_stage = {entry.stage_id: entry for entry in entries}
    old = by_stage.get(old_stage_id) if old_stage_id is not None else None
    if old is not None and old_stage_id != competitor.stage_id and old.advanced_from_id is None:
        if competitor.stage_id in by_stage:
            await session.delete(old)
        else:
            old.stage_id = competitor.stage_id
            return
    if competitor.stage_id not in by_stage:
        session.add(StageEntry(competitor_id=competitor.id, stage_id=competitor.stage_id))


async def create_competitor(
    session: AsyncSession, actor: Actor, event_code: str, data: CompetitorData
) -> Competitor:
    event = await get_event(session, event_code)
    competitor = Competitor(event_id=event.id, **await _competitor_columns(session, event, data, None))
    session.add(competitor)
    await session.flush()
    await keep_registration_entry(session, competitor, [], None)
    await audit(session, actor, "competitor_created", f"competitor {data.code}", event=event, new=asdict(data))
    await _finish(session, event)
    return competitor


async def update_competitor(
    session: AsyncSession, actor: Actor, event_code: str, code: str, data: CompetitorData
) -> Competitor:
    event = await get_event(session, event_code)
    competitor = await get_competitor(session, event, code)
    columns = await _competitor_columns(session, event, data, competitor.id)
    old_stage_id = competitor.stage_id
    entries = list(await session.scalars(select(StageEntry).where(StageEntry.competitor_id == competitor.id)))
    await _update(
        session,
        actor,
        competitor,
        competitor_values(competitor),
        data,
        kind="competitor",
        event=event,
        columns=columns,
    )
    await keep_registration_entry(session, competitor, entries, old_stage_id)
    await _finish(session, event)
    return competitor


async def delete_competitor(session: AsyncSession, actor: Actor, event_code: str, code: str) -> None:
    """Refused once the competitor has marks."""
    event = await get_event(session, event_code)
    competitor = await get_competitor(session, event, code)
    ids = select(Competitor.id).where(Competitor.id == competitor.id)
    _in_use(competitor.name, {_("marks"): await _marks_count(session, ids)})
    await audit(
        session,
        actor,
        "competitor_deleted",
        f"competitor {code}",
        event=event,
        old=competitor_values(competitor),
    )
    await session.delete(competitor)
    await _finish(session, event)


# --- experts and their log-ins -------------------------------------------------------------------


async def link_user(session: AsyncSession, email: str, name: str) -> User:
    """The user with this email, created (without a password) when there is none yet."""
    user = await find_user_by_email(session, email)
    if user is None:
        user = User(email=email, name=name, role=Role.EXPERT.value)
        session.add(user)
        await session.flush()
    elif user.role != Role.ORGANISER:
        user.name = name
    return user


async def sync_user_roles(session: AsyncSession, user_ids: Iterable[int]) -> None:
    """A user who is Chief Expert of any skill has that role; other expert users are experts.
    Organisers stay organisers."""
    ids = set(user_ids)
    if not ids:
        return
    chiefs = set(
        await session.scalars(
            select(Expert.user_id).where(
                Expert.user_id.in_(ids), Expert.role == ExpertRole.CHIEF_EXPERT.value
            )
        )
    )
    for user in await session.scalars(select(User).where(User.id.in_(ids))):
        if user.role != Role.ORGANISER:
            user.role = Role.CHIEF_EXPERT.value if user.id in chiefs else Role.EXPERT.value


async def _expert_columns(
    session: AsyncSession, event: Event, data: ExpertData, exclude: int | None
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    await _check_code(session, errors, Expert, data.code, event=event, exclude=exclude)
    found = await _references(session, event, errors, institution=data.institution, skill=data.skill)
    skill = found["skill"]
    if skill is not None:
        others = select(Expert).where(Expert.skill_id == skill.id)
        if exclude is not None:
            others = others.where(Expert.id != exclude)
        same_person = await session.scalar(others.where(func.lower(Expert.email) == data.email))
        if same_person is not None:
            errors["email"] = _(
                "%(email)s is already an expert of this skill (%(code)s).",
                email=data.email,
                code=same_person.code,
            )
        chief = await session.scalar(others.where(Expert.role == ExpertRole.CHIEF_EXPERT.value))
        if data.role == ExpertRole.CHIEF_EXPERT and chief is not None:
            errors["role"] = _(
                "%(skill)s already has a Chief Expert: %(name)s.", skill=skill.name, name=chief.name
            )
    _refuse(errors)
    user = await link_user(session, data.email, data.name)
    return {
        "code": data.code,
        "first_name": data.first_name,
        "last_name": data.last_name,
        "email": data.email,
        "institution_id": found["institution"].id,
        "skill_id": skill.id,
        "role": data.role,
        "user_id": user.id,
    }


async def create_expert(session: AsyncSession, actor: Actor, event_code: str, data: ExpertData) -> Expert:
    """Registers the expert and links the user with their email (created without a password if new)."""
    event = await get_event(session, event_code)
    expert = Expert(event_id=event.id, **await _expert_columns(session, event, data, None))
    session.add(expert)
    await session.flush()
    await sync_user_roles(session, [expert.user_id] if expert.user_id else [])
    await audit(session, actor, "expert_created", f"expert {data.code}", event=event, new=asdict(data))
    await _finish(session, event)
    return expert


async def update_expert(
    session: AsyncSession, actor: Actor, event_code: str, code: str, data: ExpertData
) -> Expert:
    event = await get_event(session, event_code)
    expert = await get_expert(session, event, code)
    columns = await _expert_columns(session, event, data, expert.id)
    previous_user = expert.user_id
    await _update(session, actor, expert, expert_values(expert), data, kind="expert", event=event, columns=columns)
    await session.flush()
    await sync_user_roles(session, {uid for uid in (previous_user, expert.user_id) if uid})
    await _finish(session, event)
    return expert


async def delete_expert(session: AsyncSession, actor: Actor, event_code: str, code: str) -> None:
    """Refused once the expert has entered marks (their scores would go with them)."""
    event = await get_event(session, event_code)
    expert = await get_expert(session, event, code)
    _in_use(expert.name, {_("marks"): await _marks_count(session, expert_id=expert.id)})
    user_id = expert.user_id
    await audit(session, actor, "expert_deleted", f"expert {code}", event=event, old=expert_values(expert))
    await session.delete(expert)
    await session.flush()
    await sync_user_roles(session, [user_id] if user_id else [])
    await _finish(session, event)


async def new_password_hash(password: str) -> str:
    """A password as stored (hashed in a worker thread: it is slow on purpose), or FieldErrors if too short.
    Done before the change is queued, so that no writer waits for it."""
    if len(password) < MIN_PASSWORD:
        raise FieldErrors({"password": _("Use at least %(count)s characters.", count=MIN_PASSWORD)})
    return await asyncio.to_thread(hash_password, password)


async def set_expert_password(
    session: AsyncSession, actor: Actor, event_code: str, code: str, password_hash: str
) -> User:
    """An organiser gives the expert's user a password (see `new_password_hash`), so that they can log in."""
    event = await get_event(session, event_code)
    expert = await get_expert(session, event, code)
    user = expert.user or await link_user(session, expert.email, expert.name)
    expert.user_id = user.id
    user.password_hash = password_hash
    await audit(session, actor, "password_set", f"user {user.email}", event=event)
    await session.flush()
    return user
