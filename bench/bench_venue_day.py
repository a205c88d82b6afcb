"""A venue day on a real server: 150 experts marking from their browsers, organisers, 1,000 viewers, bad log-ins.

Two runs (issue 18): SQLite with one `podium serve`, then PostgreSQL and Redis behind
`podium serve --workers 2`. Every expert is a browser of its own (`bench.load.Browser`, a cookie jar):
it opens /login, posts the form with the CSRF token, loads its day page, then saves marks as the
tablet's script does (PUT to the marks API with the session cookie and the `x-csrftoken` header), one
in flight, a save every 2 s on average (about 75 a second in all), and loads a marking page (its day
page or the form it is marking) after every 8th save. What each expert marks is
`bench.load.expert_saves` (3 of a skill's 5 experts judge each J aspect, and their scores agree).
3 organisers read the event's and skills' results pages, one every 1-2 s each; 1,000 viewers are
connected to /live/{event}/ws from a child process; once the experts are marking, 40 bad log-ins
(wrong passwords for known and unknown emails, 10 of them guessing one expert's password) arrive
together. People arrive and log in over LOGIN_SPREAD_S; the counted SECONDS start WARM_UP_S after the
last log-in.

Figures (the PostgreSQL run's with the prefix `pg_`):
- `venue_5xx`: answers of 500 and above to any request of the run (saves, pages, log-ins). A 503 with
  Retry-After ("overloaded, retry") is a legitimate answer, retried as the tablet does, and counted in
  `venue_503`; the save's time includes the waits.
- `venue_transport_errors`: requests without an answer (connection errors, 30 s timeouts) and board
  viewers whose WebSocket failed or was closed before the end.
- `venue_lost_marks`: acknowledged saves that are not in the database as acknowledged.
- `venue_saves_per_s`, `venue_save_p99_ms` and `venue_page_p99_ms` (every HTML page the experts and
  organisers load, not the log-in page) in the counted SECONDS; `venue_login_p99_ms` (every good
  log-in's form post, from the first); `venue_429` (throttled log-ins: legitimate) and `venue_503`.
The server's logged exceptions and its first error answers word for word go to stderr as evidence.
"""

from __future__ import annotations

import asyncio
import math
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    REDIS_URL,
    Backend,
    figure,
    postgres_available,
    say,
    scratch_database,
    scratch_redis_prefix,
    steady_clients,
)
from bench.load import (
    EXPERTS_PER_SKILL,
    JUDGES,
    WARM_UP_S,
    Browser,
    Save,
    Server,
    Tally,
    ViewerFigures,
    bad_login_emails,
    expert_saves,
    lost_marks,
    raise_open_files,
    running_server,
    server_log_errors,
    watching,
)
from bench.world import BuiltEvent, ExpertLogin, build_event, generated_scheme
from competition.auth import hash_password
from competition.db import create_engine

SKILLS = 30
"""30 skills × 5 experts: the 150 experts."""
COMPETITORS = 10
ASPECTS = 100
ORGANISERS = 3
VIEWERS = 1000
BAD_LOGINS = 40
GUESSES = 10
"""Of the bad log-ins, how many guess one expert's password (the throttle allows 5 failures)."""
SAVE_EVERY_S = 2.0
"""Each expert's average pause between saves (drawn evenly from half to one and a half of it)."""
PAGE_EVERY = 8
"""An expert loads a page after every 8th save."""
ORGANISER_PAUSE_S = (1.0, 2.0)
LOGIN_SPREAD_S = 30.0
"""The experts and organisers arrive and log in over this long (argon2: a tenth of a second of CPU each)."""
SECONDS = 35.0
PG_WORKERS = 2
PASSWORD = "venue-day-password"


