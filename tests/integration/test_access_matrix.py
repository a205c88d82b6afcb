"""Who may reach what: every page and API route of the app against one role × route table (issue 8)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar
from litestar.routes import HTTPRoute, WebSocketRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import create_app
from competition.config import Settings
from competition.db import create_engine, session_factory
from competition.models import Competitor, Event, Expert, Institution, Sector, Skill, Stage
from competition.writer import write
from scoring import scheme_edit
from scoring.models import Aspect, JudgeScore
from tests.conftest import DATABASES, fresh_database
from tests.helpers import World, add_scheme, api_token, build_world, login

pytestmark = pytest.mark.asyncio(loop_scope="module")

# --- who is asking ---------------------------------------------------------------------------------

ANONYMOUS = "anonymous"
OTHER_SKILL = "other-skill expert E100"
EXPERT = "expert E003"
CONFLICTED = "expert E002"  # of C001's institution (RTK): conflicted for C001 only
CHIEF = "chief expert E001"
ORGANISER = "organiser"
ROLES = [ANONYMOUS, OTHER_SKILL, EXPERT, CONFLICTED, CHIEF, ORGANISER]
"""Every user is an organiser, a Chief Expert or an expert (competition.models.Role): there is no
signed-in visitor role, so E100 (an expert of another skill) stands for "some other signed-in user"."""

EMAILS = {
    OTHER_SKILL: "guntis@example.lv",
    EXPERT: "zane@example.lv",
    CONFLICTED: "peteris@example.lv",
    CHIEF: "inese@example.lv",
    ORGANISER: "organiser@example.lv",
}


@dataclass(frozen=True)
class Access:
    """An access class: who is let through. The others are refused: 401 from the API (403 where
    `anonymous_refusal` says so), a redirect to the log-in page for a page, 403 once signed in."""

    name: str
    allowed: frozenset[str]
    anonymous_refusal: int | None = None

    def __str__(self) -> str:
        return self.name


def access(name: str, *roles: str, anonymous_refusal: int | None = None) -> Access:
    return Access(name, frozenset(roles), anonymous_refusal)


PUBLIC = access("public", *ROLES)
SIGNED_IN = access("signed-in", OTHER_SKILL, EXPERT, CONFLICTED, CHIEF, ORGANISER)
ORGANISER_ONLY = access("organiser", ORGANISER)
SKILL_MANAGER = access("chief expert of the skill, organiser", CHIEF, ORGANISER)
SKILL_TEAM = access("expert of the skill (any), its chief expert, organiser", EXPERT, CONFLICTED, CHIEF, ORGANISER)
UNCONFLICTED_TEAM = access(
    "expert of the skill not conflicted for the competitor, its chief expert, organiser",
    EXPERT,
    CONFLICTED,
    CHIEF,
    ORGANISER,
)
MARKER = access(
    "expert of the skill not conflicted for the competitor (organisers do not mark)", EXPERT, CONFLICTED, CHIEF
)
UNPUBLISHED_RESULTS = access(
    "chief expert of the skill, organiser (before publication; anyone after)", CHIEF, ORGANISER, anonymous_refusal=403
)


# --- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One route: its access class, what an allowed caller gets for the request sent, and the request.

    The request is made so that it changes nothing for an allowed caller where it can (an empty form
    is refused field by field, an incomplete form cannot be locked): what is tested is the guard."""

    access: Access
    status: int
    params: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None
    json: dict[str, Any] | None = None
    multipart: bool = False
    note: str = ""
    """Why an allowed caller gets `status`, where it is not plain success."""
    prepare: str | None = None
    """A `Matrix` method that sets the stage (a record to delete) and gives path parameters."""


# Path parameters; a row's own `params` win. FINAL's scheme is the one the editor changes (it never gets marks).
PARAMS = {
    "event": "SL2023",
    "skill": "23",
    "stage": "SF1",
    "competitor": "C003",  # LVT: nobody of E001, E002, E003 is conflicted
    "sub": "A1",
    "subcriterion": "A1",
    "sub_criterion": "A1",
    "aspect": "A1.5",  # a judgement
}
FINAL = {"stage": "FINAL"}
EMPTY: dict[str, str] = {}
REASON = {"reason": "checked by the access matrix"}
NO_FILE = True

PREFIXES = {
    "{API}": "/api/v1/events/{event:str}/skills/{skill:str}/stages/{stage:str}",
    "{STAGE}": "/events/{event:str}/skills/{skill:str}/stages/{stage:str}",
    "{MARKING}": "/marking/{event:str}/{skill:str}/{stage:str}",
}
"""Shorthands of the table below: a skill's stage, under the API, the pages and the marking pages."""

