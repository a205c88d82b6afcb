"""The append-only audit trail: one `record()` call per state change, inside that change's transaction.

A record is inserted at once (one statement, no unit of work: a save writes one on every tap), so a
change refused afterwards, or a savepoint rolled back, takes its record with it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from competition.models import AuditRecord, User

Actor = User | None
"""Who makes a change: a logged-in user, or None for the command line."""
COMMAND_LINE = "command line"


def actor_name(actor: Actor) -> str:
    return actor.email if actor is not None else COMMAND_LINE


def _as_text(value: Any) -> str | None:
    """Values are kept as text: strings as they are, anything else (dicts, numbers) as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    subject: str,
    *,
    event_id: int | None = None,
    skill_id: int | None = None,
    stage_id: int | None = None,
    competitor_id: int | None = None,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
) -> None:
    """Add one audit record (who, what, from which value to which, why) to the session's transaction."""
    connection = await session.connection()  # one statement, no unit of work: a save writes one on every tap
    await connection.execute(
        insert(AuditRecord),
        [
            {
                "at": dt.datetime.now(dt.UTC),
                "user_id": actor.id if actor is not None else None,
                "actor": actor_name(actor),
                "event_id": event_id,
                "skill_id": skill_id,
                "stage_id": stage_id,
                "competitor_id": competitor_id,
                "subject": subject[:64],
                "action": action,
                "old_value": _as_text(old),
                "new_value": _as_text(new),
                "reason": reason,
            }
        ],
    )