@dataclass
class Day:
    """The day's clock and what the experts were told was saved.

    `start` and `end` (the loop's clock) bound the counted load; they are set when the last person has
    logged in (until then the experts mark and the organisers read, uncounted)."""

    people: int
    tally: Tally
    logged_in: int = 0
    start: float = math.inf
    end: float = math.inf
    marking: asyncio.Event = field(default_factory=asyncio.Event)
    acknowledged: list[Save] = field(default_factory=list)

    def arrived(self) -> None:
        """One more person is through the log-in (or gave up on it)."""
        self.logged_in += 1
        if self.logged_in == self.people:
            self.start = asyncio.get_running_loop().time() + WARM_UP_S
            self.end = self.start + SECONDS
            self.tally.counting_from = self.start
            self.marking.set()

    def over(self) -> bool:
        return asyncio.get_running_loop().time() >= self.end


async def _arrive() -> None:
    await asyncio.sleep(random.uniform(0, LOGIN_SPREAD_S))  # people arrive over the first minutes


async def _expert(server: Server, built: BuiltEvent, login: ExpertLogin, day: Day) -> None:
    """Log in, open the day page, then save a mark every SAVE_EVERY_S on average, a page every PAGE_EVERY."""
    marking = f"/marking/{built.event}/{login.skill}/{built.stage}"
    loop = asyncio.get_running_loop()
    await _arrive()
    async with Browser(server.url, day.tally) as browser:
        answer = await browser.log_in(login.email, PASSWORD)
        day.arrived()
        if answer.status != 303:
            return
        await browser.page(marking)
        next_at = loop.time()
        for number, save in enumerate(expert_saves(built, login), start=1):
            next_at = max(next_at + random.uniform(SAVE_EVERY_S / 2, SAVE_EVERY_S * 1.5), loop.time())
            if next_at >= day.end:
                break
            await asyncio.sleep(next_at - loop.time())  # pacing: one save every SAVE_EVERY_S on average
            if day.over():
                break
            if (await browser.save(built.event, built.stage, save)).status == 200:
                day.acknowledged.append(save)
            if number % PAGE_EVERY == 0:
                form = f"{marking}/forms/{save.competitor}/{save.aspect.rsplit('.', 1)[0]}"
                await browser.page(form if number % (2 * PAGE_EVERY) else marking)


async def _organiser(server: Server, built: BuiltEvent, email: str, day: Day) -> None:
    """Log in, then read the event's results and a skill's results in turn until the day is over."""
    await _arrive()
    async with Browser(server.url, day.tally) as browser:
        answer = await browser.log_in(email, PASSWORD)
        day.arrived()
        if answer.status != 303:
            return
        turn = 0
        while not day.over():
            skill = random.choice(built.skills)
            path = (f"/events/{built.event}/results" if turn % 2 == 0
                    else f"/events/{built.event}/skills/{skill}/stages/{built.stage}/results")
            await browser.page(path)
            turn += 1
            await asyncio.sleep(random.uniform(*ORGANISER_PAUSE_S))  # reading the page


async def _bad_logins(server: Server, built: BuiltEvent, day: Day) -> None:
    """BAD_LOGINS log-ins with wrong passwords, all at once, a third of the way into the counted day."""
    await day.marking.wait()
    await asyncio.sleep(max(0.0, day.start + SECONDS / 3 - asyncio.get_running_loop().time()))

    async def one(email: str) -> None:
        async with Browser(server.url, day.tally) as browser:
            await browser.log_in(email, "not the password", kind="bad_login")

    say(f"{BAD_LOGINS} bad log-ins at once")
    await asyncio.gather(*(one(email) for email in bad_login_emails(built, BAD_LOGINS, GUESSES)))


