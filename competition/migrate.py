"""Database migrations (Alembic) run from code: `podium db upgrade`, `podium serve` and the tests use this."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def upgrade_database(database_url: str) -> None:
    """Bring the database at `database_url` to the newest schema (creating the SQLite file if needed).

    Alembic runs its own event loop, so inside a running loop the work moves to a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(alembic_config(database_url), "head")
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(command.upgrade, alembic_config(database_url), "head").result()


async def upgrade_database_async(database_url: str) -> None:
    """`upgrade_database` from inside a running event loop (Alembic runs its own loop in a thread)."""
    await asyncio.to_thread(upgrade_database, database_url)
