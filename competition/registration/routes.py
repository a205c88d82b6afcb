"""The organiser's registration pages: events, stages, sectors, skills, institutions, competitors, experts.

Every page works as plain HTML forms (POST, then a redirect; a refused form comes back with a
message beside each field, status 422); htmx upgrades them: live search swaps the list, a new record
swaps the form and the list, a deletion removes its row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from competition.auth import current_user, requires_organiser
from competition.config import Settings
from competition.errors import Conflict, Invalid
from competition.i18n import gettext as _
from competition.models import Competitor, Event, Expert, ExpertRole, Sector, Skill, Stage, StageEntry
from competition.registration import resources, services
from competition.registration.records import FieldErrors, read_record
from competition.registration.resources import Resource, choice_label, reference_options
from competition.registration.workbook import import_event_workbook
from competition.writer import write

Crumbs = list[tuple[str, str]]


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def list_query(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The list's search and filters: from the address, or for htmx from the page it was sent from."""
    if is_htmx(request) and request.method != "GET" and request.headers.get("hx-current-url"):
        return dict(parse_qsl(urlsplit(request.headers["hx-current-url"]).query))
    return {key: value for key, value in request.query_params.items() if isinstance(value, str)}


def event_crumbs(event: Event | None) -> Crumbs:
    crumbs = [(_("Events"), "/events")]
    if event is not None:
        crumbs.append((event.name, f"/events/{event.code}"))
    return crumbs


