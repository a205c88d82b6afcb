"""The marking scheme editor through the test client: each change saved and audited, the totals and the status
recomputed, messages beside the field for refused values, aspects added and removed with renumbering, no edit
once marks exist, and an edited scheme downloaded imports back as itself."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.models import AuditRecord
from scoring.cis_xlsx import read_scheme
from scoring.models import MarkingScheme
from scoring.scheme import full_scheme_query, scheme_data_of
from tests.helpers import add_scheme, build_world, csrf_headers, form_post, login, mark_all

SCHEME = "/events/SL2023/skills/23/stages/SF1/scheme"
EDIT = SCHEME + "/edit"
HTMX = {"hx-request": "true", "accept-language": "en"}

A11 = {
    "description": "Notebook has a dated entry for each competition day, signed by both team members",
    "type": "pass_fail", "max_mark": "0.5", "section": "2",
}
"""A1.1 of the mobile robotics scheme as its form sends it."""


async def stored(session: AsyncSession) -> MarkingScheme:
    """The scheme as the database has it now (a new transaction, so not an earlier snapshot)."""
    await session.commit()
    query = select(MarkingScheme).options(*full_scheme_query()).execution_options(populate_existing=True)
    scheme = await session.scalar(query)
    assert scheme is not None
    return scheme


def aspects(scheme: MarkingScheme) -> dict[str, Any]:
    return {a.code: a for c in scheme.criteria for s in c.sub_criteria for a in s.aspects}


async def audits(session: AsyncSession, action: str) -> list[AuditRecord]:
    await session.commit()
    query = select(AuditRecord).where(AuditRecord.action == action).execution_options(populate_existing=True)
    return list(await session.scalars(query))


async def htmx_post(client: AsyncTestClient[Any], url: str, data: dict[str, str]) -> Any:
    return await client.post(url, data=data, headers={**HTMX, **await csrf_headers(client)})


@pytest.fixture
async def chief(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    """The world with the mobile robotics scheme in the semi-final, its Chief Expert logged in."""
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    await login(client, "inese@example.lv")


@pytest.mark.usefixtures("chief")
async def test_a_new_max_mark_is_saved_audited_and_the_totals_follow(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    page = await client.get(EDIT, headers=HTMX | {"hx-request": "false"})
    assert page.status_code == 200 and 'id="aspect-A1-1"' in page.text
    response = await htmx_post(client, f"{EDIT}/aspects/A1.1", {**A11, "max_mark": "1,5"})
    assert response.status_code == 200
    assert "Saved" in response.text
    assert 'id="scheme-totals"' in response.text and 'hx-swap-oob="true"' in response.text
    assert "101.00" in response.text  # 100 + 1
    assert "Draft: cannot be marked yet" in response.text
    scheme = await stored(session)
    assert aspects(scheme)["A1.1"].max_mark == Decimal("1.5") and scheme.status == "draft"
    [record] = await audits(session, "scheme_aspect_changed")
    assert record.subject == "scheme 23 A1.1" and record.actor
    assert record.old_value is not None and "0.50" in record.old_value and "scheme_status" not in record.old_value
    assert record.new_value is not None and "1.50" in record.new_value and "draft" in record.new_value
    back = await htmx_post(client, f"{EDIT}/aspects/A1.1", A11)
    assert "100.00" in back.text and "Ready for marking" in back.text
    assert (await stored(session)).status == "ready"
    assert len(await audits(session, "scheme_aspect_changed")) == 2


@pytest.mark.usefixtures("chief")
async def test_the_same_values_again_record_nothing(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    response = await htmx_post(client, f"{EDIT}/aspects/A1.1", A11)
    assert response.status_code == 200 and "Saved" in response.text
    assert await audits(session, "scheme_aspect_changed") == []


@pytest.mark.usefixtures("chief")
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_mark", "abc", "The max mark must be a number"),
        ("max_mark", "0", "The max mark must be above 0."),
        ("max_mark", "1.255", "The max mark has at most 2 decimals."),
        ("max_mark", "", "Enter the max mark."),
        ("section", "9", "The standards table has no section 9."),
        ("type", "ranged", "Choose a judgement or a kind of measurement."),
    ],
)
async def test_a_refused_value_gets_its_message_beside_the_field_and_changes_nothing(
    client: AsyncTestClient[Any], session: AsyncSession, field: str, value: str, message: str
) -> None:
    before = scheme_data_of(await stored(session))
    response = await htmx_post(client, f"{EDIT}/aspects/A1.1", {**A11, field: value})
    assert response.status_code == 200
    assert f'<p id="e-A1-1-{field}" class="field-error" hx-swap-oob="true">{message}' in response.text
    assert "Not saved" in response.text
    assert scheme_data_of(await stored(session)) == before
    assert await audits(session, "scheme_aspect_changed") == []


@pytest.mark.usefixtures("chief")
async def test_a_plain_form_refused_comes_back_with_the_message_and_422(client: AsyncTestClient[Any]) -> None:
    response = await form_post(client, f"{EDIT}/aspects/A1.1", {**A11, "max_mark": "-1"}, headers={
        "accept-language": "en"})
    assert response.status_code == 422
    assert "The max mark must be above 0." in response.text
    assert 'value="-1"' in response.text  # what was typed stays in the field
    saved = await form_post(client, f"{EDIT}/aspects/A1.1", {**A11, "max_mark": "0.75"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"{EDIT}#aspect-A1-1"


@pytest.mark.usefixtures("chief")
async def test_a_judgement_becomes_a_count_and_back_with_its_descriptors(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    judged = aspects(await stored(session))["A1.5"]
    texts = {f"descriptor_{d.score}": d.text for d in judged.descriptors}
    base = {"description": judged.description, "max_mark": "1", "section": "3"}
    missing = await htmx_post(client, f"{EDIT}/aspects/A1.5", {**base, "type": "number_completed"})
    assert "Enter how many items there are to complete" in missing.text
    counted = await htmx_post(client, f"{EDIT}/aspects/A1.5", {**base, "type": "number_completed", "possible": "4"})
    assert "Saved" in counted.text
    aspect = aspects(await stored(session))["A1.5"]
    assert (aspect.kind, aspect.calculation, aspect.possible, aspect.descriptors) == ("M", "number_completed", 4, [])
    three = {key: text for key, text in texts.items() if key != "descriptor_3"}
    judged_again = await htmx_post(client, f"{EDIT}/aspects/A1.5", {**base, "type": "J", **three})
    assert "has 3 descriptors; it needs scores 0, 1, 2 and 3" in judged_again.text
    assert "Saved" in judged_again.text  # a missing descriptor is a flaw to warn about, not a refusal
    fixed = await htmx_post(client, f"{EDIT}/aspects/A1.5", {**base, "type": "J", **texts,
                                                             "descriptor_3": "Excellent: every view dimensioned"})
    assert "Ready for marking" in fixed.text
    aspect = aspects(await stored(session))["A1.5"]
    assert [d.score for d in aspect.descriptors] == [0, 1, 2, 3]
    assert aspect.descriptors[3].text == "Excellent: every view dimensioned"


@pytest.mark.usefixtures("chief")
async def test_a_choice_is_edited_as_one_option_per_line(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    data = {**A11, "type": "choice", "choices": "Done = 0\nPartly done = 50\n"}
    assert "Saved" in (await htmx_post(client, f"{EDIT}/aspects/A1.1", data)).text
    aspect = aspects(await stored(session))["A1.1"]
    assert [(c.position, c.label, c.deduction_percent) for c in aspect.choices] == [
        (1, "Done", Decimal("0")), (2, "Partly done", Decimal("50"))]
    wrong = await htmx_post(client, f"{EDIT}/aspects/A1.1", {**data, "choices": "Done = 0\nNone = 120"})
    assert "Option 2: the deduction is a percent from 0 to 100" in wrong.text


@pytest.mark.usefixtures("chief")
async def test_an_aspect_is_added_and_removed_with_the_rest_renumbered(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    added = await htmx_post(client, f"{EDIT}/sub-criteria/A1/aspects", {"kind": "J"})
    assert added.status_code == 200
    assert 'id="edit-sub-A1"' in added.text and 'id="aspect-A1-7"' in added.text
    assert "A1.7 &#39;&#39; has no max mark" in added.text or "A1.7 '' has no max mark" in added.text
    scheme = await stored(session)
    assert aspects(scheme)["A1.7"].kind == "J" and aspects(scheme)["A1.7"].max_mark is None
    assert [r.subject for r in await audits(session, "scheme_aspect_added")] == ["scheme 23 A1.7"]
    description = aspects(scheme)["A1.3"].description
    removed = await htmx_post(client, f"{EDIT}/aspects/A1.2/remove", {})
    assert removed.status_code == 200 and 'id="aspect-A1-7"' not in removed.text
    after = aspects(await stored(session))
    assert [code for code in after if code.startswith("A1.")] == [f"A1.{n}" for n in range(1, 7)]
    assert after["A1.2"].description == description and after["A1.2"].position == 2
    [record] = await audits(session, "scheme_aspect_removed")
    assert record.subject == "scheme 23 A1.2" and record.old_value is not None and "Design requirements" in (
        record.old_value)


@pytest.mark.usefixtures("chief")
async def test_an_edited_scheme_downloads_and_imports_back_as_itself(
    client: AsyncTestClient[Any], session: AsyncSession
) -> None:
    await htmx_post(client, f"{EDIT}/aspects/A1.1", {**A11, "max_mark": "0.25", "description": "Dated entries"})
    await htmx_post(client, f"{EDIT}/aspects/A1.4", {**A11, "type": "choice", "choices": "All = 0\nHalf = 50"})
    await htmx_post(client, f"{EDIT}/aspects/A2.6/remove", {})
    download = await client.get(f"{SCHEME}/download")
    again = read_scheme(download.content)
    assert again.scheme == scheme_data_of(await stored(session))


async def test_a_scheme_with_marks_is_not_edited(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    world = await build_world(session)
    scheme = await add_scheme(session, world.skill, world.semi_final)
    await mark_all(session, scheme, world.competitors[0], world.experts[:3], lock=False)
    await login(client, "inese@example.lv")
    assert (await client.get(EDIT)).status_code == 409
    before = scheme_data_of(await stored(session))
    refused = await htmx_post(client, f"{EDIT}/aspects/A1.1", {**A11, "max_mark": "2"})
    assert refused.headers.get("hx-reswap") == "none"
    assert "can no longer be edited" in refused.text
    assert (await htmx_post(client, f"{EDIT}/sub-criteria/A1/aspects", {"kind": "M"})).headers["hx-reswap"] == "none"
    plain = await form_post(client, f"{EDIT}/aspects/A1.2/remove", {})
    assert plain.status_code == 409
    assert scheme_data_of(await stored(session)) == before


async def test_experts_do_not_edit(client: AsyncTestClient[Any], session: AsyncSession) -> None:
    world = await build_world(session)
    await add_scheme(session, world.skill, world.semi_final)
    await login(client, "peteris@example.lv")
    assert (await client.get(EDIT)).status_code == 403
    assert (await htmx_post(client, f"{EDIT}/aspects/A1.1", {**A11, "max_mark": "2"})).status_code == 403
    assert aspects(await stored(session))["A1.1"].max_mark == Decimal("0.5")
