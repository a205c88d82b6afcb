"""Generated competitions for the benchmarks: marking schemes of any size and whole events written in bulk.

`generated_scheme` makes a valid scheme (no errors, no warnings) of n aspects; `build_event` writes an
event of many skills straight into a database: the schemes through `scoring.scheme.save_scheme` (as an
import would), everything per mark (judge scores, measurements, locked forms) with bulk inserts, so
that a world of millions of marks is ready in seconds. Experts can be given user accounts with API
tokens or a password (and organisers added) for benchmarks and tests that drive a running server.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from competition.auth import token_digest
from competition.db import session_factory
from competition.models import (
    ApiToken,
    Competitor,
    Event,
    Expert,
    Institution,
    Sector,
    Skill,
    Stage,
    StageEntry,
    User,
)
from scoring.marks import refresh_marks
from scoring.models import Aspect, Form, JudgeScore, MarkingScheme, Measurement, SchemeStatus, SubCriterion
from scoring.scheme import save_scheme
from scoring.scheme_data import (
    AspectData,
    Calculation,
    Choice,
    CriterionData,
    DescriptorData,
    SchemeData,
    Section,
    SubCriterionData,
)

CRITERIA = "ABCDE"
ASPECTS_PER_FORM = 10
EVENT_CODE = "BENCH"
STAGE_CODE = "FINAL"
CHUNK = 20_000
"""Rows per bulk insert."""

DESCRIPTORS = tuple(
    DescriptorData(score, text)
    for score, text in enumerate(("Below industry standard", "Meets the standard", "Above the standard", "Excellent"))
)


def _calculation(index: int) -> Calculation:
    """The M aspects of a generated scheme cycle through every calculation the CIS file knows."""
    kinds = (
        Calculation("pass_fail", "Measurement"),
        Calculation("deduction", "Deduction"),
        Calculation("number_completed", "Number Completed 4", 4),
        Calculation("choice", None, None, (Choice("Done", Decimal(0)), Choice("Partly", Decimal(50)),
                                            Choice("Not done", Decimal(100)))),
    )
    return kinds[index % len(kinds)]


def generated_scheme(aspects: int, *, measurement_every: int = 4, title: str = "Generated scheme") -> SchemeData:
    """A valid marking scheme of `aspects` aspects in 5 criteria of 20 marks, 10 aspects per form.

    Every `measurement_every`-th aspect is an M aspect (0: judgement only); max marks are whole cents
    that add up to exactly 20 per criterion, and each criterion is its own standards section."""
    per_criterion = [aspects // len(CRITERIA) + (1 if i < aspects % len(CRITERIA) else 0) for i in range(len(CRITERIA))]
    sections, criteria, subs, items = [], [], [], []
    counter = 0
    for number, (letter, count) in enumerate(zip(CRITERIA, per_criterion, strict=True), start=1):
        mark = Decimal(20)
        sections.append(Section(number, f"Standards section {number}", mark))
        criteria.append(CriterionData(letter, f"Criterion {letter}", mark))
        cents = int(mark * 100)
        base, extra = divmod(cents, count)
        for index in range(count):
            form, position = divmod(index, ASPECTS_PER_FORM)
            sub = f"{letter}{form + 1}"
            if position == 0:
                subs.append(SubCriterionData(sub, letter, f"Form {sub}", day=f"C{form % 3 + 1}"))
            max_mark = Decimal(base + (1 if index < extra else 0)) / 100
            counter += 1
            measured = measurement_every > 0 and counter % measurement_every == 0
            items.append(
                AspectData(
                    code=f"{sub}.{position + 1}",
                    sub_criterion=sub,
                    kind="M" if measured else "J",
                    description=f"Aspect {sub}.{position + 1} of the work",
                    section=number,
                    max_mark=max_mark,
                    calculation=_calculation(counter // measurement_every) if measured else None,
                    descriptors=() if measured else DESCRIPTORS,
                )
            )
    return SchemeData(title=title, sections=tuple(sections), criteria=tuple(criteria), sub_criteria=tuple(subs),
                      aspects=tuple(items))


@dataclass
class ExpertLogin:
    """An expert of a skill as a client sees them: codes, API token, and which judge of the skill they are."""

    skill: str
    code: str
    email: str
    token: str
    """Empty when the event was built without API tokens."""
    index: int


@dataclass
class BuiltEvent:
    """What `build_event` wrote: codes to address it by and the ids the benchmarks check against."""

    event: str
    stage: str
    skills: list[str]
    competitors: dict[str, list[str]]
    """Skill code → its competitors' codes."""
    aspects: list[tuple[str, str, str | None]]
    """(aspect code, kind, calculation) of the scheme every skill uses, in scheme order."""
    experts: list[ExpertLogin] = field(default_factory=list)
    organisers: list[str] = field(default_factory=list)
    """The organisers' emails (they log in with the event's password)."""
    scores: int = 0
    measurements: int = 0


