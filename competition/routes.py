"""Pages everybody meets first: home, log-in, log-out and the language switch."""

from __future__ import annotations

from typing import Any, TypedDict

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Response, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from competition.accounts import choose_language
from competition.auth import SESSION_USER_KEY, LoginThrottle, PasswordChecks, authenticate, current_user
from competition.config import LANGUAGES
from competition.i18n import gettext as _
from competition.models import Event, Expert, Role
from competition.web import LANGUAGE_COOKIE, error_response
from competition.writer import write

ONE_YEAR_S = 365 * 24 * 3600


def safe_next(target: str | None) -> str:
    """Only local paths are followed after log-in, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


class AccountController(Controller):
    """Log-in, log-out and the language switch."""

    @get("/login", name="login")
    async def login_page(self, request: Request[Any, Any, Any], next: FromQuery[str | None] = None) -> Template:
        return Template("login.html", context={"next": safe_next(next), "email": "", "error": None})

    @post("/login", status_code=303)
    async def login(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        login_throttle: NamedDependency[LoginThrottle],
        password_checks: NamedDependency[PasswordChecks],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """The attempt is counted before the password is checked: past the limit, no password is checked."""
        email = (data.get("email") or "").strip()
        address = client_address(request)
        if not await login_throttle.attempt(address, email):
            raise HTTPException(status_code=429, detail=_("Too many failed log-ins. Wait a few minutes and try again."))
        user = await authenticate(db_session, password_checks, email, data.get("password") or "")
        if user is None:
            return Template(
                "login.html",
                context={"next": safe_next(data.get("next")), "email": email, "error": _("Wrong email or password.")},
                status_code=400,
            )
        await login_throttle.succeeded(address, email)
        request.clear_session()
        request.set_session({SESSION_USER_KEY: user.id})
        target = safe_next(data.get("next"))
        if target == "/" and user.role != Role.ORGANISER:
            target = "/marking"  # an expert's day starts with their forms
        return Redirect(target, status_code=303)

    @post("/logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect("/login", status_code=303)

    @post("/language", status_code=303)
    async def choose_language(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """Remembers the language for the user (when logged in) and in a cookie."""
        language = data.get("language", "")
        if language not in LANGUAGES:
            raise HTTPException(status_code=400, detail=_("Unknown language."))
        user = current_user(request)
        if user is not None and user.language != language:
            await write(db_session, choose_language, user.id, language)
        response = Redirect(safe_next(data.get("next")), status_code=303)
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=ONE_YEAR_S, samesite="lax", httponly=True)
        return response


@get("/", name="home")
async def home(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Template:
    """Events with their live boards; for experts also the skills they mark."""
    user = current_user(request)
    events = list(await db_session.scalars(select(Event).order_by(Event.starts.desc(), Event.code)))
    expert_roles: list[Expert] = []
    if user is not None:
        expert_roles = list(
            await db_session.scalars(
                select(Expert).where(Expert.user_id == user.id).options(selectinload(Expert.skill))
            )
        )
    return Template("home.html", context={"events": events, "expert_roles": expert_roles})


@get("/healthz", name="health", exclude_from_auth=True, sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


route_handlers: list[Any] = [AccountController, home, health]
dependencies: dict[str, Provide] = {}


class MeDocument(TypedDict):
    email: str
    name: str
    role: str
    language: str | None


@get("/api/v1/me", name="api_me", tags=["accounts"], responses={401: error_response("No or bad credentials")})
async def api_me(request: Request[Any, Any, Any]) -> MeDocument:
    """Who the caller is (bearer token or browser session)."""
    user = current_user(request)
    if user is None:
        from litestar.exceptions import NotAuthorizedException

        raise NotAuthorizedException(_("Missing or invalid credentials."))
    return MeDocument(email=user.email, name=user.name, role=user.role, language=user.language)


route_handlers.append(api_me)
