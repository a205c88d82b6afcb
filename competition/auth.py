"""Accounts: password hashing, API tokens, who is asking (session or bearer token), log-in throttling, guards."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from advanced_alchemy.extensions.litestar.session import SQLAlchemyAsyncSessionBackend
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.csrf import CSRFMiddleware
from litestar.stores.base import Store
from litestar.types import Empty, Message, Receive, Scope, Send
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from competition.db import begin_write
from competition.i18n import gettext as _
from competition.models import ApiToken, Expert, ExpertRole, Role, Skill, User

_hasher = PasswordHasher()
SESSION_USER_KEY = "user_id"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """API tokens are long random strings, so a SHA-256 digest is a safe way to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_api_token(session: AsyncSession, user: User) -> str:
    """A new API token for `user`; only its digest is kept, so it is shown once."""
    token = "pod_" + secrets.token_urlsafe(32)
    await begin_write(session)
    session.add(ApiToken(user_id=user.id, digest=token_digest(token)))
    await session.commit()
    return token


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    user = await find_user_by_email(session, email)
    if user is None or not user.is_active:
        verify_password(None, password)
        return None
    return user if verify_password(user.password_hash, password) else None


# --- who is asking -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """The user behind a request and how they proved it (`session` or `token`)."""

    user: User
    via: str


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _sep, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class AuthMiddleware:
    """Sets `scope["user"]` to the logged-in `User` (or None): bearer token first, else the session."""

    def __init__(self, app: Any, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["user"], scope["auth"] = await self._identify(scope)
        await self.app(scope, receive, send)

    async def _identify(self, scope: Scope) -> tuple[User | None, str | None]:
        token = bearer_token(scope)
        if token is not None:
            async with self.sessions() as db:
                api_token = await db.scalar(select(ApiToken).where(ApiToken.digest == token_digest(token)))
            if api_token is None or not api_token.user.is_active:
                return None, "bad_token"
            return api_token.user, "token"
        session = scope.get("session") or {}
        user_id = session.get(SESSION_USER_KEY) if isinstance(session, dict) else None
        if user_id is None:
            return None, None
        async with self.sessions() as db:
            user = await db.get(User, user_id)
        if user is None or not user.is_active:
            return None, None
        return user, "session"


SESSION_COOKIE = "podium_session"


def _has_session_cookie(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"cookie" and any(
            part.strip().startswith(SESSION_COOKIE + "=") for part in value.decode("latin-1").split(";")
        ):
            return True
    return False


class CSRFUnlessBearerMiddleware(CSRFMiddleware):
    """Litestar's CSRF check, except for requests carrying `Authorization: Bearer` (browsers never add it
    cross-site, and such requests ignore the session cookie) and API requests without any session cookie
    (nothing to forge: they are anonymous, and the API answers them 401)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            bearer_token(scope) is not None
            or (scope.get("path", "").startswith("/api/") and not _has_session_cookie(scope))
        ):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


# --- browser sessions -------------------------------------------------------------------------


class DatabaseSessionBackend(SQLAlchemyAsyncSessionBackend):
    """Server-side sessions in the database (shared by every worker), written only when they change,
    never for a visitor without one, and under a fresh ID whenever the logged-in user changes."""

    LOADED = "podium_session_loaded"
    NEW_ID = "podium_session_new_id"

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.scope[self.LOADED] = dict(data)  # type: ignore[literal-required]
        return data

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        return connection.scope.get(self.NEW_ID) or super().get_session_id(connection)  # type: ignore[return-value]

    async def store_in_message(
        self, scope_session: Any, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        loaded: dict[str, Any] = connection.scope.get(self.LOADED, {})  # type: ignore[assignment]
        cookie = connection.cookies.get(self.config.key)
        has_cookie = bool(cookie) and cookie != "null"
        if scope_session is Empty or not scope_session:
            if has_cookie:
                await super().store_in_message(Empty, message, connection)
            return
        if has_cookie and scope_session == loaded:
            return
        if loaded.get(SESSION_USER_KEY) != scope_session.get(SESSION_USER_KEY):
            if has_cookie:
                store = self.config.get_store_from_app(connection.scope["app"])
                await self.delete(self.get_session_id(connection), store=store)
            connection.scope[self.NEW_ID] = self.generate_session_id()  # type: ignore[literal-required]
        await super().store_in_message(scope_session, message, connection)


# --- log-in throttling -------------------------------------------------------------------------


class LoginThrottle:
    """Counts failed log-ins per address and email in a shared store; too many in the window means 429."""

    def __init__(self, store: Store, allowed: int, window_s: int) -> None:
        self.store, self.allowed, self.window_s = store, allowed, window_s

    @staticmethod
    def _key(address: str, email: str) -> str:
        return "login:" + hashlib.sha256(f"{address}|{email.strip().lower()}".encode()).hexdigest()

    async def blocked(self, address: str, email: str) -> bool:
        value = await self.store.get(self._key(address, email))
        return value is not None and int(value) >= self.allowed

    async def failed(self, address: str, email: str) -> None:
        key = self._key(address, email)
        value = await self.store.get(key)
        await self.store.set(key, str(int(value or 0) + 1), expires_in=self.window_s)

    async def succeeded(self, address: str, email: str) -> None:
        await self.store.delete(self._key(address, email))


# --- guards ------------------------------------------------------------------------------------


def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> User | None:
    user = connection.scope.get("user")
    return user if isinstance(user, User) else None


def requires_login(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    if current_user(connection) is None:
        raise NotAuthorizedException(_("Please log in."))


def requires_organiser(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    requires_login(connection, handler)
    user = current_user(connection)
    if user is None or user.role != Role.ORGANISER:
        raise PermissionDeniedException(_("Only organisers may do this."))


async def expert_on_skill(session: AsyncSession, user: User, skill: Skill) -> Expert | None:
    """The user's expert record on this skill, if they are one of its experts."""
    return await session.scalar(select(Expert).where(Expert.user_id == user.id, Expert.skill_id == skill.id))


async def may_manage_skill(session: AsyncSession, user: User, skill: Skill) -> bool:
    """Organisers and the skill's Chief Expert manage a skill (teams, unlocks, unpublished results)."""
    if user.role == Role.ORGANISER:
        return True
    expert = await expert_on_skill(session, user, skill)
    return expert is not None and expert.role == ExpertRole.CHIEF_EXPERT


async def require_skill_manager(session: AsyncSession, user: User | None, skill: Skill) -> User:
    if user is None:
        raise NotAuthorizedException(_("Please log in."))
    if not await may_manage_skill(session, user, skill):
        raise PermissionDeniedException(_("Only the skill's Chief Expert or an organiser may do this."))
    return user


async def require_skill_expert(session: AsyncSession, user: User | None, skill: Skill) -> Expert:
    """The caller's expert record on `skill`, or 401/403."""
    if user is None:
        raise NotAuthorizedException(_("Please log in."))
    expert = await expert_on_skill(session, user, skill)
    if expert is None:
        raise PermissionDeniedException(_("You are not on this skill's team of experts."))
    return expert
