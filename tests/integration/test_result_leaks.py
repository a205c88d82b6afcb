"""Hidden results never reach a page, export, API answer or board message that may not show them (issue 8).

Three skill stages are fully marked with figures that appear nowhere else: skill 23's semi-final and final,
skill 04's final. Every GET route of the app (the access matrix's table, which fails on a route it does not
list) is asked by every role for each of those stages, and every answer (HTML, JSON, a downloaded workbook's
cells) is searched for the raw totals, scale scores, criterion marks and medals the role may not see; then the
board (phone page, big screen, the socket's first message) under each visibility policy. This is done before
publication, with skill 23's final published, and after it is unpublished again. A role may see a stage's
figures when they are published, when it is an organiser, or when it is the skill's Chief Expert; the board
may also show provisional raw totals under the `live` policy. Each role that may see figures is checked to
find them, so the search is known to find what it looks for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import random
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
import openpyxl
import pytest
import pytest_asyncio
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import create_app
from competition.config import Settings
from competition.db import create_engine, session_factory
from competition.models import Competitor, Expert, Skill, Stage, StageEntry
from scoring.models import Aspect, MarkingScheme
from scoring.results import stage_results
from tests.conftest import DATABASES, fresh_database
from tests.helpers import World, add_scheme, add_user, api_token, build_world, csrf_token, login, mark_all
from tests.integration.test_access_matrix import MATRIX, PARAMS, fill

pytestmark = pytest.mark.asyncio(loop_scope="module")

ANONYMOUS = "anonymous"
OTHER_SKILL = "expert E100 of skill 04"
EXPERT = "expert E003"
CONFLICTED = "expert E002"
CHIEF = "chief expert E001 of skill 23"
OTHER_CHIEF = "chief expert E200 of skill 04"
ORGANISER = "organiser"
ROLES = [ANONYMOUS, OTHER_SKILL, EXPERT, CONFLICTED, CHIEF, OTHER_CHIEF, ORGANISER]
EMAILS = {
    OTHER_SKILL: "guntis@example.lv",
    EXPERT: "zane@example.lv",
    CONFLICTED: "peteris@example.lv",
    CHIEF: "inese@example.lv",
    OTHER_CHIEF: "maris@example.lv",
    ORGANISER: "organiser@example.lv",
}
CHIEF_OF = {CHIEF: "23", OTHER_CHIEF: "04"}
TEAM_OF = {OTHER_SKILL: "04", EXPERT: "23", CONFLICTED: "23", CHIEF: "23", OTHER_CHIEF: "04"}

STAGES = [("23", "SF1", "C001"), ("23", "FINAL", "C001"), ("04", "FINAL", "C101")]
"""Each marked skill stage, with a competitor of it for the routes that name one."""
MEDAL_WORDS = ("Gold", "Silver", "Bronze", "Medallion")
BOARD = ["/live/SL2023", "/live/SL2023/screen"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- the figures and where they show ---------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """One skill stage's secret figures as the results compute them, and the patterns that find them."""

    skill: str
    stage: str
    raws: list[str]
    raw_of: dict[str, str]
    """Competitor code → raw total."""
    scales: list[int]
    criteria: list[str]
    """Criterion marks unusual enough not to be anything else on a page: ≥ 5, not a multiple of 0.05, and no
    other stage's figure."""
    medals: bool

    def raw_pattern(self, raw: str) -> re.Pattern[str]:
        whole, cents = raw.split(".")
        return re.compile(rf"(?<![\d.,]){whole}[.,]{cents}(?!\d)")

    def found(self, text: str, *, raws: bool = True, criteria: bool = True) -> list[str]:
        """What of these figures `text` shows."""
        shown = [f"raw {raw}" for raw in self.raws if raws and self.raw_pattern(raw).search(text)]
        shown += [f"criterion mark {m}" for m in self.criteria if criteria and self.raw_pattern(m).search(text)]
        shown += [
            f"scale {scale}"
            for scale in self.scales
            if re.search(rf">\s*{scale}\s*<|\"scale\":\s*{scale}(?!\d)", text)
        ]
        return shown

    def all_raws_in(self, text: str) -> bool:
        return all(self.raw_pattern(raw).search(text) for raw in self.raws)

    def __str__(self) -> str:
        return f"{self.skill}/{self.stage}"


def readable(response: httpx.Response) -> str:
    """The answer as text to search: a workbook as its cells (numbers also with 2 decimals), else the body."""
    if response.headers.get("content-type", "").startswith(XLSX):
        book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
        cells = []
        for sheet in book.worksheets:
            for row in sheet.iter_rows(values_only=True):
                for value in row:
                    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                        cells.append(f">{value}< >{float(value):.2f}<")
                    elif value is not None:
                        cells.append(f">{value}<")
        book.close()
        return "\n".join(cells)
    return response.text


