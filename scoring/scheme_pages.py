"""Marking scheme pages: the scheme as experts read it, its upload (CIS layout), its downloads and its editor.

Who sees what: the skill's experts, its Chief Expert and organisers read the scheme and download it;
only the Chief Expert and organisers upload a scheme or edit one, and only while it has no marks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.auth import current_user, may_manage_skill, require_skill_expert, require_skill_manager
from competition.config import Settings
from competition.errors import Conflict, Invalid
from competition.i18n import gettext as _
from competition.i18n import ngettext
from competition.models import Competitor, Event, Skill, Stage, StageEntry, User
from competition.registration.records import FieldErrors
from competition.registration.services import get_event, get_skill, get_stage
from competition.writer import write
from scoring import scheme_data, scheme_edit
from scoring.charts import Bar, bar_chart
from scoring.cis_xlsx import read_scheme, write_marks_template, write_scheme
from scoring.models import Aspect, MarkingScheme, SchemeStatus
from scoring.results_pages import STAGE_PATH, XLSX, mark
from scoring.scheme import find_scheme, get_scheme, has_marks, save_scheme, scheme_data_of
from scoring.scheme_cli import describe


@dataclass(frozen=True)
class Place:
    """The event, skill and stage a scheme page is about."""

    event: Event
    skill: Skill
    stage: Stage

    @property
    def url(self) -> str:
        return f"/events/{self.event.code}/skills/{self.skill.code}/stages/{self.stage.code}/scheme"

    @property
    def label(self) -> str:
        return f"{self.skill.code} {self.skill.name} · {self.stage.name}"

    def crumbs(self, *more: tuple[str, str]) -> list[tuple[str, str]]:
        return [(self.event.name, f"/events/{self.event.code}/results"), (self.label, self.url), *more]

    def filename(self, what: str) -> str:
        return f"{self.event.code}-{self.skill.code}-{self.stage.code}-{what}.xlsx"


async def _place(session: AsyncSession, event: str, skill: str, stage: str) -> Place:
    found = await get_event(session, event)
    return Place(found, await get_skill(session, found, skill), await get_stage(session, found, stage))


async def _require_reader(session: AsyncSession, user: User | None, skill: Skill) -> bool:
    """The skill's experts, its Chief Expert and organisers read its schemes; True for the last two."""
    if user is not None and await may_manage_skill(session, user, skill):
        return True
    await require_skill_expert(session, user, skill)
    return False


def calculation_text(aspect: Aspect) -> str:
    """How an aspect's mark is found, in words: judgement, or the measurement's calculation."""
    if aspect.kind == "J":
        return _("Judgement: scores 0-3 by the judges")
    if aspect.calculation == "number_completed":
        return _("Number completed, out of %(possible)s", possible=aspect.possible or "?")
    if aspect.calculation == "deduction":
        return _("Deduction")
    if aspect.calculation == "choice":
        return _("Choice")
    return _("Pass or fail")


def section_chart(data: scheme_data.SchemeData) -> Markup | None:
    """Marks per standards section against each section's weighting (None without a standards table)."""
    if not data.sections:
        return None
    totals = data.section_totals()
    names = {section.number: section.name for section in data.sections}
    weightings = {section.number: section.weighting for section in data.sections}
    bars = []
    for number, total in totals.items():
        label = f"{number} {names.get(number, '')}".strip()
        if len(label) > 26:
            label = label[:25].rstrip() + "…"
        target = weightings.get(number)
        text = f"{mark(total)} / {mark(target)}" if target is not None else mark(total)
        bars.append(Bar(label=label, value=total, target=target, text=text))
    return bar_chart(bars, title=_("Marks per standards section against their weightings"), css_class="chart")


@dataclass(frozen=True)
class CriterionTotal:
    code: str
    name: str
    mark: Decimal
    total: Decimal

    @property
    def matches(self) -> bool:
        return self.mark == self.total


