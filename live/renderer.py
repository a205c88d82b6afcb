"""Each worker's board renderer: hears every committed change, renders each affected skill's fragment once
per language, and sends the same bytes to every viewer of that event connected to this worker.

Changes reach every worker through the channels backend (in memory, or Redis pub/sub with several
workers), so each worker renders for its own viewers and no worker's viewers miss a change. A change
after a quiet spell is rendered at once; changes arriving during the next `COALESCE_S` are rendered
together after it. A viewer's queue is bounded: a viewer too
slow to keep up loses its backlog and gets the whole board afresh instead, so memory never grows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from litestar.channels import ChannelsPlugin
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from competition import i18n
from competition.config import LANGUAGES
from competition.db import opened
from competition.models import Event
from competition.notify import Change
from competition.web import template_environment
from live.board import SkillBoard, project
from live.facts import event_facts, forget_cached_facts
from live.hub import CHANGES_CHANNEL, decode_change
from scoring.results import medal_label
from scoring.results_pages import mark

log = logging.getLogger(__name__)

COALESCE_S = 1.0
"""Changes within this long of the first are rendered together: during marking a skill changes many
times a second, its board once a second at most (each render is sent to every viewer)."""
OFFERS_AT_ONCE = 50
"""Viewers woken to send in one turn of the event loop: a change reaches a thousand viewers in twenty turns,
with saves and pages served between them, instead of holding the loop for all thousand sends."""
REFRESH = ""
"""Queued for a viewer that fell behind: send it the whole board."""


def board_templates() -> Environment:
    """The templates of the board's fragments, rendered outside any request."""
    templates = template_environment()
    templates.globals["medal_label"] = medal_label
    templates.globals["mark"] = mark
    return templates


def render_skill(templates: Environment, skill: SkillBoard, policy: str) -> str:
    """One skill's fragment (in the current language)."""
    return templates.get_template("live/_skill.html").render(skill=skill, policy=policy)


def out_of_band(fragment: str) -> str:
    """A skill's fragment as htmx swaps it in by its id wherever it is on the page."""
    return fragment.replace("<section ", '<section hx-swap-oob="true" ', 1)


@dataclass(eq=False)
class Viewer:
    """One connected board: its event, language and a bounded queue of messages to send."""

    event: str
    language: str
    backlog: int
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    def offer(self, message: str) -> None:
        if self.queue.qsize() >= self.backlog:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(REFRESH)
            return
        self.queue.put_nowait(message)


@dataclass
class _EventBoard:
    """What this worker has rendered for one event: each skill's fragment per language."""

    policy: str = ""
    name: str = ""
    fragments: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    """language → skill code → fragment."""
    boards: tuple[SkillBoard, ...] = ()
    whole: dict[str, str] = field(default_factory=dict)
    """language → the whole board as one message, until the next change."""