def may_see(role: str, figures: Figures, published: set[tuple[str, str]]) -> bool:
    return (
        (figures.skill, figures.stage) in published
        or role == ORGANISER
        or CHIEF_OF.get(role) == figures.skill
    )


def scores(offset: int) -> Callable[[Aspect], int]:
    """Judges' scores that differ aspect by aspect and competitor by competitor (the same in every run)."""
    return lambda aspect: random.Random(f"{aspect.code}/{offset}").randrange(4)


# --- one world for the module ----------------------------------------------------------------------


@dataclass
class Leaks:
    """The world, the app's client, each role's cookies and API token, and which stages are published now."""

    world: World
    client: AsyncTestClient[Litestar]
    sessions: async_sessionmaker[AsyncSession]
    figures: list[Figures]
    jars: dict[str, httpx.Cookies] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    published: set[tuple[str, str]] = field(default_factory=set)

    @contextlib.contextmanager
    def as_role(self, role: str) -> Iterator[None]:
        self.client.cookies = httpx.Cookies(self.jars[role])
        try:
            yield
        finally:
            self.jars[role] = httpx.Cookies(self.client.cookies)

    async def get(self, role: str, path: str) -> httpx.Response:
        with self.as_role(role):
            return await self.client.get(path, follow_redirects=False)

    async def organiser_posts(self, path: str, data: dict[str, str]) -> None:
        with self.as_role(ORGANISER):
            token = await csrf_token(self.client)
            response = await self.client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)
        assert response.status_code in (200, 303), f"{path}: {response.status_code} {response.text[:300]}"

    def hidden(self, role: str, text: str, *, board_live: bool = False) -> list[str]:
        """What `text` shows that `role` may not see (on the board under `live`: provisional raw totals may show)."""
        shown = []
        for figures in self.figures:
            if may_see(role, figures, self.published):
                continue
            outsider = TEAM_OF.get(role) != figures.skill
            shown += [
                f"{figures} {what}" for what in figures.found(text, raws=not board_live, criteria=outsider)
            ]
        if not any(f.medals and may_see(role, f, self.published) for f in self.figures):
            shown += [f"medal word {word!r}" for word in MEDAL_WORDS if word in text]
        return shown


async def _other_skill_final(session: AsyncSession, world: World) -> tuple[MarkingScheme, list[Competitor]]:
    """Skill 04's final: three competitors, a Chief Expert (E200, maris@example.lv) and a team of three."""
    other = world.other_skill
    competitors = [
        Competitor(event_id=world.event.id, code=code, first_name=first, last_name="Cita",
                   birth_date=world.event.starts, institution_id=world.schools[i].id, skill_id=other.id,
                   stage_id=world.final.id)
        for code, first, i in [("C101", "Ilze", 0), ("C102", "Rūta", 1), ("C103", "Edgars", 2)]
    ]
    session.add_all(competitors)
    chief_user = await add_user(session, "maris@example.lv", "chief_expert", "Māris Vadītājs")
    world.users[chief_user.email] = chief_user
    team = [
        Expert(event_id=world.event.id, code=code, first_name=first, last_name="Cits", email=email,
               institution_id=world.schools[3].id, skill_id=other.id, role=role, user_id=user_id)
        for code, first, email, role, user_id in [
            ("E200", "Māris", chief_user.email, "chief_expert", chief_user.id),
            ("E201", "Ivars", "ivars@example.lv", "expert", None),
            ("E202", "Laura", "laura@example.lv", "expert", None),
        ]
    ]
    session.add_all(team)
    await session.flush()
    session.add_all(StageEntry(competitor_id=c.id, stage_id=world.final.id) for c in competitors)
    await session.commit()
    scheme = await add_scheme(session, other, world.final)
    judges = [world.other_skill_expert, team[1], team[2]]
    for offset, competitor in enumerate(competitors, start=20):
        await mark_all(session, scheme, competitor, judges, score=scores(offset))
    return scheme, competitors


