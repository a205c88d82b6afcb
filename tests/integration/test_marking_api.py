"""The marking API of CONTRACT.md on SQLite and PostgreSQL: blind judging, measurements by type,
conflicts of interest, marking teams, idempotent saves, sign-off, locking, unlocking and the audit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.models import AuditRecord
from competition.writer import write
from scoring.marking import find_place, set_marking_team
from scoring.models import Aspect, JudgeScore, Measurement, SubCriterion
from tests.helpers import World, add_scheme, api_token, build_world, csrf_headers, login

pytestmark = pytest.mark.usefixtures("english")

BASE = "/api/v1/events/SL2023/skills/23/stages/SF1"


@dataclass
class Marking:
    world: World
    tokens: dict[str, str]
    aspects: dict[str, str]
    """kind → an aspect code: J, pass_fail, deduction, number_completed, choice."""
    sub: str
    """A sub-criterion with at least one J aspect and M aspects."""

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
async def marking(session: AsyncSession) -> Marking:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    tokens = {}
    for who in ["inese", "peteris", "zane", "andris", "dace", "guntis", "organiser"]:
        tokens[who] = await api_token(session, world.user(f"{who}@example.lv"))
    await session.commit()
    rows = (
        await session.execute(
            select(Aspect.code, Aspect.kind, Aspect.calculation)
            .where(Aspect.scheme_id == scheme.id)
            .order_by(Aspect.id)
        )
    ).all()
    aspects: dict[str, str] = {}
    for code, kind, calculation in rows:
        aspects.setdefault("J" if kind == "J" else calculation, code)
    sub = aspects["J"].split(".")[0]
    await session.commit()  # end the read: every check later reads what the app committed
    return Marking(world, tokens, aspects, sub)


def mark_url(competitor: str, aspect: str) -> str:
    return f"{BASE}/marks/{competitor}/{aspect}"


async def audit_count(session: AsyncSession, action: str) -> int:
    await session.commit()
    return await session.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == action)) or 0


async def test_judges_score_blind_until_all_three_are_in(
    client: AsyncTestClient[Any], session: AsyncSession, marking: Marking
) -> None:
    # C002 is from RVT: Pēteris (RTK), Andris (LVT) and Dace (OT) may judge them.
    aspect = marking.aspects["J"]
    first = await client.put(mark_url("C002", aspect), json={"score": 2}, headers=marking.bearer("peteris"))
    assert first.status_code == 200, first.text
    assert first.json() == {"competitor": "C002", "aspect": aspect, "status": "waiting", "mark": None}
    seen = await client.get(f"{BASE}/marks/C002", headers=marking.bearer("andris"))
    line = next(m for m in seen.json()["marks"] if m["aspect"] == aspect)
    assert line["score"] is None and line["mark"] is None and "scores" not in line  # blind
    await client.put(mark_url("C002", aspect), json={"score": 3}, headers=marking.bearer("andris"))
    third = await client.put(mark_url("C002", aspect), json={"score": 2}, headers=marking.bearer("dace"))
    assert third.json()["status"] == "saved"
    max_mark = await session.scalar(select(Aspect.max_mark).where(Aspect.code == aspect))
    assert max_mark is not None
    from scoring.rules import format_mark, judgement_mark

    assert third.json()["mark"] == format_mark(judgement_mark(max_mark, [2, 3, 2]))
    own = await client.get(f"{BASE}/marks/C002", headers=marking.bearer("peteris"))
    line = next(m for m in own.json()["marks"] if m["aspect"] == aspect)
    assert line["score"] == 2 and line["status"] == "saved" and "scores" not in line
    chief = await client.get(f"{BASE}/marks/C002", headers=marking.bearer("inese"))
    line = next(m for m in chief.json()["marks"] if m["aspect"] == aspect)
    assert line["scores"] == {"E002": 2, "E004": 3, "E005": 2}


async def test_a_spread_beyond_the_rule_is_a_disagreement_until_rescored(
    client: AsyncTestClient[Any], marking: Marking
) -> None:
    aspect = marking.aspects["J"]
    for who, score in [("peteris", 0), ("andris", 2), ("dace", 3)]:
        response = await client.put(mark_url("C002", aspect), json={"score": score}, headers=marking.bearer(who))
    assert response.json() == {"competitor": "C002", "aspect": aspect, "status": "disagreement", "mark": None}
    rescored = await client.put(mark_url("C002", aspect), json={"score": 2}, headers=marking.bearer("peteris"))
    assert rescored.json()["status"] == "saved"


async def test_the_same_save_twice_records_once_and_a_later_one_wins(
    client: AsyncTestClient[Any], session: AsyncSession, marking: Marking
) -> None:
    aspect = marking.aspects["J"]
    for _ in range(2):
        response = await client.put(mark_url("C002", aspect), json={"score": 1}, headers=marking.bearer("peteris"))
        assert response.status_code == 200
    assert await audit_count(session, "score") == 1
    await client.put(mark_url("C002", aspect), json={"score": 3}, headers=marking.bearer("peteris"))
    assert await audit_count(session, "score") == 2
    await session.commit()
    assert list(await session.scalars(select(JudgeScore.score))) == [3]
    last = await session.scalar(
        select(AuditRecord).where(AuditRecord.action == "score").order_by(AuditRecord.id.desc())
    )
    assert last is not None and last.actor == "peteris@example.lv"
    assert '"score": 1' in (last.old_value or "") and '"score": 3' in (last.new_value or "")


async def test_no_expert_marks_a_competitor_of_their_own_institution(
    client: AsyncTestClient[Any], session: AsyncSession, marking: Marking
) -> None:
    # Pēteris and C001 are both from RTK. What he sends is never read: a valid mark and a score of 4 alike are
    # refused as not his to give, so a conflicted expert learns nothing about the aspect.
    for aspect, body in [
        (marking.aspects["J"], {"score": 2}),
        (marking.aspects["pass_fail"], {"value": "yes"}),
        (marking.aspects["J"], {"score": 4}),
        (marking.aspects["J"], {"value": "1"}),
        (marking.aspects["deduction"], {"value": "-1"}),
        (marking.aspects["pass_fail"], {"score": 1}),
    ]:
        response = await client.put(mark_url("C001", aspect), json=body, headers=marking.bearer("peteris"))
        assert response.status_code == 403
        assert "own institution" in response.json()["detail"]
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(JudgeScore)) == 0
    assert await session.scalar(select(func.count()).select_from(Measurement)) == 0
    seen = await client.get(f"{BASE}/marks/C001", headers=marking.bearer("peteris"))
    assert seen.status_code == 403


async def test_only_the_marking_team_marks_its_sub_criterion(
    client: AsyncTestClient[Any], session: AsyncSession, marking: Marking
) -> None:
    place = await find_place(session, "SL2023", "23", "SF1")
    chief = marking.world.user("inese@example.lv")
    await write(session, set_marking_team, place, chief, marking.sub, ["E003", "E004", "E005"])
    await session.commit()
    refused = await client.put(
        mark_url("C002", marking.aspects["J"]), json={"score": 2}, headers=marking.bearer("peteris")
    )
    assert refused.status_code == 403 and marking.sub in refused.json()["detail"]
    other_skill = await client.put(
        mark_url("C002", marking.aspects["J"]), json={"score": 2}, headers=marking.bearer("guntis")
    )
    assert other_skill.status_code == 403
    accepted = await client.put(
        mark_url("C003", marking.aspects["J"]), json={"score": 2}, headers=marking.bearer("zane")
    )
    assert accepted.status_code == 200
    assert await audit_count(session, "team") == 1


async def test_a_team_smaller_than_the_judging_team_is_refused(session: AsyncSession, marking: Marking) -> None:
    from competition.errors import Invalid

    place = await find_place(session, "SL2023", "23", "SF1")
    with pytest.raises(Invalid, match="at least 3"):
        await write(session, set_marking_team, place, None, marking.sub, ["E003", "E004"])


@pytest.mark.parametrize(
    ("kind", "body", "says"),
    [
        ("J", {"score": 4}, "is not one of 0, 1, 2, 3"),
        ("J", {"score": -1}, "is not one of 0, 1, 2, 3"),
        ("J", {}, "needs a score"),
        ("J", {"value": 1}, "needs a score 0, 1, 2 or 3"),
        ("pass_fail", {"score": 1}, "is a measurement"),
        ("pass_fail", {"value": "maybe"}, ""),
        ("deduction", {"value": "0.5"}, "needs a short written reason"),
        ("deduction", {"value": "-1", "reason": "x"}, ""),
        ("number_completed", {"value": 99}, "outside"),
        ("choice", {"value": "Somewhere else"}, ""),
    ],
)
async def test_an_invalid_mark_is_422_naming_the_aspect_and_changes_nothing(
    client: AsyncTestClient[Any], session: AsyncSession, marking: Marking, kind: str, body: dict[str, Any], says: str
) -> None:
    aspect = marking.aspects[kind]
    response = await client.put(mark_url("C002", aspect), json=body, headers=marking.bearer("peteris"))
    assert response.status_code == 422, response.text
    assert aspect in response.json()["detail"] and says in response.json()["detail"]
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(JudgeScore)) == 0
    assert await session.scalar(select(func.count()).select_from(Measurement)) == 0
    assert (
        await session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.competitor_id.is_not(None))
        )
        == 0
    )


async def test_measurements_by_calculation_type(client: AsyncTestClient[Any], marking: Marking) -> None:
    put = client.put
    passed = await put(
        mark_url("C002", marking.aspects["pass_fail"]), json={"value": "jā"}, headers=marking.bearer("peteris")
    )
    assert passed.json()["status"] == "saved" and passed.json()["mark"] != "0.00"
    failed = await put(
        mark_url("C002", marking.aspects["pass_fail"]), json={"value": 0}, headers=marking.bearer("peteris")
    )
    assert failed.json()["mark"] == "0.00"
    deducted = await put(
        mark_url("C002", marking.aspects["deduction"]),
        json={"value": "0,25", "reason": "loose cable"},
        headers=marking.bearer("peteris"),
    )
    assert deducted.status_code == 200, deducted.text
    chosen = await put(mark_url("C002", marking.aspects["choice"]), json={"value": 4}, headers=marking.bearer("andris"))
    assert chosen.json()["mark"] == "0.00"
    seen = await client.get(f"{BASE}/marks/C002", headers=marking.bearer("dace"))
    lines = {m["aspect"]: m for m in seen.json()["marks"]}
    assert lines[marking.aspects["deduction"]]["value"] == "0.25"
    assert lines[marking.aspects["deduction"]]["reason"] == "loose cable"
    assert lines[marking.aspects["choice"]]["value"] == "4"


async def test_sign_off_locks_a_complete_form_and_only_the_chief_expert_unlocks_with_a_reason(
    client: AsyncTestClient[Any], session: AsyncSession, marking: Marking
) -> None:
    lock = f"{BASE}/forms/C002/{marking.sub}/lock"
    unlock = f"{BASE}/forms/C002/{marking.sub}/unlock"
    incomplete = await client.post(lock, headers=marking.bearer("peteris"))
    assert incomplete.status_code == 409 and marking.aspects["J"] in incomplete.json()["detail"]

    await session.commit()
    rows = (
        await session.execute(
            select(Aspect.code, Aspect.kind, Aspect.calculation, Aspect.possible)
            .join(SubCriterion, SubCriterion.id == Aspect.sub_criterion_id)
            .where(SubCriterion.code == marking.sub)
        )
    ).all()
    for code, kind, calculation, possible in rows:
        if kind == "J":
            for who in ["peteris", "andris", "dace"]:
                await client.put(mark_url("C002", code), json={"score": 2}, headers=marking.bearer(who))
        else:
            value = {"number_completed": possible, "deduction": 0, "choice": 1}.get(calculation, 1)
            await client.put(mark_url("C002", code), json={"value": value}, headers=marking.bearer("peteris"))
    await session.commit()
    own_school = await client.post(f"{BASE}/forms/C001/{marking.sub}/lock", headers=marking.bearer("peteris"))
    assert own_school.status_code in (403, 409)
    locked = await client.post(lock, headers=marking.bearer("peteris"))
    assert locked.status_code == 200, locked.text
    assert locked.json() == {"competitor": "C002", "sub_criterion": marking.sub, "locked": True}
    refused = await client.put(
        mark_url("C002", marking.aspects["J"]), json={"score": 3}, headers=marking.bearer("peteris")
    )
    assert refused.status_code == 409 and "locked" in refused.json()["detail"]
    assert (await client.post(lock, headers=marking.bearer("peteris"))).status_code == 409

    by_expert = await client.post(unlock, json={"reason": "typo"}, headers=marking.bearer("peteris"))
    assert by_expert.status_code == 403
    no_reason = await client.post(unlock, json={"reason": " "}, headers=marking.bearer("inese"))
    assert no_reason.status_code == 422
    unlocked = await client.post(
        unlock, json={"reason": "A1.3 was scored for the wrong robot"}, headers=marking.bearer("inese")
    )
    assert unlocked.status_code == 200 and unlocked.json()["locked"] is False
    again = await client.put(
        mark_url("C002", marking.aspects["J"]), json={"score": 3}, headers=marking.bearer("peteris")
    )
    assert again.status_code == 200
    await session.commit()
    entry = await session.scalar(select(AuditRecord).where(AuditRecord.action == "unlock"))
    assert (
        entry is not None
        and entry.reason == "A1.3 was scored for the wrong robot"
        and entry.actor == "inese@example.lv"
    )
    assert await audit_count(session, "lock") == 1


async def test_credentials_and_unknown_codes(client: AsyncTestClient[Any], marking: Marking) -> None:
    aspect = marking.aspects["J"]
    assert (await client.put(mark_url("C002", aspect), json={"score": 2})).status_code == 401
    bad = await client.put(mark_url("C002", aspect), json={"score": 2}, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and "detail" in bad.json()
    assert (await client.get(f"{BASE}/marks/C002")).status_code == 401
    for url in [
        mark_url("C999", aspect),
        mark_url("C002", "Z9.9"),
        f"/api/v1/events/SL2023/skills/99/stages/SF1/marks/C002/{aspect}",
        f"/api/v1/events/SL2023/skills/23/stages/FINAL/marks/C002/{aspect}",
    ]:
        response = await client.put(url, json={"score": 2}, headers=marking.bearer("peteris"))
        assert response.status_code == 404, url
    organiser = await client.put(mark_url("C002", aspect), json={"score": 2}, headers=marking.bearer("organiser"))
    assert organiser.status_code == 403


async def test_a_browser_session_saves_with_its_csrf_header_only(
    client: AsyncTestClient[Any], marking: Marking
) -> None:
    await login(client, "peteris@example.lv")
    aspect = marking.aspects["J"]
    forged = await client.put(mark_url("C002", aspect), json={"score": 2})
    assert forged.status_code == 403
    saved = await client.put(mark_url("C002", aspect), json={"score": 2}, headers=await csrf_headers(client))
    assert saved.status_code == 200 and saved.json()["status"] == "waiting"


async def test_the_marking_api_is_in_openapi(client: AsyncTestClient[Any]) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    prefix = "/api/v1/events/{event}/skills/{skill}/stages/{stage}"
    assert "put" in paths[f"{prefix}/marks/{{competitor}}/{{aspect}}"]
    assert "get" in paths[f"{prefix}/marks/{{competitor}}"]
    assert "post" in paths[f"{prefix}/forms/{{competitor}}/{{subcriterion}}/lock"]
    assert "post" in paths[f"{prefix}/forms/{{competitor}}/{{subcriterion}}/unlock"]


async def test_judges_saving_at_once_lose_nothing_and_resends_record_once(
    client: AsyncTestClient[Any], session: AsyncSession, marking: Marking
) -> None:
    import asyncio

    aspects = list(await session.scalars(select(Aspect.code).where(Aspect.kind == "J").order_by(Aspect.id).limit(6)))
    await session.commit()
    saves = [
        client.put(mark_url("C002", aspect), json={"score": 2}, headers=marking.bearer(who))
        for aspect in aspects
        for who in ["peteris", "andris", "dace"]
        for _resend in range(2)
    ]
    responses = await asyncio.gather(*saves)
    assert all(response.status_code == 200 for response in responses), [r.text for r in responses]
    assert await audit_count(session, "score") == len(aspects) * 3
    seen = await client.get(f"{BASE}/marks/C002", headers=marking.bearer("inese"))
    statuses = {m["aspect"]: m["status"] for m in seen.json()["marks"]}
    assert all(statuses[aspect] == "saved" for aspect in aspects)


async def test_a_judging_team_of_four_needs_four_scores_and_is_fixed_once_a_form_is_locked(
    client: AsyncTestClient[Any], session: AsyncSession, marking: Marking
) -> None:
    from competition.errors import Conflict, Invalid
    from scoring.marking import set_judging_team_size

    place = await find_place(session, "SL2023", "23", "SF1")
    with pytest.raises(Invalid, match="3 to 5"):
        await write(session, set_judging_team_size, place, None, 6)
    await write(session, set_judging_team_size, place, marking.world.user("inese@example.lv"), 4)
    aspect = marking.aspects["J"]
    for who in ["peteris", "andris", "dace"]:
        response = await client.put(mark_url("C002", aspect), json={"score": 2}, headers=marking.bearer(who))
    assert response.json()["status"] == "waiting"
    fourth = await client.put(mark_url("C002", aspect), json={"score": 3}, headers=marking.bearer("inese"))
    assert fourth.json()["status"] == "saved"
    assert await audit_count(session, "judges") == 1
    await session.commit()
    from scoring.models import Form

    sub_id = await session.scalar(select(SubCriterion.id).where(SubCriterion.code == marking.sub))
    competitor_id = marking.world.competitors[1].id
    session.add(Form(sub_criterion_id=sub_id, competitor_id=competitor_id, locked=True))
    await session.commit()
    place = await find_place(session, "SL2023", "23", "SF1")
    with pytest.raises(Conflict, match="locked already"):
        await write(session, set_judging_team_size, place, None, 3)
