"""A venue day on a real `podium serve`: no server error, no acknowledged mark lost or unaudited, no draft with marks.

On SQLite and PostgreSQL (issue 18): experts log in through the form and mark from their own browsers
while bad log-ins arrive together, the paper backup is imported by `podium import-marks` and a Chief
Expert edits the scheme of a skill being marked. No answer may be a server error or missing, every
acknowledged mark must be stored as acknowledged with its audit record, and no marking scheme may be
left a draft while it has marks.

Only the HTTP interfaces, the `podium` command and the database's tables are looked at. Things happen in
an order set by events (so many saves acknowledged, the first edit done), never by sleeping; the one
pause is a 503's Retry-After, which the browsers honour as the tablet's script does (`bench.load.Browser`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bench.load import (
    MEASURED,
    Browser,
    Save,
    Server,
    Tally,
    bad_login_emails,
    expert_saves,
    running_server,
)
from bench.world import BuiltEvent, ExpertLogin, build_event, generated_scheme
from competition.db import create_engine, session_factory
from competition.models import Skill
from scoring.models import Aspect, JudgeScore, MarkingScheme, Measurement, SchemeStatus
from tests.helpers import PASSWORD, password_hash
from tests.hostile_workbooks import marks_bytes
from tests.live_marking import key, read_marks, replay, stored

pytestmark = pytest.mark.slow

SKILLS = 6
"""6 skills × 5 experts: 30 browsers marking, with the Chief Expert who edits and the organiser."""
COMPETITORS = 6
ASPECTS = 40
SAVES = 30
"""Saves per browser (the first of what `expert_saves` gives it): 900 in all."""
PAGE_EVERY = 8
IMPORTED = "02"
"""The skill whose last competitor's first form comes from a marks workbook while the others are marked."""
EDITED = "03"
"""The skill whose Chief Expert edits the scheme while its experts begin marking."""
EDITS = 10
"""Break-and-restore rounds of the scheme's total at most; the editor stops at the first refusal."""
BAD_LOGINS = 40
GUESSES = 10
BURST_AT = 100
"""The bad log-ins arrive together once this many saves are acknowledged; the import starts at IMPORT_AT."""
IMPORT_AT = 200
DEADLINE_S = 300.0
"""Generous: a step that has not happened by then never will."""
PAGE = (200,)
EDITOR_PAGE = (200, 409)
"""The editor's page is refused (409) once the scheme has marks."""


async def venue_world(database_url: str) -> BuiltEvent:
    """SKILLS skills × COMPETITORS competitors, an ASPECTS-aspect scheme, 5 experts per skill and an organiser,
    all with PASSWORD; no marks."""
    engine = create_engine(database_url, null_pool=True)
    try:
        return await build_event(engine, skills=SKILLS, competitors=COMPETITORS, scheme=generated_scheme(ASPECTS),
                                 experts=5, judges=3, marked=False, password_hash=password_hash(), organisers=1)
    finally:
        await engine.dispose()


@dataclass
class PaperBackup:
    """The marks workbook of the imported skill: its last competitor's first form, every judge 2."""

    competitor: str
    rows: list[list[Any]]
    marks: dict[Hashable, object]
    """What the import records, by `tests.live_marking.key`."""

    @classmethod
    def of(cls, built: BuiltEvent) -> PaperBackup:
        competitor = built.competitors[IMPORTED][-1]
        judges = [login.code for login in built.experts if login.skill == IMPORTED][:3]  # Judge n: n-th by code
        rows: list[list[Any]] = []
        marks: dict[Hashable, object] = {}
        for aspect, kind, calculation in built.aspects:
            if not aspect.startswith("A1."):
                continue
            if kind == "J":
                rows.append([competitor, aspect, None, 2, 2, 2, None])
                marks.update({(IMPORTED, competitor, aspect, judge): 2 for judge in judges})
            else:
                value = int(MEASURED[calculation or ""])
                rows.append([competitor, aspect, value, None, None, None, None])
                marks[(IMPORTED, competitor, aspect)] = Decimal(value)
        return cls(competitor, rows, marks)


