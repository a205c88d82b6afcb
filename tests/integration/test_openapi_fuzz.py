"""Schemathesis fuzzes every /api/v1 operation of the OpenAPI schema on a real competition: no 500, and every
answer (status code, content type, body) is one the schema documents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.hooks import HookDispatcher, HookScope
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.models import User
from scoring.models import Aspect, SubCriterion
from tests.helpers import add_scheme, api_token, build_world, mark_all

pytestmark = pytest.mark.usefixtures("english")

CALLERS = ["organiser@example.lv", "inese@example.lv", "zane@example.lv", None]
"""An organiser, the skill's Chief Expert, an expert on its marking team, and no credentials."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


PLACE = {"event": "SL2023", "skill": "23", "stage": "SF1"}
"""The skill and stage with a marking scheme: requests for it reach the marking and results handlers."""
VALUES = ["1", "0", "yes", "no", "2", "1.5", "0,5", "", "Option 1", "\x00", 1, 0, 2.5, -1, 10**20, 1e300, "1e999"]
"""Measurement values: plausible ones, and those that once reached PostgreSQL and failed there (too big for the
column, NUL)."""
DEDUCTIONS = [0, 1, "0,5", "999999.99", 10**20, 1e300, "1e999", -1]
REASONS = ["", " ", "Re-marked after the appeal", "Kabelis vaļīgs", "a\x00b"]


async def aspect_kinds(session: AsyncSession) -> list[tuple[str, str]]:
    """Each aspect's code and kind: J, or the measurement's calculation."""
    rows = await session.execute(select(Aspect.code, Aspect.kind, Aspect.calculation).order_by(Aspect.id))
    return [(code, "J" if kind == "J" else calculation) for code, kind, calculation in rows]


async def competition_codes(session: AsyncSession) -> dict[str, list[str]]:
    """A competition with a marking scheme, a locked complete form and a complete unlocked one; its codes."""
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    pēteris, zane, andris, dace = world.experts
    await mark_all(session, scheme, world.competitors[3], [pēteris, zane, andris], lock=True)  # C004 (OT)
    await mark_all(session, scheme, world.competitors[1], [pēteris, andris, dace], lock=False)  # C002 (RVT)
    first_of_kind: dict[str, str] = {}
    for code, kind in await aspect_kinds(session):
        first_of_kind.setdefault(kind, code)
    aspects = list(first_of_kind.values())  # one of each kind: each is marked differently
    subs = list(await session.scalars(select(SubCriterion.code).where(SubCriterion.scheme_id == scheme.id)))
    await session.commit()
    codes = {
        "event": ["SL2023", "SL2024"],
        "skill": ["23", "04", "99"],
        "stage": ["SF1", "FINAL"],
        "competitor": [c.code for c in world.competitors],
        "aspect": aspects,
        "subcriterion": subs,
    }
    return {name: [*known, known[0][:2] + "\x00" + known[0][2:]] for name, known in codes.items()}  # NUL: issue 8


