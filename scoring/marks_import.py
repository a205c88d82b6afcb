"""Storing a marks workbook (the paper backup): all of it in one short transaction, or nothing with every bad row named.

The rows are checked by `scoring.marks_workbook.check_rows` first against the stage as a read sees it,
so that a bad file is refused without waiting for the writer; then, in the write transaction, again
against the stage as it is now (the scheme claimed, as every change of its marks claims it), and stored
in bulk: one query for what is recorded already, the new and changed marks written together. The audit
records are those a tablet's saves write (`marking.audit_score`, `marking.audit_measurement`). `lock`
signs off and locks each form of the file that is complete afterwards, as `marking.lock_form` does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from competition import notify
from competition.errors import PodiumError
from competition.i18n import gettext as _
from competition.models import Expert, User
from competition.writer import write
from scoring import marking
from scoring.marks import bump_revision, load_stage_marks, refresh_marks, scheme_rules, stage_competitors
from scoring.marks_workbook import CheckedRow, MarkRow, StageFacts, at, check_rows, refuse
from scoring.models import Form, JudgeScore, MarkingTeamMember, Measurement, SubCriterion


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
    teams: dict[int, set[int]] = defaultdict(set)
    for sub_id, expert_id in await session.execute(
        select(MarkingTeamMember.sub_criterion_id, MarkingTeamMember.expert_id)
        .join(SubCriterion, SubCriterion.id == MarkingTeamMember.sub_criterion_id)
        .where(SubCriterion.scheme_id == place.scheme_id)
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


async def _checked(
    session: AsyncSession, place: marking.MarkingPlace, actor: User | None, rows: list[MarkRow], file_name: str
) -> tuple[list[CheckedRow], StageFacts, dict[str, Expert]]:
    """The file's rows checked against the stage, or Invalid naming every bad row."""
    facts, experts = await stage_facts(session, place)
    checked, problems = check_rows(rows, facts)
    problems += _own_institution(place, actor, experts, checked, facts)
    if not place.ready:
        problems.insert(0, at(None) + marking.not_ready(place).message)
    if problems:
        raise refuse(file_name, problems)
    return checked, facts, experts


def _own_institution(
    place: marking.MarkingPlace, actor: User | None, experts: dict[str, Expert], checked: list[CheckedRow],
    facts: StageFacts,
) -> list[str]:
    """The rule book's conflict of interest holds for whoever uploads: an expert of the skill (the Chief Expert)
    never enters marks for a competitor of their own institution, not even from paper."""
    uploader = next((e for e in experts.values() if actor is not None and e.user_id == actor.id), None)
    if uploader is None:
        return []
    return [
        at(good.row.row)
        + _(
            "Competitor %(competitor)s is from your own institution: another expert marks them.",
            competitor=good.competitor,
        )
        for good in checked
        if facts.competitors.get(good.competitor) == uploader.institution_id
    ]


async def import_marks(
    where: AsyncSession | AsyncEngine,
    place: marking.MarkingPlace,
    actor: User | None,
    rows: list[MarkRow],
    file_name: str,
    *,
    lock: bool = False,
) -> ImportOutcome:
    """Record every row of a marks workbook, or raise Invalid naming every bad row (nothing saved)."""
    if isinstance(where, AsyncSession):
        await _checked(where, place, actor, rows, file_name)  # a bad file is refused here, without queueing
    return await write(where, store_marks, place, actor, rows, file_name, lock)


async def store_marks(
    session: AsyncSession,
    place: marking.MarkingPlace,
    actor: User | None,
    rows: list[MarkRow],
    file_name: str,
    lock: bool,
) -> ImportOutcome:
    """The change of an import: the rows checked against the stage as it is now, stored in bulk."""
    stage = await marking.claim(session, place)
    checked, facts, experts = await _checked(session, stage.place, actor, rows, file_name)
    recorded, unchanged = await _record(session, stage, actor, checked, facts, experts)
    locked: list[tuple[str, str]] = []
    if lock:
        touched = sorted({(good.competitor, good.rule.sub_criterion) for good in checked})
        locked = await _lock_complete(session, stage, actor, touched, file_name)
    return ImportOutcome(len(rows), recorded, unchanged, locked)