@dataclass
class Day:
    """The browsers' shared record: the saves acknowledged, the refusals that should not have happened."""

    built: BuiltEvent
    server: Server
    tally: Tally = field(default_factory=Tally)
    acknowledged: list[Save] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)
    marking: int = 0
    editing: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the Chief Expert's first edit has an answer: the edited skill's experts start then."""

    async def reached(self, count: int) -> bool:
        """Wait until `count` saves are acknowledged (False if every browser stopped first)."""
        async with self.progress:
            await asyncio.wait_for(
                self.progress.wait_for(lambda: len(self.acknowledged) >= count or self.marking == 0), DEADLINE_S
            )
            return len(self.acknowledged) >= count

    async def mark(self, login: ExpertLogin, saves: list[Save]) -> None:
        """One expert's browser: log in, open the day page, save each mark, a marking page every PAGE_EVERY."""
        marking = f"/marking/{self.built.event}/{login.skill}/{self.built.stage}"
        async with Browser(self.server.url, self.tally) as browser:
            logged = await browser.log_in(login.email, PASSWORD)
            if logged.status != 303:
                self.unexpected.append(f"{login.email} log-in: {logged.status} {logged.error}")
                return
            await self._page(browser, marking)
            if login.skill == EDITED:
                await asyncio.wait_for(self.editing.wait(), DEADLINE_S)
            for number, save in enumerate(saves, start=1):
                answer = await browser.save(self.built.event, self.built.stage, save)
                if answer.status == 200:
                    async with self.progress:
                        self.acknowledged.append(save)
                        self.progress.notify_all()
                elif answer.status is not None and answer.status < 500 and not (
                    answer.status == 409 and save.skill == EDITED  # the scheme is a draft just then
                ):
                    self.unexpected.append(f"{save}: HTTP {answer.status} {answer.text[:200]}")
                if number % PAGE_EVERY == 0:
                    await self._page(browser, f"{marking}/forms/{save.competitor}/{save.aspect.rsplit('.', 1)[0]}")

    async def _page(self, browser: Browser, path: str, allowed: tuple[int, ...] = PAGE) -> None:
        answer = await browser.page(path)
        if answer.status is not None and answer.status < 500 and answer.status not in allowed:
            self.unexpected.append(f"GET {path}: HTTP {answer.status}")

    async def browsers(self, tablets: dict[str, list[Save]]) -> None:
        self.marking = len(tablets)

        async def one(login: ExpertLogin) -> None:
            try:
                await self.mark(login, tablets[login.email])
            finally:
                async with self.progress:
                    self.marking -= 1
                    self.progress.notify_all()

        await asyncio.gather(*(one(login) for login in self.built.experts))

    async def bad_logins(self) -> list[int | None]:
        """BAD_LOGINS wrong passwords at once (GUESSES for one expert, the rest known and unknown emails)."""
        if not await self.reached(BURST_AT):
            return [None]  # the marking stopped first: the reasons are in `unexpected`

        async def one(email: str) -> int | None:
            async with Browser(self.server.url, self.tally) as browser:
                return (await browser.log_in(email, "not the password", kind="bad_login")).status

        return list(await asyncio.gather(*(one(email) for email in bad_login_emails(self.built, BAD_LOGINS, GUESSES))))

    async def import_paper(self, backup: PaperBackup, database_url: str, folder: Path) -> tuple[int | None, str]:
        """`podium import-marks` of the paper backup as its own process, once IMPORT_AT saves are acknowledged."""
        if not await self.reached(IMPORT_AT):
            return None, f"not run: the marking stopped after {len(self.acknowledged)} saves"
        workbook = folder / "marks.xlsx"
        workbook.write_bytes(marks_bytes(backup.rows))
        env = {**os.environ, "PODIUM_DATABASE_URL": database_url, "PODIUM_SECRET": "bench-secret-" + "x" * 40,
               "PODIUM_DATA_DIR": str(folder / "data"), "PODIUM_LANGUAGE": "en"}
        env.pop("PODIUM_REDIS_URL", None)  # as the server runs (bench.load.running_server)
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("podium")), "import-marks", "--event", self.built.event, "--skill",
            IMPORTED, "--stage", self.built.stage, str(workbook), env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), DEADLINE_S)
        return process.returncode, out.decode()

    async def edit_scheme(self, chief: ExpertLogin) -> list[int | None]:
        """The Chief Expert (a second browser of theirs) breaks the scheme's total (a draft) and restores it
        (ready), round after round, until the editor refuses because marks have come in."""
        scheme = generated_scheme(ASPECTS).aspects[0]
        assert scheme.kind == "J" and scheme.max_mark is not None
        form = {"description": scheme.description, "section": str(scheme.section), "type": "J",
                "max_mark": str(scheme.max_mark), **{f"descriptor_{d.score}": d.text for d in scheme.descriptors}}
        editor = f"/events/{self.built.event}/skills/{EDITED}/stages/{self.built.stage}/scheme/edit"
        statuses: list[int | None] = []
        try:
            async with Browser(self.server.url, self.tally) as browser:
                logged = await browser.log_in(chief.email, PASSWORD)
                if logged.status != 303:
                    self.unexpected.append(f"{chief.email} log-in to edit: {logged.status} {logged.error}")
                    return statuses
                await self._page(browser, editor, EDITOR_PAGE)
                for _round in range(EDITS):
                    for max_mark in (scheme.max_mark + 1, scheme.max_mark):
                        answer = await browser.post_form("edit", f"{editor}/aspects/{scheme.code}",
                                                         {**form, "max_mark": str(max_mark)})
                        statuses.append(answer.status)
                        self.editing.set()
                        if answer.status != 303:
                            return statuses
        finally:
            self.editing.set()
        return statuses