def totals_context(scheme: MarkingScheme) -> dict[str, Any]:
    """Totals per criterion and overall, the status and its warnings: what the editor refreshes on each change."""
    data = scheme_data_of(scheme)
    return {
        "data": data,
        "criterion_totals": [
            CriterionTotal(c.code, c.name, c.mark, data.criterion_total(c.code)) for c in data.criteria
        ],
        "total": data.total(),
        "full_marks": scheme_data.FULL_MARKS,
        "problems": scheme_data.validate(data),
        "ready": scheme.status == SchemeStatus.READY,
        "chart": section_chart(data),
    }


def _download(content: bytes, filename: str) -> Response[bytes]:
    return Response(content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class SchemePages(Controller):
    """A skill's marking scheme in a stage: read it, upload it, download it, edit it."""

    path = "/events/{event:str}" + STAGE_PATH + "/scheme"

    @get("/", name="scheme_view")
    async def view(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
    ) -> Template:
        """Criteria, sub-criteria and aspects with their descriptors, the totals, the section chart, the status."""
        place = await _place(db_session, event, skill, stage)
        manager = await _require_reader(db_session, current_user(request), place.skill)
        scheme = await find_scheme(db_session, place.skill, place.stage)
        context: dict[str, Any] = {
            "place": place,
            "scheme": scheme,
            "manager": manager,
            "marked": scheme is not None and await has_marks(db_session, scheme.id),
            "mark": mark,
            "calculation_text": calculation_text,
            "crumbs": place.crumbs(),
        }
        if scheme is not None:
            context.update(totals_context(scheme))
        return Template("scoring/scheme/view.html", context=context)

    @get("/upload", name="scheme_upload")
    async def upload_page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
    ) -> Template:
        place = await _place(db_session, event, skill, stage)
        await require_skill_manager(db_session, current_user(request), place.skill)
        return _upload_page(place, {})

    @post("/upload", status_code=200)
    async def upload(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        data: MultipartBody[dict[str, Any]],
    ) -> Template:
        """Import an uploaded CIS scheme: what was found and every problem with its row; refused, nothing changes."""
        place = await _place(db_session, event, skill, stage)
        user = await require_skill_manager(db_session, current_user(request), place.skill)
        upload = data.get("scheme")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _upload_page(place, {"error": _("Choose a marking scheme (.xlsx) to import.")}, 400)
        content = await upload.read(settings.max_upload_bytes + 1)
        if len(content) > settings.max_upload_bytes:
            limit = settings.max_upload_bytes // (1024 * 1024)
            return _upload_page(
                place, {"error": _("%(file)s is larger than %(limit)s MB.", file=upload.filename, limit=limit)}, 413
            )
        result = await asyncio.to_thread(read_scheme, content)
        found = {
            "filename": upload.filename,
            "summary": str(result.summary) if result.summary is not None else None,
            "problems": [(problem.severity, describe(problem)) for problem in result.problems],
        }
        if result.scheme is None:
            refusal = ngettext(
                "%(file)s: refused with %(count)s error; nothing was saved.",
                "%(file)s: refused with %(count)s errors; nothing was saved.",
                len(result.errors),
                file=upload.filename,
                count=len(result.errors),
            )
            return _upload_page(place, {**found, "error": refusal}, 422)
        try:
            scheme = await write(
                db_session, save_scheme, user, place.skill, place.stage, result.scheme, source_filename=upload.filename
            )
            status = scheme.status
        except (Conflict, Invalid) as refused:
            await db_session.rollback()
            place = await _place(db_session, event, skill, stage)  # the rollback expired what was loaded
            return _upload_page(place, {**found, "error": refused.message}, refused.status_code)
        return _upload_page(place, {**found, "saved": status})

    @get("/download", name="scheme_download")
    async def download(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
    ) -> Response[bytes]:
        """The scheme in the CIS import layout (it imports back as the same scheme)."""
        place = await _place(db_session, event, skill, stage)
        await _require_reader(db_session, current_user(request), place.skill)
        scheme = await get_scheme(db_session, place.skill, place.stage)
        content = await asyncio.to_thread(write_scheme, scheme_data_of(scheme))
        return _download(content, place.filename("marking-scheme"))

    @get("/marks-template", name="scheme_marks_template")
    async def marks_template(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
    ) -> Response[bytes]:
        """A blank marks workbook for paper backup: a row per competitor of the stage and aspect."""
        place = await _place(db_session, event, skill, stage)
        await _require_reader(db_session, current_user(request), place.skill)
        scheme = await get_scheme(db_session, place.skill, place.stage)
        competitors = (
            await db_session.scalars(
                select(Competitor)
                .join(StageEntry, StageEntry.competitor_id == Competitor.id)
                .where(Competitor.skill_id == place.skill.id, StageEntry.stage_id == place.stage.id)
                .order_by(Competitor.code)
            )
        ).all()
        people = [(competitor.code, competitor.name) for competitor in competitors]
        content = await asyncio.to_thread(write_marks_template, scheme_data_of(scheme), people, scheme.judges)
        return _download(content, place.filename("marks"))