async def _figures(session: AsyncSession, world: World, skill: Skill, stage: Stage) -> Figures:
    results = await stage_results(session, world.event, skill, stage)
    assert results is not None
    lines = results.document(False)["competitors"]
    assert lines and all(line["complete"] for line in lines)
    raws = [line["raw"] for line in lines if line["raw"] is not None]
    criteria = [
        mark
        for line in lines
        for mark in (line["criteria"] or {}).values()
        if Decimal(mark) >= 5 and Decimal(mark) % Decimal("0.05") != 0
    ]
    return Figures(
        skill.code,
        stage.code,
        raws,
        {line["competitor"]: line["raw"] for line in lines if line["raw"] is not None},
        [line["scale"] for line in lines if line["scale"] is not None],
        criteria,
        any(line["medal"] for line in lines),
    )


def _only_their_own(figures: list[Figures]) -> list[Figures]:
    """The figures without criterion marks that another stage has too (finding those proves nothing)."""
    counts = Counter(mark for f in figures for mark in {*f.criteria, *f.raws})
    return [dataclasses.replace(f, criteria=[m for m in f.criteria if counts[m] == 1]) for f in figures]


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=DATABASES)
async def leaks(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Leaks]:
    tmp = tmp_path_factory.mktemp("leaks")
    url = await fresh_database(request, tmp)
    engine: AsyncEngine = create_engine(url, null_pool=True)
    sessions = session_factory(engine)
    async with sessions() as session:
        world = await build_world(session)
        semi = await add_scheme(session, world.skill, world.semi_final)
        final = await add_scheme(session, world.skill, world.final)
        session.add_all(StageEntry(competitor_id=c.id, stage_id=world.final.id) for c in world.competitors)
        await session.commit()
        for offset, competitor in enumerate(world.competitors):
            await mark_all(session, semi, competitor, world.experts[:3], score=scores(offset))
            await mark_all(session, final, competitor, world.experts[:3], score=scores(offset + 10))
        await _other_skill_final(session, world)
        figures = [
            await _figures(session, world, world.skill, world.semi_final),
            await _figures(session, world, world.skill, world.final),
            await _figures(session, world, world.other_skill, world.final),
        ]
        tokens = {role: await api_token(session, world.user(email)) for role, email in EMAILS.items()}
    figures = _only_their_own(figures)
    every_raw = [raw for f in figures for raw in f.raws]
    assert len(set(every_raw)) == len(every_raw), f"distinct raw totals make the search meaningful: {every_raw}"
    assert all(f.criteria for f in figures), "some criterion marks are unusual enough to search for"
    assert figures[1].medals and figures[2].medals
    settings = Settings(database_url=url, secret="test-secret-" + "x" * 32, data_dir=tmp / "data")
    app_engine = create_engine(url)
    app = create_app(settings, engine=app_engine)

    async def dispose_app_engine(app: Litestar) -> None:
        await app_engine.dispose()

    app.on_shutdown.append(dispose_app_engine)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        client.params = httpx.QueryParams({"lang": "en"})
        found = Leaks(world, client, sessions, figures, tokens=tokens)
        for role in ROLES:
            client.cookies.clear()
            if role == ANONYMOUS:
                await client.get("/login")
            else:
                assert (await login(client, EMAILS[role])).status_code == 303
            found.jars[role] = httpx.Cookies(client.cookies)
        yield found
    await engine.dispose()


# --- what is asked ---------------------------------------------------------------------------------

SKIPPED = {"/login", "/healthz"}
"""GET routes that carry no competition data at all."""


def every_get_path() -> list[str]:
    """Every GET route the access matrix lists, filled in for each marked skill stage where it names one."""
    paths: list[str] = []
    for route, row in MATRIX.items():
        method, template = route.split(" ", 1)
        if method != "GET" or template in SKIPPED:
            continue
        params = {**PARAMS, **row.params}
        if row.prepare == "sector":
            params["item"] = "1"
        if "{skill:str}" not in template and "{competitor:str}" not in template:
            paths.append(fill(template, {**params, "stage": "FINAL"}))
            continue
        for skill, stage, competitor in STAGES:
            path = fill(template, {**params, "skill": skill, "stage": stage, "competitor": competitor})
            paths.append(path)
            if template.endswith("/forms"):
                paths.append(f"{path}?competitor={competitor}")
    return sorted(set(paths))