TABLE: dict[str, Row] = {
    # accounts
    "GET /": Row(PUBLIC, 200),
    "GET /healthz": Row(PUBLIC, 200),
    "GET /login": Row(PUBLIC, 200),
    "POST /login": Row(PUBLIC, 400, form={"email": "nobody-{role}@example.lv", "password": "wrong"}),
    "POST /logout": Row(PUBLIC, 303, form=EMPTY),
    "POST /language": Row(PUBLIC, 303, form={"language": "en", "next": "/"}),
    "GET /api/v1/me": Row(SIGNED_IN, 200),
    # registration (organisers)
    "GET /events": Row(ORGANISER_ONLY, 200),
    "POST /events": Row(ORGANISER_ONLY, 422, form=EMPTY),
    "GET /events/import": Row(ORGANISER_ONLY, 200),
    "POST /events/import": Row(ORGANISER_ONLY, 400, multipart=NO_FILE),
    "GET /events/{event:str}": Row(ORGANISER_ONLY, 200),
    "GET /events/{item:str}/edit": Row(ORGANISER_ONLY, 200, params={"item": "SL2023"}),
    "POST /events/{item:str}/edit": Row(ORGANISER_ONLY, 422, params={"item": "SL2023"}, form=EMPTY),
    "POST /events/{item:str}/delete": Row(ORGANISER_ONLY, 303, form=EMPTY, prepare="spare_event"),
    "GET /events/{event:str}/stages": Row(ORGANISER_ONLY, 200),
    "POST /events/{event:str}/stages": Row(ORGANISER_ONLY, 422, form=EMPTY),
    "GET /events/{event:str}/stages/{item:str}/edit": Row(ORGANISER_ONLY, 200, params={"item": "SF1"}),
    "POST /events/{event:str}/stages/{item:str}/edit": Row(ORGANISER_ONLY, 422, params={"item": "SF1"}, form=EMPTY),
    "POST /events/{event:str}/stages/{item:str}/delete": Row(ORGANISER_ONLY, 303, form=EMPTY, prepare="spare_stage"),
    "GET /events/{event:str}/sectors": Row(ORGANISER_ONLY, 200),
    "POST /events/{event:str}/sectors": Row(ORGANISER_ONLY, 422, form=EMPTY),
    "GET /events/{event:str}/sectors/{item:str}/edit": Row(ORGANISER_ONLY, 200, prepare="sector"),
    "POST /events/{event:str}/sectors/{item:str}/edit": Row(ORGANISER_ONLY, 422, form=EMPTY, prepare="sector"),
    "POST /events/{event:str}/sectors/{item:str}/delete": Row(ORGANISER_ONLY, 303, form=EMPTY, prepare="spare_sector"),
    "GET /events/{event:str}/skills": Row(ORGANISER_ONLY, 200),
    "POST /events/{event:str}/skills": Row(ORGANISER_ONLY, 422, form=EMPTY),
    "GET /events/{event:str}/skills/{item:str}/edit": Row(ORGANISER_ONLY, 200, params={"item": "23"}),
    "POST /events/{event:str}/skills/{item:str}/edit": Row(ORGANISER_ONLY, 422, params={"item": "23"}, form=EMPTY),
    "POST /events/{event:str}/skills/{item:str}/delete": Row(ORGANISER_ONLY, 303, form=EMPTY, prepare="spare_skill"),
    "GET /institutions": Row(ORGANISER_ONLY, 200),
    "POST /institutions": Row(ORGANISER_ONLY, 422, form=EMPTY),
    "GET /institutions/{item:str}/edit": Row(ORGANISER_ONLY, 200, params={"item": "RTK"}),
    "POST /institutions/{item:str}/edit": Row(ORGANISER_ONLY, 422, params={"item": "RTK"}, form=EMPTY),
    "POST /institutions/{item:str}/delete": Row(ORGANISER_ONLY, 303, form=EMPTY, prepare="spare_institution"),
    "GET /events/{event:str}/competitors": Row(ORGANISER_ONLY, 200),
    "POST /events/{event:str}/competitors": Row(ORGANISER_ONLY, 422, form=EMPTY),
    "GET /events/{event:str}/competitors/{item:str}/edit": Row(ORGANISER_ONLY, 200, params={"item": "C001"}),
    "POST /events/{event:str}/competitors/{item:str}/edit": Row(
        ORGANISER_ONLY, 422, params={"item": "C001"}, form=EMPTY
    ),
    "POST /events/{event:str}/competitors/{item:str}/delete": Row(
        ORGANISER_ONLY, 303, form=EMPTY, prepare="spare_competitor"
    ),
    "GET /events/{event:str}/experts": Row(ORGANISER_ONLY, 200),
    "POST /events/{event:str}/experts": Row(ORGANISER_ONLY, 422, form=EMPTY),
    "GET /events/{event:str}/experts/{item:str}/edit": Row(ORGANISER_ONLY, 200, params={"item": "E001"}),
    "POST /events/{event:str}/experts/{item:str}/edit": Row(ORGANISER_ONLY, 422, params={"item": "E001"}, form=EMPTY),
    "POST /events/{event:str}/experts/{item:str}/delete": Row(ORGANISER_ONLY, 303, form=EMPTY, prepare="spare_expert"),
    "POST /events/{event:str}/experts/{item:str}/password": Row(
        ORGANISER_ONLY, 422, params={"item": "E001"}, form={"password": "short"}
    ),
    # results
    "GET /events/{event:str}/results": Row(PUBLIC, 200),
    "GET /events/{event:str}/results/export": Row(ORGANISER_ONLY, 200),
    "GET {STAGE}/results": Row(PUBLIC, 200),
    "GET {STAGE}/results/export": Row(SKILL_MANAGER, 200),
    "GET {STAGE}/results/competitors/{competitor:str}": Row(SKILL_MANAGER, 200),
    "GET {STAGE}/forms": Row(SKILL_TEAM, 200),
    "POST {STAGE}/results/publish": Row(ORGANISER_ONLY, 409, form=EMPTY, note="not every form is locked"),
    "POST {STAGE}/results/unpublish": Row(ORGANISER_ONLY, 303, form=REASON, note="not published: nothing to do"),
    "POST {STAGE}/results/advance": Row(
        ORGANISER_ONLY, 409, form=EMPTY, note="the semi-final's results are not complete"
    ),
    "GET {API}/results": Row(UNPUBLISHED_RESULTS, 200),
    # the marking API
    "PUT {API}/marks/{competitor:str}/{aspect:str}": Row(MARKER, 200, json={"score": 2}),
    "GET {API}/marks/{competitor:str}": Row(UNCONFLICTED_TEAM, 200),
    "POST {API}/forms/{competitor:str}/{subcriterion:str}/lock": Row(
        UNCONFLICTED_TEAM, 409, json={}, note="incomplete"
    ),
    "POST {API}/forms/{competitor:str}/{subcriterion:str}/unlock": Row(
        SKILL_MANAGER, 409, json=REASON, note="not locked"
    ),
    # marking pages
    "GET /marking": Row(SIGNED_IN, 200),
    "GET {MARKING}": Row(SKILL_TEAM, 200),
    "GET {MARKING}/forms/{competitor:str}/{sub:str}": Row(UNCONFLICTED_TEAM, 200),
    "POST {MARKING}/forms/{competitor:str}/{sub:str}/lock": Row(UNCONFLICTED_TEAM, 409, form=EMPTY, note="incomplete"),
    "POST {MARKING}/forms/{competitor:str}/{sub:str}/unlock": Row(SKILL_MANAGER, 409, form=REASON, note="not locked"),
    "GET {MARKING}/aspects/{aspect:str}": Row(SKILL_TEAM, 200),
    "GET {MARKING}/teams": Row(SKILL_MANAGER, 200),
    "POST {MARKING}/teams": Row(SKILL_MANAGER, 303, form=EMPTY, note="teams: every expert"),
    "GET {MARKING}/import": Row(SKILL_MANAGER, 200),
    "POST {MARKING}/import": Row(SKILL_MANAGER, 400, multipart=NO_FILE),
    "GET {MARKING}/marks-template.xlsx": Row(SKILL_TEAM, 200),
    "GET {MARKING}/audit": Row(SKILL_MANAGER, 200),
    # marking schemes
    "GET {STAGE}/scheme": Row(SKILL_TEAM, 200),
    "GET {STAGE}/scheme/download": Row(SKILL_TEAM, 200),
    "GET {STAGE}/scheme/marks-template": Row(SKILL_TEAM, 200),
    "GET {STAGE}/scheme/upload": Row(SKILL_MANAGER, 200),
    "POST {STAGE}/scheme/upload": Row(SKILL_MANAGER, 400, multipart=NO_FILE),
    "GET {STAGE}/scheme/edit": Row(SKILL_MANAGER, 200, params=FINAL),
    "POST {STAGE}/scheme/edit/aspects/{aspect:str}": Row(SKILL_MANAGER, 422, params=FINAL, form=EMPTY),
    "POST {STAGE}/scheme/edit/sub-criteria/{sub_criterion:str}/aspects": Row(
        SKILL_MANAGER, 303, params=FINAL, form={"kind": "M"}
    ),
    "POST {STAGE}/scheme/edit/aspects/{aspect:str}/remove": Row(
        SKILL_MANAGER, 303, params=FINAL, form=EMPTY, prepare="spare_aspect"
    ),
    # the live board
    "GET /live/{event:str}": Row(PUBLIC, 200),
    "GET /live/{event:str}/screen": Row(PUBLIC, 200),
    "GET /events/{event:str}/live": Row(ORGANISER_ONLY, 200),
    "POST /events/{event:str}/live/visibility": Row(ORGANISER_ONLY, 422, form={"policy": "nonsense"}),
    "POST /events/{event:str}/live/ceremony/{skill:str}/{stage:str}": Row(
        ORGANISER_ONLY, 422, params=FINAL, form={"step": "9"}
    ),
}
"""Every HTTP route of the app ("METHOD path template") → who may use it; /static and /schema are left out."""


