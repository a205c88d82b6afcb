"""Board fan-out: 2,000 viewers on one `podium serve` process, one change, time until the last has it;
the same clients on a bare `websockets` broadcast server sending the same bytes, in the same run.

Figures: `fanout_clients`, `fanout_p99_ms` (99th percentile over viewers of the time from the change's
request to the viewer's message), `fanout_baseline_p99_ms`, `fanout_ratio` (Podium / baseline; target
≤ 1.5), `fanout_last_ms`, and `ws_kib_per_client` (the server's resident memory growth per idle viewer;
target ≤ 32). Changes are repeated (`ROUNDS`) and the percentiles taken over every viewer and round.
Viewers run in a process of their own; everything is on 127.0.0.1. Times are CLOCK_MONOTONIC, which
every process of the machine shares.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from bench.common import figure, percentile, say, scratch_database
from bench.load import raise_open_files, running_server
from bench.world import build_event, generated_scheme
from competition.db import create_engine
from live.renderer import COALESCE_S

CLIENTS = int(os.environ.get("PODIUM_BENCH_FANOUT_CLIENTS", "2000"))
ROUNDS = 12
BATCH = 100


# --- the viewers (a child process) ---------------------------------------------------------------


async def _viewers(url: str, count: int, origin: str, pipe: Connection) -> None:
    from websockets.asyncio.client import connect

    raise_open_files()
    sockets: list[Any] = []
    for start in range(0, count, BATCH):
        batch = [
            connect(url, origin=origin, open_timeout=60, ping_interval=None, max_size=2**24)  # type: ignore[arg-type]
            for _ in range(start, min(count, start + BATCH))
        ]
        sockets += await asyncio.gather(*batch)
    for socket_ in sockets:  # the board on connect
        await socket_.recv()
    pipe.send(("connected", len(sockets)))
    while True:
        command = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        if command == "stop":
            break

        async def arrival(socket_: Any) -> float:
            message = await socket_.recv()
            return time.monotonic() if message else 0.0

        arrivals = await asyncio.gather(*(asyncio.wait_for(arrival(s), 30) for s in sockets), return_exceptions=True)
        pipe.send(("arrivals", [a for a in arrivals if isinstance(a, float)]))
    for socket_ in sockets:
        await socket_.close()


def _viewer_process(url: str, count: int, origin: str, pipe: Connection) -> None:
    asyncio.run(_viewers(url, count, origin, pipe))


class Crowd:
    """`count` websocket clients in a child process, answering how long each took to get a message."""

    def __init__(self, url: str, count: int, origin: str) -> None:
        self.ours, theirs = multiprocessing.get_context("spawn").Pipe()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_viewer_process, args=(url, count, origin, theirs), daemon=True
        )
        self.process.start()

    async def connected(self) -> int:
        kind, count = await asyncio.get_running_loop().run_in_executor(None, self.ours.recv)
        assert kind == "connected"
        return int(count)

    def arm(self) -> None:
        self.ours.send("next")

    async def arrivals(self) -> list[float]:
        kind, values = await asyncio.get_running_loop().run_in_executor(None, self.ours.recv)
        assert kind == "arrivals"
        return list(values)

    def stop(self) -> None:
        self.ours.send("stop")
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()


# --- the baseline: a bare websockets broadcast server ---------------------------------------------


BASELINE = r"""
import asyncio, sys
from websockets.asyncio.server import serve, broadcast
clients = set()
payload = open(sys.argv[2], "rb").read().decode()
async def handler(socket):
    if socket.request.path == "/go":
        async for _ in socket:
            broadcast(clients, payload)
        return
    clients.add(socket)
    try:
        await socket.send("<div id='board'></div>")
        await socket.wait_closed()
    finally:
        clients.discard(socket)
async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), ping_interval=None, max_size=2**24):
        await asyncio.Future()
