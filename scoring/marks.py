"""A stage's marks as plain data: every competitor's aspect marks, forms and progress, read in a few queries.

Marking (form status after a save, what a tablet may see), results (totals of locked forms) and the
live board (progress) all read marks through `load_stage_marks`, so that each status and mark is
computed one way only, by `rules`. The loader uses plain column queries (no ORM objects per mark):
a skill of 40 competitors × 250 aspects × 3 judges is 30,000 scores.

`bump_revision` is called by every change of marks or forms in its transaction: a stage's
`MarkingScheme.revision` then says whether anything computed from its marks is still current, on
every worker (results are cached by it). `keep_mark` keeps an aspect's mark (`AspectMark`) in the same
transaction whenever a change leaves the aspect marked or unmarked, so that counting progress is a count
of rows; `refresh_marks` derives them again when the judging rule of a whole stage changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import bindparam, case, delete, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from competition.db import upsert
from competition.models import Competitor, Event, Institution, Skill, StageEntry
from scoring import rules
from scoring.models import (
    Aspect,
    AspectKind,
    AspectMark,
    ChoiceOption,
    Criterion,
    Form,
    JudgeScore,
    MarkingScheme,
    Measurement,
    SchemeStatus,
    SubCriterion,
)
from scoring.rules import AspectStatus


@dataclass(frozen=True)
class AspectRule:
    """What marking one aspect needs to know: where it counts and how its mark is computed."""

    id: int
    code: str
    sub_criterion: str
    criterion: str
    section: int | None
    kind: str
    max_mark: Decimal
    calculation: str | None = None
    possible: int | None = None
    choices: tuple[rules.Choice, ...] = ()

    @property
    def is_judgement(self) -> bool:
        return self.kind == AspectKind.JUDGEMENT


@dataclass(frozen=True)
class AspectState:
    """One aspect of one competitor: its status, its mark once there is one, and what was recorded.

    `scores` are the judges' scores by expert id (J aspects); `value` and `reason` the measurement (M)."""

    aspect: str
    status: AspectStatus
    mark: Decimal | None = None
    scores: Mapping[int, int] = field(default_factory=dict)
    value: Decimal | None = None
    reason: str = ""
    expert_id: int | None = None
    """Who recorded the measurement (M aspects)."""

    @property
    def entered(self) -> bool:
        return self.status == rules.SAVED


def judged(rule: AspectRule, scores: Mapping[int, int], judges: int, max_spread: int) -> AspectState:
    """The state of a judgement aspect from the judges' scores so far (by expert id)."""
    status, mark = _judgement(rule.max_mark, tuple(sorted(scores.values())), judges, max_spread)
    return AspectState(rule.code, status, mark, scores=dict(scores))


def measured(rule: AspectRule, value: Decimal | None, reason: str = "", expert_id: int | None = None) -> AspectState:
    """The state of a measurement aspect from its recorded value (None: not recorded yet)."""
    if value is None:
        return AspectState(rule.code, rules.MISSING)
    mark = _measurement(rule.max_mark, rule.calculation or "pass_fail", value, rule.possible, rule.choices)
    return AspectState(rule.code, rules.SAVED, mark, value=value, reason=reason, expert_id=expert_id)


# A stage's forms repeat the same few combinations of max mark and scores thousands of times: the rule
# book's answer for each is kept (the functions are pure, so keeping them changes nothing but the time).
@lru_cache(maxsize=16384)
def _judgement(
    max_mark: Decimal, scores: tuple[int, ...], judges: int, max_spread: int
) -> tuple[AspectStatus, Decimal | None]:
    return rules.judgement_status(max_mark, scores, judges, max_spread)


@lru_cache(maxsize=16384)
def _measurement(
    max_mark: Decimal, calculation: str, value: Decimal, possible: int | None, choices: tuple[rules.Choice, ...]
) -> Decimal:
    counted = int(value) if calculation in ("pass_fail", "number_completed", "choice") else value
    return rules.measurement_mark(max_mark, calculation, counted, possible=possible, choices=choices)