def expand(route: str) -> str:
    for short, prefix in PREFIXES.items():
        route = route.replace(short, prefix)
    return route


MATRIX = {expand(route): row for route, row in TABLE.items()}

UNLISTED_PREFIXES = ("/static", "/schema")

WEBSOCKETS = {"/live/{event:str}/ws": "public; refused from another site's page (test_live_board.py)"}
"""WebSocket routes are not HTTP routes: listed here so that a new one is noticed too."""


def app_routes(app: Litestar) -> set[str]:
    routes = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(UNLISTED_PREFIXES):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                routes.add(f"{method} {route.path}")
    return routes


def fill(template: str, params: dict[str, str]) -> str:
    path = template
    for name, value in params.items():
        path = path.replace(f"{{{name}:str}}", value)
    assert "{" not in path, f"no value for a parameter of {template}"
    return path


# --- one world for the whole module ----------------------------------------------------------------


@dataclass
class Matrix:
    """The world, the app's client, every role's cookies (pages) and API token, and the spare records."""

    world: World
    client: AsyncTestClient[Litestar]
    sessions: async_sessionmaker[AsyncSession]
    jars: dict[str, httpx.Cookies]
    tokens: dict[str, str]
    sector_id: int

    async def log_in(self, role: str) -> None:
        self.client.cookies.clear()
        if role == ANONYMOUS:
            await self.client.get("/login")
        else:
            assert (await login(self.client, EMAILS[role])).status_code == 303
        self.jars[role] = httpx.Cookies(self.client.cookies)

    async def ask(self, role: str, method: str, path: str, row: Row) -> httpx.Response:
        """The request as the role's browser (pages, with its CSRF token) or API client (bearer token) sends it."""
        headers: dict[str, str] = {}
        self.client.cookies.clear()
        api = path.startswith("/api/")
        if api:
            if role != ANONYMOUS:
                headers["Authorization"] = f"Bearer {self.tokens[role]}"
        else:
            self.client.cookies = httpx.Cookies(self.jars[role])
            if method != "GET":
                headers["x-csrftoken"] = self.jars[role]["csrftoken"]
        kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
        if row.json is not None:
            kwargs["json"] = row.json
        elif row.multipart:
            kwargs["files"] = {"unrelated": ("notes.txt", b"not a workbook", "text/plain")}
        elif row.form is not None:
            kwargs["data"] = {name: value.format(role=role.split()[-1]) for name, value in row.form.items()}
        response = await self.client.request(method, path, **kwargs)
        if not api:
            self.jars[role] = httpx.Cookies(self.client.cookies)
        return response

    # --- what a row prepares: path parameters, and a spare record to delete where it deletes ---------

    async def _ensure(self, session: AsyncSession, model: Any, where: Any, make: Callable[[], Any]) -> Any:
        found = await session.scalar(select(model).where(where))
        if found is None:
            found = make()
            session.add(found)
            await session.commit()
        return found

    async def sector(self, role: str) -> dict[str, str]:
        return {"item": str(self.sector_id)}

    async def spare_event(self, role: str) -> dict[str, str]:
        async with self.sessions() as session:
            await self._ensure(
                session,
                Event,
                Event.code == "ZZ2099",
                lambda: Event(
                    code="ZZ2099", name="Spare", starts=dt.date(2099, 1, 1), ends=dt.date(2099, 1, 2), venue="Rīga"
                ),
            )
        return {"item": "ZZ2099"}

    async def spare_stage(self, role: str) -> dict[str, str]:
        event_id = self.world.event.id
        async with self.sessions() as session:
            await self._ensure(
                session,
                Stage,
                (Stage.code == "ZZ") & (Stage.event_id == event_id),
                lambda: Stage(
                    event_id=event_id,
                    code="ZZ",
                    name="Spare",
                    kind="semi_final",
                    starts=dt.date(2023, 3, 1),
                    ends=dt.date(2023, 3, 2),
                    venue="Rīga",
                ),
            )
        return {"item": "ZZ"}

    async def spare_sector(self, role: str) -> dict[str, str]:
        event_id = self.world.event.id
        async with self.sessions() as session:
            sector = await self._ensure(
                session,
                Sector,
                (Sector.name == "Spare") & (Sector.event_id == event_id),
                lambda: Sector(event_id=event_id, name="Spare"),
            )
            return {"item": str(sector.id)}

    async def spare_skill(self, role: str) -> dict[str, str]:
        event_id, sector_id = self.world.event.id, self.sector_id
        async with self.sessions() as session:
            await self._ensure(
                session,
                Skill,
                (Skill.code == "99") & (Skill.event_id == event_id),
                lambda: Skill(event_id=event_id, code="99", name="Spare", sector_id=sector_id, advance=2),
            )
        return {"item": "99"}

    async def spare_institution(self, role: str) -> dict[str, str]:
        async with self.sessions() as session:
            await self._ensure(
                session,
                Institution,
                Institution.code == "ZZZ",
                lambda: Institution(code="ZZZ", name="Spare school", kind="school"),
            )
        return {"item": "ZZZ"}

    async def spare_competitor(self, role: str) -> dict[str, str]:
        world = self.world
        async with self.sessions() as session:  # of the other skill: nothing of skill 23 sees it
            await self._ensure(
                session,
                Competitor,
                Competitor.code == "C999",
                lambda: Competitor(
                    event_id=world.event.id,
                    code="C999",
                    first_name="Spare",
                    last_name="Competitor",
                    birth_date=dt.date(2004, 1, 1),
                    institution_id=world.schools[3].id,
                    skill_id=world.other_skill.id,
                    stage_id=world.semi_final.id,
                ),
            )
        return {"item": "C999"}

    async def spare_expert(self, role: str) -> dict[str, str]:
        world = self.world
        async with self.sessions() as session:
            await self._ensure(
                session,
                Expert,
                Expert.code == "E999",
                lambda: Expert(
                    event_id=world.event.id,
                    code="E999",
                    first_name="Spare",
                    last_name="Expert",
                    email="spare@example.lv",
                    institution_id=world.schools[3].id,
                    skill_id=world.other_skill.id,
                ),
            )
        return {"item": "E999"}

    async def spare_aspect(self, role: str) -> dict[str, str]:
        """An aspect added to FINAL's scheme for this request to remove (A1.5 and the rest stay)."""
        async with self.sessions() as session:
            skill = await session.get(Skill, self.world.skill.id)
            stage = await session.get(Stage, self.world.final.id)
            assert skill is not None and stage is not None
            _scheme, code = await write(session, scheme_edit.add_aspect, None, skill, stage, "A1", "M")
            await session.commit()
        return {"aspect": code}


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=DATABASES)
async def matrix(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Matrix]:
    """One world per database for the whole module: building it and logging six people in is the slow part."""
    tmp = tmp_path_factory.mktemp("access")
    url = await fresh_database(request, tmp)
    engine: AsyncEngine = create_engine(url, null_pool=True)
    sessions = session_factory(engine)
    async with sessions() as session:
        world = await build_world(session)
        await add_scheme(session, world.skill, world.semi_final)
        await add_scheme(session, world.skill, world.final)
        tokens = {role: await api_token(session, world.user(email)) for role, email in EMAILS.items()}
        sector_id = world.skill.sector_id
        assert sector_id is not None
    settings = Settings(database_url=url, secret="test-secret-" + "x" * 32, data_dir=tmp / "data")
    app_engine = create_engine(url)  # pooled, used only in the loop the test client runs the app in
    app = create_app(settings, engine=app_engine)

    async def dispose_app_engine(app: Litestar) -> None:
        await app_engine.dispose()

    app.on_shutdown.append(dispose_app_engine)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        client.params = httpx.QueryParams({"lang": "en"})
        found = Matrix(world, client, sessions, {}, tokens, sector_id)
        for role in ROLES:
            await found.log_in(role)
        yield found
    await engine.dispose()


