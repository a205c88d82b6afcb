"""Changes announced only after their transaction commits (Zulip's send_event_on_commit).

A service calls `on_commit(session, change)`; when that session's transaction commits, every
subscriber (the live board's hub, registered by the app) receives the change. A rollback drops it,
so nothing that was rolled back is ever announced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING = "podium_pending_changes"


@dataclass(frozen=True)
class Change:
    """A small message about committed state: which event, skill and stage, and what changed."""

    event: str
    what: str
    skill: str | None = None
    stage: str | None = None
    competitor: str | None = None


Subscriber = Callable[[Change], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def on_commit(session: AsyncSession | Session, change: Change) -> None:
    """Announce `change` once the session's current transaction commits."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    pending: list[Change] = sync_session.info.setdefault(_PENDING, [])
    if change not in pending:
        pending.append(change)


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    pending: list[Change] = session.info.pop(_PENDING, [])
    for change in pending:
        for subscriber in list(_subscribers):
            try:
                subscriber(change)
            except Exception:  # a broken subscriber must never undo or block a committed mark
                log.exception("subscriber %r failed on %r", subscriber, change)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
