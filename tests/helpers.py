"""Helpers for tests: log in through the real form, CSRF headers, and a small competition to test on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from httpx import Response
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from competition.auth import hash_password, issue_api_token
from competition.models import (
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
from competition.writer import write
from scoring.cis_xlsx import read_scheme
from scoring.models import MarkingScheme
from scoring.scheme import save_scheme

PASSWORD = "correct horse battery"


async def csrf_token(client: AsyncTestClient[Any]) -> str:
    """The CSRF token the browser would hold (set as a cookie by any page)."""
    if "csrftoken" not in client.cookies:
        await client.get("/login")
    return client.cookies["csrftoken"]


async def login(client: AsyncTestClient[Any], email: str, password: str = PASSWORD) -> Response:
    token = await csrf_token(client)
    return await client.post(
        "/login", data={"email": email, "password": password, "_csrf_token": token}, follow_redirects=False
    )


async def form_post(client: AsyncTestClient[Any], url: str, data: dict[str, Any], **kwargs: Any) -> Response:
    """Post a form as the browser does, with the CSRF token field."""
    token = await csrf_token(client)
    return await client.post(url, data={**data, "_csrf_token": token}, **kwargs)


async def csrf_headers(client: AsyncTestClient[Any]) -> dict[str, str]:
    """Headers for an htmx or session-authenticated API request."""
    return {"x-csrftoken": await csrf_token(client)}


@dataclass
class World:
    """A small competition: one event with a semi-final and a final, one skill, three schools,
    four competitors, a chief expert and four experts (users with PASSWORD), and an organiser."""

    event: Event
    semi_final: Stage
    final: Stage
    skill: Skill
    other_skill: Skill
    schools: list[Institution]
    competitors: list[Competitor]
    chief: Expert
    experts: list[Expert]
    other_skill_expert: Expert
    organiser: User
    users: dict[str, User] = field(default_factory=dict)

    def user(self, email: str) -> User:
        return self.users[email]


@cache
def password_hash() -> str:
    """PASSWORD hashed once per run (argon2 is slow on purpose)."""
    return hash_password(PASSWORD)


async def add_user(session: AsyncSession, email: str, role: str, name: str) -> User:
    user = User(email=email, role=role, name=name, password_hash=password_hash(), language="en")
    session.add(user)
    await session.flush()
    return user


async def build_world(session: AsyncSession) -> World:
    event = Event(code="SL2023", name="SkillsLatvia 2023", starts=dt.date(2023, 2, 7), ends=dt.date(2023, 4, 28),
                  venue="Rīga")
    session.add(event)
    await session.flush()
    semi = Stage(event_id=event.id, code="SF1", name="Semi-final 1", kind="semi_final",
                 starts=dt.date(2023, 2, 7), ends=dt.date(2023, 2, 8), venue="Rīgas Valsts tehnikums")
    final = Stage(event_id=event.id, code="FINAL", name="Final", kind="final",
                  starts=dt.date(2023, 4, 26), ends=dt.date(2023, 4, 28), venue="Ķīpsala, Rīga")
    sector = Sector(event_id=event.id, name="Manufacturing and engineering technology")
    session.add_all([semi, final, sector])
    await session.flush()
    skill = Skill(event_id=event.id, code="23", name="Mobile Robotics", sector_id=sector.id, team_size=1, advance=2)
    other = Skill(event_id=event.id, code="04", name="Mechatronics", sector_id=sector.id, advance=2)
    schools = [
        Institution(code="RTK", name="Rīgas Tehniskā koledža", kind="school"),
        Institution(code="RVT", name="Rīgas Valsts tehnikums", kind="school"),
        Institution(code="LVT", name="Liepājas Valsts tehnikums", kind="school"),
        Institution(code="OT", name="Ogres tehnikums", kind="school"),
    ]
    session.add_all([skill, other, *schools])
    await session.flush()
    people = [("C001", "Anna", "Bērziņa", 0), ("C002", "Jānis", "Kalniņš", 1),
              ("C003", "Līga", "Ozola", 2), ("C004", "Mārtiņš", "Liepiņš", 3)]
    competitors = [
        Competitor(event_id=event.id, code=code, first_name=first, last_name=last, birth_date=dt.date(2004, 5, 1),
                   institution_id=schools[i].id, skill_id=skill.id, stage_id=semi.id)
        for code, first, last, i in people
    ]
    session.add_all(competitors)
    await session.flush()
    session.add_all([StageEntry(competitor_id=c.id, stage_id=semi.id) for c in competitors])
    organiser = await add_user(session, "organiser@example.lv", "organiser", "Olga Organizatore")
    users = {organiser.email: organiser}
    expert_rows = [("E001", "Inese", "Kalniņa", 0, "chief_expert"), ("E002", "Pēteris", "Ozols", 0, "expert"),
                   ("E003", "Zane", "Liepa", 1, "expert"), ("E004", "Andris", "Krūmiņš", 2, "expert"),
                   ("E005", "Dace", "Vītola", 3, "expert")]
    experts = []
    for code, first, last, i, role in expert_rows:
        email = f"{first.lower()}@example.lv".replace("ē", "e")
        user = await add_user(session, email, role, f"{first} {last}")
        users[email] = user
        experts.append(Expert(event_id=event.id, code=code, first_name=first, last_name=last, email=email,
                              institution_id=schools[i].id, skill_id=skill.id, role=role, user_id=user.id))
    other_user = await add_user(session, "guntis@example.lv", "expert", "Guntis Other")
    users[other_user.email] = other_user
    other_expert = Expert(event_id=event.id, code="E100", first_name="Guntis", last_name="Other",
                          email=other_user.email, institution_id=schools[1].id, skill_id=other.id, role="expert",
                          user_id=other_user.id)
    session.add_all([*experts, other_expert])
    await session.commit()
    return World(event=event, semi_final=semi, final=final, skill=skill, other_skill=other, schools=schools,
                 competitors=competitors, chief=experts[0], experts=experts[1:], other_skill_expert=other_expert,
                 organiser=organiser, users=users)


async def api_token(session: AsyncSession, user: User) -> str:
    return await write(session, issue_api_token, user)


SCHEMES = Path(__file__).resolve().parent.parent / "fixtures" / "schemes"


async def add_scheme(
    session: AsyncSession, skill: Skill, stage: Stage, file: str = "skill_23_mobile_robotics.xlsx"
) -> MarkingScheme:
    """Store one of the fixture schemes (fixtures/schemes/) for the skill and stage, as an import would."""
    read = read_scheme(SCHEMES / file)
    assert read.scheme is not None, read.problems
    scheme = await save_scheme(session, None, skill, stage, read.scheme, source_filename=file)
    await session.commit()
    return scheme


async def mark_all(
    session: AsyncSession,
    scheme: MarkingScheme,
    competitor: Competitor,
    judges: list[Expert],
    *,
    score: int | Callable[[Any], int] = 2,
    lock: bool = True,
) -> None:
    """Record every aspect of the scheme for the competitor straight into the tables (every judge gives
    `score`, or `score(aspect)` where it is a function; measurements pass, count all, take the first
    option, deduct nothing), keep the aspect marks they make, and lock the forms.
    For tests of what is computed from marks; marking itself is tested through its services."""
    from decimal import Decimal

    from sqlalchemy import select

    from competition.models import Skill
    from scoring.marks import bump_revision, refresh_marks
    from scoring.models import Aspect, Form, JudgeScore, Measurement, SubCriterion

    aspects = list(await session.scalars(select(Aspect).where(Aspect.scheme_id == scheme.id)))
    for aspect in aspects:
        if aspect.kind == "J":
            session.add_all(
                JudgeScore(
                    aspect_id=aspect.id,
                    competitor_id=competitor.id,
                    expert_id=judge.id,
                    score=score(aspect) if callable(score) else score,
                )
                for judge in judges
            )
        else:
            value = {"number_completed": aspect.possible or 1, "deduction": 0}.get(aspect.calculation or "", 1)
            session.add(Measurement(aspect_id=aspect.id, competitor_id=competitor.id, expert_id=judges[0].id,
                                    value=Decimal(value)))
    if lock:
        subs = list(await session.scalars(select(SubCriterion).where(SubCriterion.scheme_id == scheme.id)))
        session.add_all(Form(sub_criterion_id=sub.id, competitor_id=competitor.id, locked=True) for sub in subs)
    await session.flush()
    skill = await session.get(Skill, scheme.skill_id)
    assert skill is not None
    await refresh_marks(session, skill, scheme.stage_id, [competitor.id])
    await bump_revision(session, scheme.id)
    await session.commit()
