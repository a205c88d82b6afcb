"""Results pages: a skill's results in a stage (ranking, criterion charts, publishing, advancement),
the marks behind a competitor's figures, printable marking forms, the event's medal tables, downloads.

Who sees what: everyone sees published results; before publication only the skill's Chief Expert and
organisers see any figure. The marks behind the figures (every judge's score) and filled-in forms are
for the Chief Expert and organisers; blank forms for the skill's experts too. Only organisers
publish, unpublish and enter semi-finalists into the final.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.auth import current_user, expert_on_skill, may_manage_skill, require_skill_manager, requires_organiser
from competition.errors import NotFound
from competition.i18n import format_number
from competition.i18n import gettext as _
from competition.models import Event, Expert, Skill, Stage, StageEntry, StageKind, User
from competition.registration.services import get_competitor, get_event, get_skill, get_stage
from competition.writer import write
from scoring import rules
from scoring.charts import Bar, bar_chart
from scoring.event_results import load_event_results, skill_stages
from scoring.marks import AspectState, StageMarks, load_stage_marks
from scoring.models import Aspect, MarkingScheme, SubCriterion
from scoring.publishing import advance_to_final, publish_results, unpublish_results
from scoring.results import ResultLine, StageResults, is_published, medal_label, stage_results
from scoring.results_export import export_results
from scoring.scheme import find_scheme

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STAGE_PATH = "/skills/{skill:str}/stages/{stage:str}"


def mark(value: Decimal | None) -> str:
    """A mark as pages show it: rounded half up to 2 decimals, in the page's number format."""
    return format_number(rules.round_half_up(value)) if value is not None else ""


CHART_LABEL = 26
"""Characters of a criterion's name that fit beside its bar."""


def _short(label: str) -> str:
    return label if len(label) <= CHART_LABEL else label[: CHART_LABEL - 1].rstrip() + "…"


def criterion_chart(results: StageResults, line: ResultLine) -> Markup:
    """The competitor's mark in each criterion against the criterion's maximum."""
    bars = []
    for criterion in results.criteria:
        value = line.result.criteria.get(criterion.code, Decimal(0))
        bars.append(
            Bar(
                label=_short(f"{criterion.code} {criterion.name}"),
                value=rules.round_half_up(value),
                target=criterion.max_mark,
                text=f"{mark(value)} / {mark(criterion.max_mark)}",
            )
        )
    return bar_chart(bars, title=_("%(name)s: marks per criterion", name=line.competitor.name))


def _stage_url(event: Event, skill: Skill, stage: Stage) -> str:
    return f"/events/{event.code}/skills/{skill.code}/stages/{stage.code}"


def _crumbs(event: Event, *more: tuple[str, str]) -> list[tuple[str, str]]:
    return [(event.name, f"/events/{event.code}/results"), *more]


async def _stage(
    session: AsyncSession, event: str, skill: str, stage: str
) -> tuple[Event, Skill, Stage]:
    found = await get_event(session, event)
    return found, await get_skill(session, found, skill), await get_stage(session, found, stage)


