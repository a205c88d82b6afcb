"""Load on a real `podium serve`: experts saving marks through the JSON API while viewers watch the live board.

`run_load` writes a generated event into a scratch database (SQLite file or PostgreSQL), starts
`podium serve` on a free 127.0.0.1 port as a subprocess, connects the viewers to `/live/{event}/ws`
from a second process (so that their reading does not delay the experts' clocks), then lets 50
experts (each with their own API token and HTTP connection) offer marks at a fixed total rate with
`PUT /api/v1/events/{event}/skills/{skill}/stages/{stage}/marks/{competitor}/{aspect}`. Each expert
has one request in flight at a time, like a tablet; when a save takes longer than its interval the
next one goes at once. At the end it checks that every acknowledged mark is in the database.

`bench_saves` and `bench_soak` are two lengths of this run.

`Browser` is a person at a tablet or laptop instead: a cookie jar, the log-in form with its CSRF token,
pages, and marks saved as the tablet's script does (session cookie and `x-csrftoken` header); every
answer goes into a `Tally` (`bench_venue_day` and `tests/integration/test_venue_day.py` use them).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import re
import resource
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from sqlalchemy import select

from bench.common import Backend, percentile, say, scratch_database, steady_clients
from bench.world import BuiltEvent, ExpertLogin, build_event, generated_scheme
from competition.db import create_engine, session_factory
from competition.models import Competitor, Expert
from scoring.models import Aspect, JudgeScore, Measurement

SKILLS = 10
EXPERTS_PER_SKILL = 5
"""10 skills × 5 experts: the 50 experts; 3 of a skill's 5 judge each aspect of each competitor."""
JUDGES = 3
COMPETITORS = 10
ASPECTS = 250
WARM_UP_S = 2.0
"""Saves in the first seconds are not counted (the server's first requests fill its caches)."""
POLL_S = 10.0
"""Fallback viewers (no WebSocket board yet) fetch the event's results page this often."""
STARTUP_S = 60.0


def raise_open_files() -> int:
    """Allow as many open files as the system lets us (each viewer is a socket at both ends)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A running `podium serve` (one process: its RSS is the server's memory)."""

    pid: int
    url: str
    log: Path

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


@asynccontextmanager
async def running_server(
    database_url: str, folder: Path, *, workers: int = 1, redis_url: str | None = None, redis_prefix: str = "podium"
) -> AsyncIterator[Server]:
    """`podium serve` on a free loopback port, stopped (SIGTERM, then SIGKILL) on the way out.

    `workers` server processes (`--workers`); with `redis_url` the workers share live updates and log-in
    throttling through Redis under `redis_prefix`, without it the server runs without Redis whatever
    the environment says."""
    port = _free_port()
    env = {**os.environ, "PODIUM_DATABASE_URL": database_url, "PODIUM_SECRET": "bench-secret-" + "x" * 40,
           "PODIUM_DATA_DIR": str(folder / "data"), "PODIUM_LANGUAGE": "en"}
    env.pop("PODIUM_REDIS_URL", None)
    if redis_url is not None:
        env.update(PODIUM_REDIS_URL=redis_url, PODIUM_REDIS_PREFIX=redis_prefix)
    log_path = folder / "server.log"
    podium = Path(sys.executable).with_name("podium")
    more = ["--workers", str(workers)] if workers > 1 else []
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            str(podium), "serve", "--host", "127.0.0.1", "--port", str(port), *more, env=env, stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            server = Server(process.pid, f"http://127.0.0.1:{port}", log_path)
            await _wait_until_up(server, process)
            yield server
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def _wait_until_up(server: Server, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + STARTUP_S
    async with httpx.AsyncClient(base_url=server.url) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"podium serve exited with {process.returncode}: {server.log.read_text()[-2000:]}")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)  # polling a starting server; nothing to be told by
    raise RuntimeError(f"podium serve did not answer /healthz within {STARTUP_S:.0f} s")


# --- viewers, in a process of their own ------------------------------------------------------------


@dataclass
class ViewerFigures:
    mode: str = ""
    connected: int = 0
    failed: int = 0
    open_at_end: int = 0
    messages: int = 0
    received_bytes: int = 0
    failures: list[str] = field(default_factory=list)


