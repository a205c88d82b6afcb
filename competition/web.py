"""The web layer shared by every package: templates with i18n, language choice, errors, security headers."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, TypedDict

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.template.config import TemplateConfig
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from competition import i18n
from competition.config import LANGUAGES, TEMPLATES_DIR
from competition.errors import PodiumError, Unavailable
from competition.i18n import gettext as _

log = logging.getLogger(__name__)

LANGUAGE_COOKIE = "podium_lang"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
"""Everything comes from Podium itself (htmx is vendored); inline styles are allowed for SVG charts."""


def template_environment(directory: Path = TEMPLATES_DIR) -> Environment:
    """Jinja2 with autoescaping, i18n (`{{ _("…") }}` and `{% trans %}`) and local formats as filters."""
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(["html", "svg", "xml"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        auto_reload=False,  # templates are read once; asking the disk again on every include cost every page
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["date"] = i18n.format_date
    env.filters["datetime"] = i18n.format_datetime
    env.filters["number"] = i18n.format_number
    env.globals["languages"] = i18n.LANGUAGE_NAMES
    env.globals["current_language"] = i18n.current_language.get
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(template_environment()))


def request_language(scope: Scope) -> str:
    """The language of a request: `?lang=`, the user's choice, the language cookie, the browser, Latvian."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    cookie = _cookie(headers.get("cookie", ""), LANGUAGE_COOKIE)
    query_language = _query_value(scope.get("query_string", b""), "lang")
    user = scope.get("user")
    return i18n.pick_language(
        [query_language, getattr(user, "language", None), cookie], headers.get("accept-language", "")
    )