async def drafts_with_marks(database_url: str) -> list[str]:
    """The skills whose marking scheme is a draft although marks were recorded against it."""
    engine = create_engine(database_url, null_pool=True)
    try:
        async with session_factory(engine)() as session:
            drafts = (await session.execute(
                select(Skill.code, MarkingScheme.id).join(MarkingScheme, MarkingScheme.skill_id == Skill.id)
                .where(MarkingScheme.status == SchemeStatus.DRAFT.value)
            )).all()
            found = []
            for skill, scheme_id in drafts:
                aspects = select(Aspect.id).where(Aspect.scheme_id == scheme_id)
                scores = await session.scalar(select(JudgeScore.id).where(JudgeScore.aspect_id.in_(aspects)).limit(1))
                values = await session.scalar(select(Measurement.id).where(Measurement.aspect_id.in_(aspects)).limit(1))
                if scores is not None or values is not None:
                    found.append(skill)
            return found
    finally:
        await engine.dispose()


async def test_a_venue_day_has_no_server_error_and_keeps_every_acknowledged_mark_with_its_audit_record(
    database_url: str, tmp_path: Path
) -> None:
    built = await venue_world(database_url)
    backup = PaperBackup.of(built)
    tablets = {
        login.email: [s for s in expert_saves(built, login) if (s.skill, s.competitor) != (IMPORTED, backup.competitor)
                      ][:SAVES]
        for login in built.experts
    }
    chief = next(login for login in built.experts if login.skill == EDITED and login.index == 0)
    async with running_server(database_url, tmp_path) as server, asyncio.TaskGroup() as group:
        day = Day(built, server)
        group.create_task(day.browsers(tablets))
        burst = group.create_task(day.bad_logins())
        paper = group.create_task(day.import_paper(backup, database_url, tmp_path))
        editing = group.create_task(day.edit_scheme(chief))
    bad, (code, out), edits = burst.result(), paper.result(), editing.result()

    answers = "; ".join(f"{kind} {dict(counter)}" for kind, counter in day.tally.statuses.items())
    assert (day.tally.server_errors, day.tally.transport_error_count) == (0, 0), (
        f"answers: {answers}; no answer: {dict(day.tally.transport_errors)}; first: {day.tally.samples[:6]}")
    assert day.unexpected == []
    assert set(bad) <= {400, 429}, bad
    assert code == 0, out
    assert set(edits) <= {303, 409} and edits, edits
    assert len(day.acknowledged) > IMPORT_AT
    marks = await read_marks(database_url)
    trail = replay(marks.audit)
    acknowledged = {key(save): stored(save) for save in day.acknowledged}
    assert {k: marks.marks.get(k) for k in acknowledged} == acknowledged
    assert {k: trail.get(k) for k in acknowledged} == acknowledged, "an acknowledged mark without its audit record"
    assert {k: marks.marks.get(k) for k in backup.marks} == backup.marks
    assert marks.marks == trail, "marks and audit records disagree"
    assert await drafts_with_marks(database_url) == []
