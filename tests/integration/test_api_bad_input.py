"""What the OpenAPI fuzzing found (issue 8), kept as plain tests: NUL in codes and reasons, deductions too big
for the database, malformed JSON and the documented error answers."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.models import AuditRecord
from scoring.models import Aspect, Measurement
from tests.helpers import World, add_scheme, api_token, build_world, mark_all

pytestmark = pytest.mark.usefixtures("english")

BASE = "/api/v1/events/SL2023/skills/23/stages/SF1"


async def aspect_of(session: AsyncSession, calculation: str) -> str:
    code = await session.scalar(select(Aspect.code).where(Aspect.calculation == calculation).order_by(Aspect.id))
    assert code is not None
    return code


async def with_scheme(session: AsyncSession) -> tuple[World, dict[str, str]]:
    """The world with a scheme for SF1, and C004's forms complete and locked."""
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    await mark_all(session, scheme, world.competitors[3], world.experts[:3])
    tokens = {who: await api_token(session, world.user(f"{who}@example.lv")) for who in ["zane", "organiser"]}
    await session.commit()
    return world, {who: f"Bearer {token}" for who, token in tokens.items()}


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/events/SL%002023/skills/23/stages/SF1/results"),
        ("GET", "/api/v1/events/SL2023/skills/2%003/stages/SF1/results"),
        ("GET", f"{BASE}/marks/C0%0001"),
        ("PUT", f"{BASE}/marks/C001/A1%00.1"),
        ("POST", f"{BASE}/forms/C0%0001/A1/lock"),
        ("POST", f"{BASE}/forms/C001/A%001/unlock"),
        ("GET", "/events/SL%002023/results?lang=en"),
    ],
)
async def test_a_nul_in_a_code_is_not_found(
    client: AsyncTestClient[Any], session: AsyncSession, method: str, url: str
) -> None:
    """PostgreSQL refuses NUL in text: the look-up used to fail with a 500."""
    _world, bearer = await with_scheme(session)
    body = {"score": 2} if method == "PUT" else {"reason": "x"} if url.endswith("unlock") else None
    response = await client.request(method, url, json=body, headers={"Authorization": bearer["organiser"]})
    assert response.status_code == 404
    if url.startswith("/api/"):
        assert response.json() == {"detail": "Not Found"}


async def test_a_nul_in_a_reason_is_dropped(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    """A deduction's reason and an unlock's reason are stored without the NUL (a 500 on PostgreSQL before)."""
    world, bearer = await with_scheme(session)
    aspect = await aspect_of(session, "deduction")
    mark = {"value": 1, "reason": "Cable\x00 loose "}
    response = await client.put(f"{BASE}/marks/C001/{aspect}", json=mark, headers={"Authorization": bearer["zane"]})
    assert response.status_code == 200, response.text
    await session.commit()
    reason = select(Measurement.reason).where(Measurement.competitor_id == world.competitors[0].id)
    assert await session.scalar(reason) == "Cable loose"

    sub = aspect.split(".")[0]
    response = await client.post(
        f"{BASE}/forms/C004/{sub}/unlock",
        json={"reason": "\x00Appeal\x00"},
        headers={"Authorization": bearer["organiser"]},
    )
    assert response.status_code == 200, response.text
    await session.commit()
    assert await session.scalar(select(AuditRecord.reason).where(AuditRecord.action == "unlock")) == "Appeal"


@pytest.mark.parametrize("value", [10**20, 1e300, "1e999", "1000000"])
async def test_a_deduction_too_big_to_store_is_refused(
    client: AsyncTestClient[Any], session: AsyncSession, value: object
) -> None:
    """Marks are NUMERIC(8, 2): a bigger total deducted used to overflow the column on PostgreSQL (a 500)."""
    world, bearer = await with_scheme(session)
    aspect = await aspect_of(session, "deduction")
    response = await client.put(
        f"{BASE}/marks/C001/{aspect}", json={"value": value, "reason": "x"}, headers={"Authorization": bearer["zane"]}
    )
    assert response.status_code == 422
    assert "is above 999999.99" in response.json()["detail"]
    await session.commit()
    stored = select(func.count()).select_from(Measurement).where(Measurement.competitor_id == world.competitors[0].id)
    assert await session.scalar(stored) == 0


async def test_the_biggest_deduction_that_fits_is_stored(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    _world, bearer = await with_scheme(session)
    aspect = await aspect_of(session, "deduction")
    mark = {"value": "999999.99", "reason": "x"}
    response = await client.put(f"{BASE}/marks/C001/{aspect}", json=mark, headers={"Authorization": bearer["zane"]})
    assert (response.status_code, response.json()["mark"]) == (200, "0.00")


async def test_malformed_json_is_a_documented_400(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    """The OpenAPI said 400 answers carry `status_code` and `extra` (Litestar's default); they carry `detail` only."""
    _world, bearer = await with_scheme(session)
    response = await client.put(
        f"{BASE}/marks/C001/A1.1",
        content=b"\x95\xc4",
        headers={"Authorization": bearer["zane"], "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert set(response.json()) == {"detail"}
    schema = (await client.get("/schema/openapi.json")).json()
    for path, operations in schema["paths"].items():
        if path.startswith("/api/v1/events/"):
            for operation in operations.values():
                answer = operation["responses"]["400"]["content"]["application/json"]["schema"]
                assert answer == {"$ref": "#/components/schemas/ErrorDocument"}, path


async def test_api_me_documents_its_401_and_its_answer(client: AsyncTestClient[Any]) -> None:
    """The OpenAPI had only a 200 of any object for /api/v1/me, which answers 401 without credentials."""
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}
    schema = (await client.get("/schema/openapi.json")).json()
    responses = schema["paths"]["/api/v1/me"]["get"]["responses"]
    assert responses["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorDocument"}
    assert responses["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/MeDocument"}
    assert set(schema["components"]["schemas"]["MeDocument"]["properties"]) == {"email", "name", "role", "language"}
