"""What the marking pages show an expert, as plain data: their day, a form, one aspect for every competitor.

Built from `StageMarks` (what is recorded) and the marking scheme (what each aspect says), for one
expert. The blind rule is applied here and nowhere else on the pages: a judge sees their own score,
and an aspect's mark only once every judge has scored; competitors of the expert's own institution
are never offered (the server refuses them anyway, see `scoring.marking`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from competition.i18n import gettext as _
from competition.models import Expert
from scoring import rules
from scoring.marks import AspectState, CompetitorEntry, FormCounts, Progress, StageMarks
from scoring.models import Aspect, MarkingScheme, SubCriterion

# How a form stands for the expert looking at it, worst first.
CONFLICT = "conflict"
"""The competitor is from the expert's own institution: not offered."""
NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
DISAGREEMENT = "disagreement"
COMPLETE = "complete"
"""Every aspect has a mark: ready to sign off."""
LOCKED = "locked"


def status_labels() -> dict[str, str]:
    """What each form status reads as, in the current language (the day page shows hundreds of them)."""
    return {
        LOCKED: _("locked"),
        COMPLETE: _("ready to sign off"),
        DISAGREEMENT: _("judges disagree"),
        IN_PROGRESS: _("in progress"),
        CONFLICT: _("own institution"),
        NOT_STARTED: _("not started"),
    }


@dataclass(frozen=True)
class FieldView:
    """One aspect of one competitor as the expert marks it."""

    aspect: Aspect
    competitor: CompetitorEntry
    status: str
    own_score: int | None
    value: Decimal | None
    reason: str
    mark: Decimal | None
    """Shown only once the aspect is complete (for J: all judges in, within the rule)."""
    scores_in: int
    """How many judges have scored (J): a count, never whose or which scores."""

    @property
    def value_text(self) -> str:
        return f"{self.value.normalize():f}" if self.value is not None else ""

    @property
    def field_id(self) -> str:
        return f"{self.competitor.code}-{self.aspect.code}"


@dataclass(frozen=True)
class FormView:
    """A marking form (one sub-criterion, one competitor) for one expert."""

    sub_criterion: SubCriterion
    competitor: CompetitorEntry
    fields: list[FieldView]
    status: str
    may_mark: bool
    """The expert is on the sub-criterion's team and the competitor is not from their institution."""

    @property
    def locked(self) -> bool:
        return self.status == LOCKED

    @property
    def missing(self) -> list[str]:
        return [f.aspect.code for f in self.fields if f.status != rules.SAVED]

    @property
    def total(self) -> Decimal | None:
        if self.status not in (COMPLETE, LOCKED):
            return None
        return rules.exact_sum(f.mark for f in self.fields if f.mark is not None)


@dataclass(frozen=True)
class SubCriterionDay:
    """A sub-criterion on the expert's day page: its team's progress and each competitor's form."""

    sub_criterion: SubCriterion
    on_team: bool
    progress: Progress
    forms: list[FormView]
    waiting: int = 0
    """Aspects some judges have scored and others not yet."""
    disagreements: int = 0


def form_status(states: Iterable[AspectState], locked: bool) -> str:
    """A form's status from its aspects' states."""
    if locked:
        return LOCKED
    statuses = [state.status for state in states]
    if statuses and all(status == rules.SAVED for status in statuses):
        return COMPLETE
    if rules.DISAGREEMENT in statuses:
        return DISAGREEMENT
    if any(status != rules.MISSING for status in statuses):
        return IN_PROGRESS
    return NOT_STARTED


def field_view(aspect: Aspect, competitor: CompetitorEntry, state: AspectState, expert: Expert | None) -> FieldView:
    """The blind view of one aspect: own score, a count of the judges in, the mark once complete."""
    own = state.scores.get(expert.id) if expert is not None else None
    complete = state.status == rules.SAVED
    return FieldView(
        aspect=aspect,
        competitor=competitor,
        status=state.status,
        own_score=own,
        value=state.value,
        reason=state.reason,
        mark=state.mark if complete else None,
        scores_in=len(state.scores),
    )