# --- the tests -------------------------------------------------------------------------------------


async def test_every_route_is_in_the_table(matrix: Matrix) -> None:
    routes = app_routes(matrix.client.app)
    assert routes - MATRIX.keys() == set(), "new routes: add each to MATRIX with its access class"
    assert MATRIX.keys() - routes == set(), "MATRIX lists routes the app no longer has"
    sockets = {route.path for route in matrix.client.app.routes if isinstance(route, WebSocketRoute)}
    assert sockets == WEBSOCKETS.keys(), "a new WebSocket: classify it in WEBSOCKETS and test who may open it"


def refusal(row: Row, role: str, api: bool) -> int:
    if role != ANONYMOUS:
        return 403
    if api:
        return row.access.anonymous_refusal or 401
    return 302  # pages send the visitor to log in


def route_id(route: str) -> str:
    """The route as the table writes it (pytest replaces ids over 100 characters with a number)."""
    for short, prefix in PREFIXES.items():
        route = route.replace(prefix, short)
    return route.replace(":str", "")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(MATRIX), ids=route_id)
async def test_access(matrix: Matrix, route: str, role: str) -> None:
    row = MATRIX[route]
    method, template = route.split(" ", 1)
    params = {**PARAMS, **row.params}
    if row.prepare:
        params.update(await getattr(matrix, row.prepare)(role))
    path = fill(template, params)
    api = path.startswith("/api/")
    response = await matrix.ask(role, method, path, row)
    allowed = role in row.access.allowed
    expected = row.status if allowed else refusal(row, role, api)
    verdict = f"allowed, {row.note}" if allowed and row.note else "allowed" if allowed else "refused"
    what = f"{role} → {method} {path} ({row.access}: {verdict})"
    assert response.status_code == expected, f"{what}: {response.status_code} {response.text[:300]}"
    if not allowed and role == ANONYMOUS and not api:
        assert response.headers["location"] == f"/login?next={path}", what
    if not allowed and api:
        assert "detail" in response.json(), what
    assert response.headers["x-content-type-options"] == "nosniff", what
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"], what
    assert response.headers["referrer-policy"] == "same-origin", what
    if route == "POST /logout":
        await matrix.log_in(role)  # the next rows need the role signed in again