async def _bulk(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(model), rows[start:start + CHUNK])


async def _bulk_scores(session: AsyncSession, rows: list[tuple[int, int, int, int]], now: dt.datetime) -> None:
    """Judge scores (aspect, competitor, expert, score) straight through the driver: millions of rows
    without SQLAlchemy's per-row work (the time stamps are converted once)."""
    connection = await session.connection()
    dialect = connection.dialect
    table = JudgeScore.__table__
    convert = table.c.created_at.type.bind_processor(dialect)
    stamp = convert(now) if convert else now
    columns = ("aspect_id", "competitor_id", "expert_id", "score", "created_at", "updated_at")
    places = ", ".join("?" if dialect.paramstyle == "qmark" else f"${n}" for n in range(1, len(columns) + 1))
    statement = f"INSERT INTO {JudgeScore.__tablename__} ({', '.join(columns)}) VALUES ({places})"
    for start in range(0, len(rows), CHUNK):
        await connection.exec_driver_sql(statement, [(*row, stamp, stamp) for row in rows[start:start + CHUNK]])


async def build_event(
    engine: AsyncEngine,
    *,
    skills: int,
    competitors: int,
    scheme: SchemeData,
    experts: int = 3,
    judges: int = 3,
    marked: bool = True,
    tokens: bool = False,
    password_hash: str | None = None,
    organisers: int = 0,
) -> BuiltEvent:
    """An event with one final stage, `skills` skills of `competitors` competitors each, every skill
    with `scheme` and `experts` experts. `marked`: every judge scores every J aspect, every M aspect is
    measured and every form is locked (all competitors complete). `tokens`: each expert has a user
    account and an API token. `password_hash` (one `competition.auth.hash_password` result: argon2 is
    slow on purpose, so hash once): each expert has a user account with that password, and so do the
    `organisers` organisers (`organiser{n}@bench.example`)."""
    now = dt.datetime.now(dt.UTC)
    async with session_factory(engine)() as session:
        event = Event(code=EVENT_CODE, name="Benchmark event", starts=dt.date(2027, 4, 26), ends=dt.date(2027, 4, 28))
        session.add(event)
        await session.flush()
        stage = Stage(event_id=event.id, code=STAGE_CODE, name="Final", kind="final")
        sectors = [Sector(event_id=event.id, name=f"Sector {n}") for n in range(1, 7)]
        schools = [Institution(code=f"S{n:02}", name=f"School {n}", kind="school") for n in range(1, 21)]
        panel = Institution(code="XP", name="Experts' institution", kind="company")
        session.add_all([stage, *sectors, *schools, panel])
        await session.flush()
        skill_rows = [
            Skill(event_id=event.id, code=f"{n:02}", name=f"Skill {n}", sector_id=sectors[n % len(sectors)].id)
            for n in range(1, skills + 1)
        ]
        session.add_all(skill_rows)
        await session.commit()
        built = BuiltEvent(EVENT_CODE, STAGE_CODE, [s.code for s in skill_rows], {},
                           [(a.code, a.kind, a.calculation.kind if a.calculation else None)
                            for a in scheme.aspects])

        for skill in skill_rows:
            await save_scheme(session, None, skill, stage, scheme, source_filename="generated.xlsx")
        await session.execute(update(MarkingScheme).values(judges=judges, status=SchemeStatus.READY.value))
        await session.commit()

        competitor_rows = [
            {"event_id": event.id, "code": f"C{s.code}{n:02}", "first_name": f"Competitor{n}", "last_name": s.code,
             "institution_id": schools[(i + n) % len(schools)].id, "skill_id": s.id, "stage_id": stage.id,
             "created_at": now, "updated_at": now}
            for i, s in enumerate(skill_rows) for n in range(1, competitors + 1)
        ]
        await _bulk(session, Competitor, competitor_rows)
        competitor_ids = {code: (id, skill_id) for id, code, skill_id in await session.execute(
            select(Competitor.id, Competitor.code, Competitor.skill_id).where(Competitor.event_id == event.id))}
        await _bulk(session, StageEntry, [{"competitor_id": id, "stage_id": stage.id, "created_at": now,
                                           "updated_at": now} for id, _ in competitor_ids.values()])
        for skill in skill_rows:
            built.competitors[skill.code] = sorted(c for c, (_, s) in competitor_ids.items() if s == skill.id)

        expert_rows = []
        for skill in skill_rows:
            for n in range(1, experts + 1):
                email = f"expert{n}.skill{skill.code}@bench.example"
                user_id = None
                if tokens or password_hash is not None:
                    user = User(email=email, role="expert", name=f"Expert {n} of {skill.code}", language="en",
                                password_hash=password_hash)
                    session.add(user)
                    await session.flush()
                    token = ""
                    if tokens:
                        token = "pod_" + secrets.token_urlsafe(32)
                        session.add(ApiToken(user_id=user.id, digest=token_digest(token)))
                    built.experts.append(ExpertLogin(skill.code, f"E{skill.code}{n:02}", email, token, n - 1))
                    user_id = user.id
                expert_rows.append({"event_id": event.id, "code": f"E{skill.code}{n:02}", "first_name": "Expert",
                                    "last_name": f"{n}", "email": email, "institution_id": panel.id,
                                    "skill_id": skill.id, "role": "chief_expert" if n == 1 else "expert",
                                    "user_id": user_id, "created_at": now, "updated_at": now})
        await _bulk(session, Expert, expert_rows)
        if organisers:
            assert password_hash is not None, "organisers log in with the password"
            built.organisers = [f"organiser{n}@bench.example" for n in range(1, organisers + 1)]
            session.add_all(User(email=email, role="organiser", name=f"Organiser {n}", language="en",
                                 password_hash=password_hash)
                            for n, email in enumerate(built.organisers, start=1))
        await session.commit()
        if marked:
            built.scores, built.measurements = await _mark_everything(session, event.id, judges, now)
        await session.commit()
    return built


