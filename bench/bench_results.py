"""Results from the database: one skill of 40 competitors × 250 aspects × 3 judges, and an event of 60 such skills.

The event (1.8 million judge scores, every form locked) is written once in bulk into a scratch
database; then `scoring.results.stage_results` (one skill) and `scoring.event_results.load_event_results`
(the whole event) are timed cold (results cache cleared before every run: marks loaded from the
database and computed) and warm (cached: only the one-query freshness check per skill). Medians of
several runs. SQLite file first, then the same on PostgreSQL (`pg_` keys).
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from bench.common import Backend, figure, postgres_available, say, scratch_database, timed_ms
from bench.world import build_event, generated_scheme
from competition.db import create_engine, session_factory
from competition.models import Event, Skill, Stage
from scoring.event_results import load_event_results
from scoring.results import forget_cached_results, stage_results

SKILLS = 60
COMPETITORS = 40
ASPECTS = 250
JUDGES = 3
SKILL_RUNS = 9
EVENT_RUNS = 3


async def _measure(backend: Backend) -> dict[str, object]:
    prefix = "pg_" if backend == "postgres" else ""
    async with scratch_database(backend) as url:
        engine = create_engine(url)
        try:
            started = time.perf_counter()
            built = await build_event(engine, skills=SKILLS, competitors=COMPETITORS,
                                      scheme=generated_scheme(ASPECTS, measurement_every=0), judges=JUDGES)
            say(f"{backend}: {SKILLS} skills, {built.scores:,} judge scores written in "
                f"{time.perf_counter() - started:.1f} s")
            async with session_factory(engine)() as session:
                event = (await session.scalars(select(Event).where(Event.code == built.event))).one()
                stage = (await session.scalars(select(Stage).where(Stage.code == built.stage))).one()
                skills = list(await session.scalars(select(Skill).where(Skill.event_id == event.id)))
                turn = iter(range(10**6))
                same = False

                async def one_skill() -> None:
                    skill = skills[0 if same else next(turn) % len(skills)]
                    results = await stage_results(session, event, skill, stage)
                    assert results is not None and len(results.lines) == COMPETITORS
                    assert all(line.result.complete for line in results.lines)

                async def whole_event() -> None:
                    standings = await load_event_results(session, event, include_unpublished=True)
                    assert len(standings.placings) == SKILLS * COMPETITORS

                skill_ms = await timed_ms(one_skill, SKILL_RUNS, before=forget_cached_results)
                same = True
                await one_skill()
                skill_cached_ms = await timed_ms(one_skill, SKILL_RUNS * 3)
                event_ms = await timed_ms(whole_event, EVENT_RUNS, before=forget_cached_results)
                await whole_event()
                event_cached_ms = await timed_ms(whole_event, EVENT_RUNS)
        finally:
            forget_cached_results()
            await engine.dispose()
    say(f"{backend}: one skill {skill_ms:.1f} ms cold, {skill_cached_ms:.1f} ms cached; "
        f"event {event_ms:.0f} ms cold, {event_cached_ms:.0f} ms cached")
    return {
        f"{prefix}results_skill_ms": figure(skill_ms),
        f"{prefix}results_skill_cached_ms": figure(skill_cached_ms),
        f"{prefix}results_event_ms": figure(event_ms),
        f"{prefix}results_event_cached_ms": figure(event_cached_ms),
    }


async def _run() -> dict[str, object]:
    figures = await _measure("sqlite")
    if postgres_available():
        figures.update(await _measure("postgres"))
    return figures


def run() -> dict[str, object]:
    return asyncio.run(_run())