@dataclass(frozen=True)
class CompetitorEntry:
    """A competitor taking part in the stage, with the institution that decides conflicts of interest."""

    id: int
    code: str
    name: str
    institution_id: int
    institution: str
    institution_name: str


@dataclass(frozen=True)
class FormState:
    """A marking form: one sub-criterion for one competitor, its aspects in scheme order."""

    sub_criterion: str
    competitor: str
    aspects: tuple[AspectState, ...]
    locked: bool

    @property
    def complete(self) -> bool:
        return all(state.entered for state in self.aspects)

    @property
    def missing(self) -> list[str]:
        """Codes of the aspects without a mark (not scored by every judge, in disagreement, not recorded)."""
        return [state.aspect for state in self.aspects if not state.entered]

    def count(self, status: AspectStatus) -> int:
        return sum(1 for state in self.aspects if state.status == status)


@dataclass(frozen=True)
class Progress:
    """How far marking has come: aspect marks entered and forms locked, out of how many."""

    marks_entered: int = 0
    marks_total: int = 0
    forms_locked: int = 0
    forms_total: int = 0

    def __add__(self, other: Progress) -> Progress:
        return Progress(
            self.marks_entered + other.marks_entered,
            self.marks_total + other.marks_total,
            self.forms_locked + other.forms_locked,
            self.forms_total + other.forms_total,
        )

    @property
    def marks_share(self) -> Decimal:
        return _share(self.marks_entered, self.marks_total)

    @property
    def forms_share(self) -> Decimal:
        return _share(self.forms_locked, self.forms_total)


def _share(part: int, whole: int) -> Decimal:
    return Decimal(part) / Decimal(whole) if whole else Decimal(0)


@dataclass(frozen=True)
class SubCriterionInfo:
    id: int
    code: str
    name: str
    criterion: str
    day: str | None


@dataclass
class StageMarks:
    """Everything recorded for one skill in one stage, against its marking scheme."""

    scheme_id: int
    revision: int
    ready: bool
    """Whether the scheme may be marked (it totals 100 and has no errors)."""
    judges: int
    max_spread: int
    aspects: tuple[AspectRule, ...]
    sub_criteria: tuple[SubCriterionInfo, ...]
    competitors: tuple[CompetitorEntry, ...]
    states: dict[tuple[str, str], AspectState]
    """(competitor code, aspect code) → state; aspects without a record are absent (missing)."""
    locked: set[tuple[str, str]]
    """(competitor code, sub-criterion code) of the locked forms."""
    _aspect_marks: dict[tuple[str, Decimal], rules.AspectMark] = field(default_factory=dict, repr=False, compare=False)
    """One AspectMark per aspect and mark, shared by every competitor with that mark (a skill's 10,000
    marks take a few hundred distinct values)."""

    def state(self, competitor: str, aspect: str) -> AspectState:
        return self.states.get((competitor, aspect)) or AspectState(aspect, rules.MISSING)

    def aspects_of(self, sub_criterion: str) -> list[AspectRule]:
        return [rule for rule in self.aspects if rule.sub_criterion == sub_criterion]

    def form(self, competitor: str, sub_criterion: str) -> FormState:
        return FormState(
            sub_criterion,
            competitor,
            tuple(self.state(competitor, rule.code) for rule in self.aspects_of(sub_criterion)),
            (competitor, sub_criterion) in self.locked,
        )

    def forms(self, competitor: str) -> list[FormState]:
        return [self.form(competitor, sub.code) for sub in self.sub_criteria]

    def all_locked(self, competitor: str) -> bool:
        """Whether every form of the competitor is locked: only then do they count in the results."""
        return bool(self.sub_criteria) and all((competitor, sub.code) in self.locked for sub in self.sub_criteria)

    def aspect_marks(self, competitor: str) -> list[rules.AspectMark]:
        """The competitor's aspect marks so far, ready for `rules.totals`."""
        marks = []
        shared = self._aspect_marks
        states = self.states
        for rule in self.aspects:
            state = states.get((competitor, rule.code))
            if state is not None and state.mark is not None:
                key = (rule.code, state.mark)
                mark = shared.get(key)
                if mark is None:
                    mark = shared[key] = rules.AspectMark(
                        rule.code, rule.criterion, rule.sub_criterion, rule.section, state.mark
                    )
                marks.append(mark)
        return marks

    def progress(self, competitors: Iterable[str] | None = None) -> Progress:
        codes = [c.code for c in self.competitors] if competitors is None else list(competitors)
        entered = sum(1 for code in codes for rule in self.aspects if self.state(code, rule.code).entered)
        locked = sum(1 for code in codes for sub in self.sub_criteria if (code, sub.code) in self.locked)
        return Progress(entered, len(codes) * len(self.aspects), locked, len(codes) * len(self.sub_criteria))


