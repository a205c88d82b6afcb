"""Database engine, sessions and the declarative base; SQLite gets WAL, a busy timeout and immediate writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from advanced_alchemy.base import IdentityAuditBase, IdentityBase, orm_registry
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

__all__ = [
    "WRITE_OPTION",
    "AuditedBase",
    "Base",
    "begin_write",
    "create_engine",
    "metadata",
    "session_factory",
    "transaction",
]

Base = IdentityBase
"""Declarative base: integer identity primary key `id`, table name from the class name."""
AuditedBase = IdentityAuditBase
"""Declarative base that also keeps `created_at` and `updated_at`."""
metadata = orm_registry.metadata

SQLITE_BUSY_TIMEOUT_MS = 10_000

WRITE_OPTION = "podium_write"
"""Execution option of a connection whose transaction will write: SQLite then begins it with
BEGIN IMMEDIATE, so that two writers queue on the busy timeout instead of one failing halfway
with 'database is locked'. Readers begin deferred and never wait (WAL)."""


async def begin_write(session: AsyncSession) -> None:
    """Start the unit of work of one state change.

    A read-only transaction the session may have open (from look-ups before the change) is ended
    first, so the change reads fresh data inside its own write transaction."""
    if session.in_transaction():
        await session.commit()
    await session.connection(execution_options={WRITE_OPTION: True})


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so that BEGIN is ours (see on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(url: str, *, null_pool: bool = False, echo: bool = False) -> AsyncEngine:
    """An async engine for `url`; SQLite is set up for safe concurrent use by one or more workers."""
    kwargs: dict[str, Any] = {"echo": echo}
    if null_pool:
        kwargs["poolclass"] = NullPool
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        _configure_sqlite(engine)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(engine: AsyncEngine, *, write: bool = True) -> AsyncIterator[AsyncSession]:
    """One unit of work outside a request (commands, fixtures): commit on success, roll back on error."""
    async with session_factory(engine)() as session:
        if write:
            await begin_write(session)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
