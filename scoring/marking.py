"""Marking: judges' scores, measurements, sign-off, locking and unlocking of forms, and marking teams.

Each public coroutine here is one state change. It checks the rule book on the server, whatever a
page showed (the expert is on the sub-criterion's marking team, the competitor is not from the
expert's own institution, the form is not locked, the value is valid), writes, records its audit
entry (who, old → new, why) and announces the change once it has committed.

Writers of one stage queue on its marking scheme's row (`claim` runs first in every change): a
mark and a lock of the same form never interleave, on SQLite (BEGIN IMMEDIATE) or PostgreSQL (row
lock). Saving the same value again changes nothing and records nothing, so a tablet may resend.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from competition import audit, notify
from competition.auth import may_manage_skill
from competition.db import begin_write
from competition.errors import Conflict, Forbidden, Invalid, NotFound
from competition.i18n import gettext as _
from competition.models import Competitor, Event, Expert, Role, Skill, Stage, StageEntry, User
from competition.registration.services import code_is, get_event, get_skill, get_stage
from scoring import rules
from scoring.marks import AspectRule, bump_revision, judged, load_stage_marks, measured
from scoring.models import (
    Aspect,
    AspectKind,
    ChoiceOption,
    Criterion,
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
    """One skill in one stage of an event, with the marking scheme its forms follow."""

    event: Event
    skill: Skill
    stage: Stage
    scheme_id: int
    judges: int
    ready: bool

    @property
    def max_spread(self) -> int:
        return self.event.judgement_spread if self.event.judgement_spread is not None else 1


@dataclass(frozen=True)
class Marker:
    """Who enters a mark: the user acting (None on the command line) and the expert whose mark it is."""

    actor: User | None
    expert: Expert


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


async def find_place(session: AsyncSession, event_code: str, skill_code: str, stage_code: str) -> MarkingPlace:
    """The skill and stage by their codes, or NotFound (also when the stage has no marking scheme)."""
    found = (
        await session.execute(
            select(Event, Skill, Stage, MarkingScheme.id, MarkingScheme.judges, MarkingScheme.status)
            .join(Skill, Skill.event_id == Event.id)
            .join(Stage, Stage.event_id == Event.id)
            .join(MarkingScheme, (MarkingScheme.skill_id == Skill.id) & (MarkingScheme.stage_id == Stage.id))
            .where(code_is(Event, event_code), code_is(Skill, skill_code), code_is(Stage, stage_code))
        )
    ).one_or_none()
    if found is not None:  # one query on every save; the look-ups below only to say what is missing
        event, skill, stage, scheme_id, judges, status = found
        return MarkingPlace(event, skill, stage, scheme_id, judges, status == SchemeStatus.READY)
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
        raise NotFound(
            _("Skill %(skill)s has no marking scheme for stage %(stage)s.", skill=skill.code, stage=stage.code)
        )
    scheme_id, judges, status = scheme
    return MarkingPlace(event, skill, stage, scheme_id, judges, status == SchemeStatus.READY)


async def marker_for(session: AsyncSession, user: User, place: MarkingPlace) -> Marker:
    """The user as a marking expert of the place's skill, or Forbidden."""
    expert = await session.scalar(select(Expert).where(Expert.user_id == user.id, Expert.skill_id == place.skill.id))
    if expert is None:
        raise Forbidden(_("You are not an expert of skill %(skill)s.", skill=place.skill.code))
    return Marker(user, expert)


# --- looking up what is marked -----------------------------------------------------------------


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


@dataclass(frozen=True)
class AspectTarget:
    """An aspect as marking needs it: its rule and the sub-criterion (form) it is on."""

    rule: AspectRule
    sub_criterion_id: int

    @property
    def code(self) -> str:
        return self.rule.code


