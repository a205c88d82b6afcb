"""Releasing results and carrying them on: publish or unpublish a skill's results, enter a semi-final's
advancing competitors into the final. Organisers only; each change audited and announced after commit.
Each is a change for `competition.writer` (it writes without committing).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition import audit, notify
from competition.errors import Conflict, Forbidden
from competition.i18n import gettext as _
from competition.models import Event, Skill, Stage, StageEntry, StageKind, User
from competition.registration.services import bump_event_revision
from scoring.marks import CompetitorEntry
from scoring.models import ResultsPublication
from scoring.results import StageResults, stage_results


def _require_organiser(user: User) -> None:
    if not user.is_organiser:
        raise Forbidden(_("Only organisers may publish results or enter competitors into the final."))


async def _lock_stage(session: AsyncSession, stage: Stage) -> None:
    """Serialise changes to one stage's results on PostgreSQL (SQLite's writers queue anyway)."""
    await session.execute(select(Stage.id).where(Stage.id == stage.id).with_for_update())


async def complete_results(session: AsyncSession, event: Event, skill: Skill, stage: Stage) -> StageResults:
    """The stage's results, refused while there is no scheme, nobody taking part, or forms not all locked."""
    results = await stage_results(session, event, skill, stage)
    if results is None:
        raise Conflict(
            _("Skill %(skill)s has no marking scheme for stage %(stage)s.", skill=skill.code, stage=stage.code)
        )
    if not results.lines:
        raise Conflict(
            _("Skill %(skill)s has no competitors in stage %(stage)s.", skill=skill.code, stage=stage.code)
        )
    if results.incomplete:
        raise Conflict(
            _(
                "The results of skill %(skill)s in stage %(stage)s are not complete: not all forms of "
                "%(competitors)s are locked.",
                skill=skill.code,
                stage=stage.code,
                competitors=", ".join(results.incomplete),
            )
        )
    return results


def _subject(skill: Skill, stage: Stage) -> str:
    return f"results {skill.code} {stage.code}"


async def publish_results(
    session: AsyncSession, user: User, event: Event, skill: Skill, stage: Stage
) -> ResultsPublication:
    """Release the skill's results for the stage to everyone (all forms must be locked).

    Publishing what is already published changes nothing and returns the publication."""
    _require_organiser(user)
    await _lock_stage(session, stage)
    existing = await _publication(session, skill, stage)
    if existing is not None:
        return existing
    results = await complete_results(session, event, skill, stage)
    publication = ResultsPublication(skill_id=skill.id, stage_id=stage.id, published_by_id=user.id)
    session.add(publication)
    await audit.record(
        session,
        user,
        "results_published",
        _subject(skill, stage),
        event_id=event.id,
        skill_id=skill.id,
        stage_id=stage.id,
        old=False,
        new={"published": True, "competitors": len(results.lines), "revision": results.revision},
    )
    notify.on_commit(session, notify.Change(event=event.code, what="results", skill=skill.code, stage=stage.code))
    await session.flush()
    return publication


async def unpublish_results(
    session: AsyncSession, user: User, event: Event, skill: Skill, stage: Stage, *, reason: str = ""
) -> bool:
    """Hide the skill's results for the stage again; False (and no change) when they were not published."""
    _require_organiser(user)
    await _lock_stage(session, stage)
    publication = await _publication(session, skill, stage)
    if publication is None:
        return False
    await session.delete(publication)
    await audit.record(
        session,
        user,
        "results_unpublished",
        _subject(skill, stage),
        event_id=event.id,
        skill_id=skill.id,
        stage_id=stage.id,
        old=True,
        new=False,
        reason=reason.strip() or None,
    )
    notify.on_commit(session, notify.Change(event=event.code, what="results", skill=skill.code, stage=stage.code))
    return True


async def _publication(session: AsyncSession, skill: Skill, stage: Stage) -> ResultsPublication | None:
    return await session.scalar(
        select(ResultsPublication).where(
            ResultsPublication.skill_id == skill.id, ResultsPublication.stage_id == stage.id
        )
    )


async def final_stage(session: AsyncSession, event: Event) -> Stage:
    """The event's final stage (an event has at most one), or Conflict."""
    final = await session.scalar(
        select(Stage).where(Stage.event_id == event.id, Stage.kind == StageKind.FINAL.value).order_by(Stage.id)
    )
    if final is None:
        raise Conflict(_("Event %(event)s has no final stage to enter competitors into.", event=event.code))
    return final


async def advance_to_final(
    session: AsyncSession, user: User, event: Event, skill: Skill, semi_final: Stage
) -> list[CompetitorEntry]:
    """Enter the semi-final's advancing competitors (rule 7) into the event's final, on the organiser's
    confirmation. Competitors already in the final are left as they are, so running it twice enters
    nobody twice; the answer lists those entered now."""
    _require_organiser(user)
    if semi_final.kind != StageKind.SEMI_FINAL:
        raise Conflict(_("Stage %(stage)s is not a semi-final.", stage=semi_final.code))
    final = await final_stage(session, event)
    await _lock_stage(session, final)
    results = await complete_results(session, event, skill, semi_final)
    if skill.advance < 1:
        raise Conflict(
            _("Skill %(skill)s sends nobody to the final: set how many advance on the skill.", skill=skill.code)
        )
    advancing = [line.competitor for line in results.advancing]
    already = set(
        await session.scalars(
            select(StageEntry.competitor_id).where(
                StageEntry.stage_id == final.id, StageEntry.competitor_id.in_([c.id for c in advancing])
            )
        )
    )
    entered = [competitor for competitor in advancing if competitor.id not in already]
    for competitor in entered:
        session.add(StageEntry(competitor_id=competitor.id, stage_id=final.id, advanced_from_id=semi_final.id))
        await audit.record(
            session,
            user,
            "advanced_to_final",
            f"competitor {competitor.code}",
            event_id=event.id,
            skill_id=skill.id,
            stage_id=final.id,
            competitor_id=competitor.id,
            old={"stage": semi_final.code},
            new={"stage": final.code},
        )
    if entered:
        await bump_event_revision(session, event.id)  # who takes part in the final: marking reads it again
        notify.on_commit(session, notify.Change(event=event.code, what="entries", skill=skill.code, stage=final.code))
    return entered