class BoardRenderer:
    def __init__(self, plugin: ChannelsPlugin, sessions: async_sessionmaker[AsyncSession], backlog: int) -> None:
        self.plugin = plugin
        self.sessions = sessions
        self.backlog = backlog
        self.templates = board_templates()
        self.viewers: dict[str, set[Viewer]] = defaultdict(set)
        self.boards: dict[str, _EventBoard] = {}
        self.pending: dict[str, set[str | None]] = {}
        self.locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.task: asyncio.Task[None] | None = None
        self.flushing: set[asyncio.Future[None]] = set()
        self.rendered_at: dict[str, float] = {}
        self.listening = asyncio.Event()

    # --- the worker's life --------------------------------------------------------------------

    async def start(self) -> None:
        self.task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self.listening.wait(), timeout=10)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    async def _listen(self) -> None:
        async with self.plugin.start_subscription([CHANGES_CHANNEL]) as subscriber:
            self.listening.set()
            async for message in subscriber.iter_events():
                try:
                    self.heard(decode_change(message))
                except Exception:  # a bad message must never stop the board
                    log.exception("bad change message %r", message)

    def heard(self, change: Change) -> None:
        """A committed change: render what it touched soon (once for a burst of changes)."""
        if change.what == "registration":
            forget_cached_facts()
        if change.event not in self.boards:
            return  # nobody here watches that event: it is rendered afresh when someone connects
        skill = change.skill if change.what in ("marks", "results", "entries", "scheme") else None
        first = change.event not in self.pending
        self.pending.setdefault(change.event, set()).add(skill)
        if first:
            # The first change after a quiet spell is rendered at once; the ones after it wait for the
            # rest of COALESCE_S and are rendered together.
            loop = asyncio.get_running_loop()
            wait = max(0.0, self.rendered_at.get(change.event, 0.0) + COALESCE_S - loop.time())
            loop.call_later(wait, self._flush_soon, change.event)

    def _flush_soon(self, event: str) -> None:
        task = asyncio.ensure_future(self._flush(event))
        self.flushing.add(task)
        task.add_done_callback(self.flushing.discard)

    async def _flush(self, event: str) -> None:
        self.rendered_at[event] = asyncio.get_running_loop().time()
        skills = self.pending.pop(event, set())
        try:
            if None in skills:
                await self._render(event)
                await self._send_all(event, full=True)
            else:
                changed = await self._render(event, {s for s in skills if s is not None})
                await self._send_all(event, skills=changed)
        except Exception:
            log.exception("rendering the board of %s failed", event)

    # --- rendering -----------------------------------------------------------------------------

    async def _render(self, event_code: str, skills: set[str] | None = None) -> set[str]:
        """Render the event's board (or those skills' fragments) into this worker's cache."""
        async with self.locks[event_code]:
            async with opened(self.sessions) as session:
                event = await session.scalar(select(Event).where(Event.code == event_code))
                if event is None:
                    self.boards.pop(event_code, None)
                    return set()
                board = self.boards.get(event_code) or _EventBoard()
                if board.policy != event.visibility:
                    skills = None  # a new policy: everything is shown differently
                facts = await event_facts(session, event, None if skills is None else sorted(skills))
            projected = project(facts, event.visibility)
            rendered: dict[str, dict[str, str]] = defaultdict(dict)
            for skill in projected:
                for language in LANGUAGES:
                    with i18n.language(language):
                        rendered[language][skill.code] = self._fragment(event_code, skill, event.visibility)
                await asyncio.sleep(0)  # a skill at a time: saves and pages are served between
            board.whole.clear()
            if skills is None:
                board.fragments.clear()
                board.boards = projected
            else:
                by_code = {b.code: b for b in projected}
                board.boards = tuple(by_code.get(b.code, b) for b in board.boards) + tuple(
                    b for b in projected if b.code not in {old.code for old in board.boards}
                )
            board.policy, board.name = event.visibility, event.name
            for language, fragments in rendered.items():
                board.fragments[language].update(fragments)
            self.boards[event_code] = board
            return {skill.code for skill in projected}

    def _fragment(self, event: str, skill: SkillBoard, policy: str) -> str:
        return render_skill(self.templates, skill, policy)

    def _whole(self, event: str, language: str) -> str:
        board = self.boards[event]
        if language in board.whole:
            return board.whole[language]
        template = self.templates.get_template("live/_board.html")
        with i18n.language(language):
            html = template.render(
                fragments=[
                    board.fragments[language][b.code] for b in board.boards if b.code in board.fragments[language]
                ],
                policy=board.policy,
                event=event,
                name=board.name,
            )
        board.whole[language] = html  # every viewer connecting until the next change gets this same text
        return html

    async def whole_board(self, event: str, language: str) -> str:
        """The event's whole board as one message (rendered once, then kept until the next change)."""
        if event not in self.boards:
            await self._render(event)
        if event not in self.boards:
            return ""
        return self._whole(event, language)

    async def page_context(self, event: str, language: str) -> dict[str, Any] | None:
        """What the board pages render: the same fragments the socket sends, read afresh (a page follows
        at once on the change it shows, before the change's message may have arrived). None: no such event."""
        await self._render(event)
        board = self.boards.get(event)
        if board is None:
            return None
        return {
            "fragments": [
                board.fragments[language][b.code] for b in board.boards if b.code in board.fragments[language]
            ],
            "policy": board.policy,
            "name": board.name,
            "boards": board.boards,
        }

    async def _send_all(self, event: str, *, full: bool = False, skills: set[str] | None = None) -> None:
        viewers = self.viewers.get(event)
        if not viewers or event not in self.boards:
            return
        messages: dict[str, str] = {}
        for language in LANGUAGES:
            if full:
                messages[language] = self._whole(event, language)
            else:
                fragments = self.boards[event].fragments[language]
                messages[language] = "".join(
                    out_of_band(fragments[code]) for code in sorted(skills or ()) if code in fragments
                )
        for number, viewer in enumerate(list(viewers), start=1):
            message = messages.get(viewer.language)
            if message:
                viewer.offer(message)
            if number % OFFERS_AT_ONCE == 0:
                await asyncio.sleep(0)  # let others have the loop between the groups of sends

    # --- viewers -------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def viewer(self, event: str, language: str) -> AsyncIterator[Viewer]:
        viewer = Viewer(event, language if language in LANGUAGES else LANGUAGES[0], self.backlog)
        self.viewers[event].add(viewer)
        try:
            yield viewer
        finally:
            self.viewers[event].discard(viewer)
            if not self.viewers[event]:
                del self.viewers[event]