async def walk(leaks: Leaks) -> dict[tuple[str, str], str]:
    """Every role asks every GET path; nothing it may not see is in any answer. Gives what each role was shown."""
    seen: dict[tuple[str, str], str] = {}
    problems: list[str] = []
    answered: set[str] = set()
    for path in every_get_path():
        for role in ROLES:
            if path.startswith("/api/"):
                headers = {"Authorization": f"Bearer {leaks.tokens[role]}"} if role != ANONYMOUS else {}
                leaks.client.cookies.clear()
                response = await leaks.client.get(path, headers=headers, follow_redirects=False)
            else:
                response = await leaks.get(role, path)
            assert response.status_code < 500, f"{role} → {path}: {response.status_code} {response.text[:300]}"
            text = readable(response)
            if response.status_code == 200:
                seen[(role, path)] = text
            if response.status_code in (200, 409 if path.endswith("/scheme/edit") else 200):
                answered.add(path)  # a marked scheme can no longer be edited: 409 to everyone
            problems += [f"{role} → {path} ({response.status_code}): {what}" for what in leaks.hidden(role, text)]
    assert not problems, "hidden figures shown:\n" + "\n".join(problems[:40])
    assert answered == set(every_get_path()), f"paths nobody could read: {set(every_get_path()) - answered}"
    return seen


async def board(leaks: Leaks, policy: str) -> dict[str, str]:
    """The board as each role sees it (both pages and the socket's first message), checked for hidden figures."""
    shown: dict[str, str] = {}
    problems: list[str] = []
    for role in ROLES:
        texts = [(await leaks.get(role, path)).text for path in BOARD]
        with leaks.as_role(role), await leaks.client.websocket_connect("/live/SL2023/ws?lang=en") as socket:
            texts.append(socket.receive_text(timeout=10))
        assert f'data-policy="{policy}"' in texts[-1], f"{role}: the board is not under {policy}"
        shown[role] = "\n".join(texts)
        problems += [
            f"{role} → board ({policy}): {what}"
            for what in leaks.hidden(role, shown[role], board_live=policy == "live")
        ]
    assert not problems, "hidden figures on the board:\n" + "\n".join(problems[:40])
    return shown


def stage_path(skill: str, stage: str, tail: str = "/results") -> str:
    return f"/events/SL2023/skills/{skill}/stages/{stage}{tail}"


def api_path(skill: str, stage: str) -> str:
    return f"/api/v1/events/SL2023/skills/{skill}/stages/{stage}/results"


# --- the tests -------------------------------------------------------------------------------------


async def test_before_publication_only_organisers_and_the_skills_chief_expert_see_figures(leaks: Leaks) -> None:
    seen = await walk(leaks)
    semi, final, other = leaks.figures
    for role, figures in [(CHIEF, semi), (CHIEF, final), (OTHER_CHIEF, other), (ORGANISER, final), (ORGANISER, other)]:
        for path in [
            stage_path(figures.skill, figures.stage),
            stage_path(figures.skill, figures.stage, "/results/export"),
            api_path(figures.skill, figures.stage),
        ]:
            assert figures.all_raws_in(seen[(role, path)]), f"{role} does not find {figures}'s figures in {path}"
    assert all(f.all_raws_in(seen[(ORGANISER, "/events/SL2023/results/export")]) for f in leaks.figures)
    marks_page = seen[(CHIEF, stage_path("23", "SF1", "/results/competitors/C001"))]
    assert semi.raw_pattern(semi.raw_of["C001"]).search(marks_page), "the Chief Expert sees C001's marks"


@pytest.mark.parametrize("policy", ["progress", "live", "final", "ceremony"])
async def test_the_board_shows_nothing_hidden_under_any_policy(leaks: Leaks, policy: str) -> None:
    await leaks.organiser_posts("/events/SL2023/live/visibility", {"policy": policy})
    shown = await board(leaks, policy)
    if policy == "live":  # the positive control: provisional totals of every stage in marking
        assert leaks.figures[2].all_raws_in(shown[ANONYMOUS])


async def test_a_published_final_shows_to_everyone_and_nothing_else_does(leaks: Leaks) -> None:
    await leaks.organiser_posts(stage_path("23", "FINAL", "/results/publish"), {})
    leaks.published.add(("23", "FINAL"))
    await leaks.organiser_posts("/events/SL2023/live/visibility", {"policy": "final"})
    seen = await walk(leaks)
    final = leaks.figures[1]
    for role in ROLES:
        assert final.all_raws_in(seen[(role, stage_path("23", "FINAL"))]), f"{role} does not see the published final"
        assert "Gold" in seen[(role, "/events/SL2023/results")], f"{role} does not see the medal table"
    assert final.all_raws_in(seen[(ANONYMOUS, api_path("23", "FINAL"))])
    shown = await board(leaks, "final")
    assert all(final.all_raws_in(text) for text in shown.values())


async def test_unpublished_again_the_final_is_hidden_again(leaks: Leaks) -> None:
    await leaks.organiser_posts(stage_path("23", "FINAL", "/results/unpublish"), {"reason": "a form was wrong"})
    leaks.published.discard(("23", "FINAL"))
    await walk(leaks)
    await board(leaks, "final")
