"""Composition root: `create_app()` wires settings, database, accounts, pages and the three packages."""

from __future__ import annotations

import gc
from typing import Any

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.session import SessionMiddleware
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

import competition.registration.routes
import competition.routes
import live.routes
import scoring.routes
from competition import notify
from competition.auth import (
    SESSION_COOKIE,
    AuthMiddleware,
    CSRFUnlessBearerMiddleware,
    DatabaseThrottle,
    LoginSessions,
    LoginThrottle,
    PasswordChecks,
    RedisThrottle,
)
from competition.config import STATIC_DIR, Settings, load_settings
from competition.db import create_engine, session_factory
from competition.web import (
    AdmissionMiddleware,
    LanguageMiddleware,
    SecurityHeadersMiddleware,
    exception_handlers,
    refuse_nul,
    template_config,
)
from live.hub import Hub, channels_plugin
from live.renderer import BoardRenderer

CSRF_COOKIE = "csrftoken"
GC_THRESHOLDS = (700, 10, 100)
CSRF_HEADER = "x-csrftoken"


def _login_throttle(settings: Settings, engine: AsyncEngine) -> LoginThrottle:
    """Log-in attempts counted where every worker sees them: Redis when configured, else the database."""
    allowed, window = settings.login_failures_allowed, settings.login_failure_window_s
    if settings.redis_url:
        return RedisThrottle(Redis.from_url(settings.redis_url), settings.redis_prefix, allowed, window)
    return DatabaseThrottle(engine, allowed, window)


def create_app(settings: Settings | None = None, *, engine: AsyncEngine | None = None) -> Litestar:
    """The Podium web application for `settings` (from the environment when not given)."""
    settings = settings or load_settings()
    engine = engine or create_engine(settings.database_url)
    alchemy = SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_dependency_key="db_session",
        session_config=AsyncSessionConfig(expire_on_commit=False),
    )
    sessions = session_factory(engine)
    session_config = ServerSideSessionConfig(
        key=SESSION_COOKIE, secure=settings.https, httponly=True, samesite="lax", max_age=14 * 24 * 3600
    )
    session_backend = LoginSessions(session_config, engine)
    csrf_config = CSRFConfig(
        secret=settings.secret,
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.https,
        cookie_samesite="strict",
    )
    throttle = _login_throttle(settings, engine)
    password_checks = PasswordChecks()
    channels = channels_plugin(settings)
    hub = Hub(channels)
    board = BoardRenderer(channels, sessions, settings.channels_backlog)

    async def on_startup(app: Litestar) -> None:
        notify.subscribe(hub)
        await board.start()
        # What start-up made (modules, templates, mappings) lives as long as the process: the collector
        # stops scanning it. Reference counting frees almost everything else at once (the collector only
        # looks for cycles), so a full collection, a pause of every request (100 ms with a thousand viewers),
        # is let come ten times less often than Python's default (700, 10, 10).
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)

    async def on_shutdown(app: Litestar) -> None:
        notify.unsubscribe(hub)
        await board.stop()

    return Litestar(
        route_handlers=[
            *competition.routes.route_handlers,
            *competition.registration.routes.route_handlers,
            *scoring.routes.route_handlers,
            *live.routes.route_handlers,
            create_static_files_router(path="/static", directories=[STATIC_DIR], name="static"),
        ],
        middleware=[
            SecurityHeadersMiddleware,
            DefineMiddleware(AdmissionMiddleware, limit=settings.max_requests),
            DefineMiddleware(SessionMiddleware, backend=session_backend),
            DefineMiddleware(AuthMiddleware, engine=engine),
            LanguageMiddleware,
            DefineMiddleware(CSRFUnlessBearerMiddleware, config=csrf_config),
        ],
        plugins=[SQLAlchemyPlugin(config=alchemy), HTMXPlugin(), channels],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "login_throttle": Provide(lambda: throttle, sync_to_thread=False),
            "password_checks": Provide(lambda: password_checks, sync_to_thread=False),
            "db_sessions": Provide(lambda: sessions, sync_to_thread=False),
            "database": Provide(lambda: engine, sync_to_thread=False),
        },
        template_config=template_config(),
        exception_handlers=exception_handlers,
        before_request=refuse_nul,
        openapi_config=OpenAPIConfig(title="Podium API", version="1", path="/schema"),
        request_max_body_size=settings.max_upload_bytes,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        debug=settings.debug,
        state=State({"settings": settings, "sessions": sessions, "board": board}),
    )


__all__: list[Any] = ["create_app"]
