"""Load soak: 50 experts saving 100 marks/s and 1,000 viewers watching one `podium serve` for 3 minutes (SQLite).

Passes when no save fails, every acknowledged mark is in the database at the end and the server's
memory stays flat: its resident size is sampled every 5 s from the first counted save. The machinery
is `bench.load` (the same run as `bench_saves`, only longer).
"""

from __future__ import annotations

import asyncio

from bench.common import figure
from bench.load import run_load

VIEWERS = 1000
RATE = 100.0
SECONDS = 180.0


async def _run() -> dict[str, object]:
    run = await run_load("sqlite", seconds=SECONDS, rate=RATE, viewers=VIEWERS, rss_every=5.0)
    return {
        "soak_seconds": int(SECONDS),
        "soak_viewers": run.viewers.open_at_end,
        "soak_saves": len(run.saves.latencies_ms),
        "soak_saves_per_s": figure(run.saves.saves_per_s),
        "soak_save_p99_ms": figure(run.p99_ms),
        "soak_errors": run.saves.error_count,
        "soak_lost_marks": run.lost,
        "soak_rss_start_mib": figure(run.rss_mib[0]),
        "soak_rss_end_mib": figure(run.rss_mib[-1]),
        "soak_rss_max_mib": figure(max(run.rss_mib)),
    }


def run() -> dict[str, object]:
    return asyncio.run(_run())
