"""Accounts: password checking, API tokens, log-in sessions, who is asking (session or bearer token),
log-in throttling, guards.

A page view never writes: a log-in session is read with its user in one query, and written only when it
begins, ends, changes or is renewed (at most once a day), through `competition.writer`. Passwords are
checked in worker threads, a few at a time, after the throttle has counted the attempt, so that a burst
of log-ins neither blocks the event loop nor gets more guesses than the limit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import secrets
from abc import ABC, abstractmethod
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, Receive, Scope, Send
from litestar.utils.dataclass import extract_dataclass_items
from redis.asyncio import Redis
from sqlalchemy import bindparam, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from competition.db import connected, upsert
from competition.errors import Unavailable
from competition.i18n import gettext as _
from competition.models import ApiToken, Expert, ExpertRole, LoginAttempt, LoginSession, Role, Skill, User
from competition.writer import write

_hasher = PasswordHasher()
SESSION_USER_KEY = "user_id"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def digest(secret: str) -> str:
    """API tokens and session IDs are long random strings, so a SHA-256 digest is a safe way to store them."""
    return hashlib.sha256(secret.encode()).hexdigest()


token_digest = digest


# --- passwords ---------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _decoy_hash() -> str:
    """Checked for an unknown email or a user without a password, so that refusing them takes as long."""
    return hash_password(secrets.token_urlsafe(16))


class PasswordChecks:
    """Checking a password costs a tenth of a second of CPU on purpose (argon2). Checks run in worker
    threads, `at_once` together; when `waiting` more wait already, a log-in is answered busy (503) at once."""

    def __init__(self, at_once: int = 2, waiting: int = 64) -> None:
        self.slots = asyncio.Semaphore(at_once)
        self.most_waiting = waiting
        self.waiting = 0

    async def verify(self, password_hash: str | None, password: str) -> bool:
        if self.waiting >= self.most_waiting:
            raise Unavailable(_("Too many log-ins at once; try again in a moment."))
        self.waiting += 1
        try:
            async with self.slots:
                matches = await asyncio.to_thread(verify_password, password_hash or _decoy_hash(), password)
        finally:
            self.waiting -= 1
        return matches and password_hash is not None


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


async def authenticate(session: AsyncSession, checks: PasswordChecks, email: str, password: str) -> User | None:
    """The active user with this email and password, or None; as slow for an unknown email as for a known one.

    The session's read transaction ends before the check, so no connection is held while it runs."""
    user = await find_user_by_email(session, email)
    if session.in_transaction():
        await session.commit()
    known = user is not None and user.is_active
    matches = await checks.verify(user.password_hash if known and user is not None else None, password)
    return user if known and matches else None


async def issue_api_token(session: AsyncSession, user: User) -> str:
    """A new API token for `user` (a change for `competition.writer`); only its digest is kept, so it is shown once."""
    token = "pod_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, digest=digest(token)))
    return token


# --- who is asking -----------------------------------------------------------------------------


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _sep, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class AuthMiddleware:
    """Sets `scope["user"]` to the logged-in `User` (or None): bearer token first, else the log-in session
    (whose user `LoginSessions` read with it)."""

    def __init__(self, app: Any, engine: AsyncEngine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["user"], scope["auth"] = await self._identify(scope)
        await self.app(scope, receive, send)

    async def _identify(self, scope: Scope) -> tuple[User | None, str | None]:
        token = bearer_token(scope)
        if token is not None:
            async with connected(self.engine) as db:
                row = (await db.execute(_USER_OF_TOKEN, {"digest": digest(token)})).one_or_none()
            user = _user_of(row) if row is not None else None
            if user is None or not user.is_active:
                return None, "bad_token"
            return user, "token"
        loaded = scope.get(LoginSessions.USER)
        if not isinstance(loaded, User) or not loaded.is_active:
            return None, None
        return loaded, "session"


SESSION_COOKIE = "podium_session"
_USER_COLUMNS = tuple(User.__table__.columns)
_USER_OF_TOKEN = (
    select(*_USER_COLUMNS).join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.digest == bindparam("digest"))
)
_SESSION = (
    select(LoginSession.data, LoginSession.expires_at, *_USER_COLUMNS)
    .join(User, User.id == LoginSession.user_id)
    .where(LoginSession.digest == bindparam("digest"), LoginSession.expires_at > bindparam("now"))
)
"""Asked on every request, so built once, and read as plain rows (no unit of work)."""