# --- reading from the database -------------------------------------------------------------------


async def stage_competitors(
    session: AsyncSession, skill_id: int, stage_id: int, competitor_ids: Iterable[int] | None = None
) -> list[CompetitorEntry]:
    """The skill's competitors taking part in the stage (registered there, or advanced to it), by code."""
    query = (
        select(
            Competitor.id,
            Competitor.code,
            Competitor.first_name,
            Competitor.last_name,
            Institution.id,
            Institution.code,
            Institution.name,
        )
        .join(StageEntry, StageEntry.competitor_id == Competitor.id)
        .join(Institution, Institution.id == Competitor.institution_id)
        .where(Competitor.skill_id == skill_id, StageEntry.stage_id == stage_id)
        .order_by(Competitor.code)
    )
    if competitor_ids is not None:
        query = query.where(Competitor.id.in_(list(competitor_ids)))
    rows = await session.execute(query)
    return [
        CompetitorEntry(id, code, f"{first} {last}", institution_id, institution, institution_name)
        for id, code, first, last, institution_id, institution, institution_name in rows
    ]


async def scheme_rules(session: AsyncSession, scheme_id: int) -> tuple[list[AspectRule], list[SubCriterionInfo]]:
    """The scheme's aspects and sub-criteria in scheme order (criterion, sub-criterion, aspect)."""
    choice_rows = await session.execute(
        select(ChoiceOption.aspect_id, ChoiceOption.label, ChoiceOption.deduction_percent)
        .join(Aspect, Aspect.id == ChoiceOption.aspect_id)
        .where(Aspect.scheme_id == scheme_id)
        .order_by(ChoiceOption.aspect_id, ChoiceOption.position)
    )
    choices: dict[int, list[rules.Choice]] = defaultdict(list)
    for aspect_id, label, percent in choice_rows:
        choices[aspect_id].append(rules.Choice(label, Decimal(percent)))
    sub_rows = await session.execute(
        select(SubCriterion.id, SubCriterion.code, SubCriterion.name, Criterion.code, SubCriterion.day)
        .join(Criterion, Criterion.id == SubCriterion.criterion_id)
        .where(SubCriterion.scheme_id == scheme_id)
        .order_by(Criterion.position, SubCriterion.position)
    )
    sub_criteria = [SubCriterionInfo(*row) for row in sub_rows]
    aspect_rows = await session.execute(
        select(
            Aspect.id,
            Aspect.code,
            SubCriterion.code,
            Criterion.code,
            Aspect.section,
            Aspect.kind,
            Aspect.max_mark,
            Aspect.calculation,
            Aspect.possible,
        )
        .join(SubCriterion, SubCriterion.id == Aspect.sub_criterion_id)
        .join(Criterion, Criterion.id == SubCriterion.criterion_id)
        .where(Aspect.scheme_id == scheme_id)
        .order_by(Criterion.position, SubCriterion.position, Aspect.position)
    )
    aspects = [
        AspectRule(
            id=aspect_id,
            code=code,
            sub_criterion=sub,
            criterion=criterion,
            section=section,
            kind=kind,
            max_mark=Decimal(max_mark if max_mark is not None else 0),
            calculation=calculation if kind == AspectKind.MEASUREMENT else None,
            possible=possible,
            choices=tuple(choices.get(aspect_id, ())),
        )
        for aspect_id, code, sub, criterion, section, kind, max_mark, calculation, possible in aspect_rows
    ]
    return aspects, sub_criteria


