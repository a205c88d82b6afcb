"""`podium demo`: SkillsLatvia 2023 loaded through the workbook import once, demo log-ins that work, and the
`podium.demo` entry points of other packages called every time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from competition.auth import PasswordChecks, authenticate, hash_password
from competition.cli import main
from competition.models import Competitor, Event, Expert, ExpertRole, Institution, Sector, Skill, Stage, User
from competition.registration import demo
from competition.registration.demo import DEMO_ORGANISER, DEMO_PASSWORD, load_demo

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture(autouse=True)
def no_other_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the extensions a test gives are called (installed packages may register their own)."""
    monkeypatch.setattr(demo, "entry_points", lambda group: [])


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_demo_is_skillslatvia_2023(engine: AsyncEngine, session: AsyncSession) -> None:
    lines = await load_demo(engine)
    assert lines[0].startswith(
        "loaded the demo competition SL2023: 5 stages (5 new), 6 sectors (6 new), 19 skills"
    )
    event = await session.scalar(select(Event).where(Event.code == "SL2023"))
    assert event is not None and event.name == "SkillsLatvia 2023"
    assert await count(session, Skill) == 19
    assert await count(session, Sector) == 6
    assert await count(session, Competitor) == 155
    assert await count(session, Institution) == 32
    assert [s.kind for s in await session.scalars(select(Stage).order_by(Stage.starts))] == [
        "semi_final",
        "semi_final",
        "semi_final",
        "semi_final",
        "final",
    ]
    chiefs = await session.scalar(
        select(func.count()).select_from(Expert).where(Expert.role == ExpertRole.CHIEF_EXPERT.value)
    )
    assert chiefs == 19


async def test_loading_the_demo_again_changes_nothing(engine: AsyncEngine, session: AsyncSession) -> None:
    first = await load_demo(engine)
    counts = [await count(session, model) for model in (Competitor, Expert, User, Skill)]
    again = await load_demo(engine)
    await session.rollback()
    assert again[0] == "the demo competition SL2023 is loaded already"
    assert [await count(session, model) for model in (Competitor, Expert, User, Skill)] == counts
    assert again[1:] == first[1:], "the log-ins are printed every time"


async def test_the_printed_log_ins_work_with_the_demo_password(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    lines = await load_demo(engine)
    emails = [
        line.split()[-1] for line in lines if line.strip().startswith(("organiser", "chief expert", "expert"))
    ]
    assert emails[0] == DEMO_ORGANISER and len(emails) == 1 + 2 * 4
    for email in emails:
        assert await authenticate(session, PasswordChecks(), email, DEMO_PASSWORD) is not None, email
    roles = [(await session.scalar(select(User.role).where(User.email == email))) for email in emails[:3]]
    assert roles == ["organiser", "chief_expert", "expert"]


async def test_a_password_someone_set_is_kept(engine: AsyncEngine, session: AsyncSession) -> None:
    await load_demo(engine)
    organiser = await session.scalar(select(User).where(User.email == DEMO_ORGANISER))
    assert organiser is not None
    organiser.password_hash = await asyncio.to_thread(hash_password, "a private password")
    await session.commit()
    await load_demo(engine)
    assert await authenticate(session, PasswordChecks(), DEMO_ORGANISER, "a private password") is not None


@dataclass
class FakeEntryPoint:
    value: Any

    def load(self) -> Any:
        return self.value


async def test_other_packages_extend_the_demo_through_entry_points(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[AsyncEngine, str]] = []

    async def extend(engine_: AsyncEngine, event_code: str) -> list[str]:
        calls.append((engine_, event_code))
        return ["marking schemes: 19 (19 new)"]

    monkeypatch.setattr(
        demo, "entry_points", lambda group: [FakeEntryPoint(extend)] if group == "podium.demo" else []
    )
    lines = await load_demo(engine)
    assert calls == [(engine, "SL2023")]
    assert "marking schemes: 19 (19 new)" in lines
    await load_demo(engine)
    assert len(calls) == 2, "extensions are called on every run (they are idempotent themselves)"


async def test_a_missing_demo_workbook_is_one_clear_refusal(engine: AsyncEngine, tmp_path: Path) -> None:
    from competition.errors import Invalid

    with pytest.raises(Invalid, match=r"the demo workbook .* is missing"):
        await load_demo(engine, tmp_path / "none.xlsx")


async def test_the_demo_command_prints_the_log_ins(
    capsys: pytest.CaptureFixture[str], database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PODIUM_SECRET", "cli-test-secret")
    monkeypatch.setenv("PODIUM_DATA_DIR", str(tmp_path / "data"))

    def run() -> int:
        try:
            main(["--database", database_url, "demo"])
        except SystemExit as exit_:
            return int(exit_.code or 0)
        return 0

    assert await asyncio.to_thread(run) == 0
    out = capsys.readouterr().out
    assert "155 competitors (155 new)" in out
    assert f"organiser     {DEMO_ORGANISER}" in out and "chief expert" in out
    assert await asyncio.to_thread(run) == 0
    assert "is loaded already" in capsys.readouterr().out
