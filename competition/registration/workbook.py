"""The event workbook (CONTRACT.md, "Event workbook"): read it, check every row, then register it all at once.

Reading happens in a worker thread (openpyxl blocks). Checking is pure: `plan_import` takes the
sheets and what the database already holds and returns either a plan or every problem, each named
with its sheet and row. Only a workbook without problems is written, in one transaction; records are
matched by their codes (institutions globally, everything else within the event; sectors by name),
so importing the same workbook again updates and never duplicates.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import selectinload

from competition.errors import Invalid
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
    StageKind,
    User,
)
from competition.registration.records import (
    COMPETITOR_FIELDS,
    EVENT_FIELDS,
    EXPERT_FIELDS,
    INSTITUTION_FIELDS,
    SKILL_FIELDS,
    STAGE_FIELDS,
    CompetitorData,
    EventData,
    ExpertData,
    Field,
    InstitutionData,
    SkillData,
    StageData,
    cell_text,
    ends_before_start,
    normalise_header,
    parse_record,
)
from competition.registration.services import (
    Actor,
    audit,
    keep_registration_entry,
    registration_changed,
    sync_user_roles,
)
from competition.spreadsheets import NotAWorkbook, UnsafeWorkbook, open_workbook, sheet_rows
from competition.writer import write

T = TypeVar("T")

SHEETS: dict[str, tuple[Field, ...]] = {
    "Event": EVENT_FIELDS,
    "Stages": STAGE_FIELDS,
    "Skills": SKILL_FIELDS,
    "Institutions": INSTITUTION_FIELDS,
    "Competitors": COMPETITOR_FIELDS,
    "Experts": EXPERT_FIELDS,
}
DATA_TYPES: dict[str, type] = {
    "Event": EventData,
    "Stages": StageData,
    "Skills": SkillData,
    "Institutions": InstitutionData,
    "Competitors": CompetitorData,
    "Experts": ExpertData,
}


# --- reading ---------------------------------------------------------------------------------------


@dataclass
class Sheet:
    """One sheet's records: the columns found (field name → header as written) and the rows' cells."""

    name: str
    headers: dict[str, str]
    rows: list[tuple[int, dict[str, object]]]


def read_workbook(source: bytes | Path, filename: str) -> dict[str, Sheet]:
    """The six sheets of an event workbook (blocking: call it in a worker thread).

    Raises Invalid when the file is not an xlsx workbook or lacks a sheet."""
    try:
        workbook = open_workbook(source)
    except NotAWorkbook:
        raise Invalid(_("%(file)s is not an Excel workbook (.xlsx).", file=filename)) from None
    except UnsafeWorkbook as unsafe:
        raise Invalid(f"{filename}: {unsafe}") from None
    try:
        by_name = {name.strip().lower(): name for name in workbook.sheetnames}
        absent = [sheet for sheet in SHEETS if sheet.lower() not in by_name]
        if absent:
            raise Invalid(
                _(
                    "%(file)s lacks the sheets %(sheets)s (an event workbook has the sheets Event, Stages, "
                    "Skills, Institutions, Competitors and Experts).",
                    file=filename,
                    sheets=", ".join(absent),
                )
            )
        return {
            sheet: _read_sheet(workbook[by_name[sheet.lower()]], sheet, fields)
            for sheet, fields in SHEETS.items()
        }
    except UnsafeWorkbook as unsafe:
        raise Invalid(f"{filename}: {unsafe}") from None
    except Invalid:
        raise
    except Exception:  # a damaged sheet part fails only once its rows are read
        raise Invalid(_("%(file)s is damaged: its sheets cannot be read.", file=filename)) from None
    finally:
        workbook.close()


def _read_sheet(worksheet: Any, sheet: str, fields: tuple[Field, ...]) -> Sheet:
    rows = (values for _number, values in sheet_rows(worksheet, sheet))
    header_row = next(rows, ()) or ()
    wanted = {normalise_header(f.header): f.name for f in fields}
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    for index, header in enumerate(header_row):
        name = wanted.get(normalise_header(header))
        if name is not None and name not in columns:
            columns[name], headers[name] = index, str(header).strip()
    records = []
    for number, cells in enumerate(rows, start=2):
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
            continue
        records.append((number, {name: cells[i] if i < len(cells) else None for name, i in columns.items()}))
    return Sheet(name=sheet, headers=headers, rows=records)


# --- checking --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Existing:
    """What the database holds already that rows may refer to (for the workbook's event)."""

    institutions: frozenset[str] = frozenset()
    stages: dict[str, str] = field(default_factory=dict)
    """Stage code → kind."""
    skills: frozenset[str] = frozenset()
    experts: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """Expert code → (skill code, role, email)."""


class Problems:
    """Every problem found, each as '<sheet> row <n>: …', listed in the workbook's order."""

    def __init__(self) -> None:
        self._found: list[tuple[int, int, str]] = []

    def add(self, sheet: str, row: int, problem: str) -> None:
        text = _("%(sheet)s row %(row)s: %(problem)s", sheet=sheet, row=row, problem=problem)
        self._found.append((list(SHEETS).index(sheet), row, text))

    def __bool__(self) -> bool:
        return bool(self._found)

    def __len__(self) -> int:
        return len(self._found)

    def listed(self) -> list[str]:
        return [text for _sheet, _row, text in sorted(self._found)]


@dataclass(frozen=True)
class Row(Generic[T]):
    sheet: str
    number: int
    data: T


@dataclass
class ImportPlan:
    """A checked workbook, ready to be written."""

    event: EventData
    stages: list[StageData]
    skills: list[SkillData]
    institutions: list[InstitutionData]
    competitors: list[CompetitorData]
    experts: list[ExpertData]


def _parse_sheet(sheet: Sheet, problems: Problems) -> list[Row[Any]]:
    fields = SHEETS[sheet.name]
    missing = [f.header for f in fields if f.required and f.name not in sheet.headers]
    for header in missing:
        problems.add(sheet.name, 1, _("missing column '%(column)s'", column=header))
    if missing:
        return []
    parsed: list[Row[Any]] = []
    for number, cells in sheet.rows:
        values, errors = parse_record(fields, cells)
        for name, message in errors.items():
            problems.add(sheet.name, number, f"{sheet.headers.get(name, name)}: {message}")
        if not errors:
            parsed.append(Row(sheet.name, number, DATA_TYPES[sheet.name](**values)))
    return parsed


def _unique_codes(rows: list[Row[Any]], problems: Problems) -> None:
    first: dict[str, int] = {}
    for row in rows:
        key = row.data.code.lower()
        if key in first:
            problems.add(
                row.sheet,
                row.number,
                _("code %(code)s is also on row %(other)s", code=row.data.code, other=first[key]),
            )
        else:
            first[key] = row.number


def _check_references(row: Row[Any], known: dict[str, set[str]], problems: Problems) -> None:
    messages = {
        "institution": lambda code: _("unknown institution '%(code)s'", code=code),
        "skill": lambda code: _("unknown skill '%(code)s'", code=code),
        "stage": lambda code: _("unknown stage '%(code)s'", code=code),
    }
    for kind, message in messages.items():
        code = getattr(row.data, kind, None)
        if code is not None and code.lower() not in known[kind]:
            problems.add(row.sheet, row.number, message(code))


def _codes(sheet: Sheet, existing: Iterable[str]) -> set[str]:
    """The codes a sheet gives (in lower case), with those the database holds already."""
    return {c.lower() for c in existing} | {
        cell_text(cells.get("code")).lower() for _row, cells in sheet.rows
    }


def event_code_of(sheets: dict[str, Sheet]) -> str | None:
    """The event's code as the Event sheet gives it (to load what the database already holds)."""
    rows = sheets["Event"].rows
    code = rows[0][1].get("code") if rows else None
    return str(code).strip() if code not in (None, "") else None


def plan_import(sheets: dict[str, Sheet], existing: Existing, filename: str = "workbook") -> ImportPlan:
    """Check every row of the workbook; the plan, or Invalid naming every bad row (sheet and row)."""
    problems = Problems()
    rows = {name: _parse_sheet(sheet, problems) for name, sheet in sheets.items()}
    if not sheets["Event"].rows:
        problems.add("Event", 2, _("the event is missing"))
    for number, _cells in sheets["Event"].rows[1:]:
        problems.add("Event", number, _("a workbook registers one event; remove this row"))
    for name in ("Stages", "Skills", "Institutions", "Competitors", "Experts"):
        _unique_codes(rows[name], problems)
    for row in rows["Event"] + rows["Stages"]:
        if ends_before_start(row.data.starts, row.data.ends):
            problems.add(row.sheet, row.number, _("ends before it starts"))
    _check_one_final(rows["Stages"], existing, problems)
    known = {  # codes of rows with other problems count as known: each problem is reported once
        "institution": _codes(sheets["Institutions"], existing.institutions),
        "skill": _codes(sheets["Skills"], existing.skills),
        "stage": _codes(sheets["Stages"], existing.stages),
    }
    for row in rows["Competitors"] + rows["Experts"]:
        _check_references(row, known, problems)
    _check_experts(rows["Experts"], existing, problems)
    if problems:
        raise Invalid(
            _(
                "%(file)s was refused (problems: %(count)s); nothing was saved.",
                file=filename,
                count=len(problems),
            ),
            problems=problems.listed(),
        )
    return ImportPlan(
        event=rows["Event"][0].data,
        stages=[r.data for r in rows["Stages"]],
        skills=[r.data for r in rows["Skills"]],
        institutions=[r.data for r in rows["Institutions"]],
        competitors=[r.data for r in rows["Competitors"]],
        experts=[r.data for r in rows["Experts"]],
    )


def _check_one_final(stages: list[Row[StageData]], existing: Existing, problems: Problems) -> None:
    in_file = {row.data.code.lower() for row in stages}
    finals = [
        code
        for code, kind in existing.stages.items()
        if kind == StageKind.FINAL and code.lower() not in in_file
    ]
    for row in stages:
        if row.data.kind == StageKind.FINAL:
            if finals:
                problems.add(
                    row.sheet, row.number, _("a second final (the event's final is %(code)s)", code=finals[0])
                )
            finals.append(row.data.code)


def _check_experts(experts: list[Row[ExpertData]], existing: Existing, problems: Problems) -> None:
    """One Chief Expert per skill, and one expert record per person and skill."""
    in_file = {row.data.code.lower() for row in experts}
    chiefs: dict[str, str] = {
        skill.lower(): code
        for code, (skill, role, _email) in existing.experts.items()
        if role == ExpertRole.CHIEF_EXPERT and code.lower() not in in_file
    }
    people: dict[tuple[str, str], str] = {
        (skill.lower(), email): code
        for code, (skill, _role, email) in existing.experts.items()
        if code.lower() not in in_file
    }
    for row in experts:
        skill = row.data.skill.lower()
        if row.data.role == ExpertRole.CHIEF_EXPERT:
            if skill in chiefs:
                problems.add(
                    row.sheet,
                    row.number,
                    _(
                        "skill %(skill)s already has a Chief Expert (%(code)s)",
                        skill=row.data.skill,
                        code=chiefs[skill],
                    ),
                )
            else:
                chiefs[skill] = row.data.code
        person = (skill, row.data.email)
        if person in people:
            problems.add(
                row.sheet,
                row.number,
                _(
                    "%(email)s is already an expert of skill %(skill)s (%(code)s)",
                    email=row.data.email,
                    skill=row.data.skill,
                    code=people[person],
                ),
            )
        else:
            people[person] = row.data.code


# --- writing ---------------------------------------------------------------------------------------


@dataclass
class Count:
    total: int = 0
    new: int = 0

    def add(self, created: bool) -> None:
        self.total += 1
        self.new += created


@dataclass
class ImportSummary:
    """What an import did, for the command's output, the page and the audit trail."""

    event: str
    event_created: bool
    counts: dict[str, Count] = field(default_factory=lambda: defaultdict(Count))

    def line(self) -> str:
        labels = {
            "stages": _("stages"),
            "sectors": _("sectors"),
            "skills": _("skills"),
            "institutions": _("institutions"),
            "competitors": _("competitors"),
            "experts": _("experts"),
            "users": _("expert log-ins"),
        }
        parts = [
            _(
                "%(count)s %(what)s (%(new)s new)",
                count=self.counts[key].total,
                what=label,
                new=self.counts[key].new,
            )
            for key, label in labels.items()
        ]
        return f"{self.event}: {', '.join(parts)}"


async def load_existing(session: AsyncSession, event_code: str | None) -> Existing:
    institutions = frozenset(await session.scalars(select(Institution.code)))
    event = await session.scalar(select(Event).where(Event.code == event_code)) if event_code else None
    if event is None:
        return Existing(institutions=institutions)
    stages = {
        code: kind
        for code, kind in await session.execute(
            select(Stage.code, Stage.kind).where(Stage.event_id == event.id)
        )
    }
    skills = frozenset(await session.scalars(select(Skill.code).where(Skill.event_id == event.id)))
    experts = {
        code: (skill, role, email.lower())
        for code, skill, role, email in await session.execute(
            select(Expert.code, Skill.code, Expert.role, Expert.email)
            .join(Skill, Expert.skill_id == Skill.id)
            .where(Expert.event_id == event.id)
        )
    }
    return Existing(institutions=institutions, stages=stages, skills=skills, experts=experts)


def _by_code(records: Iterable[Any]) -> dict[str, Any]:
    return {record.code.lower(): record for record in records}


def _assign(record: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(record, name, value)


def _upsert(
    session: AsyncSession, records: dict[str, Any], code: str, new: Callable[[], Any], count: Count
) -> Any:
    """The record with this code among `records`, or a new one added to the session (and counted as new)."""
    record = records.get(code.lower())
    count.add(record is None)
    if record is None:
        record = records[code.lower()] = new()
        session.add(record)
    return record


async def apply_plan(session: AsyncSession, plan: ImportPlan, summary: ImportSummary) -> Event:
    """Write a checked plan: update records with the same codes, add the others (never delete)."""
    event = await session.scalar(select(Event).where(Event.code == plan.event.code))
    summary.event_created = event is None
    if event is None:
        event = Event(code=plan.event.code, name=plan.event.name)
        session.add(event)
    _assign(event, asdict(plan.event))
    await session.flush()

    stages = _by_code(await session.scalars(select(Stage).where(Stage.event_id == event.id)))
    for stage_data in plan.stages:
        stage = _upsert(
            session, stages, stage_data.code, lambda: Stage(event_id=event.id), summary.counts["stages"]
        )
        _assign(stage, asdict(stage_data))

    sectors = {
        s.name.lower(): s for s in await session.scalars(select(Sector).where(Sector.event_id == event.id))
    }
    for name in dict.fromkeys(s.sector for s in plan.skills if s.sector):
        summary.counts["sectors"].add(name.lower() not in sectors)
        if name.lower() not in sectors:
            sectors[name.lower()] = Sector(event_id=event.id, name=name)
            session.add(sectors[name.lower()])
    await session.flush()

    skills = _by_code(await session.scalars(select(Skill).where(Skill.event_id == event.id)))
    for skill_data in plan.skills:
        skill = _upsert(
            session, skills, skill_data.code, lambda: Skill(event_id=event.id), summary.counts["skills"]
        )
        values = asdict(skill_data)
        sector_name = values.pop("sector")
        _assign(skill, {**values, "sector_id": sectors[sector_name.lower()].id if sector_name else None})

    institutions = _by_code(await session.scalars(select(Institution)))
    for institution_data in plan.institutions:
        institution = _upsert(
            session, institutions, institution_data.code, Institution, summary.counts["institutions"]
        )
        _assign(institution, asdict(institution_data))
    await session.flush()

    await _apply_competitors(session, event, plan, stages, skills, institutions, summary)
    await _apply_experts(session, event, plan, skills, institutions, summary)
    return event


async def _apply_competitors(
    session: AsyncSession,
    event: Event,
    plan: ImportPlan,
    stages: dict[str, Stage],
    skills: dict[str, Skill],
    institutions: dict[str, Institution],
    summary: ImportSummary,
) -> None:
    competitors = _by_code(
        await session.scalars(
            select(Competitor)
            .where(Competitor.event_id == event.id)
            .options(selectinload(Competitor.entries))
        )
    )
    previous_stage: dict[int, int] = {}
    changed: list[Competitor] = []
    for data in plan.competitors:
        registered = competitors.get(data.code.lower())
        if registered is not None:
            previous_stage[id(registered)] = registered.stage_id
        competitor = _upsert(
            session,
            competitors,
            data.code,
            lambda: Competitor(event_id=event.id, entries=[]),
            summary.counts["competitors"],
        )
        _assign(
            competitor,
            {
                "code": data.code,
                "first_name": data.first_name,
                "last_name": data.last_name,
                "birth_date": data.birth_date,
                "institution_id": institutions[data.institution.lower()].id,
                "skill_id": skills[data.skill.lower()].id,
                "stage_id": stages[data.stage.lower()].id,
            },
        )
        changed.append(competitor)
    await session.flush()
    for competitor in changed:
        await keep_registration_entry(
            session, competitor, list(competitor.entries), previous_stage.get(id(competitor))
        )


async def _apply_experts(
    session: AsyncSession,
    event: Event,
    plan: ImportPlan,
    skills: dict[str, Skill],
    institutions: dict[str, Institution],
    summary: ImportSummary,
) -> None:
    emails = {data.email for data in plan.experts}
    users = (
        {
            user.email.lower(): user
            for user in await session.scalars(select(User).where(func.lower(User.email).in_(emails)))
        }
        if emails
        else {}
    )
    for data in plan.experts:
        user = users.get(data.email)
        if user is None:
            user = users[data.email] = User(email=data.email, name=data.name, role=Role.EXPERT.value)
            session.add(user)
        elif user.role != Role.ORGANISER:
            user.name = data.name
    for email in emails:
        summary.counts["users"].add(users[email].id is None)
    await session.flush()
    experts = _by_code(await session.scalars(select(Expert).where(Expert.event_id == event.id)))
    touched = {users[email].id for email in emails}
    for data in plan.experts:
        registered = experts.get(data.code.lower())
        if registered is not None and registered.user_id:
            touched.add(registered.user_id)
        expert = _upsert(
            session, experts, data.code, lambda: Expert(event_id=event.id), summary.counts["experts"]
        )
        _assign(
            expert,
            {
                "code": data.code,
                "first_name": data.first_name,
                "last_name": data.last_name,
                "email": data.email,
                "institution_id": institutions[data.institution.lower()].id,
                "skill_id": skills[data.skill.lower()].id,
                "role": data.role,
                "user_id": users[data.email].id,
            },
        )
    await session.flush()
    await sync_user_roles(session, touched)


async def import_event_workbook(
    where: AsyncSession | AsyncEngine, actor: Actor, source: bytes | Path, filename: str
) -> ImportSummary:
    """Register (or update) the event of an event workbook: everything or, with any bad row, nothing.

    The file is read in a worker thread first; the plan is made and applied in one write transaction."""
    sheets = await asyncio.to_thread(read_workbook, source, filename)
    return await write(where, apply_event_workbook, actor, sheets, filename)


async def apply_event_workbook(
    session: AsyncSession, actor: Actor, sheets: dict[str, Sheet], filename: str
) -> ImportSummary:
    """The change of an import: checks the read rows against what is registered, then registers them."""
    existing = await load_existing(session, event_code_of(sheets))
    plan = plan_import(sheets, existing, filename)
    summary = ImportSummary(event=plan.event.code, event_created=False)
    event = await apply_plan(session, plan, summary)
    await audit(session, actor, "event_imported", filename, event=event, new={"summary": summary.line()})
    await registration_changed(session, event)
    return summary