async def load_stage_marks(
    session: AsyncSession,
    skill: Skill,
    stage_id: int,
    competitor_ids: Iterable[int] | None = None,
    sub_criterion: str | None = None,
) -> StageMarks | None:
    """The stage's marks for the skill (only those competitors, and of that sub-criterion's aspects, when given),
    or None without a scheme. The scheme's rules are all there either way."""
    scheme = (
        await session.execute(
            select(MarkingScheme.id, MarkingScheme.revision, MarkingScheme.status, MarkingScheme.judges).where(
                MarkingScheme.skill_id == skill.id, MarkingScheme.stage_id == stage_id
            )
        )
    ).one_or_none()
    if scheme is None:
        return None
    scheme_id, revision, status, judges = scheme
    event_spread = await session.scalar(select(Event.judgement_spread).where(Event.id == skill.event_id))
    competitors = await stage_competitors(session, skill.id, stage_id, competitor_ids)
    aspects, sub_criteria = await scheme_rules(session, scheme_id)
    by_id = {c.id: c.code for c in competitors}
    wanted = list(by_id)

    marked = [rule for rule in aspects if sub_criterion is None or rule.sub_criterion == sub_criterion]
    of_aspects = Aspect.id.in_([rule.id for rule in marked]) if sub_criterion is not None else true()
    score_rows = await session.execute(
        select(JudgeScore.aspect_id, JudgeScore.competitor_id, JudgeScore.expert_id, JudgeScore.score)
        .join(Aspect, Aspect.id == JudgeScore.aspect_id)
        .where(Aspect.scheme_id == scheme_id, JudgeScore.competitor_id.in_(wanted), of_aspects)
    )
    scores: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    for aspect_id, competitor_id, expert_id, score in score_rows:
        scores[(competitor_id, aspect_id)][expert_id] = score
    measurement_rows = await session.execute(
        select(
            Measurement.aspect_id,
            Measurement.competitor_id,
            Measurement.value,
            Measurement.reason,
            Measurement.expert_id,
        )
        .join(Aspect, Aspect.id == Measurement.aspect_id)
        .where(Aspect.scheme_id == scheme_id, Measurement.competitor_id.in_(wanted), of_aspects)
    )
    measurements = {(c, a): (Decimal(v), r or "", e) for a, c, v, r, e in measurement_rows}
    form_rows = await session.execute(
        select(Form.competitor_id, SubCriterion.code)
        .join(SubCriterion, SubCriterion.id == Form.sub_criterion_id)
        .where(SubCriterion.scheme_id == scheme_id, Form.locked.is_(True), Form.competitor_id.in_(wanted))
    )
    locked = {(by_id[competitor_id], sub) for competitor_id, sub in form_rows}

    spread = event_spread if event_spread is not None else 1
    states: dict[tuple[str, str], AspectState] = {}
    for competitor_id, code in by_id.items():
        for rule in marked:
            key = (competitor_id, rule.id)
            if rule.is_judgement:
                if key in scores:
                    states[(code, rule.code)] = judged(rule, scores[key], judges, spread)
            elif key in measurements:
                value, reason, recorded_by = measurements[key]
                states[(code, rule.code)] = measured(rule, value, reason, recorded_by)
    return StageMarks(
        scheme_id=scheme_id,
        revision=revision,
        ready=status == SchemeStatus.READY,
        judges=judges,
        max_spread=spread,
        aspects=tuple(aspects),
        sub_criteria=tuple(sub_criteria),
        competitors=tuple(competitors),
        states=states,
        locked=locked,
    )