def _user_of(row: Any) -> User:
    """The asking user as a record of its own (read-only: requests change users through services)."""
    return User(**{column.key: row._mapping[column] for column in _USER_COLUMNS})


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


# --- log-in sessions ---------------------------------------------------------------------------


class LoginSessions(ServerSideSessionBackend):
    """Litestar's server-side sessions, kept in the `login_session` table under the digest of their ID.

    Loading one is a single read (with its user); it is written only when it starts (a new ID whenever
    the logged-in user changes), changes, ends, or is renewed, at most once every `RENEW_AFTER_S`."""

    USER = "podium_session_user"
    LOADED = "podium_session_loaded"
    RENEW_AFTER_S = 24 * 3600

    def __init__(self, config: ServerSideSessionConfig, engine: AsyncEngine) -> None:
        super().__init__(config)
        self.engine = engine

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        cookie = connection.cookies.get(self.config.key)
        if not cookie or cookie == "null":
            return {}
        async with connected(self.engine) as db:
            found = (await db.execute(_SESSION, {"digest": digest(cookie), "now": _utcnow()})).one_or_none()
        if found is None:
            return {}
        values: dict[str, Any] = json.loads(found.data)
        connection.scope[self.LOADED] = (dict(values), found.expires_at)  # type: ignore[literal-required]
        connection.scope[self.USER] = _user_of(found)  # type: ignore[literal-required]
        return values

    async def store_in_message(
        self, scope_session: Any, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        loaded: tuple[dict[str, Any], dt.datetime] | None = connection.scope.get(self.LOADED)  # type: ignore[assignment]
        cookie = connection.cookies.get(self.config.key)
        if not cookie or cookie == "null":
            cookie = None
        user_id = scope_session.get(SESSION_USER_KEY) if isinstance(scope_session, dict) else None
        if scope_session is Empty or not scope_session or user_id is None:
            if cookie is not None:  # logged out, or a cookie of a session that is gone
                if loaded is not None:
                    await write(self.engine, _end_session, digest(cookie))
                self._set_cookie(message, "null", expires=0)
            return
        expires_at = _utcnow() + dt.timedelta(seconds=self.config.max_age)
        if loaded is not None and cookie is not None and scope_session == loaded[0]:
            if loaded[1] > expires_at - dt.timedelta(seconds=self.RENEW_AFTER_S):
                return  # unchanged, and renewed not long ago: nothing to write
            await write(self.engine, _renew_session, digest(cookie), expires_at)
            self._set_cookie(message, cookie)
            return
        same_user = loaded is not None and loaded[0].get(SESSION_USER_KEY) == user_id
        session_id = cookie if same_user and cookie is not None else self.generate_session_id()
        replaces = digest(cookie) if cookie is not None and session_id != cookie else None
        await write(
            self.engine, _start_session, digest(session_id), user_id, json.dumps(scope_session), expires_at, replaces
        )
        self._set_cookie(message, session_id)

    def _set_cookie(self, message: Message, value: str, **more: Any) -> None:
        params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
        params.update(more)
        cookie = Cookie(value=value, key=self.config.key, **params)
        MutableScopeHeaders.from_message(message).add("Set-Cookie", cookie.to_header(header=""))


async def _start_session(
    session: AsyncSession, key: str, user_id: int, data: str, expires_at: dt.datetime, replaces: str | None
) -> None:
    """A log-in session begins (or its values change); the one it replaces ends; long-expired ones go."""
    await session.execute(
        delete(LoginSession).where(or_(LoginSession.expires_at < _utcnow(), LoginSession.digest == replaces))
    )
    existing = await session.scalar(select(LoginSession).where(LoginSession.digest == key))
    if existing is None:
        session.add(LoginSession(digest=key, user_id=user_id, data=data, expires_at=expires_at))
    else:
        existing.user_id, existing.data, existing.expires_at = user_id, data, expires_at


async def _renew_session(session: AsyncSession, key: str, expires_at: dt.datetime) -> None:
    await session.execute(update(LoginSession).where(LoginSession.digest == key).values(expires_at=expires_at))


async def _end_session(session: AsyncSession, key: str) -> None:
    await session.execute(delete(LoginSession).where(LoginSession.digest == key))


# --- log-in throttling -------------------------------------------------------------------------


class LoginThrottle(ABC):
    """Counts log-in attempts per address and email; past `allowed` in the window the answer is 429.

    An attempt is counted before its password is checked, so parallel guesses cannot slip past the count."""

    @abstractmethod
    async def attempt(self, address: str, email: str) -> bool:
        """Count an attempt; False when it is over the limit (the password is then not checked)."""

    @abstractmethod
    async def succeeded(self, address: str, email: str) -> None:
        """A right password: the count starts again."""


def _throttle_key(address: str, email: str) -> str:
    return hashlib.sha256(f"{address}|{email.strip().lower()}".encode()).hexdigest()


class DatabaseThrottle(LoginThrottle):
    """Attempts counted in the `login_attempt` table, in one atomic statement per attempt (through the writer)."""

    def __init__(self, engine: AsyncEngine, allowed: int, window_s: int) -> None:
        self.engine, self.allowed, self.window_s = engine, allowed, window_s

    async def attempt(self, address: str, email: str) -> bool:
        attempts = await write(self.engine, _count_attempt, _throttle_key(address, email), self.window_s)
        return attempts <= self.allowed

    async def succeeded(self, address: str, email: str) -> None:
        await write(self.engine, _forget_attempts, _throttle_key(address, email))


async def _count_attempt(session: AsyncSession, key: str, window_s: int) -> int:
    """One more attempt for `key` in its window (a window that has ended starts again); the count now."""
    now = _utcnow()
    ends = now + dt.timedelta(seconds=window_s)
    over = LoginAttempt.window_ends < now
    statement = (
        upsert(session, LoginAttempt)
        .values(key=key, attempts=1, window_ends=ends)
        .on_conflict_do_update(
            index_elements=[LoginAttempt.key],
            set_={
                "attempts": case((over, 1), else_=LoginAttempt.attempts + 1),
                "window_ends": case((over, ends), else_=LoginAttempt.window_ends),
            },
        )
        .returning(LoginAttempt.attempts)
    )
    return int(await session.scalar(statement) or 0)


async def _forget_attempts(session: AsyncSession, key: str) -> None:
    await session.execute(
        delete(LoginAttempt).where((LoginAttempt.key == key) | (LoginAttempt.window_ends < _utcnow()))
    )


class RedisThrottle(LoginThrottle):
    """Attempts counted in Redis (INCR, with the window as the key's expiry)."""

    def __init__(self, redis: Redis, prefix: str, allowed: int, window_s: int) -> None:
        self.redis, self.prefix, self.allowed, self.window_s = redis, prefix, allowed, window_s

    async def attempt(self, address: str, email: str) -> bool:
        key = f"{self.prefix}:login:{_throttle_key(address, email)}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.window_s, nx=True)
            attempts, _set = await pipe.execute()
        return int(attempts) <= self.allowed

    async def succeeded(self, address: str, email: str) -> None:
        await self.redis.delete(f"{self.prefix}:login:{_throttle_key(address, email)}")


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
