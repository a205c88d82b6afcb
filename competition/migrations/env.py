"""Alembic environment: runs Podium's migrations on the async engine given in the config."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import competition.models  # noqa: F401  (registers the tables)
import live.models  # noqa: F401
import scoring.models  # noqa: F401
from competition.db import WRITE_OPTION, create_engine, metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", null_pool=True)
    async with engine.connect() as connection:
        connection = await connection.execution_options(**{WRITE_OPTION: True})
        await connection.run_sync(_run)
    await engine.dispose()


def _run_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_online())
