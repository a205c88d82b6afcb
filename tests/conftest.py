"""Test fixtures: real databases (SQLite and PostgreSQL), the app with its test client, and log-in helpers."""

from __future__ import annotations

import asyncio
import contextvars
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import create_app
from competition import i18n
from competition.config import Settings
from competition.db import create_engine, metadata, session_factory
from competition.migrate import upgrade_database

POSTGRES_ADMIN_URL = os.environ.get(
    "PODIUM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PODIUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
T = TypeVar("T")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATABASES = ["sqlite", "postgres"]
if os.environ.get("PODIUM_TEST_POSTGRES_URL") == "off":  # a developer without PostgreSQL; CI always has it
    DATABASES = ["sqlite"]


def run_in_thread(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even while pytest-asyncio's loop is running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test session; each test gets a copy."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of this test session's own (parallel runs never meet), migrated once."""
    name = f"podium_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def admin(statement: str) -> None:
        engine = create_engine(POSTGRES_ADMIN_URL, null_pool=True)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
        await engine.dispose()

    run_in_thread(admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(POSTGRES_ADMIN_URL, name)
    upgrade_database(url)
    yield url
    run_in_thread(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_postgres(url: str) -> None:
    engine = create_engine(url, null_pool=True)
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database: SQLite and then PostgreSQL."""
    return await fresh_database(request, tmp_path)


async def fresh_database(request: pytest.FixtureRequest, folder: Path) -> str:
    """The URL of a freshly migrated, empty database of the kind `request.param` names."""
    if request.param == "sqlite":
        path = folder / "podium.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    await _empty_postgres(url)
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, null_pool=True)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for arranging and checking data (commit what you arrange)."""
    async with session_factory(engine)() as db:
        yield db


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, secret="test-secret-" + "x" * 32, data_dir=tmp_path / "data")


@pytest.fixture
def app(settings: Settings, engine: AsyncEngine) -> Litestar:
    return create_app(settings, engine=engine)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client


def shared_data(name: str) -> Path:
    """A real file from ../shared/data (never copied into the repository)."""
    path = SHARED_DATA / name
    assert path.exists(), f"{path} is missing: CI clones the repository with ../shared beside it"
    return path


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages read outside a request in English (the source language) instead of the default Latvian.
    Use it with `pytestmark = pytest.mark.usefixtures("english")`."""
    monkeypatch.setattr(i18n, "current_language", contextvars.ContextVar("podium_language", default="en"))


@pytest.fixture(autouse=True)
def fresh_results_cache() -> Iterator[None]:
    """Each test's databases start from id 1 again, so no test may see another's cached results or rules."""
    from scoring.marking import forget_cached_rules
    from scoring.results import forget_cached_results
    from scoring.scheme import forget_cached_schemes

    for forget in (forget_cached_results, forget_cached_rules, forget_cached_schemes):
        forget()
    yield
    for forget in (forget_cached_results, forget_cached_rules, forget_cached_schemes):
        forget()