async def _mark_everything(session: AsyncSession, event_id: int, judges: int, now: dt.datetime) -> tuple[int, int]:
    """Every judge scores every J aspect (scores vary by competitor, never apart by more than 1), every
    M aspect is measured (full marks), every form locked."""
    aspects = (await session.execute(
        select(Aspect.id, Aspect.kind, Aspect.calculation, Aspect.possible, MarkingScheme.skill_id)
        .join(MarkingScheme, MarkingScheme.id == Aspect.scheme_id)
    )).all()
    subs = (await session.execute(
        select(SubCriterion.id, MarkingScheme.skill_id).join(MarkingScheme, MarkingScheme.id == SubCriterion.scheme_id)
    )).all()
    by_skill: dict[int, list[int]] = {}
    for id, skill_id in await session.execute(select(Competitor.id, Competitor.skill_id).where(
            Competitor.event_id == event_id)):
        by_skill.setdefault(skill_id, []).append(id)
    panel: dict[int, list[int]] = {}
    for id, skill_id in await session.execute(select(Expert.id, Expert.skill_id).order_by(Expert.id)):
        panel.setdefault(skill_id, []).append(id)
    scores: list[tuple[int, int, int, int]] = []
    measurements: list[dict[str, Any]] = []
    total_scores = total_measurements = 0
    for aspect_id, kind, calculation, possible, skill_id in aspects:
        for competitor_id in by_skill.get(skill_id, []):
            if kind == "J":
                base = 1 + (competitor_id + aspect_id) % 2
                scores.extend(
                    (aspect_id, competitor_id, expert_id, base + (j + competitor_id) % 2)
                    for j, expert_id in enumerate(panel[skill_id][:judges])
                )
            else:
                value = {"number_completed": possible or 1, "deduction": 0}.get(calculation or "", 1)
                measurements.append({"aspect_id": aspect_id, "competitor_id": competitor_id,
                                     "expert_id": panel[skill_id][0], "value": Decimal(value), "reason": "",
                                     "created_at": now, "updated_at": now})
        if len(scores) >= CHUNK:
            total_scores += len(scores)
            await _bulk_scores(session, scores, now)
            scores = []
    total_scores += len(scores)
    total_measurements += len(measurements)
    await _bulk_scores(session, scores, now)
    await _bulk(session, Measurement, measurements)
    await _bulk(session, Form, [
        {"sub_criterion_id": sub_id, "competitor_id": competitor_id, "locked": True, "created_at": now,
         "updated_at": now}
        for sub_id, skill_id in subs for competitor_id in by_skill.get(skill_id, [])
    ])
    await session.execute(update(MarkingScheme).values(revision=MarkingScheme.revision + 1))
    stage_of = dict((await session.execute(select(MarkingScheme.skill_id, MarkingScheme.stage_id))).all())
    for skill in await session.scalars(select(Skill).where(Skill.event_id == event_id)):
        await refresh_marks(session, skill, stage_of[skill.id])  # the aspect marks the services would have kept
    return total_scores, total_measurements