class _Viewers:
    def __init__(self, url: str, event: str) -> None:
        self.url = url
        self.event = event
        self.figures = ViewerFigures()
        self.stop = asyncio.Event()
        self.open = 0

    async def websocket(self, ready: asyncio.Queue[bool]) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        ws_url = self.url.replace("http://", "ws://") + f"/live/{self.event}/ws"
        try:
            async with connect(ws_url, origin=self.url, open_timeout=60, ping_interval=None,  # type: ignore[arg-type]
                               max_size=2**22, close_timeout=2) as socket_:
                self.figures.connected += 1
                self.open += 1
                await ready.put(True)
                receiving = asyncio.ensure_future(self._receive(socket_))
                stopping = asyncio.ensure_future(self.stop.wait())
                await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not receiving.done():
                    self.figures.open_at_end += 1
                receiving.cancel()
                stopping.cancel()
        except (OSError, ConnectionClosed, TimeoutError) as error:
            self.figures.failed += 1
            self.figures.failures.append(repr(error)[:200])
            await ready.put(False)
        except Exception as error:  # an HTTP refusal of the handshake (the route is missing)
            self.figures.failed += 1
            self.figures.failures.append(repr(error)[:200])
            await ready.put(False)

    async def _receive(self, socket_: Any) -> None:
        async for message in socket_:
            self.figures.messages += 1
            self.figures.received_bytes += len(message)

    async def poll(self, client: httpx.AsyncClient, ready: asyncio.Queue[bool]) -> None:
        """A fallback viewer: fetches the event's results page every POLL_S seconds."""
        await ready.put(True)
        self.figures.connected += 1
        with suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), random.uniform(0, POLL_S))
        while not self.stop.is_set():
            try:
                response = await client.get(f"/events/{self.event}/results")
                self.figures.messages += 1
                self.figures.received_bytes += len(response.content)
            except httpx.HTTPError as error:
                self.figures.failures.append(repr(error)[:200])
            with suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), POLL_S)
        self.figures.open_at_end += 1


async def _watch(url: str, event: str, count: int, pipe: Connection) -> None:
    raise_open_files()
    viewers = _Viewers(url, event)
    ready: asyncio.Queue[bool] = asyncio.Queue()
    first = asyncio.ensure_future(viewers.websocket(ready))
    tasks = [first]
    client = None
    if await ready.get():
        viewers.figures.mode = "websocket /live/{event}/ws"
        for start in range(1, count, 50):  # connect in batches, as a crowd arrives
            batch = [asyncio.ensure_future(viewers.websocket(ready)) for _ in range(start, min(count, start + 50))]
            tasks += batch
            for _ in batch:
                await ready.get()
    else:
        viewers.figures = ViewerFigures(mode="http polling /events/{event}/results (no live board route yet)",
                                        failures=viewers.figures.failures)
        client = httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=count), timeout=30)
        tasks = [asyncio.ensure_future(viewers.poll(client, ready)) for _ in range(count)]
        for _ in tasks:
            await ready.get()
    pipe.send(("connected", viewers.figures.connected, viewers.figures.mode))
    with steady_clients():
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    viewers.stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    if client is not None:
        await client.aclose()
    viewers.figures.failures = viewers.figures.failures[:5]
    pipe.send(("done", viewers.figures))


def _viewer_process(url: str, event: str, count: int, pipe: Connection) -> None:
    asyncio.run(_watch(url, event, count, pipe))


@asynccontextmanager
async def watching(server: Server, event: str, count: int) -> AsyncIterator[ViewerFigures]:
    """`count` viewers connected from a child process while the block runs; their figures after it."""
    figures = ViewerFigures()
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_viewer_process, args=(server.url, event, count, theirs), daemon=True
    )
    process.start()
    loop = asyncio.get_running_loop()
    try:
        _, connected, mode = await loop.run_in_executor(None, ours.recv)
        figures.connected, figures.mode = connected, mode
        say(f"{connected} viewers connected ({mode})")
        yield figures
        ours.send("stop")
        _, final = await asyncio.wait_for(loop.run_in_executor(None, ours.recv), 60)
        figures.__dict__.update(final.__dict__)
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()


# --- experts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Save:
    """One mark an expert records: a judge's score (J) or a measurement's value (M)."""

    skill: str
    competitor: str
    aspect: str
    expert: str
    score: int | None = None
    value: str | None = None

    def body(self) -> dict[str, object]:
        return {"score": self.score} if self.score is not None else {"value": self.value, "reason": ""}


MEASURED = {"pass_fail": "1", "deduction": "0", "number_completed": "4", "choice": "1"}


