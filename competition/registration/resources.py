"""What the organiser's pages show and change for each kind of record: columns, filters, search and services.

`routes.py` turns each `Resource` into the same five pages (list with search and a create form, create,
edit, update, delete); everything that differs between events, stages, sectors, skills,
institutions, competitors and experts is said here.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from babel.support import LazyProxy
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from competition.i18n import gettext as _
from competition.i18n import lazy_gettext
from competition.models import (
    Competitor,
    Event,
    Expert,
    ExpertRole,
    Institution,
    Sector,
    Skill,
    Stage,
    StageEntry,
)
from competition.registration import services
from competition.registration.records import (
    CHOICE_LABELS,
    COMPETITOR_FIELDS,
    EVENT_FIELDS,
    EXPERT_FIELDS,
    INSTITUTION_FIELDS,
    SECTOR_FIELDS,
    SKILL_FIELDS,
    STAGE_FIELDS,
    CompetitorData,
    EventData,
    ExpertData,
    Field,
    InstitutionData,
    SectorData,
    SkillData,
    StageData,
)
from competition.registration.services import Actor
from competition.writer import write

Listed = tuple[Any, dict[str, Any]]
"""A record as a list shows it: the record and figures computed for it (counts, the Chief Expert)."""
Options = dict[str, list[tuple[str, str]]]


@dataclass(frozen=True)
class Column:
    """A column of a list: its heading, how to get the value, and how to show it."""

    label: LazyProxy
    value: Callable[[Any, dict[str, Any]], Any]
    kind: str = "text"
    """text; date (local format); num (right-aligned); choice (a stored choice's label); chief (a badge)."""
    link: bool = False


def folded(text: str) -> str:
    """Text for searching: no case, no diacritics ('Bērziņa' is found by 'berzina')."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def matches(query: str, *texts: str) -> bool:
    """Every word of the query occurs in one of the texts."""
    haystack = folded(" ".join(texts))
    return all(word in haystack for word in folded(query).split())


def form_text(value: Any) -> str:
    """A stored value as a form shows it (dates as YYYY-MM-DD, which date inputs expect)."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def choice_label(value: str) -> str:
    label = CHOICE_LABELS.get(value)
    return str(label) if label is not None else value


async def reference_options(session: AsyncSession, event: Event | None, fields: tuple[Field, ...]) -> Options:
    """The choices of each select on a form: other records by code, and the fixed choices."""
    wanted = {f.name for f in fields}
    options: Options = {}
    if "institution" in wanted:
        options["institution"] = [
            (i.code, f"{i.name} ({i.code})")
            for i in await session.scalars(select(Institution).order_by(Institution.name, Institution.code))
        ]
    if event is not None and "skill" in wanted:
        options["skill"] = [
            (s.code, f"{s.code} {s.name}")
            for s in await session.scalars(
                select(Skill).where(Skill.event_id == event.id).order_by(Skill.code)
            )
        ]
    if event is not None and "stage" in wanted:
        options["stage"] = [
            (s.code, s.name)
            for s in await session.scalars(
                select(Stage).where(Stage.event_id == event.id).order_by(Stage.starts, Stage.code)
            )
        ]
    if event is not None and "sector" in wanted:
        options["sector"] = [("", "—")] + [
            (s.name, s.name)
            for s in await session.scalars(
                select(Sector).where(Sector.event_id == event.id).order_by(Sector.name)
            )
        ]
    for f in fields:
        if f.kind == "choice":
            options[f.name] = [(choice, choice_label(choice)) for choice in f.choices]
    for f in fields:
        if f.required and f.name in options and f.kind == "ref":
            options[f.name] = [("", _("Choose…")), *options[f.name]]
    return options


@dataclass(frozen=True)
class Operations:
    """The services of one kind of record (see services.py). Scoped records' functions take
    the event's code (or, for `get`, the event) before the record's key; global ones do not."""

    get: Callable[..., Awaitable[Any]]
    create: Callable[..., Awaitable[Any]]
    update: Callable[..., Awaitable[Any]]
    delete: Callable[..., Awaitable[None]]
    values: Callable[[Any], dict[str, Any]]


class Resource:
    """One kind of record on the organiser's pages; subclasses fill in the specifics."""

    key: ClassVar[str]
    """The URL segment: `stages`, `competitors` …"""
    title: ClassVar[LazyProxy]
    add_title: ClassVar[LazyProxy]
    edit_title: ClassVar[LazyProxy]
    fields: ClassVar[tuple[Field, ...]]
    data_type: ClassVar[type]
    columns: ClassVar[tuple[Column, ...]]
    operations: ClassVar[Operations]
    filters: ClassVar[tuple[str, ...]] = ()
    """Fields whose value filters the list (query parameters of the same name)."""
    searchable: ClassVar[bool] = False
    scoped: ClassVar[bool] = True
    """Records of one event (URLs under /events/{event}/), or global (institutions, events)."""
    edit_extra: ClassVar[str | None] = None
    """A template shown on the edit page under the form (e.g. an expert's password)."""
    actions: ClassVar[tuple[tuple[LazyProxy, str], ...]] = ()

    def list_url(self, event: Event | None) -> str:
        return f"/events/{event.code}/{self.key}" if self.scoped and event is not None else f"/{self.key}"

    def item_url(self, event: Event | None, key: str, action: str = "edit") -> str:
        """The record's edit page, or (with `action`) where its delete or password form posts."""
        return f"{self.list_url(event)}/{key}/{action}"

    def link(self, event: Event | None, record: Any) -> str:
        return self.item_url(event, self.key_of(record))

    def key_of(self, record: Any) -> str:
        return str(record.code)

    def label_of(self, record: Any) -> str:
        return f"{record.code} {record.name}"

    def confirm_delete(self, record: Any) -> str:
        return _("Delete %(what)s?", what=self.label_of(record))

    def values_of(self, record: Any) -> dict[str, str]:
        return {name: form_text(value) for name, value in self.operations.values(record).items()}

    async def records(
        self, session: AsyncSession, event: Event | None, query: Mapping[str, str]
    ) -> list[Listed]:
        raise NotImplementedError

    def _scope(self, event: Event | None) -> tuple[str, ...]:
        if not self.scoped:
            return ()
        assert event is not None, "an event's records need their event"
        return (event.code,)

    async def load(self, session: AsyncSession, event: Event | None, key: str) -> Any:
        return await self.operations.get(session, *((event,) if self.scoped else ()), key)

    async def create(self, session: AsyncSession, actor: Actor, event: Event | None, data: Any) -> Any:
        return await write(session, self.operations.create, actor, *self._scope(event), data)

    async def update(
        self, session: AsyncSession, actor: Actor, event: Event | None, key: str, data: Any
    ) -> Any:
        return await write(session, self.operations.update, actor, *self._scope(event), key, data)

    async def delete(self, session: AsyncSession, actor: Actor, event: Event | None, key: str) -> None:
        await write(session, self.operations.delete, actor, *self._scope(event), key)


# --- events ----------------------------------------------------------------------------------------


class Events(Resource):
    key = "events"
    title = lazy_gettext("Events")
    add_title = lazy_gettext("Add an event")
    edit_title = lazy_gettext("Edit event")
    fields = EVENT_FIELDS
    data_type = EventData
    operations = Operations(
        services.get_event,
        services.create_event,
        services.update_event,
        services.delete_event,
        services.event_values,
    )
    scoped = False
    columns = (
        Column(lazy_gettext("Code"), lambda e, x: e.code, link=True),
        Column(lazy_gettext("Name"), lambda e, x: e.name),
        Column(lazy_gettext("Starts"), lambda e, x: e.starts, "date"),
        Column(lazy_gettext("Ends"), lambda e, x: e.ends, "date"),
        Column(lazy_gettext("Venue"), lambda e, x: e.venue),
        Column(lazy_gettext("Skills"), lambda e, x: x["skills"], "num"),
        Column(lazy_gettext("Competitors"), lambda e, x: x["competitors"], "num"),
    )
    actions = ((lazy_gettext("Import an event workbook"), "/events/import"),)

    def link(self, event: Event | None, record: Any) -> str:
        return f"/events/{record.code}"

    async def records(
        self, session: AsyncSession, event: Event | None, query: Mapping[str, str]
    ) -> list[Listed]:
        events = list(await session.scalars(select(Event).order_by(Event.starts.desc(), Event.code)))
        skills = Counter(
            dict((await session.execute(select(Skill.event_id, func.count()).group_by(Skill.event_id))).all())
        )
        competitors = Counter(
            dict(
                (
                    await session.execute(
                        select(Competitor.event_id, func.count()).group_by(Competitor.event_id)
                    )
                ).all()
            )
        )
        return [(e, {"skills": skills[e.id], "competitors": competitors[e.id]}) for e in events]

    def confirm_delete(self, record: Any) -> str:
        return _("Delete %(what)s with all its stages, skills, competitors and experts?", what=record.name)


# --- stages, sectors, skills -------------------------------------------------------------------------


async def _stage_counts(session: AsyncSession, event: Event) -> Counter[int]:
    rows = await session.execute(
        select(StageEntry.stage_id, func.count())
        .join(Stage, StageEntry.stage_id == Stage.id)
        .where(Stage.event_id == event.id)
        .group_by(StageEntry.stage_id)
    )
    return Counter(dict(rows.all()))


class Stages(Resource):
    key = "stages"
    title = lazy_gettext("Stages")
    add_title = lazy_gettext("Add a stage")
    edit_title = lazy_gettext("Edit stage")
    fields = STAGE_FIELDS
    data_type = StageData
    operations = Operations(
        services.get_stage,
        services.create_stage,
        services.update_stage,
        services.delete_stage,
        services.stage_values,
    )
    columns = (
        Column(lazy_gettext("Code"), lambda s, x: s.code, link=True),
        Column(lazy_gettext("Name"), lambda s, x: s.name),
        Column(lazy_gettext("Kind"), lambda s, x: s.kind, "choice"),
        Column(lazy_gettext("Starts"), lambda s, x: s.starts, "date"),
        Column(lazy_gettext("Ends"), lambda s, x: s.ends, "date"),
        Column(lazy_gettext("Venue"), lambda s, x: s.venue),
        Column(lazy_gettext("Competitors"), lambda s, x: x["competitors"], "num"),
    )

    async def records(
        self, session: AsyncSession, event: Event | None, query: Mapping[str, str]
    ) -> list[Listed]:
        assert event is not None
        counts = await _stage_counts(session, event)
        stages = await session.scalars(
            select(Stage).where(Stage.event_id == event.id).order_by(Stage.starts, Stage.code)
        )
        return [(stage, {"competitors": counts[stage.id]}) for stage in stages]


class Sectors(Resource):
    key = "sectors"
    title = lazy_gettext("Sectors")
    add_title = lazy_gettext("Add a sector")
    edit_title = lazy_gettext("Edit sector")
    fields = SECTOR_FIELDS
    data_type = SectorData
    operations = Operations(
        services.get_sector,
        services.create_sector,
        services.update_sector,
        services.delete_sector,
        services.sector_values,
    )
    columns = (
        Column(lazy_gettext("Name"), lambda s, x: s.name, link=True),
        Column(lazy_gettext("Skills"), lambda s, x: ", ".join(f"{k.code} {k.name}" for k in s.skills)),
    )

    def key_of(self, record: Any) -> str:
        return str(record.id)

    def label_of(self, record: Any) -> str:
        return str(record.name)

    async def records(
        self, session: AsyncSession, event: Event | None, query: Mapping[str, str]
    ) -> list[Listed]:
        assert event is not None
        sectors = await session.scalars(
            select(Sector)
            .where(Sector.event_id == event.id)
            .options(selectinload(Sector.skills))
            .order_by(Sector.name)
        )
        return [(sector, {}) for sector in sectors]


class Skills(Resource):
    key = "skills"
    title = lazy_gettext("Skills")
    add_title = lazy_gettext("Add a skill")
    edit_title = lazy_gettext("Edit skill")
    fields = SKILL_FIELDS
    data_type = SkillData
    operations = Operations(
        services.get_skill,
        services.create_skill,
        services.update_skill,
        services.delete_skill,
        services.skill_values,
    )
    columns = (
        Column(lazy_gettext("Code"), lambda s, x: s.code, link=True),
        Column(lazy_gettext("Name"), lambda s, x: s.name),
        Column(lazy_gettext("Sector"), lambda s, x: s.sector.name if s.sector else ""),
        Column(lazy_gettext("Team size"), lambda s, x: s.team_size, "num"),
        Column(lazy_gettext("Advance to the final"), lambda s, x: s.advance, "num"),
        Column(lazy_gettext("Chief Expert"), lambda s, x: x["chief"]),
        Column(lazy_gettext("Experts"), lambda s, x: x["experts"], "num"),
        Column(lazy_gettext("Competitors"), lambda s, x: x["competitors"], "num"),
    )

    async def records(
        self, session: AsyncSession, event: Event | None, query: Mapping[str, str]
    ) -> list[Listed]:
        assert event is not None
        skills = await session.scalars(
            select(Skill)
            .where(Skill.event_id == event.id)
            .options(selectinload(Skill.sector))
            .order_by(Skill.code)
        )
        experts = list(await session.scalars(select(Expert).where(Expert.event_id == event.id)))
        competitors = Counter(
            dict(
                (
                    await session.execute(
                        select(Competitor.skill_id, func.count())
                        .where(Competitor.event_id == event.id)
                        .group_by(Competitor.skill_id)
                    )
                ).all()
            )
        )
        chiefs = {e.skill_id: e.name for e in experts if e.role == ExpertRole.CHIEF_EXPERT}
        team = Counter(e.skill_id for e in experts)
        return [
            (s, {"chief": chiefs.get(s.id, ""), "experts": team[s.id], "competitors": competitors[s.id]})
            for s in skills
        ]


# --- people and institutions ---------------------------------------------------------------------------


class Institutions(Resource):
    key = "institutions"
    title = lazy_gettext("Institutions")
    add_title = lazy_gettext("Add an institution")
    edit_title = lazy_gettext("Edit institution")
    fields = INSTITUTION_FIELDS
    data_type = InstitutionData
    operations = Operations(
        services.get_institution,
        services.create_institution,
        services.update_institution,
        services.delete_institution,
        services.institution_values,
    )
    scoped = False
    searchable = True
    columns = (
        Column(lazy_gettext("Code"), lambda i, x: i.code, link=True),
        Column(lazy_gettext("Name"), lambda i, x: i.name),
        Column(lazy_gettext("Kind"), lambda i, x: i.kind, "choice"),
        Column(lazy_gettext("Competitors"), lambda i, x: x["competitors"], "num"),
        Column(lazy_gettext("Experts"), lambda i, x: x["experts"], "num"),
    )

    async def records(
        self, session: AsyncSession, event: Event | None, query: Mapping[str, str]
    ) -> list[Listed]:
        institutions = await session.scalars(select(Institution).order_by(Institution.code))
        competitors = Counter(
            dict(
                (
                    await session.execute(
                        select(Competitor.institution_id, func.count()).group_by(Competitor.institution_id)
                    )
                ).all()
            )
        )
        experts = Counter(
            dict(
                (
                    await session.execute(
                        select(Expert.institution_id, func.count()).group_by(Expert.institution_id)
                    )
                ).all()
            )
        )
        text = query.get("q", "")
        return [
            (i, {"competitors": competitors[i.id], "experts": experts[i.id]})
            for i in institutions
            if matches(text, i.code, i.name)
        ]


class Competitors(Resource):
    key = "competitors"
    title = lazy_gettext("Competitors")
    add_title = lazy_gettext("Register a competitor")
    edit_title = lazy_gettext("Edit competitor")
    fields = COMPETITOR_FIELDS
    data_type = CompetitorData
    operations = Operations(
        services.get_competitor,
        services.create_competitor,
        services.update_competitor,
        services.delete_competitor,
        services.competitor_values,
    )
    filters = ("skill", "stage", "institution")
    searchable = True
    columns = (
        Column(lazy_gettext("Code"), lambda c, x: c.code, link=True),
        Column(lazy_gettext("Full name"), lambda c, x: c.name),
        Column(lazy_gettext("Birth date"), lambda c, x: c.birth_date, "date"),
        Column(lazy_gettext("Institution"), lambda c, x: c.institution.name),
        Column(lazy_gettext("Skill"), lambda c, x: f"{c.skill.code} {c.skill.name}"),
        Column(lazy_gettext("Stages"), lambda c, x: ", ".join(x["stages"])),
    )

    async def records(
        self, session: AsyncSession, event: Event | None, query: Mapping[str, str]
    ) -> list[Listed]:
        assert event is not None
        competitors = await session.scalars(
            select(Competitor)
            .where(Competitor.event_id == event.id)
            .order_by(Competitor.code)
            .options(
                selectinload(Competitor.skill),
                selectinload(Competitor.stage),
                selectinload(Competitor.entries).selectinload(StageEntry.stage),
            )
        )
        skill, stage, institution = query.get("skill"), query.get("stage"), query.get("institution")
        listed = []
        for c in competitors:
            stages = sorted(c.entries, key=lambda e: (e.stage.starts or dt.date.max, e.stage.code))
            if (skill and c.skill.code != skill) or (institution and c.institution.code != institution):
                continue
            if stage and stage not in {e.stage.code for e in stages}:
                continue
            if not matches(query.get("q", ""), c.code, c.first_name, c.last_name):
                continue
            listed.append((c, {"stages": [e.stage.name for e in stages]}))
        return listed


class Experts(Resource):
    key = "experts"
    title = lazy_gettext("Experts")
    add_title = lazy_gettext("Add an expert")
    edit_title = lazy_gettext("Edit expert")
    fields = EXPERT_FIELDS
    data_type = ExpertData
    operations = Operations(
        services.get_expert,
        services.create_expert,
        services.update_expert,
        services.delete_expert,
        services.expert_values,
    )
    filters = ("skill", "institution", "role")
    searchable = True
    edit_extra = "competition/_expert_password.html"
    columns = (
        Column(lazy_gettext("Code"), lambda e, x: e.code, link=True),
        Column(lazy_gettext("Full name"), lambda e, x: e.name),
        Column(lazy_gettext("Role"), lambda e, x: e.role, "chief"),
        Column(lazy_gettext("Email"), lambda e, x: e.email),
        Column(lazy_gettext("Institution"), lambda e, x: e.institution.name),
        Column(lazy_gettext("Skill"), lambda e, x: f"{e.skill.code} {e.skill.name}"),
        Column(lazy_gettext("Can log in"), lambda e, x: bool(e.user and e.user.password_hash), "yes_no"),
    )

    async def records(
        self, session: AsyncSession, event: Event | None, query: Mapping[str, str]
    ) -> list[Listed]:
        assert event is not None
        experts = await session.scalars(
            select(Expert)
            .where(Expert.event_id == event.id)
            .join(Skill, Expert.skill_id == Skill.id)
            .order_by(Skill.code, Expert.role, Expert.code)
            .options(selectinload(Expert.skill), selectinload(Expert.user))
        )
        skill, institution, role = query.get("skill"), query.get("institution"), query.get("role")
        return [
            (e, {})
            for e in experts
            if (not skill or e.skill.code == skill)
            and (not institution or e.institution.code == institution)
            and (not role or e.role == role)
            and matches(query.get("q", ""), e.code, e.name, e.email)
        ]
