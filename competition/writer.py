"""The one owner of write transactions: every change queues here, runs, is committed, then announced.

A service that changes something is an async function `change(session, …)` that reads what its
decision needs and writes through `session`, without committing: a refusal raises (`competition.errors`)
and nothing of it is kept. Whoever wants the change made calls

    outcome = await write(db_session, marking.record_mark, place, user, competitor, aspect, body)

and `write` runs it in a transaction of the writer's own, commits, and lets `competition.notify`
announce what it changed. The caller's own session (a request's, for reading) has its read
transaction ended first, so a request holds one pooled connection at a time and the change reads
fresh data inside its own write transaction; afterwards that session forgets what it had loaded
(the records it holds keep their values), so that what it reads next is read afresh.

SQLite has one writer per file. Changes of this process queue (first come, first served) for one
consumer, so none fails with "database is locked" and none sleeps in SQLite's busy handler. It takes
what is queued into one transaction (group commit: one BEGIN IMMEDIATE and one COMMIT for a burst of
saves); should one of them be refused, the transaction is rolled back and each is made again on its
own, so that one refusal leaves the others be. Another process's writer (a command, a second worker)
is met at BEGIN IMMEDIATE and waited for without blocking the event loop.

PostgreSQL runs each change in its own transaction at once: services take row locks where they must
(a stage's marks are claimed on its marking scheme's row), so any number of workers write together.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from competition import i18n
from competition.db import WRITE_OPTION, opened, session_factory
from competition.errors import Unavailable
from competition.i18n import gettext as _

P = ParamSpec("P")
T = TypeVar("T")
Change = Callable[[AsyncSession], Awaitable[Any]]

BUSY_WAIT_S = 30.0
"""How long a writer waits for another process's write lock before the change is refused as busy (503)."""
MAX_BATCH = 10
"""The most changes one transaction takes. A batch runs without giving way to the event loop (SQLite answers
at once), so it is kept short: a long queue is committed in several steps, with other requests served between."""


@dataclass(eq=False)
class _Job:
    """A queued change, the language its refusals are told in, and the future its caller awaits."""

    change: Change
    language: str
    future: asyncio.Future[Any]


@dataclass(eq=False)
class Writer:
    """The writer of one database in one event loop."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    queue: list[_Job] = field(default_factory=list)
    writing: bool = False
    carrying_on: asyncio.Future[None] | None = None
    """The task that writes what an abnormally ended writer left queued."""
    sqlite: bool = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = session_factory(self.engine)
        self.sqlite = self.engine.dialect.name == "sqlite"

    async def run(self, change: Change) -> Any:
        if not self.sqlite:
            return await self._alone(change)
        job = _Job(change, i18n.current_language.get(), asyncio.get_running_loop().create_future())
        self.queue.append(job)
        if not self.writing:
            await self._drain()  # nobody is writing: this caller writes, its change and whatever queued with it
        return await job.future  # written by now, or by the writer it queued behind

    async def _alone(self, change: Change) -> Any:
        async with opened(self.sessions) as session:
            await session.connection()
            result = await change(session)
            await session.commit()
            return result

    async def _drain(self) -> None:
        """Write until nothing is queued: a transaction for each batch. The writing caller's own task does it
        (no task to wake, no turn of the event loop to wait for); should it end abnormally (the server
        stopping), the changes it holds are refused as busy and another task carries on with the queue."""
        self.writing = True
        batch: list[_Job] = []
        try:
            while self.queue:
                batch, self.queue[:] = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
                batch = [job for job in batch if not job.future.done()]  # the caller has gone: leave it
                if batch:
                    await self._together(batch)
        finally:
            self.writing = False
            for job in batch:
                self._settle(job, error=Unavailable(_("The server is busy; try again in a moment.")))
            if self.queue:
                self.carrying_on = asyncio.ensure_future(self._drain())

    async def _together(self, batch: list[_Job]) -> None:
        """One transaction for the batch. Should any change of it be refused (or fail), the transaction is rolled
        back and each change made again in a transaction of its own, so that a refusal leaves the others be."""
        try:
            results = await self._transaction(batch)
        except Exception as error:
            if len(batch) == 1:
                self._settle(batch[0], error=error)
                return
            for job in batch:
                try:
                    (result,) = await self._transaction([job])
                except Exception as refusal:
                    self._settle(job, error=refusal)
                else:
                    self._settle(job, result=result)
            return
        for job, result in zip(batch, results, strict=True):
            self._settle(job, result=result)

    async def _transaction(self, batch: list[_Job]) -> list[Any]:
        async with opened(self.sessions) as session:
            await self._begin(session)
            results = []
            for job in batch:
                with i18n.language(job.language):
                    results.append(await job.change(session))
            await session.commit()
            return results

    @staticmethod
    def _settle(job: _Job, *, result: Any = None, error: BaseException | None = None) -> None:
        if job.future.done():  # the caller has gone
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)

    async def _begin(self, session: AsyncSession) -> None:
        """BEGIN IMMEDIATE: the file's write lock at once, waiting (without blocking the loop) while another
        process holds it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BUSY_WAIT_S
        pause = 0.002
        while True:
            try:
                await session.connection(execution_options={WRITE_OPTION: True})
                return
            except OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                await session.rollback()
                if loop.time() + pause > deadline:
                    raise Unavailable(_("The database is busy with another change; try again in a moment.")) from error
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.1)


_writers: weakref.WeakKeyDictionary[Any, dict[asyncio.AbstractEventLoop, Writer]] = weakref.WeakKeyDictionary()


def writer_of(engine: AsyncEngine) -> Writer:
    """The writer of `engine`'s database in the running event loop (locks belong to one loop)."""
    by_loop = _writers.setdefault(engine.sync_engine, {})
    loop = asyncio.get_running_loop()
    writer = by_loop.get(loop)
    if writer is None:
        for stale in [old for old in by_loop if old.is_closed()]:
            del by_loop[stale]
        writer = by_loop[loop] = Writer(engine)
    return writer


async def write(
    where: AsyncSession | AsyncEngine,
    change: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Make `change(session, *args, **kwargs)` in a write transaction, commit it and announce it; its
    answer, or its refusal (nothing of it kept)."""
    caller = where if isinstance(where, AsyncSession) else None
    if caller is not None:
        if caller.in_transaction():
            await caller.commit()  # end the caller's read transaction: one connection at a time
        bind = caller.bind
        assert isinstance(bind, AsyncEngine), "sessions are bound to one engine"
        engine = bind
    else:
        assert isinstance(where, AsyncEngine)
        engine = where

    async def bound(session: AsyncSession) -> T:
        return await change(session, *args, **kwargs)

    try:
        result: T = await writer_of(engine).run(bound)
    finally:
        if caller is not None and caller.identity_map:
            caller.expunge_all()
    return result
