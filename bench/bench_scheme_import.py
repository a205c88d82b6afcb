"""Importing a 300-aspect CIS marking scheme workbook: read the file, check it, store it (SQLite file, then PostgreSQL).

The workbook is generated with `scoring.cis_xlsx.write_scheme` (M aspects of every calculation and J
aspects with descriptors); each run reads it with `read_scheme` and stores it with `save_scheme` (which
checks it again) for a skill of its own, and commits: what `podium import-scheme` does. Median of runs.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from bench.common import Backend, figure, postgres_available, say, scratch_database, timed_ms
from bench.world import build_event, generated_scheme
from competition.db import create_engine, session_factory
from competition.models import Skill, Stage
from competition.writer import write
from scoring.cis_xlsx import read_scheme, write_scheme
from scoring.models import SchemeStatus
from scoring.scheme import save_scheme

ASPECTS = 300
RUNS = 5


async def _measure(backend: Backend, workbook: bytes) -> float:
    async with scratch_database(backend) as url:
        engine = create_engine(url)
        try:
            await build_event(engine, skills=RUNS + 1, competitors=0, scheme=generated_scheme(10), experts=0,
                              marked=False)
            async with session_factory(engine)() as session:
                skills = list(await session.scalars(select(Skill.id)))
                stage_id = await session.scalar(select(Stage.id))
            assert stage_id is not None
            turn = iter(skills)

            async def import_once() -> None:
                async with session_factory(engine)() as session:
                    skill = await session.get_one(Skill, next(turn))
                    stage = await session.get_one(Stage, stage_id)
                    read = read_scheme(workbook)
                    assert read.scheme is not None and not read.problems, read.problems
                    scheme = await write(
                        session, save_scheme, None, skill, stage, read.scheme, source_filename="300.xlsx"
                    )
                    assert scheme.status == SchemeStatus.READY

            return await timed_ms(import_once, RUNS)
        finally:
            await engine.dispose()


async def _run() -> dict[str, object]:
    workbook = write_scheme(generated_scheme(ASPECTS, title="A 300-aspect marking scheme"))
    started = time.perf_counter()
    read = read_scheme(workbook)
    say(f"workbook of {len(workbook) // 1024} KiB, {len(read.scheme.aspects) if read.scheme else 0} aspects, "
        f"read in {(time.perf_counter() - started) * 1000:.0f} ms")
    figures: dict[str, object] = {"scheme_import_ms": figure(await _measure("sqlite", workbook))}
    if postgres_available():
        figures["pg_scheme_import_ms"] = figure(await _measure("postgres", workbook))
    say(", ".join(f"{key} {value}" for key, value in figures.items()))
    return figures


def run() -> dict[str, object]:
    return asyncio.run(_run())