@dataclass
class DayFigures:
    tally: Tally
    viewers: ViewerFigures
    acknowledged: int
    lost: int

    def figures(self, prefix: str) -> dict[str, object]:
        tally, viewers = self.tally, self.viewers
        dropped = max(0, viewers.connected - viewers.open_at_end)
        return {
            f"{prefix}5xx": tally.server_errors,
            f"{prefix}transport_errors": tally.transport_error_count + viewers.failed + dropped,
            f"{prefix}lost_marks": self.lost,
            f"{prefix}saves_per_s": figure(len(tally.times_ms.get("save", [])) / SECONDS),
            f"{prefix}save_p99_ms": figure(tally.p99_ms("save")),
            f"{prefix}page_p99_ms": figure(tally.p99_ms("page")),
            f"{prefix}login_p99_ms": figure(tally.p99_ms("login")),
            f"{prefix}429": tally.count(429),
            f"{prefix}503": tally.retried_503,
        }


def _report(backend: Backend, result: DayFigures, logged: Sequence[tuple[str, int]]) -> None:
    tally = result.tally
    say(f"{backend}: answers by kind: " + "; ".join(
        f"{kind} {dict(sorted(counter.items()))}" for kind, counter in sorted(tally.statuses.items())))
    say(f"{backend}: {result.acknowledged} saves acknowledged, {len(tally.times_ms.get('save', []))} in the "
        f"counted {SECONDS:.0f} s; transport errors {dict(tally.transport_errors) or 0}; viewers "
        f"{result.viewers.connected} connected, {result.viewers.failed} failed, {result.viewers.open_at_end} open "
        f"at the end, {result.viewers.messages} messages")
    for sample in tally.samples[:8]:
        say(f"{backend}: {sample}")
    for line, count in logged[:8]:
        say(f"{backend}: server logged {count}× {line}")


async def venue_day(backend: Backend, password_hash: str) -> DayFigures:
    """One venue day on a fresh database of `backend` (see the module's description)."""
    limit = raise_open_files()
    if limit < VIEWERS * 2 + 500:
        say(f"open files limited to {limit}: fewer viewers may connect than asked")
    async with scratch_database(backend) as url, scratch_redis_prefix("venue") as prefix:
        engine = create_engine(url)
        try:
            built = await build_event(engine, skills=SKILLS, competitors=COMPETITORS, scheme=generated_scheme(ASPECTS),
                                      experts=EXPERTS_PER_SKILL, judges=JUDGES, marked=False,
                                      password_hash=password_hash, organisers=ORGANISERS)
        finally:
            await engine.dispose()
        workers = 1 if backend == "sqlite" else PG_WORKERS
        redis = None if backend == "sqlite" else REDIS_URL
        with tempfile.TemporaryDirectory(prefix="podium-serve-") as folder:
            async with running_server(url, Path(folder), workers=workers, redis_url=redis, redis_prefix=prefix) \
                    as server:
                async with watching(server, built.event, VIEWERS) as seen:
                    day = Day(len(built.experts) + len(built.organisers), Tally(counting_from=math.inf))
                    say(f"{backend}: {len(built.experts)} experts and {len(built.organisers)} organisers log in "
                        f"over {LOGIN_SPREAD_S:.0f} s, then {SECONDS:.0f} s counted (+{WARM_UP_S:.0f} s warm-up); "
                        f"{workers} server process(es){', Redis' if redis else ''}")
                    with steady_clients():
                        await asyncio.gather(
                            *(_expert(server, built, login, day) for login in built.experts),
                            *(_organiser(server, built, email, day) for email in built.organisers),
                            _bad_logins(server, built, day),
                        )
                logged = server_log_errors(server).most_common()
        lost = await lost_marks(url, day.acknowledged)
    result = DayFigures(day.tally, seen, len(day.acknowledged), lost)
    _report(backend, result, logged)
    return result


async def _run() -> dict[str, object]:
    password_hash = hash_password(PASSWORD)  # once: argon2 takes a tenth of a second on purpose
    figures = (await venue_day("sqlite", password_hash)).figures("venue_")
    if postgres_available():
        figures.update((await venue_day("postgres", password_hash)).figures("pg_venue_"))
    return figures


def run() -> dict[str, object]:
    return asyncio.run(_run())
