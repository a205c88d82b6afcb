"""`GET /api/v1/events/{event}/skills/{skill}/stages/{stage}/results`: the contract's document; 403 until
published except for the skill's Chief Expert and organisers (no figure leaks), 401 bad token, 404 unknown."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from competition.writer import write
from scoring.publishing import publish_results
from scoring.results import stage_results
from tests.helpers import World, add_scheme, api_token, build_world, mark_all

pytestmark = pytest.mark.usefixtures("english")

URL = "/api/v1/events/SL2023/skills/23/stages/SF1/results"


async def marked(session: AsyncSession) -> World:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    for competitor, score in zip(world.competitors, [3, 2, 1, 2], strict=True):
        await mark_all(session, scheme, competitor, world.experts[:3], score=score)
    return world


async def raw_totals(session: AsyncSession, world: World) -> list[str]:
    results = await stage_results(session, world.event, world.skill, world.semi_final)
    assert results is not None
    return [line["raw"] for line in results.document(False)["competitors"] if line["raw"]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("who", [None, "peteris@example.lv", "guntis@example.lv"])
async def test_unpublished_results_are_forbidden_and_carry_no_figure(
    client: AsyncTestClient[Any], session: AsyncSession, who: str | None
) -> None:
    """Anonymous callers, the skill's own experts and experts of other skills get 403 and no figures."""
    world = await marked(session)
    headers = bearer(await api_token(session, world.user(who))) if who else {"accept-language": "en"}
    response = await client.get(URL, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"detail": "The results of skill 23 in stage SF1 are not published yet."}
    for raw in await raw_totals(session, world):
        assert raw.encode() not in response.content


@pytest.mark.parametrize("who", ["organiser@example.lv", "inese@example.lv"])
async def test_chief_expert_and_organisers_read_unpublished_results(
    client: AsyncTestClient[Any], session: AsyncSession, who: str
) -> None:
    world = await marked(session)
    response = await client.get(URL, headers=bearer(await api_token(session, world.user(who))))
    assert response.status_code == 200
    document = response.json()
    assert document["published"] is False
    assert [line["competitor"] for line in document["competitors"]] == ["C001", "C002", "C004", "C003"]
    assert document["competitors"][0]["raw"] == "100.00"


async def test_published_results_are_for_everyone(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    world = await marked(session)
    await write(session, publish_results, world.organiser, world.event, world.skill, world.semi_final)
    response = await client.get(URL)
    assert response.status_code == 200
    results = await stage_results(session, world.event, world.skill, world.semi_final)
    assert results is not None
    assert response.json() == results.document(published=True)


async def test_a_bad_token_is_401_even_for_published_results(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    world = await marked(session)
    await write(session, publish_results, world.organiser, world.event, world.skill, world.semi_final)
    response = await client.get(URL, headers=bearer("pod_not-a-token"))
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("/api/v1/events/XX/skills/23/stages/SF1/results", "There is no event with code XX."),
        ("/api/v1/events/SL2023/skills/99/stages/SF1/results", "There is no skill 99 in SL2023."),
        ("/api/v1/events/SL2023/skills/23/stages/SF9/results", "There is no stage SF9 in SL2023."),
        ("/api/v1/events/SL2023/skills/23/stages/FINAL/results", "Skill 23 has no marking scheme for stage FINAL."),
    ],
)
async def test_unknown_codes_are_404(
    client: AsyncTestClient[Any], session: AsyncSession, url: str, detail: str
) -> None:
    world = await marked(session)
    response = await client.get(url, headers=bearer(await api_token(session, world.organiser)))
    assert (response.status_code, response.json()) == (404, {"detail": detail})


async def test_the_results_api_is_in_openapi_with_its_response_model(client: AsyncTestClient[Any]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/events/{event}/skills/{skill}/stages/{stage}/results"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ResultsDocument"
    }
    assert {"401", "403", "404"} <= set(operation["responses"])
    line = schema["components"]["schemas"]["CompetitorDocument"]["properties"]
    assert set(line) == {"competitor", "name", "institution", "complete", "raw", "rank", "scale", "medal",
                         "criteria", "advances"}
