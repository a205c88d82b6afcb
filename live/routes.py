"""The live board: phone page, big screen, the board's WebSocket, and the organiser's board and ceremony control.

Pages and socket messages are the renderer's fragments (`live.renderer`), projected by `live.board`
under the event's policy: what a page shows and what the socket sends are the same bytes.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, WebSocket, get, post, websocket
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, WebSocketDisconnect
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition import i18n
from competition.auth import current_user, requires_organiser
from competition.config import LANGUAGES
from competition.errors import PodiumError
from competition.i18n import gettext as _
from competition.models import Skill, Stage, StageKind
from competition.registration.services import get_event, get_skill, get_stage
from competition.writer import write
from live import services
from live.board import CEREMONY_STEPS
from live.models import CeremonyReveal
from live.renderer import REFRESH, BoardRenderer, Viewer
from scoring.models import MarkingScheme
from scoring.results import medal_label

SOCKET_REFUSED = 4403


def renderer_of(connection: Request[Any, Any, Any] | WebSocket[Any, Any, Any]) -> BoardRenderer:
    board: BoardRenderer = connection.app.state.board
    return board


async def _board_page(request: Request[Any, Any, Any], event: str, template: str) -> Template:
    language = i18n.current_language.get()
    context = await renderer_of(request).page_context(event, language)
    if context is None:
        raise NotFoundException(_("There is no event with code %(code)s.", code=event))
    return Template(
        template,
        context={
            "event_code": event,
            "name": context["name"],
            "policy": context["policy"],
            "boards": context["boards"],
            "fragments": Markup("".join(context["fragments"])),  # noqa: S704 - rendered by our autoescaping templates
            "socket": f"/live/{event}/ws?lang={language}",
        },
    )


@get("/live/{event:str}", name="live_board")
async def live_board(request: Request[Any, Any, Any], event: FromPath[str]) -> Template:
    """The board for phones: one column, a tab per skill, large type; no log-in."""
    return await _board_page(request, event, "live/board.html")


@get("/live/{event:str}/screen", name="live_screen")
async def live_screen(request: Request[Any, Any, Any], event: FromPath[str]) -> Template:
    """The board for a 1920×1080 screen: rotates through the skills, with the event clock; the ceremony."""
    return await _board_page(request, event, "live/screen.html")


def _same_origin(socket: WebSocket[Any, Any, Any]) -> bool:
    """CSRF does not cover WebSockets: a page of another site may not open one (no Origin: not a browser)."""
    origin = socket.headers.get("origin")
    if not origin:
        return True
    return urlsplit(origin).netloc.lower() == (socket.headers.get("host") or "").lower()


@websocket("/live/{event:str}/ws", name="live_socket")
async def live_socket(socket: WebSocket[Any, Any, Any], event: FromPath[str]) -> None:
    """The board's current state on connect, then every change, as htmx out-of-band fragments."""
    if not _same_origin(socket):
        await socket.close(code=SOCKET_REFUSED, reason="cross-site")
        return
    language = socket.query_params.get("lang") or socket.cookies.get("podium_lang") or LANGUAGES[0]
    renderer = renderer_of(socket)
    await socket.accept()
    async with renderer.viewer(event, language) as viewer:
        sending = asyncio.ensure_future(_send_board(socket, renderer, event, viewer))
        try:
            await _until_closed(socket)  # in this task: one task less per viewer
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)


async def _send_board(socket: WebSocket[Any, Any, Any], renderer: BoardRenderer, event: str, viewer: Viewer) -> None:
    try:
        whole = await renderer.whole_board(event, viewer.language)
        if not whole:
            await socket.close(code=4404, reason="unknown event")
            return
        await socket.send_text(whole)
        while True:
            message = await viewer.queue.get()
            if message == REFRESH:
                message = await renderer.whole_board(event, viewer.language)
            await socket.send_text(message)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return


async def _until_closed(socket: WebSocket[Any, Any, Any]) -> None:
    """Viewers send nothing; reading is how a closed connection is noticed at once."""
    while True:
        message = await socket.receive()
        if message["type"] == "websocket.disconnect":
            return


# --- the organiser's control ------------------------------------------------------------------


async def _finals(session: AsyncSession, event_id: int) -> list[tuple[Skill, Stage, int]]:
    rows = await session.execute(
        select(Skill, Stage, CeremonyReveal.step)
        .join(MarkingScheme, MarkingScheme.skill_id == Skill.id)
        .join(Stage, Stage.id == MarkingScheme.stage_id)
        .outerjoin(CeremonyReveal, (CeremonyReveal.skill_id == Skill.id) & (CeremonyReveal.stage_id == Stage.id))
        .where(Skill.event_id == event_id, Stage.kind == StageKind.FINAL.value)
        .order_by(Skill.code)
    )
    return [(skill, stage, step or 0) for skill, stage, step in rows.all()]


async def _control_page(
    session: AsyncSession, event: str, notice: dict[str, str] | None = None, status_code: int = 200
) -> Template:
    found = await get_event(session, event)
    return Template(
        "live/control.html",
        context={
            "event": found,
            "policies": services.POLICIES,
            "finals": await _finals(session, found.id),
            "steps": CEREMONY_STEPS,
            "medal_label": medal_label,
            "notice": notice,
            "current_tab": "live",
            "crumbs": [(found.name, f"/events/{found.code}"), (_("Live board"), "")],
        },
        status_code=status_code,
    )


@get("/events/{event:str}/live", guards=[requires_organiser], name="live_control")
async def live_control(
    db_session: NamedDependency[AsyncSession], event: FromPath[str], done: FromQuery[str | None] = None
) -> Template:
    """The organiser's control: what the board shows, and the medal ceremony step by step."""
    notice = {"kind": "ok", "text": _("The board shows it now.")} if done else None
    return await _control_page(db_session, event, notice)


@post("/events/{event:str}/live/visibility", guards=[requires_organiser], name="live_visibility")
async def live_visibility(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    event: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect | Template:
    found = await get_event(db_session, event)
    try:
        await write(db_session, services.set_visibility, current_user(request), found, data.get("policy", ""))
    except PodiumError as refusal:
        await db_session.rollback()
        return await _control_page(db_session, event, {"kind": "error", "text": refusal.message}, refusal.status_code)
    return Redirect(f"/events/{found.code}/live?done=1", status_code=303)


@post("/events/{event:str}/live/ceremony/{skill:str}/{stage:str}", guards=[requires_organiser], name="live_ceremony")
async def live_ceremony(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    event: FromPath[str],
    skill: FromPath[str],
    stage: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect | Template:
    """`step` the next (or previous) step of one final's reveal."""
    found = await get_event(db_session, event)
    found_skill = await get_skill(db_session, found, skill)
    found_stage = await get_stage(db_session, found, stage)
    try:
        step = int(data.get("step", ""))
    except ValueError:
        step = -1
    try:
        await write(db_session, services.ceremony_step, current_user(request), found, found_skill, found_stage, step)
    except PodiumError as refusal:
        await db_session.rollback()
        return await _control_page(db_session, event, {"kind": "error", "text": refusal.message}, refusal.status_code)
    return Redirect(f"/events/{found.code}/live?done=1#final-{found_skill.code}", status_code=303)


route_handlers: list[Any] = [live_board, live_screen, live_socket, live_control, live_visibility, live_ceremony]