async def keep_mark(
    session: AsyncSession, scheme_id: int, aspect_id: int, competitor_id: int, mark: Decimal | None
) -> None:
    """Keep the aspect's mark for the competitor (None: the aspect is not marked now), in the change's transaction."""
    connection = await session.connection()
    if mark is None:
        await connection.execute(_UNMARK, {"aspect": aspect_id, "competitor": competitor_id})
        return
    statement = (
        upsert(session, AspectMark)
        .values(scheme_id=scheme_id, aspect_id=aspect_id, competitor_id=competitor_id, mark=mark)
        .on_conflict_do_update(index_elements=[AspectMark.aspect_id, AspectMark.competitor_id], set_={"mark": mark})
    )
    await connection.execute(statement)


_UNMARK = delete(AspectMark).where(
    AspectMark.aspect_id == bindparam("aspect"), AspectMark.competitor_id == bindparam("competitor")
)


async def refresh_marks(
    session: AsyncSession, skill: Skill, stage_id: int, competitor_ids: Iterable[int] | None = None
) -> None:
    """Derive the kept aspect marks of the stage (of those competitors) from its scores and measurements again:
    after a change of the judging team size, or many marks at once (a marks workbook)."""
    marks = await load_stage_marks(session, skill, stage_id, competitor_ids)
    if marks is None:
        return
    ids = {c.code: c.id for c in marks.competitors}
    rules_by_code = {rule.code: rule for rule in marks.aspects}
    connection = await session.connection()
    await connection.execute(
        delete(AspectMark).where(AspectMark.scheme_id == marks.scheme_id, AspectMark.competitor_id.in_(ids.values()))
    )
    rows = [
        {"scheme_id": marks.scheme_id, "aspect_id": rules_by_code[aspect].id, "competitor_id": ids[code],
         "mark": state.mark}
        for (code, aspect), state in marks.states.items()
        if state.status == rules.SAVED and state.mark is not None
    ]
    if rows:
        await connection.execute(insert(AspectMark), rows)


_BUMP = (
    update(MarkingScheme)
    .where(MarkingScheme.id == bindparam("scheme"))
    .values(revision=MarkingScheme.revision + 1)
)


async def bump_revision(session: AsyncSession, scheme_id: int) -> None:
    """Mark the stage's marks as changed (in the change's own transaction)."""
    await (await session.connection()).execute(_BUMP, {"scheme": scheme_id})


@dataclass(frozen=True)
class FormCounts:
    """How far one form (a sub-criterion of one competitor) has come, counted by the database."""

    marked: int = 0
    """Aspects with a mark (`keep_mark`)."""
    started: int = 0
    """Aspects with anything recorded: a judge's score or a measurement."""
    waiting: int = 0
    """Judgement aspects some of whose judges have not scored yet."""
    disagreements: int = 0
    locked: bool = False