def expert_saves(built: BuiltEvent, login: ExpertLogin) -> list[Save]:
    """What one expert marks, competitor by competitor in scheme order: the J aspects where they are one
    of the 3 judges (judges rotate over the skill's 5 experts, scores 1-2 so the judges agree), and every
    5th M aspect."""
    saves = []
    for c, competitor in enumerate(built.competitors[login.skill]):
        for a, (aspect, kind, calculation) in enumerate(built.aspects):
            turn = (c + a) % EXPERTS_PER_SKILL
            if kind == "J" and (login.index - turn) % EXPERTS_PER_SKILL < JUDGES:
                saves.append(Save(login.skill, competitor, aspect, login.code, score=1 + (c + a + login.index) % 2))
            elif kind == "M" and turn == login.index:
                saves.append(Save(login.skill, competitor, aspect, login.code, value=MEASURED[calculation or ""]))
    return saves


@dataclass
class SaveFigures:
    offered_per_s: float
    seconds: float = 0.0
    acknowledged: list[Save] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0

    @property
    def saves_per_s(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


async def _expert(server: Server, built: BuiltEvent, login: ExpertLogin, saves: list[Save], interval: float,
                  counting_from: float, until: float, figures: SaveFigures) -> None:
    base = f"/api/v1/events/{built.event}/skills/{login.skill}/stages/{built.stage}/marks"
    headers = {"Authorization": f"Bearer {login.token}", "Accept-Language": "en"}
    loop = asyncio.get_running_loop()
    next_at = loop.time() + random.uniform(0, interval)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base_url=server.url, headers=headers, timeout=timeout) as client:
        for save in saves:
            if next_at >= until:
                break
            pause = next_at - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)  # pacing the offered rate
            next_at = max(next_at + interval, loop.time())  # when behind, the next save goes at once (no burst)
            counted = loop.time() >= counting_from
            started = time.perf_counter()
            try:
                async with client.put(f"{base}/{save.competitor}/{save.aspect}", json=save.body()) as response:
                    await response.read()
                    outcome = "ok" if response.status == 200 else f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as error:
                outcome = type(error).__name__
            elapsed = (time.perf_counter() - started) * 1000
            if outcome == "ok":
                figures.acknowledged.append(save)
            if counted:
                figures.sent += 1
                if outcome == "ok":
                    figures.latencies_ms.append(elapsed)
                else:
                    figures.errors[outcome] += 1
            elif outcome != "ok":
                figures.errors[f"{outcome} (warm-up)"] += 1


async def offer_saves(server: Server, built: BuiltEvent, *, seconds: float, rate: float) -> SaveFigures:
    """Every expert saves at `rate / experts` per second for WARM_UP_S + `seconds`."""
    figures = SaveFigures(offered_per_s=rate)
    interval = len(built.experts) / rate
    loop = asyncio.get_running_loop()
    counting_from = loop.time() + WARM_UP_S
    until = counting_from + seconds
    await asyncio.gather(*(
        _expert(server, built, login, expert_saves(built, login), interval, counting_from, until, figures)
        for login in built.experts
    ))
    figures.seconds = seconds
    return figures


# --- browsers ------------------------------------------------------------------------------------------

CSRF_COOKIE = "csrftoken"
"""The CSRF cookie (app.py); the log-in form sends its value as `_csrf_token`, scripts as the header."""
CSRF_HEADER = "x-csrftoken"
RETRY_AFTER_S = 1.0
"""How long to wait before retrying a 503 whose Retry-After gives no number of seconds."""
RETRY_AFTER_MAX_S = 10.0
RETRY_FOR_S = 120.0
"""A request still answered 503 after this long is given up (and counted as a server error)."""
SAMPLES = 20
"""How many server and transport errors a tally keeps word for word, as evidence."""


@dataclass
class Answer:
    """A request as the person saw it: the final status (None: no answer), the time until it in ms
    (waits after 503 included), the body's text and the transport error's name when there was no answer."""

    status: int | None
    ms: float
    text: str = ""
    error: str = ""


