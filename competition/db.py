"""Database engine, sessions and the declarative base; SQLite runs inline on the event loop, in WAL mode.

SQLite is a library inside this process, not a server: a statement on a local file takes microseconds.
Through aiosqlite every statement is several hops to a worker thread and back, and each hop waits for
the event loop to come round again: with a hundred requests in flight a save's dozen statements took
tens of milliseconds, most of it queueing. So Podium's SQLite connections keep aiosqlite's interface
(SQLAlchemy's async dialect) but run each call at once on the calling thread (`InlineSQLite`), COMMIT
with its wait for the disk too (half a millisecond on a laptop's SSD, and shared by a whole group of
saves: see `competition.writer`).
Writers never wait inside SQLite: they queue in `competition.writer`, whose BEGIN IMMEDIATE meets a
lock held by another process with a short busy timeout and retries without blocking the loop.
PostgreSQL (asyncpg) is a network server and is used as it is.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from advanced_alchemy.base import IdentityAuditBase, IdentityBase, orm_registry
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

__all__ = [
    "WRITE_OPTION",
    "AuditedBase",
    "Base",
    "connected",
    "create_engine",
    "is_sqlite",
    "metadata",
    "opened",
    "session_factory",
    "upsert",
]

Base = IdentityBase
"""Declarative base: integer identity primary key `id`, table name from the class name."""
AuditedBase = IdentityAuditBase
"""Declarative base that also keeps `created_at` and `updated_at`."""
metadata = orm_registry.metadata

SQLITE_BUSY_TIMEOUT_MS = 20
"""How long a statement may wait inside SQLite for another process's lock. Short, because an inline
statement blocks the event loop while it waits: the writer retries its BEGIN instead (readers of a WAL
database are never blocked)."""
SQLITE_POOL_SIZE = 20
SQLITE_POOL_OVERFLOW = 80
"""SQLite connections are a file handle and a small cache each; requests of a busy venue hold one each."""
POOL_TIMEOUT_S = 10
"""How long a request waits for a pooled connection before it is answered 503 (come back later)."""

WRITE_OPTION = "podium_write"
"""Execution option of a connection whose transaction will write: SQLite then begins it with
BEGIN IMMEDIATE (the write lock at once, so that no writer fails halfway). Only `competition.writer`
sets it."""


class _RunAtOnce:
    """Stands in for aiosqlite's queue to its worker thread: runs each call as it is put."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Any]) -> None:
        future, call = item
        try:
            result = call()
        except BaseException as error:  # handed to the awaiting caller, as aiosqlite's thread would
            if future is not None:
                future.set_exception(error)
        else:
            if future is not None:
                future.set_result(result)


class InlineSQLite(aiosqlite.Connection):
    """aiosqlite's connection with every call run inline on the calling thread.

    Awaiting a call that has already finished does not yield to the event loop, so a transaction's
    statements run back to back. Connections are used by one session at a time (the pool sees to it),
    from whichever thread's loop holds them (tests run the app on a loop of its own)."""

    def __init__(self, path: str, *, uri: bool) -> None:
        super().__init__(lambda: _open_sqlite(path, uri=uri), iter_chunk_size=256)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    def __await__(self) -> Any:
        return self._connect().__await__()  # no worker thread to start



def _open_sqlite(path: str, *, uri: bool) -> sqlite3.Connection:
    return sqlite3.connect(path, uri=uri, isolation_level=None, check_same_thread=False)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


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


def _sqlite_engine(url: str, kwargs: dict[str, Any]) -> AsyncEngine:
    parsed = make_url(url)
    path = parsed.database or ":memory:"
    uri = path.startswith("file:")

    async def connect() -> InlineSQLite:
        return await InlineSQLite(path, uri=uri)

    if kwargs.get("poolclass") is not NullPool:
        kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_OVERFLOW, pool_timeout=POOL_TIMEOUT_S)
    engine = create_async_engine(url, async_creator=connect, **kwargs)
    _configure_sqlite(engine)
    return engine


def create_engine(url: str, *, null_pool: bool = False, echo: bool = False) -> AsyncEngine:
    """An async engine for `url`: SQLite inline and in WAL mode (see the module's note), or PostgreSQL."""
    kwargs: dict[str, Any] = {"echo": echo}
    if null_pool:
        kwargs["poolclass"] = NullPool
    if is_sqlite(url):
        return _sqlite_engine(url, kwargs)
    if not null_pool:
        kwargs["pool_timeout"] = POOL_TIMEOUT_S
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def upsert(session: AsyncSession, model: Any) -> Any:
    """An INSERT for `model` that can say ON CONFLICT … DO UPDATE, in the session's database's dialect."""
    return (postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def opened(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session, closed in this task when the block ends. (SQLAlchemy's own `async with` closes it in a
    task of its own, to finish even if the caller is cancelled: that costs a turn of the event loop, on every
    request; here closing does not wait for anything.)"""
    session = sessions()
    try:
        yield session
    finally:
        await session.close()


@asynccontextmanager
async def connected(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection of the pool for a few statements, given back in this task (see `opened`)."""
    connection = engine.connect()
    await connection.start()
    try:
        yield connection
    finally:
        await connection.close()