def _download(content: bytes, filename: str) -> Response[bytes]:
    return Response(
        content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@dataclass(frozen=True)
class AspectLine:
    """One aspect on a competitor's marks page or a printed form."""

    aspect: Aspect
    state: AspectState
    scores: list[tuple[str, int]]
    """(judge's expert code, score) for a judgement, in code order."""


@dataclass(frozen=True)
class FormSheet:
    """One sub-criterion's marking form for one competitor (or blank)."""

    sub_criterion: SubCriterion
    criterion: str
    lines: list[AspectLine]
    locked: bool
    total: Decimal | None


def form_sheets(
    scheme: MarkingScheme, marks: StageMarks | None, competitor: str | None, judges: dict[int, str]
) -> list[FormSheet]:
    """The scheme's forms in order, filled in from `marks` for `competitor` (blank without them)."""
    sheets = []
    for criterion in scheme.criteria:
        for sub in criterion.sub_criteria:
            lines = []
            for aspect in sub.aspects:
                state = AspectState(aspect.code, rules.MISSING)
                if marks is not None and competitor is not None:
                    state = marks.state(competitor, aspect.code)
                scores = sorted((judges.get(expert, "?"), score) for expert, score in state.scores.items())
                lines.append(AspectLine(aspect, state, scores))
            filled = [line.state.mark for line in lines if line.state.mark is not None]
            locked = marks is not None and competitor is not None and (competitor, sub.code) in marks.locked
            sheets.append(
                FormSheet(sub, criterion.code, lines, locked, rules.exact_sum(filled) if filled else None)
            )
    return sheets


async def _judges(session: AsyncSession, event: Event) -> dict[int, str]:
    return dict((await session.execute(select(Expert.id, Expert.code).where(Expert.event_id == event.id))).all())


class ResultsPages(Controller):
    """Pages under an event: its results, a skill's results in a stage, marks behind them, forms, downloads."""

    path = "/events/{event:str}"

    @get("/results", name="event_results")
    async def event_page(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], event: FromPath[str]
    ) -> Template:
        """Every skill's stages with their publication, the medal tables and the best-of awards."""
        found = await get_event(db_session, event)
        user = current_user(request)
        organiser = user is not None and user.is_organiser
        entries = await skill_stages(db_session, found)
        visible = {
            (e.skill.id, e.stage.id)
            for e in entries
            if e.published or (user is not None and await may_manage_skill(db_session, user, e.skill))
        }
        return Template(
            "scoring/results/event.html",
            context={
                "event": found,
                "entries": entries,
                "visible": visible,
                "organiser": organiser,
                "standings": await load_event_results(db_session, found, include_unpublished=organiser),
                "medal_label": medal_label,
                "current_tab": "results",
            },
        )

    @get("/results/export", guards=[requires_organiser], name="event_results_export")
    async def event_export(self, db_session: NamedDependency[AsyncSession], event: FromPath[str]) -> Response[bytes]:
        found = await get_event(db_session, event)
        content, _export = await export_results(db_session, found)
        return _download(content, f"{found.code}-results.xlsx")

    @get(STAGE_PATH + "/results", name="stage_results")
    async def stage_page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        done: FromQuery[str | None] = None,
        count: FromQuery[int | None] = None,
    ) -> Template:
        """The ranking, each competitor's criteria as a chart; for organisers publishing and advancement."""
        found_event, found_skill, found_stage = await _stage(db_session, event, skill, stage)
        user = current_user(request)
        manager = user is not None and await may_manage_skill(db_session, user, found_skill)
        published = await is_published(db_session, found_skill, found_stage)
        results = await stage_results(db_session, found_event, found_skill, found_stage)
        shown = results if (published or manager) else None
        return Template(
            "scoring/results/stage.html",
            context={
                "event": found_event,
                "skill": found_skill,
                "stage": found_stage,
                "results": shown,
                "has_scheme": results is not None,
                "published": published,
                "manager": manager,
                "organiser": user is not None and user.is_organiser,
                "charts": {line.competitor.code: criterion_chart(shown, line) for line in shown.lines
                           if line.result.complete} if shown else {},
                "in_final": await self._in_final(db_session, found_event, found_stage, shown),
                "done": done,
                "count": count,
                "mark": mark,
                "medal_label": medal_label,
                "stage_url": _stage_url(found_event, found_skill, found_stage),
                "crumbs": _crumbs(found_event, (f"{found_skill.code} {found_skill.name} · {found_stage.name}", "")),
            },
        )

    async def _in_final(
        self, session: AsyncSession, event: Event, stage: Stage, results: StageResults | None
    ) -> set[str] | None:
        """For a semi-final: the codes of its competitors already in the final (None: no final, or a final)."""
        if results is None or stage.kind != StageKind.SEMI_FINAL:
            return None
        final = await session.scalar(
            select(Stage.id).where(Stage.event_id == event.id, Stage.kind == StageKind.FINAL.value)
        )
        if final is None:
            return None
        entered = set(await session.scalars(select(StageEntry.competitor_id).where(StageEntry.stage_id == final)))
        return {line.competitor.code for line in results.lines if line.competitor.id in entered}

    @get(STAGE_PATH + "/results/export", name="stage_results_export")
    async def stage_export(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
    ) -> Response[bytes]:
        """The skill's results workbook (every stage) for its Chief Expert and organisers."""
        found = await get_event(db_session, event)
        found_skill = await get_skill(db_session, found, skill)
        await require_skill_manager(db_session, current_user(request), found_skill)
        content, _export = await export_results(db_session, found, found_skill)
        return _download(content, f"{found.code}-{found_skill.code}-results.xlsx")

    @get(STAGE_PATH + "/results/competitors/{competitor:str}", name="competitor_marks")
    async def competitor_page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        competitor: FromPath[str],
    ) -> Template:
        """The marks behind every figure of one competitor: aspect by aspect, with each judge's score."""
        found_event, found_skill, found_stage = await _stage(db_session, event, skill, stage)
        await require_skill_manager(db_session, current_user(request), found_skill)
        found = await get_competitor(db_session, found_event, competitor)
        results, scheme, marks = await self._marks(db_session, found_event, found_skill, found_stage, found.id)
        line = next((line for line in results.lines if line.competitor.code == found.code), None)
        if line is None:
            raise NotFound(
                _("Competitor %(code)s does not take part in stage %(stage)s.", code=found.code, stage=found_stage.code)
            )
        return Template(
            "scoring/results/competitor.html",
            context={
                "event": found_event,
                "skill": found_skill,
                "stage": found_stage,
                "line": line,
                "results": results,
                "chart": criterion_chart(results, line) if line.result.complete else None,
                "forms": form_sheets(scheme, marks, found.code, await _judges(db_session, found_event)),
                "published": await is_published(db_session, found_skill, found_stage),
                "mark": mark,
                "medal_label": medal_label,
                "stage_url": _stage_url(found_event, found_skill, found_stage),
                "crumbs": _crumbs(
                    found_event,
                    (f"{found_skill.code} {found_skill.name} · {found_stage.name}",
                     _stage_url(found_event, found_skill, found_stage) + "/results"),
                    (f"{found.code} {found.name}", ""),
                ),
            },
        )

    async def _marks(
        self, session: AsyncSession, event: Event, skill: Skill, stage: Stage, competitor_id: int | None
    ) -> tuple[StageResults, MarkingScheme, StageMarks | None]:
        results = await stage_results(session, event, skill, stage)
        scheme = await find_scheme(session, skill, stage)
        if results is None or scheme is None:
            raise NotFound(
                _("Skill %(skill)s has no marking scheme for stage %(stage)s.", skill=skill.code, stage=stage.code)
            )
        ids = [competitor_id] if competitor_id is not None else []
        marks = await load_stage_marks(session, skill, stage.id, ids) if ids else None
        return results, scheme, marks

    @get(STAGE_PATH + "/forms", name="printable_forms")
    async def forms_page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        competitor: FromQuery[str | None] = None,
        sub_criterion: FromQuery[str | None] = None,
    ) -> Template:
        """Marking forms to print, one per sub-criterion: blank (for the skill's experts) or, with
        `?competitor=`, filled in with that competitor's marks (Chief Expert and organisers)."""
        found_event, found_skill, found_stage = await _stage(db_session, event, skill, stage)
        user = current_user(request)
        await _require_forms_reader(db_session, user, found_skill, filled=bool(competitor))
        found = await get_competitor(db_session, found_event, competitor) if competitor else None
        _results, scheme, marks = await self._marks(
            db_session, found_event, found_skill, found_stage, found.id if found else None
        )
        forms = form_sheets(scheme, marks, found.code if found else None, await _judges(db_session, found_event))
        if sub_criterion:
            forms = [form for form in forms if form.sub_criterion.code.lower() == sub_criterion.lower()]
            if not forms:
                raise NotFound(_("There is no sub-criterion %(code)s in this marking scheme.", code=sub_criterion))
        return Template(
            "scoring/results/forms.html",
            context={
                "event": found_event,
                "skill": found_skill,
                "stage": found_stage,
                "competitor": found,
                "forms": forms,
                "judges": scheme.judges,
                "mark": mark,
                "stage_url": _stage_url(found_event, found_skill, found_stage),
                "crumbs": _crumbs(
                    found_event,
                    (f"{found_skill.code} {found_skill.name} · {found_stage.name}",
                     _stage_url(found_event, found_skill, found_stage) + "/results"),
                    (_("Marking forms"), ""),
                ),
            },
        )

    @post(STAGE_PATH + "/results/publish", guards=[requires_organiser], status_code=303)
    async def publish(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
    ) -> Redirect:
        found = await _stage(db_session, event, skill, stage)
        await write(db_session, publish_results, _organiser(request), *found)
        return Redirect(_stage_url(*found) + "/results?done=published", status_code=303)

    @post(STAGE_PATH + "/results/unpublish", guards=[requires_organiser], status_code=303)
    async def unpublish(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Redirect:
        found = await _stage(db_session, event, skill, stage)
        await write(db_session, unpublish_results, _organiser(request), *found, reason=data.get("reason", ""))
        return Redirect(_stage_url(*found) + "/results?done=unpublished", status_code=303)

    @post(STAGE_PATH + "/results/advance", guards=[requires_organiser], status_code=303)
    async def advance(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        event: FromPath[str],
        skill: FromPath[str],
        stage: FromPath[str],
    ) -> Redirect:
        found = await _stage(db_session, event, skill, stage)
        entered = await write(db_session, advance_to_final, _organiser(request), *found)
        return Redirect(_stage_url(*found) + f"/results?done=advanced&count={len(entered)}", status_code=303)


def _organiser(request: Request[Any, Any, Any]) -> User:
    user = current_user(request)
    if user is None:
        raise NotAuthorizedException(_("Please log in."))
    return user


async def _require_forms_reader(session: AsyncSession, user: User | None, skill: Skill, *, filled: bool) -> None:
    """Blank forms: the skill's experts, its Chief Expert and organisers; filled-in forms: the last two."""
    if user is None:
        raise NotAuthorizedException(_("Please log in."))
    if filled or await expert_on_skill(session, user, skill) is None:
        await require_skill_manager(session, user, skill)


route_handlers: list[Any] = [ResultsPages]