def build_form(
    marks: StageMarks,
    sub: SubCriterion,
    competitor: CompetitorEntry,
    expert: Expert | None,
    team: Mapping[int, set[int]],
) -> FormView:
    """One form for the expert; `team` maps sub-criterion ids to their assigned experts (absent: all)."""
    states = [marks.state(competitor.code, aspect.code) for aspect in sub.aspects]
    locked = (competitor.code, sub.code) in marks.locked
    conflict = expert is not None and expert.institution_id == competitor.institution_id
    on_team = expert is not None and on_marking_team(expert, sub, team)
    fields = [field_view(a, competitor, s, expert) for a, s in zip(sub.aspects, states, strict=True)]
    status = CONFLICT if conflict else form_status(states, locked)
    return FormView(sub, competitor, fields, status, may_mark=on_team and not conflict and not locked)


def on_marking_team(expert: Expert, sub: SubCriterion, team: Mapping[int, set[int]]) -> bool:
    members = team.get(sub.id)
    return not members or expert.id in members


def expert_day(
    scheme: MarkingScheme,
    competitors: Sequence[CompetitorEntry],
    counts: Mapping[tuple[int, int], FormCounts],
    expert: Expert | None,
    team: Mapping[int, set[int]],
    day: str | None = None,
) -> list[SubCriterionDay]:
    """The expert's day: every sub-criterion (of that day of marking, when given) with its forms, from the
    forms' counts (`marks.form_counts`)."""
    days = []
    nothing = FormCounts()
    for criterion in scheme.criteria:
        for sub in criterion.sub_criteria:
            if day and (sub.day or "") != day:
                continue
            forms = []
            for competitor in competitors:
                form = counts.get((competitor.id, sub.id), nothing)
                conflict = expert is not None and expert.institution_id == competitor.institution_id
                on_team = expert is not None and on_marking_team(expert, sub, team)
                status = CONFLICT if conflict else counted_status(form, len(sub.aspects))
                may_mark = on_team and not conflict and not form.locked
                forms.append(FormView(sub, competitor, [], status, may_mark=may_mark))
            of_sub = [counts.get((competitor.id, sub.id), nothing) for competitor in competitors]
            progress = Progress(
                sum(form.marked for form in of_sub),
                len(competitors) * len(sub.aspects),
                sum(form.locked for form in of_sub),
                len(competitors),
            )
            on_team = expert is None or on_marking_team(expert, sub, team)
            waiting = sum(form.waiting for form in of_sub)
            disagreements = sum(form.disagreements for form in of_sub)
            days.append(SubCriterionDay(sub, on_team, progress, forms, waiting, disagreements))
    return days


def counted_status(counts: FormCounts, aspects: int) -> str:
    """A form's status from its counts, as `form_status` gives it from its aspects' states."""
    if counts.locked:
        return LOCKED
    if aspects and counts.marked >= aspects:
        return COMPLETE
    if counts.disagreements:
        return DISAGREEMENT
    if counts.started:
        return IN_PROGRESS
    return NOT_STARTED


def days_of(scheme: MarkingScheme) -> list[str]:
    """The scheme's days of marking in their natural order (C1, C2, … or 1, 2, …)."""
    days = {sub.day for criterion in scheme.criteria for sub in criterion.sub_criteria if sub.day}
    return sorted(days, key=rules.code_order)


def aspect_column(
    marks: StageMarks, sub: SubCriterion, aspect: Aspect, expert: Expert | None, team: Mapping[int, set[int]]
) -> list[tuple[FormView, FieldView]]:
    """The landscape view: one aspect for every competitor the expert may see (own institution left out)."""
    column = []
    for competitor in marks.competitors:
        form = build_form(marks, sub, competitor, expert, team)
        if form.status == CONFLICT:
            continue
        column.append((form, next(f for f in form.fields if f.aspect.id == aspect.id)))
    return column
