"""Experts saving marks while viewers watch: 50 experts offer 120 saves/s through the JSON API for 25 s
while 1,000 viewers are connected to the live board of one `podium serve`; SQLite file, then PostgreSQL.

Figures: the saves acknowledged per second and the 99th percentile of their response times, as the
experts' clients measure them (loopback, so it is the server's time plus the client's own).
The machinery is `bench.load`.
"""

from __future__ import annotations

import asyncio

from bench.common import figure, percentile, postgres_available
from bench.load import run_load

VIEWERS = 1000
RATE = 120.0
SECONDS = 25.0


async def _run() -> dict[str, object]:
    run = await run_load("sqlite", seconds=SECONDS, rate=RATE, viewers=VIEWERS)
    figures: dict[str, object] = {
        "viewers_during_saves": run.viewers.open_at_end,
        "saves_offered_per_s": figure(RATE),
        "saves_per_s": figure(run.saves.saves_per_s),
        "save_p50_ms": figure(percentile(run.saves.latencies_ms, 0.5)),
        "save_p99_ms": figure(run.p99_ms),
        "save_errors": run.saves.error_count,
        "save_lost_marks": run.lost,
    }
    if postgres_available():
        pg = await run_load("postgres", seconds=SECONDS, rate=RATE, viewers=VIEWERS)
        figures.update({
            "pg_viewers_during_saves": pg.viewers.open_at_end,
            "pg_saves_per_s": figure(pg.saves.saves_per_s),
            "pg_save_p50_ms": figure(percentile(pg.saves.latencies_ms, 0.5)),
            "pg_save_p99_ms": figure(pg.p99_ms),
            "pg_save_errors": pg.saves.error_count,
            "pg_save_lost_marks": pg.lost,
        })
    return figures


def run() -> dict[str, object]:
    return asyncio.run(_run())
