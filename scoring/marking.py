"""Marking: judges' scores, measurements, sign-off, locking and unlocking of forms, and marking teams.

Each public coroutine here that changes something is one state change, run by `competition.writer`
(`await write(session, record_mark, place, marker, …)`): it writes without committing. It checks the
rule book on the server, whatever a page showed (the expert is on the sub-criterion's marking team,
the competitor is not from the expert's own institution, the form is not locked, the value is valid),
writes, records its audit entry (who, old → new, why) and has the change announced once committed.

Every decision is read inside the change's own transaction: `claim` reads the stage's marking scheme
as it is now (its status, judging team size, the event's judgement rule; on PostgreSQL it row-locks the
scheme, so that writers of one stage queue there, on SQLite the writer holds the file's write lock) and
the stage's rules (aspects, marking teams, who takes part, the experts): those are read once per
revision of the scheme and of the event's registration and kept. Saving the same value again changes
nothing and records nothing, so a tablet may resend.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from competition import audit, notify
from competition.auth import may_manage_skill
from competition.errors import Conflict, Forbidden, Invalid, NotFound
from competition.i18n import gettext as _
from competition.models import Competitor, Event, Expert, ExpertRole, Role, Skill, Stage, StageEntry, User
from competition.registration.services import code_is, get_event, get_skill, get_stage
from scoring import rules
from scoring.marks import (
    AspectRule,
    bump_revision,
    judged,
    keep_mark,
    load_stage_marks,
    measured,
    refresh_marks,
    scheme_rules,
)
from scoring.models import (
    Aspect,
    AspectKind,
    Form,
    JudgeScore,
    MarkingScheme,
    MarkingTeamMember,
    Measurement,
    SchemeStatus,
    SubCriterion,
)

MIN_JUDGES, MAX_JUDGES = 3, 5
"""The rule book: 3 judges by default, 3-5 allowed."""


@dataclass(frozen=True)
class MarkingPlace:
    """One skill in one stage of an event, with the marking scheme its forms follow.

    Read for pages and to address a change; a change reads the scheme afresh (`claim`)."""

    event: Event
    skill: Skill
    stage: Stage
    scheme_id: int
    judges: int
    ready: bool
    max_spread: int = 1


class MarkingExpert(Protocol):
    """What marking needs to know of an expert (an `Expert` record, or the stage rules' copy)."""

    @property
    def id(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def institution_id(self) -> int: ...
    @property
    def skill_id(self) -> int: ...
    @property
    def is_chief(self) -> bool: ...


@dataclass(frozen=True)
class Marker:
    """Who enters a mark: the user acting (None on the command line) and the expert whose mark it is."""

    actor: User | None
    expert: MarkingExpert


@dataclass(frozen=True)
class MarkOutcome:
    """What a save leaves: the aspect's status (`saved`, `waiting`, `disagreement`) and mark."""

    competitor: str
    aspect: str
    status: str
    mark: Decimal | None
    changed: bool

    def document(self) -> dict[str, Any]:
        return {
            "competitor": self.competitor,
            "aspect": self.aspect,
            "status": self.status,
            "mark": rules.format_mark(self.mark) if self.mark is not None else None,
        }


def _spread(event_spread: int | None) -> int:
    return event_spread if event_spread is not None else 1


# The statements a save runs on every tap are built once, with bound parameters.
_PLACE = (
    select(Event, Skill, Stage, MarkingScheme.id, MarkingScheme.judges, MarkingScheme.status)
    .join(Skill, Skill.event_id == Event.id)
    .join(Stage, Stage.event_id == Event.id)
    .join(MarkingScheme, (MarkingScheme.skill_id == Skill.id) & (MarkingScheme.stage_id == Stage.id))
    .where(
        func.lower(Event.code) == bindparam("event"),
        func.lower(Skill.code) == bindparam("skill"),
        func.lower(Stage.code) == bindparam("stage"),
    )
)
_PLACE_NOW = (
    select(
        MarkingScheme.id,
        MarkingScheme.judges,
        MarkingScheme.status,
        MarkingScheme.rules_revision,
        MarkingScheme.created_at,
        Event.revision,
        Event.judgement_spread,
    )
    .select_from(Event)
    .join(Skill, Skill.event_id == Event.id)
    .join(Stage, Stage.event_id == Event.id)
    .join(MarkingScheme, (MarkingScheme.skill_id == Skill.id) & (MarkingScheme.stage_id == Stage.id))
    .where(
        func.lower(Event.code) == bindparam("event"),
        func.lower(Skill.code) == bindparam("skill"),
        func.lower(Stage.code) == bindparam("stage"),
    )
    .with_for_update(of=MarkingScheme)
)
_SCHEME_NOW = (
    select(
        MarkingScheme.judges,
        MarkingScheme.status,
        MarkingScheme.rules_revision,
        MarkingScheme.created_at,
        Event.revision,
        Event.judgement_spread,
    )
    .join(Skill, Skill.id == MarkingScheme.skill_id)
    .join(Event, Event.id == Skill.event_id)
    .where(MarkingScheme.id == bindparam("scheme"))
    .with_for_update(of=MarkingScheme)
)
_FORM_LOCKED = select(Form.locked).where(
    Form.sub_criterion_id == bindparam("sub"), Form.competitor_id == bindparam("competitor")
)
_SCORES = select(JudgeScore.expert_id, JudgeScore.score).where(
    JudgeScore.aspect_id == bindparam("aspect"), JudgeScore.competitor_id == bindparam("competitor")
)
_CHANGE_SCORE = (
    update(JudgeScore)
    .where(
        JudgeScore.aspect_id == bindparam("at_aspect"),
        JudgeScore.competitor_id == bindparam("at_competitor"),
        JudgeScore.expert_id == bindparam("at_expert"),
    )
    .values(score=bindparam("new_score"))
)
_MEASUREMENT = select(Measurement.value, Measurement.reason).where(
    Measurement.aspect_id == bindparam("aspect"), Measurement.competitor_id == bindparam("competitor")
)
_CHANGE_MEASUREMENT = (
    update(Measurement)
    .where(Measurement.aspect_id == bindparam("at_aspect"), Measurement.competitor_id == bindparam("at_competitor"))
    .values(value=bindparam("new_value"), reason=bindparam("new_reason"), expert_id=bindparam("new_expert"))
)


async def find_place(session: AsyncSession, event_code: str, skill_code: str, stage_code: str) -> MarkingPlace:
    """The skill and stage by their codes, or NotFound (also when the stage has no marking scheme)."""
    found = (
        await session.execute(
            _PLACE, {"event": event_code.lower(), "skill": skill_code.lower(), "stage": stage_code.lower()}
        )
    ).one_or_none()
    if found is not None:  # one query on every save; the look-ups below only to say what is missing
        event, skill, stage, scheme_id, judges, status = found
        return MarkingPlace(
            event, skill, stage, scheme_id, judges, status == SchemeStatus.READY, _spread(event.judgement_spread)
        )
    event = await get_event(session, event_code)
    skill = await get_skill(session, event, skill_code)
    stage = await get_stage(session, event, stage_code)
    return await place_of(session, event, skill, stage)


async def place_of(session: AsyncSession, event: Event, skill: Skill, stage: Stage) -> MarkingPlace:
    scheme = (
        await session.execute(
            select(MarkingScheme.id, MarkingScheme.judges, MarkingScheme.status).where(
                MarkingScheme.skill_id == skill.id, MarkingScheme.stage_id == stage.id
            )
        )
    ).one_or_none()
    if scheme is None:
        raise _no_scheme(skill.code, stage.code)
    scheme_id, judges, status = scheme
    return MarkingPlace(
        event, skill, stage, scheme_id, judges, status == SchemeStatus.READY, _spread(event.judgement_spread)
    )


@dataclass(frozen=True)
class StageCodes:
    """A skill in a stage as a request names it: the event's, skill's and stage's codes."""

    event: str
    skill: str
    stage: str


def _no_scheme(skill: str, stage: str) -> NotFound:
    return NotFound(_("Skill %(skill)s has no marking scheme for stage %(stage)s.", skill=skill, stage=stage))


# --- the stage as a change finds it ------------------------------------------------------------


@dataclass(frozen=True)
class ExpertOnSkill:
    """An expert of the skill as marking sees them (a copy: rules are kept between transactions)."""

    id: int
    code: str
    institution_id: int
    skill_id: int
    user_id: int | None
    is_chief: bool


@dataclass(frozen=True)
class CompetitorInStage:
    """A competitor taking part in the stage, with the institution that decides conflicts of interest."""

    id: int
    code: str
    institution_id: int


@dataclass(frozen=True)
class AspectTarget:
    """An aspect as marking needs it: its rule and the sub-criterion (form) it is on."""

    rule: AspectRule
    sub_criterion_id: int

    @property
    def code(self) -> str:
        return self.rule.code


@dataclass(frozen=True)
class StageRules:
    """What a change of the stage's marks checks, besides the marks themselves: the scheme's aspects and
    sub-criteria, the marking teams, who takes part and the skill's experts. Read once per revision."""

    aspects: Mapping[str, AspectTarget]
    """By aspect code in capitals."""
    sub_criteria: Mapping[str, tuple[int, str]]
    """Sub-criterion code in capitals → its id and code."""
    teams: Mapping[int, frozenset[int]]
    """Sub-criterion id → the expert ids of its assigned team (absent: every expert of the skill)."""
    competitors: Mapping[str, CompetitorInStage]
    """By competitor code in capitals."""
    experts: Mapping[int, ExpertOnSkill]
    """By the expert's user id."""


@dataclass(frozen=True)
class ClaimedStage:
    """The stage inside a change's transaction: the scheme as it is now, and its rules."""

    place: MarkingPlace
    rules: StageRules

    @property
    def judges(self) -> int:
        return self.place.judges

    @property
    def max_spread(self) -> int:
        return self.place.max_spread

    def competitor(self, code: str) -> CompetitorInStage:
        found = self.rules.competitors.get(code.strip().upper())
        if found is None:
            raise NotFound(
                _(
                    "There is no competitor %(code)s in skill %(skill)s, stage %(stage)s.",
                    code=code,
                    skill=self.place.skill.code,
                    stage=self.place.stage.code,
                )
            )
        return found

    def aspect(self, code: str) -> AspectTarget:
        found = self.rules.aspects.get(code.strip().upper())
        if found is None:
            raise NotFound(
                _(
                    "Skill %(skill)s has no aspect %(code)s in stage %(stage)s.",
                    code=code,
                    skill=self.place.skill.code,
                    stage=self.place.stage.code,
                )
            )
        return found

    def sub_criterion(self, code: str) -> tuple[int, str]:
        """The sub-criterion's id and code, or NotFound."""
        found = self.rules.sub_criteria.get(code.strip().upper())
        if found is None:
            raise NotFound(
                _(
                    "Skill %(skill)s has no sub-criterion %(code)s in stage %(stage)s.",
                    code=code,
                    skill=self.place.skill.code,
                    stage=self.place.stage.code,
                )
            )
        return found

    def expert_of(self, user: User) -> ExpertOnSkill:
        """The user as an expert of the skill, or Forbidden."""
        expert = self.rules.experts.get(user.id)
        if expert is None:
            raise Forbidden(_("You are not an expert of skill %(skill)s.", skill=self.place.skill.code))
        return expert

    def may_mark(self, expert: MarkingExpert, sub_criterion_id: int) -> bool:
        """Whether the expert is on the sub-criterion's marking team (the whole skill where none is assigned)."""
        team = self.rules.teams.get(sub_criterion_id)
        return not team or expert.id in team


CACHED_RULES = 256
_rules_cache: OrderedDict[int, tuple[tuple[Any, ...], StageRules]] = OrderedDict()


def forget_cached_rules() -> None:
    """Read every stage's rules afresh (tests, whose databases start from id 1 again)."""
    _rules_cache.clear()
    _places_cache.clear()


async def claim(session: AsyncSession, place: MarkingPlace | StageCodes) -> ClaimedStage:
    """Inside a change's transaction: the stage's marking scheme as it is now, and its rules.

    `place` is one read before, or the codes a request names (a save looks nothing up before its change).
    On PostgreSQL the scheme's row is locked until the transaction ends, so that changes of one stage's
    marks never interleave (on SQLite the writer already holds the file's write lock)."""
    if isinstance(place, StageCodes):
        return await _claim_by_codes(session, place)
    connection = await session.connection()  # the hot statements go straight to the connection (no unit of work)
    row = (await connection.execute(_SCHEME_NOW, {"scheme": place.scheme_id})).one_or_none()
    if row is None:  # replaced since the place was read
        raise _no_scheme(place.skill.code, place.stage.code)
    judges, status, rules_revision, created, event_revision, spread = row
    fresh = MarkingPlace(
        place.event, place.skill, place.stage, place.scheme_id, judges, status == SchemeStatus.READY, _spread(spread)
    )
    return await _with_rules(session, fresh, (rules_revision, created, event_revision))


_places_cache: OrderedDict[tuple[str, str, str], tuple[tuple[Any, ...], Event, Skill, Stage]] = OrderedDict()
"""The event, skill and stage records a save names by codes, kept while the event's revision is the same."""


async def _claim_by_codes(session: AsyncSession, codes: StageCodes) -> ClaimedStage:
    key = (codes.event.lower(), codes.skill.lower(), codes.stage.lower())
    connection = await session.connection()
    named = {"event": key[0], "skill": key[1], "stage": key[2]}
    found = (await connection.execute(_PLACE_NOW, named)).one_or_none()
    if found is None:  # say what is missing
        await find_place(session, codes.event, codes.skill, codes.stage)
        raise _no_scheme(codes.skill, codes.stage)
    scheme_id, judges, status, rules_revision, created, event_revision, spread = found
    cached = _places_cache.get(key)
    if cached is not None and cached[0] == (scheme_id, event_revision):
        _places_cache.move_to_end(key)
        event, skill, stage = cached[1:]
    else:
        place = await find_place(session, codes.event, codes.skill, codes.stage)
        event, skill, stage = place.event, place.skill, place.stage
        _places_cache[key] = ((scheme_id, event_revision), event, skill, stage)
        while len(_places_cache) > CACHED_RULES:
            _places_cache.popitem(last=False)
    place = MarkingPlace(event, skill, stage, scheme_id, judges, status == SchemeStatus.READY, _spread(spread))
    return await _with_rules(session, place, (rules_revision, created, event_revision))


async def _with_rules(session: AsyncSession, place: MarkingPlace, revision: tuple[Any, ...]) -> ClaimedStage:
    """The claimed stage with its rules: kept from an earlier change while `revision` (the scheme's rules
    revision and creation, the event's revision) is the same, else read now."""
    cached = _rules_cache.get(place.scheme_id)
    if cached is not None and cached[0] == revision:
        _rules_cache.move_to_end(place.scheme_id)
        return ClaimedStage(place, cached[1])
    stage_rules = await _read_rules(session, place)
    _rules_cache[place.scheme_id] = (revision, stage_rules)
    while len(_rules_cache) > CACHED_RULES:
        _rules_cache.popitem(last=False)
    return ClaimedStage(place, stage_rules)


async def _read_rules(session: AsyncSession, place: MarkingPlace) -> StageRules:
    aspect_rules, sub_criteria = await scheme_rules(session, place.scheme_id)
    sub_ids = {sub.code.upper(): (sub.id, sub.code) for sub in sub_criteria}
    aspects = {rule.code.upper(): AspectTarget(rule, sub_ids[rule.sub_criterion.upper()][0]) for rule in aspect_rules}
    teams: dict[int, set[int]] = {}
    for sub_id, expert_id in await session.execute(
        select(MarkingTeamMember.sub_criterion_id, MarkingTeamMember.expert_id)
        .join(SubCriterion, SubCriterion.id == MarkingTeamMember.sub_criterion_id)
        .where(SubCriterion.scheme_id == place.scheme_id)
    ):
        teams.setdefault(sub_id, set()).add(expert_id)
    competitors = {
        code.upper(): CompetitorInStage(id, code, institution_id)
        for id, code, institution_id in await session.execute(
            select(Competitor.id, Competitor.code, Competitor.institution_id)
            .join(StageEntry, StageEntry.competitor_id == Competitor.id)
            .where(Competitor.skill_id == place.skill.id, StageEntry.stage_id == place.stage.id)
        )
    }
    experts: dict[int, ExpertOnSkill] = {}
    for id, code, institution_id, user_id, role in await session.execute(
        select(Expert.id, Expert.code, Expert.institution_id, Expert.user_id, Expert.role).where(
            Expert.skill_id == place.skill.id
        )
    ):
        if user_id is not None:
            is_chief = role == ExpertRole.CHIEF_EXPERT
            experts[user_id] = ExpertOnSkill(id, code, institution_id, place.skill.id, user_id, is_chief)
    return StageRules(
        aspects=aspects,
        sub_criteria=sub_ids,
        teams={sub_id: frozenset(members) for sub_id, members in teams.items()},
        competitors=competitors,
        experts=experts,
    )


async def rules_changed(session: AsyncSession, scheme_id: int) -> None:
    """The scheme's aspects or marking teams changed (in the change's transaction): rules are read afresh."""
    await session.execute(
        update(MarkingScheme)
        .where(MarkingScheme.id == scheme_id)
        .values(rules_revision=MarkingScheme.rules_revision + 1)
    )


# --- who marks whom ----------------------------------------------------------------------------


async def team_of(session: AsyncSession, sub_criterion_id: int) -> list[int]:
    """Expert ids of a sub-criterion's assigned marking team (empty: every expert of the skill)."""
    rows = await session.scalars(
        select(MarkingTeamMember.expert_id).where(MarkingTeamMember.sub_criterion_id == sub_criterion_id)
    )
    return list(rows)


def has_conflict(expert: MarkingExpert, competitor: CompetitorInStage | Competitor) -> bool:
    """The rule book's conflict of interest: an expert never marks a competitor of their own institution."""
    return expert.institution_id == competitor.institution_id


def _refuse_outsider(stage: ClaimedStage, marker: Marker, competitor: CompetitorInStage) -> None:
    """Forbidden unless the marker is an expert of the skill without a conflict of interest with the competitor.

    Checked before what was sent is read, so a conflicted expert hears "not yours", never whether a mark
    would have been valid."""
    if marker.expert.skill_id != stage.place.skill.id:
        raise Forbidden(_("You are not an expert of skill %(skill)s.", skill=stage.place.skill.code))
    if has_conflict(marker.expert, competitor):
        raise Forbidden(
            _(
                "Competitor %(competitor)s is from your own institution: another expert marks them.",
                competitor=competitor.code,
            )
        )


def _check_team(stage: ClaimedStage, marker: Marker, sub_id: int, sub_code: str) -> None:
    if not stage.may_mark(marker.expert, sub_id):
        raise Forbidden(_("You are not on the marking team of sub-criterion %(sub)s.", sub=sub_code))


async def _form(session: AsyncSession, sub_criterion_id: int, competitor_id: int) -> Form | None:
    return await session.scalar(
        select(Form).where(Form.sub_criterion_id == sub_criterion_id, Form.competitor_id == competitor_id)
    )


async def _is_locked(session: AsyncSession, sub_criterion_id: int, competitor_id: int) -> bool:
    connection = await session.connection()
    return bool(await connection.scalar(_FORM_LOCKED, {"sub": sub_criterion_id, "competitor": competitor_id}))


def _locked(competitor: CompetitorInStage, sub: str) -> Conflict:
    return Conflict(
        _(
            "The form %(sub)s of competitor %(competitor)s is signed off and locked: the Chief Expert "
            "unlocks it with a reason.",
            sub=sub,
            competitor=competitor.code,
        )
    )


def not_ready(place: MarkingPlace) -> Conflict:
    return Conflict(
        _(
            "The marking scheme of skill %(skill)s in stage %(stage)s is a draft with problems: fix it before marking.",
            skill=place.skill.code,
            stage=place.stage.code,
        )
    )


def _check_ready(stage: ClaimedStage) -> None:
    if not stage.place.ready:
        raise not_ready(stage.place)


def _changed(session: AsyncSession, place: MarkingPlace, competitor: str | None = None) -> None:
    notify.on_commit(
        session,
        notify.Change(
            event=place.event.code,
            what="marks",
            skill=place.skill.code,
            stage=place.stage.code,
            competitor=competitor,
        ),
    )


# --- recording marks ---------------------------------------------------------------------------


def written_reason(raw: str | None) -> str:
    """A reason as stored: without surrounding spaces and without NUL characters (never typed, and PostgreSQL
    refuses them in text)."""
    return (raw or "").replace("\x00", "").strip()


def parse_score(raw: object, aspect_code: str) -> int:
    """A judge's score: a whole number 0..3 (typed text is taken too), or Invalid saying why."""
    if isinstance(raw, bool) or raw is None or (isinstance(raw, str) and not raw.strip()):
        raise Invalid(_("Aspect %(aspect)s: a judgement needs a score 0, 1, 2 or 3.", aspect=aspect_code))
    try:
        number = Decimal(str(raw).strip())
    except ArithmeticError:
        number = Decimal(-1)
    if number != number.to_integral_value() or int(number) not in rules.JUDGEMENT_SCORES:
        raise Invalid(_("Aspect %(aspect)s: score %(score)s is not one of 0, 1, 2, 3.", aspect=aspect_code, score=raw))
    return int(number)


def parse_value(rule: AspectRule, raw: object, reason: str) -> Decimal:
    """A measurement's value as stored (see `rules.parse_measurement_value`), or Invalid saying why."""
    calculation = rule.calculation or "pass_fail"
    try:
        value = rules.parse_measurement_value(calculation, raw, possible=rule.possible, choices=rule.choices)
    except ValueError as error:
        raise Invalid(_("Aspect %(aspect)s: %(problem)s.", aspect=rule.code, problem=str(error))) from error
    if calculation == "deduction" and value > 0 and not reason.strip():
        raise Invalid(_("Aspect %(aspect)s: a deduction needs a short written reason.", aspect=rule.code))
    return value


async def audit_score(
    session: AsyncSession,
    stage: ClaimedStage,
    actor: User | None,
    expert: MarkingExpert,
    rule: AspectRule,
    competitor: CompetitorInStage,
    old: int | None,
    new: int,
) -> None:
    """The audit record of a judge's score (the same whether from a tablet or a marks workbook)."""
    await audit.record(
        session,
        actor,
        "score",
        rule.code,
        event_id=stage.place.event.id,
        skill_id=stage.place.skill.id,
        stage_id=stage.place.stage.id,
        competitor_id=competitor.id,
        old=None if old is None else {"expert": expert.code, "score": old},
        new={"expert": expert.code, "score": new},
    )


async def audit_measurement(
    session: AsyncSession,
    stage: ClaimedStage,
    actor: User | None,
    expert: MarkingExpert,
    rule: AspectRule,
    competitor: CompetitorInStage,
    old: tuple[Decimal, str] | None,
    value: Decimal,
    reason: str,
) -> None:
    """The audit record of a measurement (the same whether from a tablet or a marks workbook)."""
    await audit.record(
        session,
        actor,
        "measurement",
        rule.code,
        event_id=stage.place.event.id,
        skill_id=stage.place.skill.id,
        stage_id=stage.place.stage.id,
        competitor_id=competitor.id,
        old=None if old is None else {"value": plain(old[0]), "reason": old[1]},
        new={"expert": expert.code, "value": plain(value), "reason": reason},
        reason=reason or None,
    )


async def _claim_for(
    session: AsyncSession, place: MarkingPlace | StageCodes | ClaimedStage, marker: Marker | User
) -> tuple[ClaimedStage, Marker]:
    stage = place if isinstance(place, ClaimedStage) else await claim(session, place)
    if isinstance(marker, User):
        marker = Marker(marker, stage.expert_of(marker))
    return stage, marker


async def record_score(
    session: AsyncSession,
    place: MarkingPlace | StageCodes | ClaimedStage,
    marker: Marker | User,
    competitor_code: str,
    aspect_code: str,
    score: object,
) -> MarkOutcome:
    """Record the marker's judgement score 0-3 for one aspect of one competitor (a later score replaces it).

    `marker` is the expert whose score it is, or the user acting as their expert record on the skill."""
    stage, marker = await _claim_for(session, place, marker)
    competitor = stage.competitor(competitor_code)
    _refuse_outsider(stage, marker, competitor)
    target = stage.aspect(aspect_code)
    rule = target.rule
    if not rule.is_judgement:
        raise Invalid(_("Aspect %(aspect)s is a measurement: send a value, not a score.", aspect=rule.code))
    new = parse_score(score, rule.code)
    _check_ready(stage)
    _check_team(stage, marker, target.sub_criterion_id, rule.sub_criterion)
    if await _is_locked(session, target.sub_criterion_id, competitor.id):
        raise _locked(competitor, rule.sub_criterion)
    connection = await session.connection()
    scores = await connection.execute(_SCORES, {"aspect": rule.id, "competitor": competitor.id})
    judges: dict[int, int] = {expert_id: score for expert_id, score in scores}
    old = judges.get(marker.expert.id)
    changed = old != new
    was_marked = judged(rule, judges, stage.judges, stage.max_spread).mark
    if changed:
        if old is None:
            await connection.execute(
                insert(JudgeScore),
                [{"aspect_id": rule.id, "competitor_id": competitor.id, "expert_id": marker.expert.id, "score": new}],
            )
        else:
            await connection.execute(
                _CHANGE_SCORE,
                {"at_aspect": rule.id, "at_competitor": competitor.id, "at_expert": marker.expert.id, "new_score": new},
            )
        judges[marker.expert.id] = new
    state = judged(rule, judges, stage.judges, stage.max_spread)
    if changed:
        await audit_score(session, stage, marker.actor, marker.expert, rule, competitor, old, new)
        if state.mark != was_marked:  # the first judges' scores leave it unmarked: nothing to keep
            await keep_mark(session, stage.place.scheme_id, rule.id, competitor.id, state.mark)
        await bump_revision(session, stage.place.scheme_id)
        _changed(session, stage.place, competitor.code)
    return MarkOutcome(competitor.code, rule.code, state.status, state.mark, changed)


async def record_measurement(
    session: AsyncSession,
    place: MarkingPlace | StageCodes | ClaimedStage,
    marker: Marker | User,
    competitor_code: str,
    aspect_code: str,
    value: object,
    reason: str = "",
) -> MarkOutcome:
    """Record a measurement of one aspect of one competitor by a team member (a later record replaces it)."""
    stage, marker = await _claim_for(session, place, marker)
    competitor = stage.competitor(competitor_code)
    _refuse_outsider(stage, marker, competitor)
    target = stage.aspect(aspect_code)
    rule = target.rule
    if rule.is_judgement:
        raise Invalid(_("Aspect %(aspect)s is a judgement: send a score 0-3, not a value.", aspect=rule.code))
    reason = written_reason(reason)
    new = parse_value(rule, value, reason)
    _check_ready(stage)
    _check_team(stage, marker, target.sub_criterion_id, rule.sub_criterion)
    if await _is_locked(session, target.sub_criterion_id, competitor.id):
        raise _locked(competitor, rule.sub_criterion)
    connection = await session.connection()
    found = (await connection.execute(_MEASUREMENT, {"aspect": rule.id, "competitor": competitor.id})).one_or_none()
    existing = None if found is None else (Decimal(found.value), found.reason or "")
    changed = existing != (new, reason)
    if changed:
        await audit_measurement(session, stage, marker.actor, marker.expert, rule, competitor, existing, new, reason)
        if existing is None:
            values = {"aspect_id": rule.id, "competitor_id": competitor.id, "expert_id": marker.expert.id}
            await connection.execute(insert(Measurement), [{**values, "value": new, "reason": reason}])
        else:
            await connection.execute(
                _CHANGE_MEASUREMENT,
                {
                    "at_aspect": rule.id,
                    "at_competitor": competitor.id,
                    "new_value": new,
                    "new_reason": reason,
                    "new_expert": marker.expert.id,
                },
            )
    state = measured(rule, new, reason, marker.expert.id)
    if changed:
        await keep_mark(session, stage.place.scheme_id, rule.id, competitor.id, state.mark)
        await bump_revision(session, stage.place.scheme_id)
        _changed(session, stage.place, competitor.code)
    return MarkOutcome(competitor.code, rule.code, state.status, state.mark, changed)


async def record_mark(
    session: AsyncSession,
    place: MarkingPlace | StageCodes | ClaimedStage,
    marker: Marker | User,
    competitor_code: str,
    aspect_code: str,
    body: Mapping[str, Any],
) -> MarkOutcome:
    """Record what a tablet or the API sends: `{"score": n}` for a J aspect, `{"value", "reason"}` for M."""
    stage, marker = await _claim_for(session, place, marker)
    competitor = stage.competitor(competitor_code)
    _refuse_outsider(stage, marker, competitor)
    target = stage.aspect(aspect_code)
    score, value = body.get("score"), body.get("value")
    if target.rule.is_judgement and score is None and value is not None:
        raise Invalid(_("Aspect %(aspect)s is a judgement: it needs a score 0, 1, 2 or 3.", aspect=target.code))
    if not target.rule.is_judgement and value is None and score is not None:
        raise Invalid(_("Aspect %(aspect)s is a measurement: send a value, not a score.", aspect=target.code))
    if target.rule.is_judgement:
        return await record_score(session, stage, marker, competitor_code, target.code, score)
    return await record_measurement(
        session, stage, marker, competitor_code, target.code, value, str(body.get("reason") or "")
    )


def plain(value: Decimal) -> str:
    """A stored value as a person reads it: 1, 0.5, 2 (no trailing zeros)."""
    return f"{value.normalize():f}"


# --- forms: sign-off, lock, unlock -------------------------------------------------------------


async def lock_form(
    session: AsyncSession,
    place: MarkingPlace | ClaimedStage,
    actor: User | None,
    competitor_code: str,
    sub_code: str,
    *,
    signer: MarkingExpert | None = None,
) -> tuple[str, str]:
    """Sign off and lock a complete form, or Conflict naming what is missing.

    Signed off by a team member who may mark the competitor, the Chief Expert (no conflict of
    interest either) or an organiser; `actor` None is the command line (the paper backup)."""
    stage = place if isinstance(place, ClaimedStage) else await claim(session, place)
    competitor = stage.competitor(competitor_code)
    sub_id, sub = stage.sub_criterion(sub_code)
    if actor is not None and actor.role != Role.ORGANISER:
        expert = signer or stage.expert_of(actor)
        if has_conflict(expert, competitor):
            raise Forbidden(
                _(
                    "Competitor %(competitor)s is from your own institution: another expert signs off.",
                    competitor=competitor.code,
                )
            )
        if not expert.is_chief and not stage.may_mark(expert, sub_id):
            raise Forbidden(_("You are not on the marking team of sub-criterion %(sub)s.", sub=sub))
    form = await _form(session, sub_id, competitor.id)
    if form is not None and form.locked:
        raise Conflict(
            _(
                "The form %(sub)s of competitor %(competitor)s is already locked.",
                sub=sub,
                competitor=competitor.code,
            )
        )
    marks = await load_stage_marks(session, stage.place.skill, stage.place.stage.id, [competitor.id])
    assert marks is not None
    missing = marks.form(competitor.code, sub).missing if marks.aspects_of(sub) else []
    if missing:
        raise Conflict(
            _(
                "The form %(sub)s of competitor %(competitor)s is not complete: %(missing)s still need a mark.",
                sub=sub,
                competitor=competitor.code,
                missing=", ".join(missing),
            )
        )
    if form is None:
        form = Form(sub_criterion_id=sub_id, competitor_id=competitor.id)
        session.add(form)
    form.locked = True
    form.signed_off_by_id = actor.id if actor is not None else None
    form.signed_off_at = dt.datetime.now(dt.UTC)
    await audit.record(
        session,
        actor,
        "lock",
        sub,
        event_id=stage.place.event.id,
        skill_id=stage.place.skill.id,
        stage_id=stage.place.stage.id,
        competitor_id=competitor.id,
        old="unlocked",
        new="locked",
    )
    await session.flush()
    await bump_revision(session, stage.place.scheme_id)
    _changed(session, stage.place, competitor.code)
    return competitor.code, sub


async def unlock_form(
    session: AsyncSession,
    place: MarkingPlace,
    actor: User,
    competitor_code: str,
    sub_code: str,
    reason: str,
) -> tuple[str, str]:
    """Unlock a locked form: the skill's Chief Expert or an organiser, always with a reason."""
    if not await may_manage_skill(session, actor, place.skill):
        raise Forbidden(_("Only the skill's Chief Expert or an organiser may unlock a form."))
    reason = written_reason(reason)
    if not reason:
        raise Invalid(_("Unlocking a form needs a reason."))
    stage = await claim(session, place)
    competitor = stage.competitor(competitor_code)
    sub_id, sub = stage.sub_criterion(sub_code)
    form = await _form(session, sub_id, competitor.id)
    if form is None or not form.locked:
        raise Conflict(
            _("The form %(sub)s of competitor %(competitor)s is not locked.", sub=sub, competitor=competitor.code)
        )
    form.locked = False
    form.signed_off_by_id = None
    form.signed_off_at = None
    await audit.record(
        session,
        actor,
        "unlock",
        sub,
        event_id=stage.place.event.id,
        skill_id=stage.place.skill.id,
        stage_id=stage.place.stage.id,
        competitor_id=competitor.id,
        old="locked",
        new="unlocked",
        reason=reason,
    )
    await session.flush()
    await bump_revision(session, stage.place.scheme_id)
    _changed(session, stage.place, competitor.code)
    return competitor.code, sub


# --- marking teams -----------------------------------------------------------------------------


async def set_marking_team(
    session: AsyncSession,
    place: MarkingPlace,
    actor: User | None,
    sub_code: str,
    expert_codes: Sequence[str],
    *,
    judges: int | None = None,
) -> list[str]:
    """Assign the experts who mark a sub-criterion (none: every expert of the skill); the Chief Expert's call.

    A team marking judgement aspects has at least as many experts as the scheme's judges (or `judges`, the
    size about to be set with it)."""
    if actor is not None and not await may_manage_skill(session, actor, place.skill):
        raise Forbidden(_("Only the skill's Chief Expert or an organiser may assign marking teams."))
    stage = await claim(session, place)
    sub_id, sub = stage.sub_criterion(sub_code)
    wanted = sorted({code.strip().upper() for code in expert_codes if code.strip()})
    experts = list(await session.scalars(select(Expert).where(Expert.skill_id == place.skill.id).order_by(Expert.code)))
    by_code = {expert.code.upper(): expert for expert in experts}
    unknown = [code for code in wanted if code not in by_code]
    if unknown:
        raise Invalid(_("Not experts of skill %(skill)s: %(codes)s.", skill=place.skill.code, codes=", ".join(unknown)))
    judgements = await session.scalar(
        select(Aspect.id).where(Aspect.sub_criterion_id == sub_id, Aspect.kind == AspectKind.JUDGEMENT).limit(1)
    )
    needed = judges or stage.judges
    if wanted and judgements is not None and len(wanted) < needed:
        raise Invalid(
            _(
                "Sub-criterion %(sub)s has judgement aspects: its team needs at least %(judges)s experts.",
                sub=sub,
                judges=needed,
            )
        )
    old_ids = set(await team_of(session, sub_id))
    old = sorted(expert.code for expert in experts if expert.id in old_ids)
    new = [by_code[code].code for code in wanted]
    if old == new:
        return new
    await session.execute(delete(MarkingTeamMember).where(MarkingTeamMember.sub_criterion_id == sub_id))
    session.add_all(MarkingTeamMember(sub_criterion_id=sub_id, expert_id=by_code[code].id) for code in wanted)
    await audit.record(
        session,
        actor,
        "team",
        sub,
        event_id=place.event.id,
        skill_id=place.skill.id,
        stage_id=place.stage.id,
        old=old or None,
        new=new or None,
    )
    await session.flush()
    await rules_changed(session, place.scheme_id)
    return new


async def set_teams(
    session: AsyncSession, place: MarkingPlace, actor: User, teams: Mapping[str, Sequence[str]], judges: object
) -> None:
    """The Chief Expert's teams page as one change: every sub-criterion's marking team and the judging team size."""
    size = parse_judges(judges)
    for sub_code, expert_codes in teams.items():
        await set_marking_team(session, place, actor, sub_code, expert_codes, judges=size)
    await set_judging_team_size(session, place, actor, size)


def parse_judges(raw: object) -> int:
    """A judging team size 3-5, or Invalid."""
    try:
        size = int(str(raw).strip())
    except ValueError:
        size = 0
    if not MIN_JUDGES <= size <= MAX_JUDGES:
        raise Invalid(_("A judging team has 3 to 5 judges, not %(judges)s.", judges=raw))
    return size


async def set_judging_team_size(session: AsyncSession, place: MarkingPlace, actor: User | None, judges: object) -> int:
    """How many judges score each judgement aspect (3-5); the Chief Expert's call, before any form is locked."""
    if actor is not None and not await may_manage_skill(session, actor, place.skill):
        raise Forbidden(_("Only the skill's Chief Expert or an organiser may set the judging team size."))
    size = parse_judges(judges)
    stage = await claim(session, place)
    old = stage.judges
    if old == size:
        return size
    locked = await session.scalar(
        select(Form.id)
        .join(SubCriterion, SubCriterion.id == Form.sub_criterion_id)
        .where(SubCriterion.scheme_id == place.scheme_id, Form.locked.is_(True))
        .limit(1)
    )
    if locked is not None:
        raise Conflict(_("Forms of this stage are locked already: the judging team size can no longer change."))
    small = [
        code
        for code, members in (
            await session.execute(
                select(SubCriterion.code, func.count(MarkingTeamMember.id))
                .join(MarkingTeamMember, MarkingTeamMember.sub_criterion_id == SubCriterion.id)
                .where(SubCriterion.scheme_id == place.scheme_id)
                .group_by(SubCriterion.code)
            )
        ).all()
        if members < size
    ]
    if small:
        raise Invalid(
            _(
                "The marking teams of %(subs)s have fewer than %(judges)s experts: enlarge them first.",
                subs=", ".join(sorted(small)),
                judges=size,
            )
        )
    await session.execute(update(MarkingScheme).where(MarkingScheme.id == place.scheme_id).values(judges=size))
    await rules_changed(session, place.scheme_id)  # pages show the judging team size with the scheme
    await refresh_marks(session, place.skill, place.stage.id)  # a judgement is complete at another count now
    await audit.record(
        session,
        actor,
        "judges",
        place.skill.code,
        event_id=place.event.id,
        skill_id=place.skill.id,
        stage_id=place.stage.id,
        old=old,
        new=size,
    )
    await bump_revision(session, place.scheme_id)
    _changed(session, place)
    return size


# --- what a tablet may see -----------------------------------------------------------------------


async def _competitor(session: AsyncSession, place: MarkingPlace, code: str) -> Competitor:
    competitor = await session.scalar(
        select(Competitor)
        .join(StageEntry, StageEntry.competitor_id == Competitor.id)
        .where(
            Competitor.skill_id == place.skill.id,
            StageEntry.stage_id == place.stage.id,
            code_is(Competitor, code),
        )
    )
    if competitor is None:
        raise NotFound(
            _(
                "There is no competitor %(code)s in skill %(skill)s, stage %(stage)s.",
                code=code,
                skill=place.skill.code,
                stage=place.stage.code,
            )
        )
    return competitor


async def competitor_marks(
    session: AsyncSession, place: MarkingPlace, viewer: User, competitor_code: str
) -> dict[str, Any]:
    """What the viewer may see of a competitor's marks (the API's resync document).

    A judge sees their own score and, once every judge has scored, the aspect's status and mark;
    the skill's Chief Expert and organisers see the form's marks and every judge's score. An expert
    never sees a competitor of their own institution."""
    competitor = await _competitor(session, place, competitor_code)
    manager = await may_manage_skill(session, viewer, place.skill)
    expert = await session.scalar(select(Expert).where(Expert.user_id == viewer.id, Expert.skill_id == place.skill.id))
    if not manager and expert is None:
        raise Forbidden(_("You are not an expert of skill %(skill)s.", skill=place.skill.code))
    if expert is not None and has_conflict(expert, competitor) and viewer.role != Role.ORGANISER:
        raise Forbidden(
            _(
                "Competitor %(competitor)s is from your own institution: another expert marks them.",
                competitor=competitor.code,
            )
        )
    marks = await load_stage_marks(session, place.skill, place.stage.id, [competitor.id])
    assert marks is not None
    codes = dict((await session.execute(select(Expert.id, Expert.code).where(Expert.skill_id == place.skill.id))).all())
    lines = []
    for rule in marks.aspects:
        state = marks.state(competitor.code, rule.code)
        own = state.scores.get(expert.id) if expert is not None else None
        line: dict[str, Any] = {
            "aspect": rule.code,
            "status": state.status,
            "mark": rules.format_mark(state.mark) if state.mark is not None else None,
            "value": plain(state.value) if state.value is not None else None,
            "score": own,
        }
        if rule.is_judgement:
            if manager:
                line["scores"] = {
                    codes.get(expert_id, str(expert_id)): score for expert_id, score in sorted(state.scores.items())
                }
        else:
            line["reason"] = state.reason
        lines.append(line)
    locked = sorted(sub for code, sub in marks.locked if code == competitor.code)
    return {"competitor": competitor.code, "marks": lines, "locked": locked}
