"""Marking pages for tablets: the expert's day, a marking form, one aspect for every competitor, sign-off,
unlocking, the Chief Expert's marking teams and the skill's audit trail.

Marks are saved by the page's script (static/js/marking.js) through the JSON API, one field at a
time, with an outbox that survives a reload and a lost connection; sign-off, unlocking and teams
are plain form posts. Every rule is enforced by `scoring.marking`, whatever a page offered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.auth import current_user, may_manage_skill, require_skill_manager
from competition.config import Settings
from competition.errors import Forbidden, Invalid, NotFound, PodiumError
from competition.i18n import gettext as _
from competition.models import AuditRecord, Competitor, Event, Expert, Skill, Stage, User
from competition.registration.services import code_is, get_event, get_skill, get_stage
from competition.writer import write
from scoring import marking
from scoring.cis_xlsx import write_marks_template
from scoring.marking_views import aspect_column, build_form, days_of, expert_day, status_labels
from scoring.marks import (
    CompetitorEntry,
    StageMarks,
    form_counts,
    load_stage_marks,
    stage_competitors,
    stage_progress,
)
from scoring.marks_import import import_marks, summary
from scoring.marks_workbook import read_marks, refuse
from scoring.models import MarkingScheme, MarkingTeamMember, SubCriterion
from scoring.results_pages import XLSX, mark
from scoring.scheme import find_scheme, scheme_data_of

PLACE = "/{event:str}/{skill:str}/{stage:str}"


@dataclass(frozen=True)
class MarkingContext:
    """Everything a marking page of one skill and stage stands on, for the user looking at it."""

    event: Event
    skill: Skill
    stage: Stage
    place: marking.MarkingPlace
    scheme: MarkingScheme
    competitors: tuple[CompetitorEntry, ...]
    marks: StageMarks | None
    """What is recorded, where the page reads it (the day page counts in the database instead)."""
    user: User
    expert: Expert | None
    manager: bool
    team: dict[int, set[int]]

    @property
    def url(self) -> str:
        return f"/marking/{self.event.code}/{self.skill.code}/{self.stage.code}"

    @property
    def api(self) -> str:
        return f"/api/v1/events/{self.event.code}/skills/{self.skill.code}/stages/{self.stage.code}"

    def sub_criterion(self, code: str) -> SubCriterion:
        for criterion in self.scheme.criteria:
            for sub in criterion.sub_criteria:
                if sub.code.upper() == code.strip().upper():
                    return sub
        raise NotFound(
            _(
                "Skill %(skill)s has no sub-criterion %(code)s in stage %(stage)s.",
                code=code,
                skill=self.skill.code,
                stage=self.stage.code,
            )
        )

    @property
    def recorded(self) -> StageMarks:
        assert self.marks is not None, "this page reads no marks"
        return self.marks

    def competitor(self, code: str) -> Any:
        for competitor in self.competitors:
            if competitor.code.upper() == code.strip().upper():
                return competitor
        raise NotFound(
            _(
                "There is no competitor %(code)s in skill %(skill)s, stage %(stage)s.",
                code=code,
                skill=self.skill.code,
                stage=self.stage.code,
            )
        )

    def base(self, **more: Any) -> dict[str, Any]:
        return {
            "event": self.event,
            "skill": self.skill,
            "stage": self.stage,
            "scheme": self.scheme,
            "expert": self.expert,
            "manager": self.manager,
            "marking_url": self.url,
            "api": self.api,
            "judges": self.place.judges,
            "mark": mark,
            **more,
        }


async def marking_context(
    session: AsyncSession,
    request: Request[Any, Any, Any],
    event: str,
    skill: str,
    stage: str,
    competitor_ids: list[int] | None = None,
    *,
    sub_criterion: str | None = None,
    marks: bool = True,
) -> MarkingContext:
    """The context for the skill's experts, its Chief Expert and organisers; 401/403 for anyone else.

    With `marks`, what is recorded (of those competitors and that sub-criterion, when given)."""
    user = current_user(request)
    if user is None:
        raise NotAuthorizedException(_("Please log in."))
    found_event = await get_event(session, event)
    found_skill = await get_skill(session, found_event, skill)
    found_stage = await get_stage(session, found_event, stage)
    expert = await session.scalar(select(Expert).where(Expert.user_id == user.id, Expert.skill_id == found_skill.id))
    manager = await may_manage_skill(session, user, found_skill)
    if expert is None and not manager:
        raise Forbidden(_("You are not an expert of skill %(skill)s.", skill=found_skill.code))
    place = await marking.place_of(session, found_event, found_skill, found_stage)
    scheme = await find_scheme(session, found_skill, found_stage)
    assert scheme is not None  # place_of found it
    recorded = None
    if marks:
        recorded = await load_stage_marks(session, found_skill, found_stage.id, competitor_ids, sub_criterion)
        assert recorded is not None
        competitors = recorded.competitors
    else:
        competitors = tuple(await stage_competitors(session, found_skill.id, found_stage.id, competitor_ids))
    team: dict[int, set[int]] = defaultdict(set)
    rows = await session.execute(
        select(MarkingTeamMember.sub_criterion_id, MarkingTeamMember.expert_id)
        .join(SubCriterion, SubCriterion.id == MarkingTeamMember.sub_criterion_id)
        .where(SubCriterion.scheme_id == scheme.id)
    )
    for sub_id, expert_id in rows:
        team[sub_id].add(expert_id)
    return MarkingContext(
        found_event, found_skill, found_stage, place, scheme, competitors, recorded, user, expert, manager, dict(team)
    )


def _crumbs(context: MarkingContext, *more: tuple[str, str]) -> list[tuple[str, str]]:
    return [
        (_("My marking"), "/marking"),
        (f"{context.skill.code} {context.skill.name} · {context.stage.name}", context.url),
        *more,
    ]


async def _form_ids(session: AsyncSession, event: str, competitor: str) -> list[int]:
    found = await get_event(session, event)
    return list(
        await session.scalars(
            select(Competitor.id).where(Competitor.event_id == found.id, code_is(Competitor, competitor))
        )
    )


class MarkingPages(Controller):
    """The expert's marking pages under /marking."""

    path = "/marking"

    @get("/", name="marking_home")
    async def home(self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Template:
        """The skills and stages the user marks (experts) or oversees (Chief Experts, organisers)."""
        user = current_user(request)
        if user is None:
            raise NotAuthorizedException(_("Please log in."))
        query = (
            select(Event, Skill, Stage, MarkingScheme.status)
            .join(Skill, Skill.event_id == Event.id)
            .join(MarkingScheme, MarkingScheme.skill_id == Skill.id)
            .join(Stage, Stage.id == MarkingScheme.stage_id)
            .order_by(Event.starts.desc(), Skill.code, Stage.starts)
        )
        if not user.is_organiser:
            query = query.join(Expert, Expert.skill_id == Skill.id).where(Expert.user_id == user.id)
        places = (await db_session.execute(query)).all()
        return Template("scoring/marking/home.html", context={"places": places, "crumbs": [(_("My marking"), "")]})

    @get(PLACE, name="marking_day")
    async def day(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        day: FromQuery[str | None] = None,
    ) -> Template:
        """The expert's day: each sub-criterion with its progress and every competitor's form."""
        context = await marking_context(db_session, request, event, skill, stage, marks=False)
        days = days_of(context.scheme)
        chosen = day if day in days else None
        place = context.place
        ids = [c.id for c in context.competitors]
        counts = await form_counts(db_session, place.scheme_id, place.judges, place.max_spread, ids)
        progress = await stage_progress(db_session, context.skill, context.stage.id)
        return Template(
            "scoring/marking/day.html",
            context=context.base(
                days=days,
                day=chosen,
                subs=expert_day(context.scheme, context.competitors, counts, context.expert, context.team, chosen),
                status_labels=status_labels(),
                progress=progress,
                ready=context.place.ready,
                crumbs=[
                    (_("My marking"), "/marking"),
                    (f"{context.skill.code} {context.skill.name} · {context.stage.name}", ""),
                ],
            ),
        )

    @get(PLACE + "/forms/{competitor:str}/{sub:str}", name="marking_form")
    async def form(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        competitor: FromPath[str],
        sub: FromPath[str],
        notice: FromQuery[str | None] = None,
    ) -> Template:
        """One marking form: every aspect of the sub-criterion for one competitor, with big touch targets."""
        return await self._form_page(db_session, request, event, skill, stage, competitor, sub, _notice(notice))

    async def _form_page(
        self,
        session: AsyncSession,
        request: Request[Any, Any, Any],
        event: str,
        skill: str,
        stage: str,
        competitor: str,
        sub: str,
        notice: dict[str, str] | None,
        refusal: PodiumError | None = None,
    ) -> Template:
        context = await marking_context(
            session, request, event, skill, stage, await _form_ids(session, event, competitor), sub_criterion=sub
        )
        entry = context.competitor(competitor)
        found_sub = context.sub_criterion(sub)
        view = build_form(context.recorded, found_sub, entry, context.expert, context.team)
        if view.status == "conflict" and not context.manager:
            raise Forbidden(
                _(
                    "Competitor %(competitor)s is from your own institution: another expert marks them.",
                    competitor=entry.code,
                )
            )
        if refusal is not None:
            notice = {"kind": "error", "text": refusal.message}
        subs = [s for c in context.scheme.criteria for s in c.sub_criteria]
        position = next(i for i, s in enumerate(subs) if s.id == found_sub.id)
        return Template(
            "scoring/marking/form.html",
            context=context.base(
                form=view,
                competitor=entry,
                sub=found_sub,
                notice=notice,
                previous=subs[position - 1] if position > 0 else None,
                next=subs[position + 1] if position + 1 < len(subs) else None,
                crumbs=_crumbs(context, (f"{entry.code} · {found_sub.code}", "")),
            ),
            status_code=refusal.status_code if refusal is not None else 200,
        )

    @get(PLACE + "/aspects/{aspect:str}", name="marking_aspect")
    async def aspect(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        aspect: FromPath[str],
    ) -> Template:
        """The landscape view: one aspect for every competitor the expert may mark, in one row each."""
        context = await marking_context(db_session, request, event, skill, stage)
        wanted = aspect.strip().upper()
        sub, found = next(
            ((s, a) for c in context.scheme.criteria for s in c.sub_criteria for a in s.aspects if a.code == wanted),
            (None, None),
        )
        if found is None or sub is None:
            raise NotFound(
                _(
                    "Skill %(skill)s has no aspect %(code)s in stage %(stage)s.",
                    code=aspect,
                    skill=context.skill.code,
                    stage=context.stage.code,
                )
            )
        aspects = [a for c in context.scheme.criteria for s in c.sub_criteria for a in s.aspects]
        position = next(i for i, a in enumerate(aspects) if a.id == found.id)
        return Template(
            "scoring/marking/aspect.html",
            context=context.base(
                aspect=found,
                sub=sub,
                column=aspect_column(context.recorded, sub, found, context.expert, context.team),
                previous=aspects[position - 1] if position > 0 else None,
                next=aspects[position + 1] if position + 1 < len(aspects) else None,
                crumbs=_crumbs(context, (_("%(aspect)s · all competitors", aspect=found.code), "")),
            ),
        )

    @post(PLACE + "/forms/{competitor:str}/{sub:str}/lock", name="marking_lock")
    async def lock(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        competitor: FromPath[str],
        sub: FromPath[str],
    ) -> Redirect | Template:
        """Sign off and lock the form; a refusal (incomplete, not allowed) comes back as the page's message."""
        user = current_user(request)
        if user is None:
            raise NotAuthorizedException(_("Please log in."))
        place = await marking.find_place(db_session, event, skill, stage)
        try:
            code, sub_code = await write(db_session, marking.lock_form, place, user, competitor, sub)
        except PodiumError as refusal:
            await db_session.rollback()
            return await self._form_page(db_session, request, event, skill, stage, competitor, sub, None, refusal)
        return Redirect(f"{_place_url(place)}/forms/{code}/{sub_code}?notice=locked", status_code=303)

    @post(PLACE + "/forms/{competitor:str}/{sub:str}/unlock", name="marking_unlock")
    async def unlock(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        competitor: FromPath[str],
        sub: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Redirect | Template:
        user = current_user(request)
        if user is None:
            raise NotAuthorizedException(_("Please log in."))
        place = await marking.find_place(db_session, event, skill, stage)
        try:
            code, sub_code = await write(
                db_session, marking.unlock_form, place, user, competitor, sub, data.get("reason", "")
            )
        except PodiumError as refusal:
            await db_session.rollback()
            return await self._form_page(db_session, request, event, skill, stage, competitor, sub, None, refusal)
        return Redirect(f"{_place_url(place)}/forms/{code}/{sub_code}?notice=unlocked", status_code=303)

    @get(PLACE + "/teams", name="marking_teams")
    async def teams(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        notice: FromQuery[str | None] = None,
    ) -> Template:
        """The Chief Expert's marking teams: which experts mark each sub-criterion."""
        return await self._teams_page(db_session, request, event, skill, stage, None, _notice(notice))

    async def _teams_page(
        self,
        session: AsyncSession,
        request: Request[Any, Any, Any],
        event: str,
        skill: str,
        stage: str,
        refusal: PodiumError | None,
        notice: dict[str, str] | None = None,
    ) -> Template:
        context = await marking_context(session, request, event, skill, stage)
        await require_skill_manager(session, context.user, context.skill)
        experts = list(
            await session.scalars(select(Expert).where(Expert.skill_id == context.skill.id).order_by(Expert.code))
        )
        if refusal is not None:
            notice = {"kind": "error", "text": refusal.message}
        return Template(
            "scoring/marking/teams.html",
            context=context.base(
                experts=experts, team=context.team, notice=notice, crumbs=_crumbs(context, (_("Marking teams"), ""))
            ),
            status_code=refusal.status_code if refusal is not None else 200,
        )

    @post(PLACE + "/teams", name="marking_teams_save")
    async def save_teams(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
    ) -> Redirect | Template:
        """Each sub-criterion's checked experts become its team (none checked: every expert of the skill)."""
        user = current_user(request)
        if user is None:
            raise NotAuthorizedException(_("Please log in."))
        place = await marking.find_place(db_session, event, skill, stage)
        form = await request.form()
        scheme = await find_scheme(db_session, place.skill, place.stage)
        assert scheme is not None
        chosen = {
            sub.code: [str(v) for v in form.getall(f"team-{sub.code}", [])]
            for c in scheme.criteria
            for sub in c.sub_criteria
        }
        try:
            await write(db_session, marking.set_teams, place, user, chosen, form.get("judges", place.judges))
        except PodiumError as refusal:
            await db_session.rollback()
            return await self._teams_page(db_session, request, event, skill, stage, refusal)
        return Redirect(f"{_place_url(place)}/teams?notice=saved", status_code=303)

    @get(PLACE + "/import", name="marks_import_page")
    async def import_page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
    ) -> Template:
        """The paper backup: upload a marks workbook (Chief Expert, organisers)."""
        return await self._import_page(db_session, request, event, skill, stage, {})

    async def _import_page(
        self,
        session: AsyncSession,
        request: Request[Any, Any, Any],
        event: str,
        skill: str,
        stage: str,
        more: dict[str, Any],
        status_code: int = 200,
    ) -> Template:
        context = await marking_context(session, request, event, skill, stage)
        await require_skill_manager(session, context.user, context.skill)
        return Template(
            "scoring/marking/import.html",
            context=context.base(
                crumbs=_crumbs(context, (_("Import marks"), "")),
                **{"summary": None, "error": None, "problems": [], **more},
            ),
            status_code=status_code,
        )

    @post(PLACE + "/import", name="marks_import_upload", status_code=200)
    async def import_upload(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        data: MultipartBody[dict[str, Any]],
    ) -> Template:
        """Record an uploaded marks workbook: every row, or with any bad row nothing (each bad row named)."""
        user = current_user(request)
        if user is None:
            raise NotAuthorizedException(_("Please log in."))
        place = await marking.find_place(db_session, event, skill, stage)
        await require_skill_manager(db_session, user, place.skill)
        upload = data.get("workbook")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await self._import_page(
                db_session,
                request,
                event,
                skill,
                stage,
                {"error": _("Choose a marks workbook (.xlsx) to import.")},
                400,
            )
        content = await upload.read(settings.max_upload_bytes + 1)
        if len(content) > settings.max_upload_bytes:
            limit = settings.max_upload_bytes // (1024 * 1024)
            return await self._import_page(
                db_session,
                request,
                event,
                skill,
                stage,
                {"error": _("%(file)s is larger than %(limit)s MB.", file=upload.filename, limit=limit)},
                413,
            )
        read = await asyncio.to_thread(read_marks, content)
        try:
            if read.problems:
                raise refuse(upload.filename, read.problems)
            outcome = await import_marks(
                db_session, place, user, read.rows, upload.filename, lock=data.get("lock") in ("on", "1", "true")
            )
        except Invalid as refused:
            return await self._import_page(
                db_session, request, event, skill, stage, {"error": refused.message, "problems": refused.problems}, 422
            )
        return await self._import_page(
            db_session, request, event, skill, stage, {"summary": summary(upload.filename, outcome)}
        )

    @get(PLACE + "/marks-template.xlsx", name="marks_template")
    async def marks_template(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
    ) -> Response[bytes]:
        """The blank marks workbook of the stage: one row per competitor and aspect."""
        context = await marking_context(db_session, request, event, skill, stage)
        data = scheme_data_of(context.scheme)
        people = [(c.code, c.name) for c in context.competitors]
        content = await asyncio.to_thread(write_marks_template, data, people, context.place.judges)
        name = f"{context.event.code}-{context.skill.code}-{context.stage.code}-marks.xlsx"
        return Response(content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @get(PLACE + "/audit", name="marking_audit")
    async def audit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        competitor: FromQuery[str | None] = None,
        subject: FromQuery[str | None] = None,
        actor: FromQuery[str | None] = None,
        action: FromQuery[str | None] = None,
    ) -> Template:
        """The skill's audit trail in the stage, newest first, filtered by competitor, aspect or form, who and what."""
        context = await marking_context(db_session, request, event, skill, stage)
        await require_skill_manager(db_session, context.user, context.skill)
        entries = await audit_entries(db_session, context, competitor, subject, actor, action)
        return Template(
            "scoring/marking/audit.html",
            context=context.base(
                entries=entries,
                filters={
                    "competitor": competitor or "",
                    "subject": subject or "",
                    "actor": actor or "",
                    "action": action or "",
                },
                actions=["score", "measurement", "lock", "unlock", "team"],
                crumbs=_crumbs(context, (_("Audit trail"), "")),
            ),
        )


@dataclass(frozen=True)
class AuditLine:
    at: dt.datetime
    actor: str
    action: str
    competitor: str
    subject: str
    old: str
    new: str
    reason: str


async def audit_entries(
    session: AsyncSession,
    context: MarkingContext,
    competitor: str | None,
    subject: str | None,
    actor: str | None,
    action: str | None,
    limit: int = 500,
) -> list[AuditLine]:
    query = (
        select(AuditRecord, Competitor.code)
        .outerjoin(Competitor, Competitor.id == AuditRecord.competitor_id)
        .where(
            AuditRecord.skill_id == context.skill.id,
            or_(AuditRecord.stage_id == context.stage.id, AuditRecord.stage_id.is_(None)),
        )
        .order_by(AuditRecord.at.desc(), AuditRecord.id.desc())
        .limit(limit)
    )
    if competitor:
        query = query.where(code_is(Competitor, competitor.strip()))
    if subject:
        query = query.where(AuditRecord.subject.ilike(subject.strip() + "%"))
    if actor:
        query = query.where(AuditRecord.actor.ilike("%" + actor.strip() + "%"))
    if action:
        query = query.where(AuditRecord.action == action)
    rows = (await session.execute(query)).all()
    return [
        AuditLine(r.at, r.actor, r.action, code or "", r.subject, r.old_value or "", r.new_value or "", r.reason or "")
        for r, code in rows
    ]


def _place_url(place: marking.MarkingPlace) -> str:
    return f"/marking/{place.event.code}/{place.skill.code}/{place.stage.code}"


def _notice(notice: str | None) -> dict[str, str] | None:
    """The message a redirect carries back: `locked`, `unlocked` or `saved` (refusals render in place)."""
    if not notice:
        return None
    texts = {
        "locked": _("Signed off and locked."),
        "unlocked": _("Unlocked: the form can be marked again."),
        "saved": _("Marking teams saved."),
    }
    return {"kind": "ok", "text": texts.get(notice, "")} if notice in texts else None


route_handlers: list[Any] = [MarkingPages]