# --- conflicts of interest: E002 is of C001's institution (RTK), not of C002's (RVT) ----------------

MARK = expand("PUT {API}/marks/{competitor:str}/{aspect:str}")
CONFLICT_ROUTES = [
    MARK,
    expand("GET {API}/marks/{competitor:str}"),
    expand("POST {API}/forms/{competitor:str}/{subcriterion:str}/lock"),
    expand("GET {MARKING}/forms/{competitor:str}/{sub:str}"),
    expand("POST {MARKING}/forms/{competitor:str}/{sub:str}/lock"),
]


@pytest.mark.parametrize("route", CONFLICT_ROUTES, ids=route_id)
async def test_a_conflicted_expert_is_refused_their_own_institutions_competitor(matrix: Matrix, route: str) -> None:
    row = MATRIX[route]
    method, template = route.split(" ", 1)
    own = await matrix.ask(CONFLICTED, method, fill(template, {**PARAMS, "competitor": "C001"}), row)
    other = await matrix.ask(CONFLICTED, method, fill(template, {**PARAMS, "competitor": "C002"}), row)
    assert own.status_code == 403, f"E002 → {method} … C001: {own.status_code} {own.text[:300]}"
    assert other.status_code == row.status, f"E002 → {method} … C002: {other.status_code} {other.text[:300]}"


async def test_a_refused_mark_is_not_recorded(matrix: Matrix) -> None:
    method, template = MARK.split(" ", 1)
    path = fill(template, {**PARAMS, "competitor": "C001", "aspect": "A1.6"})
    assert (await matrix.ask(CONFLICTED, method, path, MATRIX[MARK])).status_code == 403
    async with matrix.sessions() as session:
        scores = await session.scalars(
            select(JudgeScore.id)
            .join(Aspect, Aspect.id == JudgeScore.aspect_id)
            .join(Competitor, Competitor.id == JudgeScore.competitor_id)
            .where(Aspect.code == "A1.6", Competitor.code == "C001")
        )
        assert list(scores) == []