async def form_counts(
    session: AsyncSession, scheme_id: int, judges: int, max_spread: int, competitor_ids: Iterable[int]
) -> dict[tuple[int, int], FormCounts]:
    """(competitor id, sub-criterion id) → `FormCounts` of every form of those competitors that has anything
    recorded: what the expert's day page shows of hundreds of forms, without reading a mark. Judges' scores
    count as `rules.judgement_status` says; `tests/integration/test_stage_marks.py` holds the two to the same
    answer."""
    ids = list(competitor_ids)
    groups = (
        select(
            JudgeScore.aspect_id,
            JudgeScore.competitor_id,
            func.count().label("scores"),
            (func.max(JudgeScore.score) - func.min(JudgeScore.score)).label("spread"),
        )
        .join(Aspect, Aspect.id == JudgeScore.aspect_id)
        .where(Aspect.scheme_id == scheme_id, JudgeScore.competitor_id.in_(ids))
        .group_by(JudgeScore.aspect_id, JudgeScore.competitor_id)
        .subquery()
    )
    counts: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    judged_rows = await session.execute(
        select(
            groups.c.competitor_id,
            Aspect.sub_criterion_id,
            func.count(),
            func.sum(case((groups.c.scores < judges, 1), else_=0)),
            func.sum(case(((groups.c.scores >= judges) & (groups.c.spread > max_spread), 1), else_=0)),
        )
        .join(Aspect, Aspect.id == groups.c.aspect_id)
        .group_by(groups.c.competitor_id, Aspect.sub_criterion_id)
    )
    for competitor_id, sub_id, started, waiting, disagreements in judged_rows:
        form = counts[(competitor_id, sub_id)]
        form["started"] += started
        form["waiting"], form["disagreements"] = waiting or 0, disagreements or 0
    for model, key in ((Measurement, "started"), (AspectMark, "marked")):
        rows = await session.execute(
            select(model.competitor_id, Aspect.sub_criterion_id, func.count())
            .join(Aspect, Aspect.id == model.aspect_id)
            .where(Aspect.scheme_id == scheme_id, model.competitor_id.in_(ids))
            .group_by(model.competitor_id, Aspect.sub_criterion_id)
        )
        for competitor_id, sub_id, count in rows:
            counts[(competitor_id, sub_id)][key] += count
    locked = await session.execute(
        select(Form.competitor_id, Form.sub_criterion_id)
        .join(SubCriterion, SubCriterion.id == Form.sub_criterion_id)
        .where(SubCriterion.scheme_id == scheme_id, Form.locked.is_(True), Form.competitor_id.in_(ids))
    )
    for competitor_id, sub_id in locked:
        counts[(competitor_id, sub_id)]["locked"] = 1
    return {
        key: FormCounts(form["marked"], form["started"], form["waiting"], form["disagreements"], bool(form["locked"]))
        for key, form in counts.items()
    }


_TAKING_PART = (
    select(Competitor.id)
    .join(StageEntry, StageEntry.competitor_id == Competitor.id)
    .where(Competitor.skill_id == bindparam("skill"), StageEntry.stage_id == bindparam("stage"))
)
_PROGRESS = select(
    select(func.count()).select_from(_TAKING_PART.subquery()).scalar_subquery(),
    select(func.count(Aspect.id)).where(Aspect.scheme_id == MarkingScheme.id).scalar_subquery(),
    select(func.count(SubCriterion.id)).where(SubCriterion.scheme_id == MarkingScheme.id).scalar_subquery(),
    select(func.count(AspectMark.id))
    .where(AspectMark.scheme_id == MarkingScheme.id, AspectMark.competitor_id.in_(_TAKING_PART))
    .scalar_subquery(),
    select(func.count(Form.id))
    .join(SubCriterion, SubCriterion.id == Form.sub_criterion_id)
    .where(SubCriterion.scheme_id == MarkingScheme.id, Form.locked.is_(True), Form.competitor_id.in_(_TAKING_PART))
    .scalar_subquery(),
).where(MarkingScheme.skill_id == bindparam("skill"), MarkingScheme.stage_id == bindparam("stage"))


async def stage_progress(session: AsyncSession, skill: Skill, stage_id: int) -> Progress | None:
    """`load_stage_marks(...).progress()` counted by the database in one query, without reading a mark (the live
    board asks for it on every change): the aspects marked are the kept aspect marks (`keep_mark`), so a
    judgement counts once `judges` judges have scored it within the judgement rule, as `rules.judgement_status`
    says; `tests/integration/test_stage_marks.py` holds the two to the same answer."""
    found = (await session.execute(_PROGRESS, {"skill": skill.id, "stage": stage_id})).one_or_none()
    if found is None:
        return None
    competitors, aspects, subs, entered, locked = found
    return Progress(entered, competitors * aspects, locked, competitors * subs)