class LanguageMiddleware:
    """Chooses the language of each request (`request_language`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = i18n.current_language.set(request_language(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current_language.reset(token)


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _sep, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _query_value(query: bytes, name: str) -> str | None:
    for part in query.decode("latin-1").split("&"):
        key, _sep, value = part.partition("=")
        if key == name and value in LANGUAGES:
            return value
    return None


class SecurityHeadersMiddleware:
    """Adds Content-Security-Policy, X-Content-Type-Options, Referrer-Policy and X-Frame-Options."""

    HEADERS = (
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _value in message.get("headers", [])}
                extra = [(n, v) for n, v in self.HEADERS if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AdmissionMiddleware:
    """Overload is an answer, not a crash: past `limit` requests in progress, a request is answered at once
    with 503 and Retry-After (a tablet's outbox retries then), in the asker's language; static files,
    the health check and the board's sockets are always let in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/static/") or path == "/healthz":
            await self.app(scope, receive, send)
            return
        if self.in_progress >= self.limit:
            await _busy(scope, send)
            return
        self.in_progress += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress -= 1


async def _busy(scope: Scope, send: Send) -> None:
    with i18n.language(request_language(scope)):
        detail = _("The server is busy; try again in a moment.")
    api = scope.get("path", "").startswith("/api/")
    body = json.dumps({"detail": detail}).encode() if api else detail.encode()
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": HTTP_503_SERVICE_UNAVAILABLE,
        "headers": [
            (b"content-type", b"application/json" if api else b"text/plain; charset=utf-8"),
            (b"retry-after", str(Unavailable.retry_after_s).encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)


def is_api(request: Request[Any, Any, Any]) -> bool:
    # Errors raised before the middleware ran (an unknown path) reach here without a user in scope.
    request.scope.setdefault("user", None)
    return request.url.path.startswith("/api/")


def _detail(exc: Exception) -> str:
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        parts = []
        for item in exc.extra:
            if isinstance(item, dict):
                where = item.get("key") or item.get("source") or ""
                parts.append(f"{where}: {item.get('message', '')}".strip(": "))
        return "; ".join(parts) or str(exc.detail)
    if isinstance(exc, HTTPException):
        return str(exc.detail)
    return _("Something went wrong on the server.")


class ErrorDocument(TypedDict):
    """Every refusal of the API: `{"detail": "…"}`."""

    detail: str


def error_response(description: str) -> ResponseSpec:
    """An error answer of an API operation, for its `responses=` (the OpenAPI documents it)."""
    return ResponseSpec(data_container=ErrorDocument, description=description, generate_examples=False)


async def refuse_nul(request: Request[Any, Any, Any]) -> None:
    """No code, address, search or form field holds a NUL character (`%00`), and PostgreSQL refuses one in
    text: a look-up or a save would fail with a server error. So before any handler runs: 404 for one in
    the path, 400 naming the parameter or field for one in the query string or a posted form. (Uploads
    are binary and checked by their importers; API bodies are JSON, whose values the services check.)"""
    if "\x00" in request.scope["path"]:
        raise NotFoundException()
    if request.scope["query_string"]:
        for name, value in request.query_params.multi_items():
            if "\x00" in name or "\x00" in value:
                raise ClientException(_nul_message(name))
    if request.content_type[0] == RequestEncodingType.URL_ENCODED and _may_hold_nul(await request.body()):
        for name, value in (await request.form()).multi_items():
            if "\x00" in name or (isinstance(value, str) and "\x00" in value):
                raise ClientException(_nul_message(name))


def _may_hold_nul(body: bytes) -> bool:
    return b"%00" in body or b"\x00" in body


def _nul_message(name: str) -> str:
    return _(
        "%(field)s holds a NUL character (\\0), which no text may hold; remove it and send again.",
        field=name.replace("\x00", "\\0") or "?",
    )


def api_error(status: int, detail: str) -> Response[dict[str, str]]:
    return Response({"detail": detail}, status_code=status, media_type="application/json")


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """JSON `{"detail": …}` for the API; for pages a log-in redirect (401) or an error page."""
    status = exc.status_code
    if isinstance(exc, ValidationException) and is_api(request):
        status = 422
    detail = _too_large(request) if status == HTTP_413_REQUEST_ENTITY_TOO_LARGE else _detail(exc)
    if is_api(request) or request.headers.get("accept", "").startswith("application/json"):
        return api_error(status, detail)
    if isinstance(exc, NotAuthorizedException):
        return Redirect(f"/login?next={request.url.path}")
    if request.headers.get("hx-request") and isinstance(exc, PermissionDeniedException):
        return Response(_detail(exc), status_code=status, media_type="text/plain")
    return _error_page(request, status, detail)


def _too_large(request: Request[Any, Any, Any]) -> str:
    """What a user is told when the body of a request (an upload) is over the limit."""
    megabytes = request.app.state["settings"].max_upload_bytes / (1024 * 1024)
    limit = f"{megabytes:g}"
    return _("The upload is larger than the limit of %(limit)s MB; nothing was saved.", limit=limit)


def handle_podium_error(request: Request[Any, Any, Any], exc: PodiumError) -> Response[Any]:
    """A refusal a user caused: JSON for the API, the message on a page (or as text for htmx)."""
    headers = {"retry-after": str(exc.retry_after_s)} if isinstance(exc, Unavailable) else None
    if is_api(request) or request.headers.get("accept", "").startswith("application/json"):
        return Response(
            {"detail": exc.message}, status_code=exc.status_code, media_type="application/json", headers=headers
        )
    if request.headers.get("hx-request"):
        return Response(exc.message, status_code=exc.status_code, media_type="text/plain", headers=headers)
    return _error_page(request, exc.status_code, exc.message, exc.problems, headers=headers)


def _error_page(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    problems: list[str] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> Template:
    """The error page in the asker's language, also for an error met before `LanguageMiddleware` chose it
    (the page is rendered in this request's own task, right after)."""
    i18n.current_language.set(request_language(request.scope))
    return Template(
        template_name="error.html",
        context={"status": status, "detail": detail, "problems": problems or []},
        status_code=status,
        headers=headers,
    )


def handle_pool_timeout(request: Request[Any, Any, Any], exc: SQLAlchemyTimeoutError) -> Response[Any]:
    """Every pooled connection stayed busy for the pool's timeout: the server is overloaded, not broken."""
    with i18n.language(request_language(request.scope)):
        return handle_podium_error(request, Unavailable(_("The server is busy; try again in a moment.")))


def handle_server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    with i18n.language(request_language(request.scope)):
        detail = _detail(exc)
    if is_api(request):
        return api_error(HTTP_500_INTERNAL_SERVER_ERROR, detail)
    return _error_page(request, HTTP_500_INTERNAL_SERVER_ERROR, detail)


exception_handlers: dict[Any, Any] = {
    PodiumError: handle_podium_error,
    SQLAlchemyTimeoutError: handle_pool_timeout,
    HTTPException: handle_http_exception,
    HTTP_500_INTERNAL_SERVER_ERROR: handle_server_error,
}