# --- the editor -------------------------------------------------------------------------------------

FIELDS = ("description", "section", "max_mark", "type", "possible", "choices")


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def slug(code: str) -> str:
    """An aspect or sub-criterion code as a part of an HTML id (no dots: ids are used as CSS selectors)."""
    return code.replace(".", "-")


def aspect_type(aspect: Aspect) -> str:
    """The editor's type field for the aspect: J, or the measurement's calculation."""
    return "J" if aspect.kind == "J" else aspect.calculation or "pass_fail"


def choices_text(aspect: Aspect) -> str:
    return "\n".join(f"{c.label} = {scheme_data.format_mark(c.deduction_percent)}" for c in aspect.choices)


def type_options() -> list[tuple[str, str]]:
    return [
        ("J", _("Judgement (J): scores 0-3")),
        ("pass_fail", _("Measurement (M): pass or fail")),
        ("deduction", _("Measurement (M): deduction")),
        ("number_completed", _("Measurement (M): number completed")),
        ("choice", _("Measurement (M): choice")),
    ]


def editor_context(place: Place, scheme: MarkingScheme, **more: Any) -> dict[str, Any]:
    """What the editor page and its fragments need: the scheme, its totals and the aspects' own warnings."""
    totals = totals_context(scheme)
    data: scheme_data.SchemeData = totals["data"]
    aspect_warnings = {a.code: scheme_data.aspect_problems(data, a) for a in data.aspects}
    return {
        "place": place,
        "scheme": scheme,
        "mark": mark,
        "format_mark": scheme_data.format_mark,
        "slug": slug,
        "aspect_type": aspect_type,
        "choices_text": choices_text,
        "type_options": type_options(),
        "fields": FIELDS,
        "aspect_warnings": aspect_warnings,
        "errors": {},
        "values": {},
        "added": None,
        "saved": False,
        "code": None,
        "crumbs": place.crumbs((_("Edit"), "")),
        **totals,
        **more,
    }


def _sub_of(scheme: MarkingScheme, code: str) -> Any:
    return next(sub for criterion in scheme.criteria for sub in criterion.sub_criteria if sub.code == code)