def towards_the_handlers(codes: dict[str, list[str]], kinds: dict[str, str]) -> HookDispatcher:
    """Hooks that make requests use real codes (mostly of PLACE) and plausible marks, so that they get past
    the 404s into the marking and results handlers."""
    hooks = HookDispatcher(scope=HookScope.TEST)

    @hooks.hook
    def before_generate_path_parameters(context: Any, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        names = [p.name for p in context.operation.path_parameters]
        if not names:
            return strategy
        known = {name: st.sampled_from(codes[name]) for name in names}
        place = {name: st.just(PLACE[name]) for name in names if name in PLACE}
        in_place = st.fixed_dictionaries({**known, **place})
        # In PLACE but with fuzzed competitor, aspect and sub-criterion codes.
        fuzzed_in_place = strategy.map(lambda fuzzed: {**getattr(fuzzed, "value", fuzzed), **PLACE})
        anywhere = st.fixed_dictionaries(known)  # unknown events and skills, skills and stages without a scheme
        return st.one_of(in_place, in_place, in_place, anywhere, fuzzed_in_place)

    @hooks.hook
    def before_generate_body(context: Any, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        reasons = st.sampled_from(REASONS)
        if context.operation.path.endswith("/unlock"):
            plausible = st.fixed_dictionaries({"reason": reasons})
        else:
            plausible = st.one_of(
                st.fixed_dictionaries({"score": st.integers(-1, 4)}),
                st.fixed_dictionaries({"value": st.sampled_from(VALUES)}, optional={"reason": reasons}),
            )
        return st.one_of(plausible, plausible, strategy)

    @hooks.hook
    def flatmap_case(context: Any, case: Case) -> st.SearchStrategy[Case]:
        # A mark of the aspect's own kind (a score, a total deducted, ...), or the body generated for it.
        kind = kinds.get(case.path_parameters.get("aspect", "")) if case.method == "PUT" else None
        if kind is None:
            return st.just(case)
        reasons = st.sampled_from(REASONS)
        if kind == "J":
            mark = st.fixed_dictionaries({"score": st.integers(-1, 4)})
        else:
            values = DEDUCTIONS if kind == "deduction" else VALUES
            mark = st.fixed_dictionaries({"value": st.sampled_from(values), "reason": reasons})

        def with_mark(body: dict[str, Any]) -> Case:
            case.body = body
            return case

        return st.one_of(mark.map(with_mark), mark.map(with_mark), st.just(case))

    return hooks


@pytest.fixture
async def api_schema(app: Litestar, session: AsyncSession) -> AsyncIterator[tuple[BaseSchema, HookDispatcher]]:
    """The app's OpenAPI (its /api/v1 operations), served from the app itself, and the hooks for real codes."""
    codes = await competition_codes(session)
    kinds = dict(await aspect_kinds(session))
    await session.commit()
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app).include(path_regex="^/api/v1/")
    yield schema, towards_the_handlers(codes, kinds)
    shutdown_lifespans()


@pytest.fixture
async def tokens(api_schema: tuple[BaseSchema, HookDispatcher], session: AsyncSession) -> dict[str, str]:
    users = {user.email: user for user in await session.scalars(select(User))}
    found = {email: await api_token(session, users[email]) for email in CALLERS if email}
    await session.commit()
    return found


OPERATIONS = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/events/{event}/skills/{skill}/stages/{stage}/results"),
    ("PUT", "/api/v1/events/{event}/skills/{skill}/stages/{stage}/marks/{competitor}/{aspect}"),
    ("GET", "/api/v1/events/{event}/skills/{skill}/stages/{stage}/marks/{competitor}"),
    ("POST", "/api/v1/events/{event}/skills/{skill}/stages/{stage}/forms/{competitor}/{subcriterion}/lock"),
    ("POST", "/api/v1/events/{event}/skills/{skill}/stages/{stage}/forms/{competitor}/{subcriterion}/unlock"),
]


def test_every_api_operation_is_fuzzed(api_schema: tuple[BaseSchema, HookDispatcher]) -> None:
    """OPERATIONS is the schema's whole /api/v1: a new operation is fuzzed as soon as it is documented."""
    schema, _hooks = api_schema
    documented = {(result.ok().method.upper(), result.ok().path) for result in schema.get_all_operations()}
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p[7:]}" for m, p in OPERATIONS])
def test_api_answers_only_as_documented(
    api_schema: tuple[BaseSchema, HookDispatcher],
    tokens: dict[str, str],
    subtests: pytest.Subtests,
    method: str,
    path: str,
) -> None:
    """Valid and invalid requests, with arbitrary codes and then with real ones, from each caller in turn (on
    one competition, which the requests change): never a 500, and the answer's status, content type and body
    are documented for the operation."""
    schema, towards_handlers = api_schema
    operation = schema[path][method]
    for caller in CALLERS:
        headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller else {}
        for hooks, examples in [(None, 10), (towards_handlers, 20)]:
            cases = st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE, hooks=hooks),
                operation.as_strategy(GenerationMode.NEGATIVE, hooks=hooks),
            )

            # Bounded and reproducible: the same requests on every run, nothing remembered between runs.
            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=cases)
            def answers_as_documented(case: Case) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            with subtests.test(caller=caller or "anonymous", codes="real" if hooks else "fuzzed"):
                answers_as_documented()