@dataclass
class Tally:
    """Every answer the browsers of a run met, by kind of request (`login`, `save`, `page`, …).

    A 503 with Retry-After ("overloaded, retry") is a legitimate answer: the browser waits and sends the
    request again, as the tablet's script does, and it is counted in `retried_503`. Every other answer
    of 500 or above is a server error; times are kept of the answers below 400 to requests started at or
    after `counting_from` (the loop's clock), and to every request of the kinds in `timed_throughout`."""

    counting_from: float = 0.0
    timed_throughout: tuple[str, ...] = ("login",)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    times_ms: dict[str, list[float]] = field(default_factory=dict)
    transport_errors: Counter[str] = field(default_factory=Counter)
    server_errors: int = 0
    retried_503: int = 0
    samples: list[str] = field(default_factory=list)

    def note(self, kind: str, request: str, answer: Answer, started: float) -> None:
        if answer.status is None:
            self.transport_errors[f"{kind} {answer.error}"] += 1
            self._sample(f"{request}: {answer.error} after {answer.ms:.0f} ms")
            return
        self.statuses.setdefault(kind, Counter())[answer.status] += 1
        if answer.status >= 500:
            self.server_errors += 1
            self._sample(f"{request}: HTTP {answer.status} {_gist(answer.text)}")
        elif answer.status < 400 and (started >= self.counting_from or kind in self.timed_throughout):
            self.times_ms.setdefault(kind, []).append(answer.ms)

    def _sample(self, text: str) -> None:
        if len(self.samples) < SAMPLES:
            self.samples.append(text)

    def count(self, status: int) -> int:
        """Answers with this status, over every kind."""
        return sum(counter[status] for counter in self.statuses.values())

    def p99_ms(self, kind: str) -> float:
        return percentile(self.times_ms.get(kind, []), 0.99)

    @property
    def transport_error_count(self) -> int:
        return sum(self.transport_errors.values())


def _gist(text: str) -> str:
    """What an answer says, in short: a page from its heading on, without tags; JSON as it is."""
    if "<h1" in text:
        text = re.sub(r"<[^>]*>", " ", text[text.index("<h1"):])
    return " ".join(text.split())[:200]


def _retry_after_s(response: httpx.Response) -> float | None:
    """The pause a 503 asks for (None: not a 503 "retry later")."""
    if response.status_code != 503 or "retry-after" not in response.headers:
        return None
    try:
        return min(max(float(response.headers["retry-after"]), 0.0), RETRY_AFTER_MAX_S)
    except ValueError:
        return RETRY_AFTER_S


class Browser:
    """One person's browser on a running server: its own cookie jar and connection."""

    def __init__(self, url: str, tally: Tally) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=30, headers={"Accept-Language": "en"})
        self.tally = tally

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.client.aclose()

    async def request(self, kind: str, method: str, path: str, **kwargs: Any) -> Answer:
        """Send a request, again after each 503 with Retry-After, and note the final answer in the tally."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            try:
                response = await self.client.request(method, path, **kwargs)
            except httpx.HTTPError as error:
                answer = Answer(None, (loop.time() - started) * 1000, error=type(error).__name__)
                break
            pause = _retry_after_s(response)
            if pause is None or loop.time() - started > RETRY_FOR_S:
                answer = Answer(response.status_code, (loop.time() - started) * 1000, response.text)
                break
            self.tally.retried_503 += 1
            await asyncio.sleep(pause)  # the server said when to come back
        self.tally.note(kind, f"{method} {path}", answer, started)
        return answer

    @property
    def csrf_token(self) -> str:
        return self.client.cookies.get(CSRF_COOKIE) or ""

    async def log_in(self, email: str, password: str, *, kind: str = "login") -> Answer:
        """Open the log-in page (it sets the CSRF cookie) and post the form; 303 when logged in."""
        page = await self.request("login_page", "GET", "/login")
        if page.status != 200:
            return page
        form = {"email": email, "password": password, "_csrf_token": self.csrf_token}
        return await self.request(kind, "POST", "/login", data=form)

    async def page(self, path: str, *, kind: str = "page") -> Answer:
        return await self.request(kind, "GET", path)

    async def post_form(self, kind: str, path: str, form: dict[str, str]) -> Answer:
        """A form posted as the browser does without JavaScript (CSRF token field, redirects not followed)."""
        return await self.request(kind, "POST", path, data={**form, "_csrf_token": self.csrf_token})

    async def save(self, event: str, stage: str, save: Save) -> Answer:
        """The tablet's save: PUT to the marks API with the session cookie and the CSRF header; 200 when recorded."""
        path = f"/api/v1/events/{event}/skills/{save.skill}/stages/{stage}/marks/{save.competitor}/{save.aspect}"
        headers = {CSRF_HEADER: self.csrf_token, "Accept": "application/json"}
        return await self.request("save", "PUT", path, json=save.body(), headers=headers)