asyncio.run(main())
"""


async def _baseline(count: int, payload: bytes, folder: Path) -> list[float]:
    from websockets.asyncio.client import connect

    from bench.load import _free_port

    port = _free_port()
    script, data = folder / "baseline.py", folder / "payload.html"
    script.write_text(BASELINE)
    data.write_bytes(payload)
    process = await asyncio.create_subprocess_exec(sys.executable, str(script), str(port), str(data))
    try:
        url = f"ws://127.0.0.1:{port}"
        for _ in range(100):
            try:
                async with connect(url + "/probe"):
                    break
            except OSError:
                await asyncio.sleep(0.1)
        crowd = Crowd(url + "/board", count, f"http://127.0.0.1:{port}")
        await crowd.connected()
        latencies: list[float] = []
        async with connect(url + "/go") as trigger:
            for _ in range(ROUNDS):
                crowd.arm()
                await asyncio.sleep(0.3)  # the crowd is waiting for its next message
                sent = time.monotonic()
                await trigger.send("go")
                latencies += [1000 * (arrived - sent) for arrived in await crowd.arrivals()]
        crowd.stop()
        return latencies
    finally:
        process.terminate()
        await process.wait()


# --- Podium ----------------------------------------------------------------------------------------


async def _podium(count: int, folder: Path) -> tuple[list[float], float, bytes, int]:
    async with scratch_database("sqlite") as url:
        engine = create_engine(url)
        try:
            built = await build_event(
                engine,
                skills=10,
                competitors=10,
                scheme=generated_scheme(60),
                experts=5,
                judges=3,
                marked=False,
                tokens=True,
            )
        finally:
            await engine.dispose()
        async with running_server(url, folder) as server, httpx.AsyncClient(base_url=server.url) as client:
            await client.get(f"/live/{built.event}")  # render once before measuring memory
            before = server.rss_mib()
            ws = server.url.replace("http://", "ws://") + f"/live/{built.event}/ws?lang=en"
            crowd = Crowd(ws, count, server.url)
            connected = await crowd.connected()
            await asyncio.sleep(1)
            after = server.rss_mib()
            login = built.experts[0]
            latencies: list[float] = []
            payload = b""
            saves = _saves(built, login)
            for round_ in range(ROUNDS):
                crowd.arm()
                await asyncio.sleep(COALESCE_S + 0.3)  # one change on its own, not part of a burst
                competitor, aspect, body = saves[round_]
                sent = time.monotonic()
                response = await client.put(
                    f"/api/v1/events/{built.event}/skills/{login.skill}/stages/{built.stage}/marks/{competitor}/{aspect}",
                    json=body,
                    headers={"Authorization": f"Bearer {login.token}"},
                )
                response.raise_for_status()
                latencies += [1000 * (arrived - sent) for arrived in await crowd.arrivals()]
            page = await client.get(f"/live/{built.event}?lang=en")
            start = page.content.find(f'<section id="skill-{login.skill}"'.encode())
            payload = page.content[start : page.content.find(b"</section>", start) + len(b"</section>")]
            crowd.stop()
    kib_per_client = (after - before) * 1024 / connected if connected else 0.0
    return latencies, kib_per_client, payload, connected


def _saves(built: Any, login: Any) -> list[tuple[str, str, dict[str, object]]]:
    from bench.load import expert_saves

    return [(save.competitor, save.aspect, save.body()) for save in expert_saves(built, login)[:ROUNDS]]


async def _run() -> dict[str, object]:
    limit = raise_open_files()
    clients = min(CLIENTS, max(100, (limit - 200) // 2))
    with tempfile.TemporaryDirectory(prefix="podium-fanout-") as folder:
        say(f"fanout: {clients} viewers on one podium serve")
        latencies, kib, fragment, connected = await _podium(clients, Path(folder))
        say(f"fanout: baseline, a bare websockets server broadcasting {len(fragment)} bytes")
        baseline = await _baseline(clients, fragment, Path(folder))
    p99 = percentile(latencies, 0.99)
    base_p99 = percentile(baseline, 0.99)
    return {
        "fanout_clients": connected,
        "fanout_p99_ms": figure(p99),
        "fanout_last_ms": figure(max(latencies) if latencies else 0.0),
        "fanout_baseline_p99_ms": figure(base_p99),
        "fanout_ratio": figure(p99 / base_p99 if base_p99 else 0.0),
        "ws_kib_per_client": figure(kib),
    }


def run() -> dict[str, object]:
    return asyncio.run(_run())