class SchemeEditor(Controller):
    """The editor for small fixes: change an aspect, add one, remove one; totals follow every change (htmx)."""

    path = "/events/{event:str}" + STAGE_PATH + "/scheme/edit"

    async def _manager(self, request: Request[Any, Any, Any], session: AsyncSession, place: Place) -> User:
        return await require_skill_manager(session, current_user(request), place.skill)

    @get("/", name="scheme_editor")
    async def page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
    ) -> Template:
        place = await _place(db_session, event, skill, stage)
        await self._manager(request, db_session, place)
        scheme = await get_scheme(db_session, place.skill, place.stage)
        if await has_marks(db_session, scheme.id):
            raise Conflict(_("Marks have been recorded: the scheme can no longer be edited or replaced."))
        return Template("scoring/scheme/editor.html", context=editor_context(place, scheme))

    @post("/aspects/{aspect:str}", status_code=200)
    async def change(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        aspect: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """Save one aspect's fields; htmx gets the aspect's messages and the totals, a plain form a redirect."""
        place = await _place(db_session, event, skill, stage)
        user = await self._manager(request, db_session, place)
        scheme = await get_scheme(db_session, place.skill, place.stage)
        scheme_id = scheme.id
        sections = {section.number for section in scheme.sections}
        try:
            change = scheme_edit.read_aspect_form(data, sections)
            await write(db_session, scheme_edit.change_aspect, user, place.skill, place.stage, aspect, change)
            scheme = await scheme_edit.load_scheme(db_session, scheme_id)
        except FieldErrors as refused:
            await db_session.rollback()
            place = await _place(db_session, event, skill, stage)
            scheme = await scheme_edit.load_scheme(db_session, scheme_id)
            context = editor_context(place, scheme, errors={aspect: refused.errors}, values={aspect: data})
            if is_htmx(request):  # htmx swaps only successful responses: the messages come back with 200
                return Template("scoring/scheme/_aspect_saved.html", context={**context, "code": aspect})
            return Template("scoring/scheme/editor.html", context=context, status_code=422)
        except Conflict as refused:
            if not is_htmx(request):
                raise
            await db_session.rollback()
            return _refused(refused)
        if is_htmx(request):
            context = editor_context(place, scheme, saved=True, code=aspect)
            return Template("scoring/scheme/_aspect_saved.html", context=context)
        return Redirect(f"{place.url}/edit#aspect-{slug(aspect)}", status_code=303)

    @post("/sub-criteria/{sub_criterion:str}/aspects", status_code=200)
    async def add(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        sub_criterion: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """Add an aspect at the end of a sub-criterion (M pass or fail, or J)."""
        place = await _place(db_session, event, skill, stage)
        user = await self._manager(request, db_session, place)
        try:
            changed, code = await write(
                db_session, scheme_edit.add_aspect, user, place.skill, place.stage, sub_criterion, data.get("kind", "M")
            )
            scheme = await scheme_edit.load_scheme(db_session, changed.id)
        except Conflict as refused:
            if not is_htmx(request):
                raise
            await db_session.rollback()
            return _refused(refused)
        return self._sub_criterion_changed(request, place, scheme, code.rsplit(".", 1)[0], code)

    @post("/aspects/{aspect:str}/remove", status_code=200)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        aspect: FromPath[str],
    ) -> Response[Any]:
        """Remove an aspect; those after it in the sub-criterion are renumbered."""
        place = await _place(db_session, event, skill, stage)
        user = await self._manager(request, db_session, place)
        try:
            changed = await write(db_session, scheme_edit.remove_aspect, user, place.skill, place.stage, aspect)
            scheme = await scheme_edit.load_scheme(db_session, changed.id)
        except Conflict as refused:
            if not is_htmx(request):
                raise
            await db_session.rollback()
            return _refused(refused)
        sub = aspect.rsplit(".", 1)[0]
        return self._sub_criterion_changed(request, place, scheme, sub, None)

    def _sub_criterion_changed(
        self, request: Request[Any, Any, Any], place: Place, scheme: MarkingScheme, sub: str, added: str | None
    ) -> Response[Any]:
        code = next(
            (s.code for c in scheme.criteria for s in c.sub_criteria if s.code.lower() == sub.lower()), sub
        )
        if is_htmx(request):
            context = editor_context(place, scheme, sub=_sub_of(scheme, code), added=added)
            return Template("scoring/scheme/_sub_changed.html", context=context)
        anchor = f"aspect-{slug(added)}" if added else f"sub-{slug(code)}"
        return Redirect(f"{place.url}/edit#{anchor}", status_code=303)


def _refused(refused: Conflict) -> Template:
    """An htmx change refused (e.g. the scheme got marks meanwhile): the reason at the top, nothing else swapped."""
    return Template("scoring/scheme/_refused.html", context={"message": refused.message}, headers={"HX-Reswap": "none"})


def _upload_page(place: Place, context: dict[str, Any], status_code: int = 200) -> Template:
    return Template(
        "scoring/scheme/upload.html",
        status_code=status_code,
        context={
            "place": place,
            "filename": None,
            "summary": None,
            "problems": [],
            "error": None,
            "saved": None,
            "crumbs": place.crumbs((_("Import a marking scheme"), "")),
            **context,
        },
    )


route_handlers: list[Any] = [SchemePages, SchemeEditor]
