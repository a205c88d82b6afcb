"""The demo competition (`podium demo`): SkillsLatvia 2023 from its event workbook, log-ins with a known
password, and whatever other packages add through the `podium.demo` entry point."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from importlib.metadata import entry_points
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import selectinload

from competition.auth import find_user_by_email, hash_password
from competition.config import FIXTURES_DIR
from competition.db import session_factory
from competition.errors import Invalid
from competition.models import Event, Expert, ExpertRole, Role, Skill, User
from competition.registration.workbook import import_event_workbook
from competition.writer import write

DEMO_EVENT = "SL2023"
DEMO_WORKBOOK = FIXTURES_DIR / "skillslatvia2023.xlsx"
DEMO_PASSWORD = "podium-demo"  # noqa: S105 - the demo's published password
DEMO_ORGANISER = "organiser@podium.example"
DEMO_ENTRY_POINT = "podium.demo"
"""Entry points in this group are `async def extend(engine, event_code: str) -> list[str]`: they add their
package's demo data to the loaded event (idempotently) and return lines to print."""
SKILLS_SHOWN = 2
EXPERTS_SHOWN = 3

Extension = Callable[[AsyncEngine, str], Awaitable[list[str]]]


async def load_demo(engine: AsyncEngine, workbook: Path = DEMO_WORKBOOK) -> list[str]:
    """Load the demo event unless it is there, give the demo users their password, run the extensions.

    Returns the lines to print, ending with the log-ins."""
    lines: list[str] = []
    async with session_factory(engine)() as session:
        if await session.scalar(select(Event.id).where(Event.code == DEMO_EVENT)) is None:
            if not await asyncio.to_thread(workbook.exists):
                raise Invalid(f"the demo workbook {workbook} is missing")
            summary = await import_event_workbook(session, None, workbook, workbook.name)
            lines.append(f"loaded the demo competition {summary.line()}")
        else:
            lines.append(f"the demo competition {DEMO_EVENT} is loaded already")
        await write(session, give_demo_passwords, await asyncio.to_thread(hash_password, DEMO_PASSWORD))
        logins = await demo_logins(session)
    for extend in extensions():
        lines.extend(await extend(engine, DEMO_EVENT))
    return lines + logins


def extensions() -> list[Extension]:
    """Every package's `podium.demo` entry point (scoring adds marking schemes this way)."""
    return [entry.load() for entry in entry_points(group=DEMO_ENTRY_POINT)]


async def give_demo_passwords(session: AsyncSession, password_hash: str) -> None:
    """The demo organiser, and every expert of the demo event without a password, get DEMO_PASSWORD
    (`password_hash`). A password someone has set already is kept."""
    organiser = await find_user_by_email(session, DEMO_ORGANISER)
    if organiser is None:
        organiser = User(email=DEMO_ORGANISER, name="Demo Organiser", role=Role.ORGANISER.value)
        session.add(organiser)
    if organiser.password_hash is None:
        organiser.password_hash = password_hash
    experts = select(Expert.user_id).join(Event, Expert.event_id == Event.id).where(Event.code == DEMO_EVENT)
    for user in await session.scalars(select(User).where(User.id.in_(experts), User.password_hash.is_(None))):
        user.password_hash = password_hash


async def demo_logins(session: AsyncSession) -> list[str]:
    """The organiser, and for the first skills the Chief Expert and three experts."""
    skills = list(
        await session.scalars(
            select(Skill)
            .join(Event, Skill.event_id == Event.id)
            .where(Event.code == DEMO_EVENT)
            .order_by(Skill.code)
        )
    )
    experts = list(
        await session.scalars(
            select(Expert)
            .where(Expert.skill_id.in_([s.id for s in skills]))
            .options(selectinload(Expert.user))
            .order_by(Expert.code)
        )
    )
    lines = [
        f"demo log-ins, each with the password {DEMO_PASSWORD}:",
        f"  organiser     {DEMO_ORGANISER}",
    ]
    shown = 0
    for skill in skills:
        team = [e for e in experts if e.skill_id == skill.id]
        chief = next((e for e in team if e.role == ExpertRole.CHIEF_EXPERT), None)
        others = [e for e in team if e.role != ExpertRole.CHIEF_EXPERT][:EXPERTS_SHOWN]
        if chief is None or len(others) < EXPERTS_SHOWN or shown == SKILLS_SHOWN:
            continue
        shown += 1
        lines.append(f"  skill {skill.code} {skill.name}")
        lines.append(f"    chief expert  {chief.email}")
        lines.extend(f"    expert        {expert.email}" for expert in others)
    return lines