async def _record(
    session: AsyncSession,
    stage: marking.ClaimedStage,
    actor: User | None,
    checked: list[CheckedRow],
    facts: StageFacts,
    experts: dict[str, Expert],
) -> tuple[int, int]:
    """Write the new and changed marks of the checked rows; (recorded, unchanged)."""
    competitors = {good.competitor: stage.competitor(good.competitor) for good in checked}
    aspect_ids = list({good.rule.id for good in checked})
    competitor_ids = list({c.id for c in competitors.values()})
    scores = {
        (row.aspect_id, row.competitor_id, row.expert_id): row
        for row in await session.scalars(
            select(JudgeScore).where(JudgeScore.aspect_id.in_(aspect_ids), JudgeScore.competitor_id.in_(competitor_ids))
        )
    }
    measurements = {
        (row.aspect_id, row.competitor_id): row
        for row in await session.scalars(
            select(Measurement).where(
                Measurement.aspect_id.in_(aspect_ids), Measurement.competitor_id.in_(competitor_ids)
            )
        )
    }
    recorded = unchanged = 0
    for good in checked:
        rule, competitor = good.rule, competitors[good.competitor]
        if rule.is_judgement:
            for code, score in good.scores:
                expert = experts[code]
                existing = scores.get((rule.id, competitor.id, expert.id))
                if existing is not None and existing.score == score:
                    unchanged += 1
                    continue
                await marking.audit_score(
                    session, stage, actor, expert, rule, competitor, existing.score if existing else None, score
                )
                if existing is None:
                    session.add(
                        JudgeScore(aspect_id=rule.id, competitor_id=competitor.id, expert_id=expert.id, score=score)
                    )
                else:
                    existing.score = score
                recorded += 1
            continue
        reason = marking.written_reason(good.reason)
        value = marking.parse_value(rule, good.value, reason)
        expert = experts[facts.eligible[(good.competitor, rule.sub_criterion)][0]]
        measured = measurements.get((rule.id, competitor.id))
        if measured is not None and measured.value == value and (measured.reason or "") == reason:
            unchanged += 1
            continue
        old = None if measured is None else (Decimal(measured.value), measured.reason or "")
        await marking.audit_measurement(session, stage, actor, expert, rule, competitor, old, value, reason)
        if measured is None:
            session.add(
                Measurement(
                    aspect_id=rule.id, competitor_id=competitor.id, expert_id=expert.id, value=value, reason=reason
                )
            )
        else:
            measured.value, measured.reason, measured.expert_id = value, reason, expert.id
        recorded += 1
    if recorded:
        await session.flush()
        place = stage.place
        await refresh_marks(session, place.skill, place.stage.id, [c.id for c in competitors.values()])
        await bump_revision(session, stage.place.scheme_id)
        place = stage.place
        notify.on_commit(
            session, notify.Change(event=place.event.code, what="marks", skill=place.skill.code, stage=place.stage.code)
        )
    return recorded, unchanged


async def _lock_complete(
    session: AsyncSession,
    stage: marking.ClaimedStage,
    actor: User | None,
    touched: list[tuple[str, str]],
    file_name: str,
) -> list[tuple[str, str]]:
    """Sign off and lock the file's forms that are complete now."""
    place = stage.place
    ids = [stage.competitor(competitor).id for competitor in {competitor for competitor, _sub in touched}]
    marks = await load_stage_marks(session, place.skill, place.stage.id, ids)
    assert marks is not None
    codes = {c.code.upper(): c.code for c in marks.competitors}
    locked: list[tuple[str, str]] = []
    for competitor, sub in touched:
        if not marks.form(codes[competitor], sub).complete:
            continue
        try:
            locked.append(await marking.lock_form(session, stage, actor, competitor, sub))
        except PodiumError as error:
            raise refuse(file_name, [at(None) + error.message]) from error
    return locked


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
