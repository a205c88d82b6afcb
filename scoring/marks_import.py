"""Storing a marks workbook (the paper backup): all of it in one transaction, or nothing with every bad row named.

The rows are checked by `scoring.marks_workbook.check_rows` against the stage as it is when the
import's transaction has claimed the stage; each mark is then recorded by the same services as a
tablet's (`scoring.marking`), so the same audit records are written. `lock` signs off and locks
each form of the file that is complete afterwards.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.errors import PodiumError
from competition.i18n import gettext as _
from competition.models import Expert, User
from scoring import marking
from scoring.marks import load_stage_marks, scheme_rules, stage_competitors
from scoring.marks_workbook import MarkRow, StageFacts, at, check_rows, refuse
from scoring.models import Form, MarkingTeamMember, SubCriterion


@dataclass(frozen=True)
class ImportOutcome:
    rows: int
    recorded: int
    """Marks (judges' scores and measurements) that were new or changed."""
    unchanged: int
    locked: list[tuple[str, str]]


async def stage_facts(session: AsyncSession, place: marking.MarkingPlace) -> tuple[StageFacts, dict[str, Expert]]:
    competitors = await stage_competitors(session, place.skill.id, place.stage.id)
    aspects, subs = await scheme_rules(session, place.scheme_id)
    experts = list(await session.scalars(select(Expert).where(Expert.skill_id == place.skill.id).order_by(Expert.code)))
    sub_ids = dict(
        (
            await session.execute(
                select(SubCriterion.code, SubCriterion.id).where(SubCriterion.scheme_id == place.scheme_id)
            )
        ).all()
    )
    teams: dict[int, set[int]] = defaultdict(set)
    for sub_id, expert_id in await session.execute(
        select(MarkingTeamMember.sub_criterion_id, MarkingTeamMember.expert_id).where(
            MarkingTeamMember.sub_criterion_id.in_(list(sub_ids.values()))
        )
    ):
        teams[sub_id].add(expert_id)
    eligible: dict[tuple[str, str], list[str]] = {}
    for competitor in competitors:
        for sub in subs:
            team = teams.get(sub.id)
            eligible[(competitor.code.upper(), sub.code)] = [
                e.code for e in experts if (not team or e.id in team) and e.institution_id != competitor.institution_id
            ]
    by_id = {c.id: c.code.upper() for c in competitors}
    locked = {
        (by_id[competitor_id], code)
        for competitor_id, code in await session.execute(
            select(Form.competitor_id, SubCriterion.code)
            .join(SubCriterion, SubCriterion.id == Form.sub_criterion_id)
            .where(SubCriterion.scheme_id == place.scheme_id, Form.locked.is_(True))
        )
        if competitor_id in by_id
    }
    facts = StageFacts(
        competitors={c.code.upper(): c.institution_id for c in competitors},
        aspects={rule.code: rule for rule in aspects},
        judges=place.judges,
        max_spread=place.max_spread,
        eligible=eligible,
        locked=locked,
    )
    return facts, {e.code: e for e in experts}


async def import_marks(
    session: AsyncSession,
    place: marking.MarkingPlace,
    actor: User | None,
    rows: list[MarkRow],
    file_name: str,
    *,
    lock: bool = False,
) -> ImportOutcome:
    """Record every row of a marks workbook, or raise Invalid naming every bad row (nothing saved)."""
    await marking.claim(session, place)
    try:
        facts, experts = await stage_facts(session, place)
        checked, problems = check_rows(rows, facts)
        if not place.ready:
            problems.insert(0, at(None) + marking.not_ready(place).message)
        if problems:
            raise refuse(file_name, problems)
        recorded = unchanged = 0
        touched: set[tuple[str, str]] = set()
        for good in checked:
            touched.add((good.competitor, good.rule.sub_criterion))
            try:
                if good.rule.is_judgement:
                    for code, score in good.scores:
                        outcome = await marking.record_score(
                            session,
                            place,
                            marking.Marker(actor, experts[code]),
                            good.competitor,
                            good.rule.code,
                            score,
                            commit=False,
                        )
                        recorded, unchanged = (
                            (recorded + 1, unchanged) if outcome.changed else (recorded, unchanged + 1)
                        )
                else:
                    first = facts.eligible[(good.competitor, good.rule.sub_criterion)][0]
                    outcome = await marking.record_measurement(
                        session,
                        place,
                        marking.Marker(actor, experts[first]),
                        good.competitor,
                        good.rule.code,
                        good.value,
                        good.reason,
                        commit=False,
                    )
                    recorded, unchanged = (recorded + 1, unchanged) if outcome.changed else (recorded, unchanged + 1)
            except PodiumError as error:
                raise refuse(file_name, [at(good.row.row) + error.message]) from error
        locked: list[tuple[str, str]] = []
        if lock:
            marks = await load_stage_marks(session, place.skill, place.stage.id)
            assert marks is not None
            codes = {c.code.upper(): c.code for c in marks.competitors}
            for competitor, sub in sorted(touched):
                if marks.form(codes[competitor], sub).complete:
                    try:
                        locked.append(await marking.lock_form(session, place, actor, competitor, sub, commit=False))
                    except PodiumError as error:
                        raise refuse(file_name, [at(None) + error.message]) from error
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return ImportOutcome(len(rows), recorded, unchanged, locked)


def summary(file_name: str, outcome: ImportOutcome) -> str:
    text = _(
        "%(file)s: %(rows)s rows, %(recorded)s marks recorded, %(unchanged)s unchanged.",
        file=file_name,
        rows=outcome.rows,
        recorded=outcome.recorded,
        unchanged=outcome.unchanged,
    )
    if outcome.locked:
        text += " " + _("Signed off and locked %(count)s forms.", count=len(outcome.locked))
    return text
