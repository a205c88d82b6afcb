"""The organiser's changes to the live board: its visibility policy, and the ceremony's steps.

One function per change (for `competition.writer`: it writes without committing), each audited and
announced to the boards after it commits.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition import audit, notify
from competition.errors import Conflict, Forbidden, Invalid
from competition.i18n import gettext as _
from competition.models import Event, Role, Skill, Stage, StageKind, User, Visibility
from live.board import CEREMONY_STEPS
from live.models import CeremonyReveal
from scoring.marks import load_stage_marks

POLICIES = tuple(policy.value for policy in Visibility)


def _require_organiser(actor: User | None) -> None:
    if actor is not None and actor.role != Role.ORGANISER:
        raise Forbidden(_("Only organisers may change the live board."))


async def set_visibility(session: AsyncSession, actor: User | None, event: Event, policy: str) -> str:
    """What the event's live board shows: progress, live, final or ceremony."""
    _require_organiser(actor)
    if policy not in POLICIES:
        raise Invalid(
            _("Unknown visibility %(policy)s: use one of %(policies)s.", policy=policy, policies=", ".join(POLICIES))
        )
    stored = await session.get(Event, event.id)
    assert stored is not None
    old = stored.visibility
    if old != policy:
        stored.visibility = policy
        await audit.record(session, actor, "visibility", event.code, event_id=event.id, old=old, new=policy)
        notify.on_commit(session, notify.Change(event=event.code, what="board"))
    return policy


async def ceremony_step(
    session: AsyncSession, actor: User | None, event: Event, skill: Skill, stage: Stage, step: int
) -> int:
    """Show a final's medals up to `step` (0 none, 1 bronze, 2 and silver, 3 and gold) at the ceremony.

    Only for a final whose every competitor's forms are all locked (the medals are then settled)."""
    _require_organiser(actor)
    if stage.kind != StageKind.FINAL:
        raise Conflict(_("Only a final has a medal ceremony."))
    if not 0 <= step <= len(CEREMONY_STEPS):
        raise Invalid(_("A ceremony step is 0 to 3, not %(step)s.", step=step))
    if step > 0:
        marks = await load_stage_marks(session, skill, stage.id)
        if marks is None:
            raise Conflict(
                _("Skill %(skill)s has no marking scheme for stage %(stage)s.", skill=skill.code, stage=stage.code)
            )
        open_forms = [c.code for c in marks.competitors if not marks.all_locked(c.code)]
        if open_forms or not marks.competitors:
            raise Conflict(
                _(
                    "The medals of skill %(skill)s are not settled: forms of %(competitors)s are not all locked.",
                    skill=skill.code,
                    competitors=", ".join(open_forms) or "—",
                )
            )
    reveal = await session.scalar(
        select(CeremonyReveal).where(CeremonyReveal.skill_id == skill.id, CeremonyReveal.stage_id == stage.id)
    )
    old = reveal.step if reveal is not None else 0
    if old != step:
        if reveal is None:
            reveal = CeremonyReveal(event_id=event.id, skill_id=skill.id, stage_id=stage.id, step=step)
            session.add(reveal)
        else:
            reveal.step = step
        await audit.record(
            session,
            actor,
            "ceremony",
            f"{skill.code} {stage.code}",
            event_id=event.id,
            skill_id=skill.id,
            stage_id=stage.id,
            old=old,
            new=step,
        )
        notify.on_commit(session, notify.Change(event=event.code, what="board", skill=skill.code, stage=stage.code))
    return step