def bad_login_emails(built: BuiltEvent, count: int, guesses: int) -> list[str]:
    """`count` emails to try wrong passwords with: `guesses` times the first expert's (a guesser, throttled
    after a few), the rest half other experts' and half unknown."""
    others = count - guesses
    known = [login.email for login in built.experts[1:others - others // 2 + 1]]
    return [built.experts[0].email] * guesses + known + [f"nobody{n}@venue.example" for n in range(others // 2)]


def server_log_errors(server: Server) -> Counter[str]:
    """The exceptions the server logged (the last line of each traceback), by how often."""
    found: Counter[str] = Counter()
    for line in server.log.read_text(errors="replace").splitlines():
        if line[:1].isalpha() and ":" in line and line.split(":", 1)[0].rsplit(".", 1)[-1].endswith(
            ("Error", "Exception", "Timeout", "TimeoutError")
        ):
            found[line[:160]] += 1
    return found


async def lost_marks(database_url: str, acknowledged: list[Save]) -> int:
    """How many acknowledged marks are not in the database as acknowledged."""
    engine = create_engine(database_url, null_pool=True)
    try:
        async with session_factory(engine)() as session:
            scores = {
                (competitor, aspect, expert): score
                for competitor, aspect, expert, score in await session.execute(
                    select(Competitor.code, Aspect.code, Expert.code, JudgeScore.score)
                    .join(Competitor, Competitor.id == JudgeScore.competitor_id)
                    .join(Aspect, Aspect.id == JudgeScore.aspect_id)
                    .join(Expert, Expert.id == JudgeScore.expert_id)
                )
            }
            values = {
                (competitor, aspect): value
                for competitor, aspect, value in await session.execute(
                    select(Competitor.code, Aspect.code, Measurement.value)
                    .join(Competitor, Competitor.id == Measurement.competitor_id)
                    .join(Aspect, Aspect.id == Measurement.aspect_id)
                )
            }
    finally:
        await engine.dispose()
    lost = 0
    for save in acknowledged:
        if save.score is not None:
            lost += scores.get((save.competitor, save.aspect, save.expert)) != save.score
        else:
            stored = values.get((save.competitor, save.aspect))
            lost += stored is None or stored != Decimal(save.value or "")
    return lost


# --- the whole run ---------------------------------------------------------------------------------------


@dataclass
class LoadRun:
    backend: Backend
    viewers: ViewerFigures
    saves: SaveFigures
    lost: int
    rss_mib: list[float]
    """The server's resident memory, sampled every few seconds from the first counted save to the end."""

    @property
    def p99_ms(self) -> float:
        return percentile(self.saves.latencies_ms, 0.99)


async def _sample_rss(server: Server, into: list[float], every: float, stop: asyncio.Event) -> None:
    await asyncio.sleep(WARM_UP_S)
    while not stop.is_set():
        into.append(server.rss_mib())
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
    into.append(server.rss_mib())


async def run_load(backend: Backend, *, seconds: float, rate: float, viewers: int, rss_every: float = 5.0) -> LoadRun:
    """One load run on a fresh database of `backend` (see the module's description)."""
    limit = raise_open_files()
    if limit < viewers * 2 + 200:
        say(f"open files limited to {limit}: fewer viewers may connect than asked")
    async with scratch_database(backend) as url:
        engine = create_engine(url)
        try:
            built = await build_event(engine, skills=SKILLS, competitors=COMPETITORS, scheme=generated_scheme(ASPECTS),
                                      experts=EXPERTS_PER_SKILL, judges=JUDGES, marked=False, tokens=True)
        finally:
            await engine.dispose()
        with tempfile.TemporaryDirectory(prefix="podium-serve-") as folder:
            async with running_server(url, Path(folder)) as server, watching(server, built.event, viewers) as seen:
                rss: list[float] = []
                stop = asyncio.Event()
                sampler = asyncio.ensure_future(_sample_rss(server, rss, rss_every, stop))
                say(f"{backend}: {len(built.experts)} experts offering {rate:.0f} saves/s for "
                    f"{seconds:.0f} s (+{WARM_UP_S:.0f} s warm-up)")
                with steady_clients():
                    save_figures = await offer_saves(server, built, seconds=seconds, rate=rate)
                stop.set()
                await sampler
            lost = await lost_marks(url, save_figures.acknowledged)
    if not save_figures.acknowledged:
        raise RuntimeError(f"no save was acknowledged ({dict(save_figures.errors)}): is the marks API there?")
    viewer_figures = seen
    run = LoadRun(backend, viewer_figures, save_figures, lost, rss)
    say(f"{backend}: {len(save_figures.latencies_ms)} saves counted ({run.saves.saves_per_s:.1f}/s), "
        f"p50 {percentile(save_figures.latencies_ms, 0.5):.1f} ms, p99 {run.p99_ms:.1f} ms, "
        f"errors {dict(save_figures.errors) or 0}, lost {lost}; viewers {viewer_figures.connected} connected, "
        f"{viewer_figures.open_at_end} open at the end, {viewer_figures.messages} messages, "
        f"{viewer_figures.received_bytes // 1024} KiB" + (f"; failures {viewer_figures.failures}"
                                                          if viewer_figures.failures else ""))
    return run