async def _aspect(session: AsyncSession, place: MarkingPlace, code: str) -> AspectTarget:
    """One query (two for a choice): a save looks its aspect up on every request."""
    row = (
        await session.execute(
            select(
                Aspect.id,
                Aspect.code,
                SubCriterion.id,
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
            .where(Aspect.scheme_id == place.scheme_id, Aspect.code == code.strip().upper())
        )
    ).one_or_none()
    if row is None:
        raise NotFound(
            _(
                "Skill %(skill)s has no aspect %(code)s in stage %(stage)s.",
                code=code,
                skill=place.skill.code,
                stage=place.stage.code,
            )
        )
    aspect_id, aspect_code, sub_id, sub_code, criterion, section, kind, max_mark, calculation, possible = row
    choices: tuple[rules.Choice, ...] = ()
    if kind == AspectKind.MEASUREMENT and calculation == "choice":
        options = await session.execute(
            select(ChoiceOption.label, ChoiceOption.deduction_percent)
            .where(ChoiceOption.aspect_id == aspect_id)
            .order_by(ChoiceOption.position)
        )
        choices = tuple(rules.Choice(label, Decimal(percent)) for label, percent in options)
    rule = AspectRule(
        id=aspect_id,
        code=aspect_code,
        sub_criterion=sub_code,
        criterion=criterion,
        section=section,
        kind=kind,
        max_mark=Decimal(max_mark if max_mark is not None else 0),
        calculation=calculation if kind == AspectKind.MEASUREMENT else None,
        possible=possible,
        choices=choices,
    )
    return AspectTarget(rule, sub_id)


async def _sub_criterion(session: AsyncSession, place: MarkingPlace, code: str) -> SubCriterion:
    sub = await session.scalar(
        select(SubCriterion).where(SubCriterion.scheme_id == place.scheme_id, SubCriterion.code == code.strip().upper())
    )
    if sub is None:
        raise NotFound(
            _(
                "Skill %(skill)s has no sub-criterion %(code)s in stage %(stage)s.",
                code=code,
                skill=place.skill.code,
                stage=place.stage.code,
            )
        )
    return sub


async def team_of(session: AsyncSession, sub_criterion_id: int) -> list[int]:
    """Expert ids of a sub-criterion's assigned marking team (empty: every expert of the skill)."""
    rows = await session.scalars(
        select(MarkingTeamMember.expert_id).where(MarkingTeamMember.sub_criterion_id == sub_criterion_id)
    )
    return list(rows)


async def may_mark(session: AsyncSession, expert: Expert, sub_criterion_id: int) -> bool:
    """Whether the expert is on the sub-criterion's marking team (the whole skill where none is assigned)."""
    team = await team_of(session, sub_criterion_id)
    return not team or expert.id in team


def has_conflict(expert: Expert, competitor: Competitor) -> bool:
    """The rule book's conflict of interest: an expert never marks a competitor of their own institution."""
    return expert.institution_id == competitor.institution_id


def _refuse_outsider(place: MarkingPlace, marker: Marker, competitor: Competitor) -> None:
    """Forbidden unless the marker is an expert of the skill without a conflict of interest with the competitor.

    Checked before what was sent is read, so a conflicted expert hears "not yours", never whether a mark
    would have been valid."""
    if marker.expert.skill_id != place.skill.id:
        raise Forbidden(_("You are not an expert of skill %(skill)s.", skill=place.skill.code))
    if has_conflict(marker.expert, competitor):
        raise Forbidden(
            _(
                "Competitor %(competitor)s is from your own institution: another expert marks them.",
                competitor=competitor.code,
            )
        )


async def _check_marker(
    session: AsyncSession, place: MarkingPlace, marker: Marker, competitor: Competitor, sub_id: int, sub_code: str
) -> None:
    _refuse_outsider(place, marker, competitor)
    if not await may_mark(session, marker.expert, sub_id):
        raise Forbidden(_("You are not on the marking team of sub-criterion %(sub)s.", sub=sub_code))


async def _is_locked(session: AsyncSession, sub_criterion_id: int, competitor_id: int) -> bool:
    return bool(
        await session.scalar(
            select(Form.locked).where(Form.sub_criterion_id == sub_criterion_id, Form.competitor_id == competitor_id)
        )
    )


def _locked(competitor: Competitor, sub: str) -> Conflict:
    return Conflict(
        _(
            "The form %(sub)s of competitor %(competitor)s is signed off and locked: the Chief Expert "
            "unlocks it with a reason.",
            sub=sub,
            competitor=competitor.code,
        )
    )


async def claim(session: AsyncSession, place: MarkingPlace) -> None:
    """Begin a change of the stage's marks and queue behind any other writer of the stage (see the module's
    note). Every service below claims and commits itself; with `commit=False` its caller has claimed
    and commits (an import: many marks, one transaction)."""
    if session.in_transaction():
        await session.commit()  # end the look-ups' read transaction: the change reads fresh data
    lock = _writer_lock(session, place)
    await lock.acquire()
    session.sync_session.info[_HELD_LOCK] = lock
    try:
        await begin_write(session)
        if session.get_bind().engine.dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE holds the lock
            await session.execute(select(MarkingScheme.id).where(MarkingScheme.id == place.scheme_id).with_for_update())
    except BaseException:
        _release(session.sync_session)
        raise


# Writers of this process queue on an asyncio lock before they ask the database: SQLite's busy handler
# would otherwise have them sleep and poll (up to 100 ms a time) while another save holds the write
# lock. SQLite has one writer per file, so one lock per loop; PostgreSQL one per stage. The database's
# own lock still orders writers of other processes. The lock is let go when the transaction ends.
_HELD_LOCK = "podium_marking_lock"
_WRITER_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, int], asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _writer_lock(session: AsyncSession, place: MarkingPlace) -> asyncio.Lock:
    engine = session.get_bind().engine
    key = (str(engine.url), 0 if engine.dialect.name == "sqlite" else place.scheme_id)
    locks = _WRITER_LOCKS.setdefault(asyncio.get_running_loop(), {})
    if key not in locks:
        locks[key] = asyncio.Lock()
    return locks[key]


