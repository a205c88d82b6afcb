"""Crash safety on SQLite and PostgreSQL: `podium serve` killed with SIGKILL in the middle of marking load
keeps every acknowledged mark exactly as acknowledged, and nothing half written."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

import httpx
import pytest

from bench.load import running_server
from competition.db import create_engine
from tests.live_marking import MarkingLoad, half_written, key, marking_world, read_marks, stored

pytestmark = pytest.mark.slow

SYNCHRONOUS_FULL = 2
KILLS = 2
ACKNOWLEDGED_BEFORE_KILL = 150
"""Saves acknowledged in a round before the server is killed (10 tablets have a request in flight)."""


async def test_a_killed_server_loses_no_acknowledged_mark_and_writes_nothing_by_halves(
    database_url: str, tmp_path: Path
) -> None:
    built = await marking_world(database_url)
    load = MarkingLoad.of(built)
    revisions_before = (await read_marks(database_url)).revisions
    for round_ in range(KILLS):
        (tmp_path / f"round{round_}").mkdir()
        async with running_server(database_url, tmp_path / f"round{round_}") as server:
            saving = load.start(server)
            assert await load.reached(len(load.acknowledged) + ACKNOWLEDGED_BEFORE_KILL), load.refused
            os.kill(server.pid, signal.SIGKILL)
            await saving
        assert load.refused == []
        in_flight = {key(t.pending): stored(t.pending) for t in load.tablets if t.pending is not None}
        assert in_flight, "the server was killed while no save was in flight"
        marks = await read_marks(database_url)
        assert half_written(marks, revisions_before) == []
        for mark, value in load.last_acknowledged().items():
            assert marks.marks.get(mark) in (value, in_flight.get(mark)), f"{mark} acknowledged as {value}"
        unacknowledged = marks.marks.keys() - load.last_acknowledged().keys()
        assert all(marks.marks[mark] == in_flight.get(mark) for mark in unacknowledged)  # only the unanswered

    (tmp_path / "last").mkdir()
    async with running_server(database_url, tmp_path / "last") as server:  # restarted: the tablets finish
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/healthz")).status_code == 200
        await load.start(server)
    assert load.refused == [] and load.finished
    marks = await read_marks(database_url)
    assert half_written(marks, revisions_before) == []
    assert marks.marks == load.last_acknowledged()


async def test_sqlite_runs_wal_with_full_synchronous_writes(sqlite_template: Path, tmp_path: Path) -> None:
    """What the crash test relies on for SQLite: a commit is in the write-ahead log on disk before it is answered."""
    await asyncio.to_thread(shutil.copy, sqlite_template, tmp_path / "podium.db")
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'podium.db'}")  # as the server makes it
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await connection.exec_driver_sql("PRAGMA synchronous")).scalar() == SYNCHRONOUS_FULL
    finally:
        await engine.dispose()