class RecordPages(Controller):
    """List, search, create, edit and delete one kind of record (`resource`); subclasses set the path."""

    resource: ClassVar[Resource]
    guards = [requires_organiser]  # noqa: RUF012 - Litestar's own attribute

    # --- context -----------------------------------------------------------------------------------

    async def _event(self, request: Request[Any, Any, Any], session: AsyncSession) -> Event | None:
        code = request.path_params.get("event")
        return await services.get_event(session, code) if code else None

    async def _after_refusal(self, request: Request[Any, Any, Any], session: AsyncSession) -> Event | None:
        """End the refused change's transaction; the page is then drawn from fresh reads."""
        await session.rollback()
        return await self._event(request, session)

    def _crumbs(self, event: Event | None) -> Crumbs:
        crumbs = event_crumbs(event) if self.resource.scoped else []
        if self.resource.key != "events":
            crumbs.append((str(self.resource.title), self.resource.list_url(event)))
        return crumbs

    async def _list_context(
        self,
        session: AsyncSession,
        event: Event | None,
        query: Mapping[str, str],
        *,
        values: Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        resource = self.resource
        options = await reference_options(session, event, resource.fields)
        defaults = {f.name: str(f.default) for f in resource.fields if f.default not in (None, "")}
        defaults.update({name: query[name] for name in resource.filters if query.get(name)})
        labels = {f.name: f.label for f in resource.fields}
        return {
            "resource": resource,
            "event": event,
            "query": query,
            "list_url": resource.list_url(event),
            "rows": await resource.records(session, event, query),
            "crumbs": self._crumbs(event),
            "filters": [
                (name, labels[name], [o for o in options.get(name, []) if o[0]]) for name in resource.filters
            ],
            "searching": any(query.get(name) for name in ("q", *resource.filters)),
            "options": options,
            "values": values if values is not None else defaults,
            "errors": errors or {},
            "choice_label": choice_label,
            "current_tab": resource.key,
            "notice": None,
            "refusal": None,
            "created": None,
            **extra,
        }

    async def _record_context(
        self,
        session: AsyncSession,
        event: Event | None,
        record: Any,
        *,
        values: Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        resource = self.resource
        key = resource.key_of(record)
        if resource.key == "events":
            crumbs = [*event_crumbs(record), (str(resource.edit_title), resource.item_url(event, key))]
        else:
            crumbs = [*self._crumbs(event), (resource.label_of(record), resource.item_url(event, key))]
        return {
            "resource": resource,
            "event": event if resource.scoped else record if resource.key == "events" else None,
            "record": record,
            "key": key,
            "crumbs": crumbs,
            "list_url": resource.list_url(event),
            "options": await reference_options(session, event, resource.fields),
            "values": values if values is not None else resource.values_of(record),
            "errors": errors or {},
            "password_errors": {},
            "current_tab": "edit" if resource.key == "events" else resource.key,
            "notice": None,
            "refusal": None,
            **extra,
        }

    # --- pages -------------------------------------------------------------------------------------

    @get("/")
    async def list_page(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        event = await self._event(request, db_session)
        query = list_query(request)
        context = await self._list_context(db_session, event, query)
        if is_htmx(request) and request.headers.get("hx-target") == "rows":
            return Template("competition/_rows.html", context=context)
        if query.get("saved"):
            context["notice"] = _("Saved %(what)s.", what=query["saved"])
        elif query.get("deleted"):
            context["notice"] = _("Deleted %(what)s.", what=query["deleted"])
        return Template("competition/records.html", context=context)

    @post("/", status_code=303)
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        event = await self._event(request, db_session)
        query = list_query(request)
        try:
            record = await self.resource.create(
                db_session,
                current_user(request),
                event,
                read_record(self.resource.fields, self.resource.data_type, data),
            )
        except FieldErrors as refused:
            event = await self._after_refusal(request, db_session)
            context = await self._list_context(db_session, event, query, values=data, errors=refused.errors)
            if is_htmx(
                request
            ):  # htmx swaps only successful responses: the form comes back with its messages
                return Template("competition/_create.html", context=context)
            return Template("competition/records.html", context=context, status_code=422)
        key = self.resource.key_of(record)
        if is_htmx(request):
            context = await self._list_context(
                db_session, event, query, created=_("Saved %(what)s.", what=self.resource.label_of(record))
            )
            return Template("competition/_created.html", context=context)
        return Redirect(f"{self.resource.list_url(event)}?saved={key}", status_code=303)

    @get("/{item:str}/edit")
    async def edit_page(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], item: FromPath[str]
    ) -> Template:
        event = await self._event(request, db_session)
        record = await self.resource.load(db_session, event, item)
        context = await self._record_context(db_session, event, record)
        if request.query_params.get("password"):
            context["notice"] = _("Password set: %(email)s can log in now.", email=record.email)
        return Template("competition/record.html", context=context)

    @post("/{item:str}/edit", status_code=303)
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        item: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        event = await self._event(request, db_session)
        try:
            record = await self.resource.update(
                db_session,
                current_user(request),
                event,
                item,
                read_record(self.resource.fields, self.resource.data_type, data),
            )
        except FieldErrors as refused:
            event = await self._after_refusal(request, db_session)
            record = await self.resource.load(db_session, event, item)
            context = await self._record_context(
                db_session, event, record, values=data, errors=refused.errors
            )
            return Template("competition/record.html", context=context, status_code=422)
        if self.resource.key == "events":
            return Redirect(f"/events/{record.code}", status_code=303)
        return Redirect(
            f"{self.resource.list_url(event)}?saved={self.resource.key_of(record)}", status_code=303
        )

    @post("/{item:str}/delete", status_code=303)
    async def delete(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], item: FromPath[str]
    ) -> Response[Any]:
        event = await self._event(request, db_session)
        try:
            await self.resource.delete(db_session, current_user(request), event, item)
        except Conflict as refused:
            event = await self._after_refusal(request, db_session)
            if is_htmx(request):
                return Template(
                    "competition/_notice.html",
                    context={"notice": None, "refusal": refused.message},
                    headers={"HX-Retarget": "#notice", "HX-Reswap": "innerHTML"},
                )
            record = await self.resource.load(db_session, event, item)
            context = await self._record_context(db_session, event, record, refusal=refused.message)
            return Template("competition/record.html", context=context, status_code=409)
        if is_htmx(request):
            return Response("", status_code=200, media_type="text/html")
        return Redirect(f"{self.resource.list_url(event)}?deleted={item}", status_code=303)


class EventPages(RecordPages):
    path = "/events"
    resource = resources.Events()


class StagePages(RecordPages):
    path = "/events/{event:str}/stages"
    resource = resources.Stages()


class SectorPages(RecordPages):
    path = "/events/{event:str}/sectors"
    resource = resources.Sectors()


class SkillPages(RecordPages):
    path = "/events/{event:str}/skills"
    resource = resources.Skills()


class InstitutionPages(RecordPages):
    path = "/institutions"
    resource = resources.Institutions()


class CompetitorPages(RecordPages):
    path = "/events/{event:str}/competitors"
    resource = resources.Competitors()


class ExpertPages(RecordPages):
    path = "/events/{event:str}/experts"
    resource = resources.Experts()

    @post("/{item:str}/password", status_code=303)
    async def set_password(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        item: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """The organiser gives the expert an initial password, so that they can log in."""
        event = await self._event(request, db_session)
        assert event is not None
        try:
            password_hash = await services.new_password_hash(data.get("password", ""))
            await write(
                db_session, services.set_expert_password, current_user(request), event.code, item, password_hash
            )
        except FieldErrors as refused:
            event = await self._after_refusal(request, db_session)
            record = await self.resource.load(db_session, event, item)
            context = await self._record_context(db_session, event, record, password_errors=refused.errors)
            return Template("competition/record.html", context=context, status_code=422)
        return Redirect(f"{self.resource.item_url(event, item)}?password=set", status_code=303)


# --- the event's overview ------------------------------------------------------------------------------


@get("/events/{event:str}", guards=[requires_organiser])
async def event_overview(db_session: NamedDependency[AsyncSession], event: FromPath[str]) -> Template:
    """Counts per skill and stage, each skill's Chief Expert and experts, and the sectors."""
    found = await services.get_event(db_session, event)
    stages = list(
        await db_session.scalars(
            select(Stage).where(Stage.event_id == found.id).order_by(Stage.starts, Stage.code)
        )
    )
    skills = list(
        await db_session.scalars(
            select(Skill)
            .where(Skill.event_id == found.id)
            .options(selectinload(Skill.sector))
            .order_by(Skill.code)
        )
    )
    sectors = list(
        await db_session.scalars(
            select(Sector)
            .where(Sector.event_id == found.id)
            .options(selectinload(Sector.skills))
            .order_by(Sector.name)
        )
    )
    experts = list(await db_session.scalars(select(Expert).where(Expert.event_id == found.id)))
    entries = await db_session.execute(
        select(Competitor.skill_id, StageEntry.stage_id, func.count())
        .join(StageEntry, StageEntry.competitor_id == Competitor.id)
        .where(Competitor.event_id == found.id)
        .group_by(Competitor.skill_id, StageEntry.stage_id)
    )
    per_stage = {(skill_id, stage_id): count for skill_id, stage_id, count in entries}
    registered = dict(
        (
            await db_session.execute(
                select(Competitor.skill_id, func.count())
                .where(Competitor.event_id == found.id)
                .group_by(Competitor.skill_id)
            )
        ).all()
    )
    institutions = await db_session.scalar(
        select(func.count(func.distinct(Competitor.institution_id))).where(Competitor.event_id == found.id)
    )
    chiefs = {e.skill_id: e for e in experts if e.role == ExpertRole.CHIEF_EXPERT}
    team = {s.id: sum(1 for e in experts if e.skill_id == s.id) for s in skills}
    return Template(
        "competition/event.html",
        context={
            "event": found,
            "stages": stages,
            "skills": skills,
            "sectors": sectors,
            "per_stage": per_stage,
            "registered": registered,
            "chiefs": chiefs,
            "team": team,
            "expert_total": len(experts),
            "competitor_total": sum(registered.values()),
            "institution_total": institutions or 0,
            "stage_totals": {st.id: sum(per_stage.get((s.id, st.id), 0) for s in skills) for st in stages},
            "crumbs": event_crumbs(found),
            "current_tab": "overview",
            "choice_label": choice_label,
        },
    )


# --- the event workbook upload ---------------------------------------------------------------------------


def _import_page(context: dict[str, Any], status_code: int = 200) -> Template:
    return Template(
        "competition/import.html",
        status_code=status_code,
        context={
            "crumbs": [*event_crumbs(None), (_("Import an event workbook"), "/events/import")],
            "summary": None,
            "event_code": None,
            "problems": [],
            "error": None,
            **context,
        },
    )


@get("/events/import", guards=[requires_organiser])
async def import_page() -> Template:
    return _import_page({})


@post("/events/import", guards=[requires_organiser], status_code=200)
async def import_upload(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    data: MultipartBody[dict[str, Any]],
) -> Template:
    """Register an event from an uploaded event workbook: all of it, or with any bad row nothing."""
    upload = data.get("workbook")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page({"error": _("Choose an event workbook (.xlsx) to import.")}, 400)
    content = await upload.read(settings.max_upload_bytes + 1)
    if len(content) > settings.max_upload_bytes:
        limit = settings.max_upload_bytes // (1024 * 1024)
        return _import_page(
            {"error": _("%(file)s is larger than %(limit)s MB.", file=upload.filename, limit=limit)}, 413
        )
    try:
        summary = await import_event_workbook(db_session, current_user(request), content, upload.filename)
    except Invalid as refused:
        await db_session.rollback()
        return _import_page({"error": refused.message, "problems": refused.problems}, 422)
    return _import_page({"summary": summary.line(), "event_code": summary.event})


route_handlers: list[Any] = [
    import_page,
    import_upload,
    event_overview,
    EventPages,
    StagePages,
    SectorPages,
    SkillPages,
    InstitutionPages,
    CompetitorPages,
    ExpertPages,
]
