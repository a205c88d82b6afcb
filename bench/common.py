"""What the benchmarks share: scratch databases (a SQLite file, a PostgreSQL database of their own), timing, progress.

`scratch_database` yields the URL of a freshly migrated empty database and removes it afterwards:
a SQLite file in a temporary folder, or `podium_bench_<pid>` on the local PostgreSQL server
(`PODIUM_BENCH_POSTGRES_URL`, default the test server at 127.0.0.1:5432). `scratch_redis_prefix`
yields a Redis key prefix of the run's own on the local Redis (`PODIUM_BENCH_REDIS_URL`) and removes
its keys afterwards.
"""

from __future__ import annotations

import gc
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Literal

from sqlalchemy import text

from competition.db import create_engine
from competition.migrate import upgrade_database_async

POSTGRES_ADMIN_URL = os.environ.get(
    "PODIUM_BENCH_POSTGRES_URL",
    os.environ.get("PODIUM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
)
REDIS_URL = os.environ.get("PODIUM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
Backend = Literal["sqlite", "postgres"]


def say(message: str) -> None:
    """Progress for the person watching (stderr; stdout carries only the figures)."""
    print(f"  {message}", file=sys.stderr, flush=True)


def postgres_available() -> bool:
    return POSTGRES_ADMIN_URL != "off"


async def _admin(statement: str) -> None:
    engine = create_engine(POSTGRES_ADMIN_URL, null_pool=True)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def scratch_database(backend: Backend) -> AsyncIterator[str]:
    """A migrated, empty database of this run's own, dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="podium-bench-") as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'podium.db'}"
            await upgrade_database_async(url)
            yield url
        return
    name = f"podium_bench_{os.getpid()}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        await upgrade_database_async(url)
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def scratch_redis_prefix(name: str) -> AsyncIterator[str]:
    """A Redis key prefix of this run's own (`podium_bench_<name>_<pid>_<random>`), its keys deleted afterwards."""
    from redis.asyncio import Redis

    prefix = f"podium_bench_{name}_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        yield prefix
    finally:
        client = Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


async def timed_ms(work: Callable[[], Awaitable[object]], runs: int, before: Callable[[], None] | None = None) -> float:
    """The median wall time of `runs` runs of `work` in milliseconds (`before` runs untimed before each)."""
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


@contextmanager
def steady_clients() -> Iterator[None]:
    """No garbage-collector pauses in the measuring process while the block runs: the clients' own pauses
    (100-200 ms for a full collection of a thousand sockets' objects) would be counted as the server's time.
    What exists is frozen first; collecting resumes afterwards."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` (0-1) percentile of `values` by the nearest-rank method (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def figure(value: float) -> float:
    """A figure as printed: milliseconds and rates with one decimal."""
    return round(value, 1)