def _release(session: Session) -> None:
    lock = session.info.pop(_HELD_LOCK, None)
    if lock is not None and lock.locked():
        lock.release()


@sqlalchemy_event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        _release(session)


def not_ready(place: MarkingPlace) -> Conflict:
    return Conflict(
        _(
            "The marking scheme of skill %(skill)s in stage %(stage)s is a draft with problems: fix it before marking.",
            skill=place.skill.code,
            stage=place.stage.code,
        )
    )


def _check_ready(place: MarkingPlace) -> None:
    if not place.ready:
        raise not_ready(place)


def _changed(session: AsyncSession, place: MarkingPlace, competitor: Competitor) -> None:
    notify.on_commit(
        session,
        notify.Change(
            event=place.event.code,
            what="marks",
            skill=place.skill.code,
            stage=place.stage.code,
            competitor=competitor.code,
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


async def record_score(
    session: AsyncSession,
    place: MarkingPlace,
    marker: Marker,
    competitor_code: str,
    aspect_code: str,
    score: object,
    *,
    commit: bool = True,
    target: AspectTarget | None = None,
    competitor: Competitor | None = None,
) -> MarkOutcome:
    """Record the marker's judgement score 0-3 for one aspect of one competitor (a later score replaces it)."""
    competitor = competitor or await _competitor(session, place, competitor_code)
    _refuse_outsider(place, marker, competitor)
    aspect = target or await _aspect(session, place, aspect_code)
    rule = aspect.rule
    if not rule.is_judgement:
        raise Invalid(_("Aspect %(aspect)s is a measurement: send a value, not a score.", aspect=rule.code))
    new = parse_score(score, rule.code)
    _check_ready(place)
    if commit:
        await claim(session, place)
    await _check_marker(session, place, marker, competitor, aspect.sub_criterion_id, rule.sub_criterion)
    if await _is_locked(session, aspect.sub_criterion_id, competitor.id):
        raise _locked(competitor, rule.sub_criterion)
    judges = {
        row.expert_id: row
        for row in await session.scalars(
            select(JudgeScore).where(JudgeScore.aspect_id == rule.id, JudgeScore.competitor_id == competitor.id)
        )
    }
    existing = judges.get(marker.expert.id)
    changed = existing is None or existing.score != new
    if changed:
        old = None if existing is None else existing.score
        if existing is None:
            judges[marker.expert.id] = JudgeScore(
                aspect_id=rule.id, competitor_id=competitor.id, expert_id=marker.expert.id, score=new
            )
            session.add(judges[marker.expert.id])
        else:
            existing.score = new
        audit.record(
            session,
            marker.actor,
            "score",
            rule.code,
            event_id=place.event.id,
            skill_id=place.skill.id,
            stage_id=place.stage.id,
            competitor_id=competitor.id,
            old=None if old is None else {"expert": marker.expert.code, "score": old},
            new={"expert": marker.expert.code, "score": new},
        )
        await session.flush()
        await bump_revision(session, place.scheme_id)
        _changed(session, place, competitor)
    state = judged(rule, {expert: row.score for expert, row in judges.items()}, place.judges, place.max_spread)
    if commit:
        await session.commit()
    return MarkOutcome(competitor.code, rule.code, state.status, state.mark, changed)


async def record_measurement(
    session: AsyncSession,
    place: MarkingPlace,
    marker: Marker,
    competitor_code: str,
    aspect_code: str,
    value: object,
    reason: str = "",
    *,
    commit: bool = True,
    target: AspectTarget | None = None,
    competitor: Competitor | None = None,
) -> MarkOutcome:
    """Record a measurement of one aspect of one competitor by a team member (a later record replaces it)."""
    competitor = competitor or await _competitor(session, place, competitor_code)
    _refuse_outsider(place, marker, competitor)
    aspect = target or await _aspect(session, place, aspect_code)
    rule = aspect.rule
    if rule.is_judgement:
        raise Invalid(_("Aspect %(aspect)s is a judgement: send a score 0-3, not a value.", aspect=rule.code))
    reason = written_reason(reason)
    new = parse_value(rule, value, reason)
    _check_ready(place)
    if commit:
        await claim(session, place)
    await _check_marker(session, place, marker, competitor, aspect.sub_criterion_id, rule.sub_criterion)
    if await _is_locked(session, aspect.sub_criterion_id, competitor.id):
        raise _locked(competitor, rule.sub_criterion)
    existing = await session.scalar(
        select(Measurement).where(Measurement.aspect_id == rule.id, Measurement.competitor_id == competitor.id)
    )
    changed = existing is None or Decimal(existing.value) != new or (existing.reason or "") != reason
    if changed:
        old = None if existing is None else {"value": _plain(Decimal(existing.value)), "reason": existing.reason or ""}
        if existing is None:
            session.add(
                Measurement(
                    aspect_id=rule.id, competitor_id=competitor.id, expert_id=marker.expert.id, value=new, reason=reason
                )
            )
        else:
            existing.value, existing.reason, existing.expert_id = new, reason, marker.expert.id
        audit.record(
            session,
            marker.actor,
            "measurement",
            rule.code,
            event_id=place.event.id,
            skill_id=place.skill.id,
            stage_id=place.stage.id,
            competitor_id=competitor.id,
            old=old,
            new={"expert": marker.expert.code, "value": _plain(new), "reason": reason},
            reason=reason or None,
        )
        await session.flush()
        await bump_revision(session, place.scheme_id)
        _changed(session, place, competitor)
    state = measured(rule, new, reason, marker.expert.id)
    if commit:
        await session.commit()
    return MarkOutcome(competitor.code, rule.code, state.status, state.mark, changed)


async def record_mark(
    session: AsyncSession,
    place: MarkingPlace,
    marker: Marker,
    competitor_code: str,
    aspect_code: str,
    body: Mapping[str, Any],
    *,
    commit: bool = True,
) -> MarkOutcome:
    """Record what a tablet or the API sends: `{"score": n}` for a J aspect, `{"value", "reason"}` for M."""
    competitor = await _competitor(session, place, competitor_code)
    _refuse_outsider(place, marker, competitor)
    target = await _aspect(session, place, aspect_code)
    score, value = body.get("score"), body.get("value")
    if target.rule.is_judgement and score is None and value is not None:
        raise Invalid(_("Aspect %(aspect)s is a judgement: it needs a score 0, 1, 2 or 3.", aspect=target.code))
    if not target.rule.is_judgement and value is None and score is not None:
        raise Invalid(_("Aspect %(aspect)s is a measurement: send a value, not a score.", aspect=target.code))
    if target.rule.is_judgement:
        return await record_score(
            session,
            place,
            marker,
            competitor_code,
            target.code,
            score,
            commit=commit,
            target=target,
            competitor=competitor,
        )
    return await record_measurement(
        session,
        place,
        marker,
        competitor_code,
        target.code,
        value,
        str(body.get("reason") or ""),
        commit=commit,
        target=target,
        competitor=competitor,
    )


def _plain(value: Decimal) -> str:
    """A stored value as a person reads it: 1, 0.5, 2 (no trailing zeros)."""
    text = f"{value.normalize():f}"
    return text


# --- forms: sign-off, lock, unlock -------------------------------------------------------------


async def lock_form(
    session: AsyncSession,
    place: MarkingPlace,
    actor: User | None,
    competitor_code: str,
    sub_code: str,
    *,
    signer: Expert | None = None,
    commit: bool = True,
) -> tuple[str, str]:
    """Sign off and lock a complete form, or Conflict naming what is missing.

    Signed off by a team member who may mark the competitor, the Chief Expert (no conflict of
    interest either) or an organiser; `actor` None is the command line (the paper backup)."""
    if commit:
        await claim(session, place)
    competitor = await _competitor(session, place, competitor_code)
    sub = await _sub_criterion(session, place, sub_code)
    if actor is not None and actor.role != Role.ORGANISER:
        expert = signer or (await marker_for(session, actor, place)).expert
        if has_conflict(expert, competitor):
            raise Forbidden(
                _(
                    "Competitor %(competitor)s is from your own institution: another expert signs off.",
                    competitor=competitor.code,
                )
            )
        if not expert.is_chief and not await may_mark(session, expert, sub.id):
            raise Forbidden(_("You are not on the marking team of sub-criterion %(sub)s.", sub=sub.code))
    form = await session.scalar(
        select(Form).where(Form.sub_criterion_id == sub.id, Form.competitor_id == competitor.id)
    )
    if form is not None and form.locked:
        raise Conflict(
            _(
                "The form %(sub)s of competitor %(competitor)s is already locked.",
                sub=sub.code,
                competitor=competitor.code,
            )
        )
    marks = await load_stage_marks(session, place.skill, place.stage.id, [competitor.id])
    assert marks is not None
    missing = marks.form(competitor.code, sub.code).missing
    if not marks.aspects_of(sub.code):
        missing = []
    if missing:
        raise Conflict(
            _(
                "The form %(sub)s of competitor %(competitor)s is not complete: %(missing)s still need a mark.",
                sub=sub.code,
                competitor=competitor.code,
                missing=", ".join(missing),
            )
        )
    now = dt.datetime.now(dt.UTC)
    if form is None:
        form = Form(sub_criterion_id=sub.id, competitor_id=competitor.id)
        session.add(form)
    form.locked = True
    form.signed_off_by_id = actor.id if actor is not None else None
    form.signed_off_at = now
    audit.record(
        session,
        actor,
        "lock",
        sub.code,
        event_id=place.event.id,
        skill_id=place.skill.id,
        stage_id=place.stage.id,
        competitor_id=competitor.id,
        old="unlocked",
        new="locked",
    )
    await session.flush()
    await bump_revision(session, place.scheme_id)
    _changed(session, place, competitor)
    if commit:
        await session.commit()
    return competitor.code, sub.code


async def unlock_form(
    session: AsyncSession,
    place: MarkingPlace,
    actor: User,
    competitor_code: str,
    sub_code: str,
    reason: str,
    *,
    commit: bool = True,
) -> tuple[str, str]:
    """Unlock a locked form: the skill's Chief Expert or an organiser, always with a reason."""
    if not await may_manage_skill(session, actor, place.skill):
        raise Forbidden(_("Only the skill's Chief Expert or an organiser may unlock a form."))
    reason = written_reason(reason)
    if not reason:
        raise Invalid(_("Unlocking a form needs a reason."))
    if commit:
        await claim(session, place)
    competitor = await _competitor(session, place, competitor_code)
    sub = await _sub_criterion(session, place, sub_code)
    form = await session.scalar(
        select(Form).where(Form.sub_criterion_id == sub.id, Form.competitor_id == competitor.id)
    )
    if form is None or not form.locked:
        raise Conflict(
            _("The form %(sub)s of competitor %(competitor)s is not locked.", sub=sub.code, competitor=competitor.code)
        )
    form.locked = False
    form.signed_off_by_id = None
    form.signed_off_at = None
    audit.record(
        session,
        actor,
        "unlock",
        sub.code,
        event_id=place.event.id,
        skill_id=place.skill.id,
        stage_id=place.stage.id,
        competitor_id=competitor.id,
        old="locked",
        new="unlocked",
        reason=reason,
    )
    await session.flush()
    await bump_revision(session, place.scheme_id)
    _changed(session, place, competitor)
    if commit:
        await session.commit()
    return competitor.code, sub.code


# --- marking teams -----------------------------------------------------------------------------


async def set_marking_team(
    session: AsyncSession,
    place: MarkingPlace,
    actor: User | None,
    sub_code: str,
    expert_codes: Sequence[str],
    *,
    commit: bool = True,
) -> list[str]:
    """Assign the experts who mark a sub-criterion (none: every expert of the skill); the Chief Expert's call.

    A team marking judgement aspects has at least as many experts as the scheme's judges."""
    if actor is not None and not await may_manage_skill(session, actor, place.skill):
        raise Forbidden(_("Only the skill's Chief Expert or an organiser may assign marking teams."))
    if commit:
        await claim(session, place)
    sub = await _sub_criterion(session, place, sub_code)
    wanted = sorted({code.strip().upper() for code in expert_codes if code.strip()})
    experts = list(await session.scalars(select(Expert).where(Expert.skill_id == place.skill.id).order_by(Expert.code)))
    by_code = {expert.code.upper(): expert for expert in experts}
    unknown = [code for code in wanted if code not in by_code]
    if unknown:
        raise Invalid(_("Not experts of skill %(skill)s: %(codes)s.", skill=place.skill.code, codes=", ".join(unknown)))
    judgements = await session.scalar(
        select(Aspect.id).where(Aspect.sub_criterion_id == sub.id, Aspect.kind == AspectKind.JUDGEMENT).limit(1)
    )
    if wanted and judgements is not None and len(wanted) < place.judges:
        raise Invalid(
            _(
                "Sub-criterion %(sub)s has judgement aspects: its team needs at least %(judges)s experts.",
                sub=sub.code,
                judges=place.judges,
            )
        )
    old_ids = set(await team_of(session, sub.id))
    old = sorted(expert.code for expert in experts if expert.id in old_ids)
    new = [by_code[code].code for code in wanted]
    if old == new:
        return new
    await session.execute(delete(MarkingTeamMember).where(MarkingTeamMember.sub_criterion_id == sub.id))
    session.add_all(MarkingTeamMember(sub_criterion_id=sub.id, expert_id=by_code[code].id) for code in wanted)
    audit.record(
        session,
        actor,
        "team",
        sub.code,
        event_id=place.event.id,
        skill_id=place.skill.id,
        stage_id=place.stage.id,
        old=old or None,
        new=new or None,
    )
    await session.flush()
    if commit:
        await session.commit()
    return new


def parse_judges(raw: object) -> int:
    """A judging team size 3-5, or Invalid."""
    try:
        size = int(str(raw).strip())
    except ValueError:
        size = 0
    if not MIN_JUDGES <= size <= MAX_JUDGES:
        raise Invalid(_("A judging team has 3 to 5 judges, not %(judges)s.", judges=raw))
    return size


async def set_judging_team_size(
    session: AsyncSession, place: MarkingPlace, actor: User | None, judges: object, *, commit: bool = True
) -> int:
    """How many judges score each judgement aspect (3-5); the Chief Expert's call, before any form is locked."""
    if actor is not None and not await may_manage_skill(session, actor, place.skill):
        raise Forbidden(_("Only the skill's Chief Expert or an organiser may set the judging team size."))
    size = parse_judges(judges)
    if commit:
        await claim(session, place)
    old = await session.scalar(select(MarkingScheme.judges).where(MarkingScheme.id == place.scheme_id))
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
    audit.record(
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
    _announce(session, place)
    if commit:
        await session.commit()
    return size


def _announce(session: AsyncSession, place: MarkingPlace) -> None:
    notify.on_commit(
        session, notify.Change(event=place.event.code, what="marks", skill=place.skill.code, stage=place.stage.code)
    )


# --- what a tablet may see -----------------------------------------------------------------------


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
            "value": _plain(state.value) if state.value is not None else None,
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
