"""Account services: add a user and issue an API token (the command line), a user's language choice.

Each change is an async function for `competition.writer` (it writes without committing) with its
audit record; the `*_command` helpers run them from the command line.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from competition import audit
from competition.auth import find_user_by_email, hash_password, issue_api_token
from competition.errors import Invalid, NotFound
from competition.models import Role, User
from competition.writer import write


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise Invalid(f"'{email}' is not an email address")
    return email


async def save_user(session: AsyncSession, email: str, role: str, name: str, password_hash: str | None) -> bool:
    """Create the user, or update the role (and password, when given) of an existing one; True if created."""
    user = await find_user_by_email(session, email)
    created = user is None
    if user is None:
        user = User(email=email, name=name or email.split("@")[0], role=role)
        session.add(user)
        await session.flush()
    old_role = user.role
    user.role = role
    if name:
        user.name = name
    if password_hash is not None:
        user.password_hash = password_hash
    await audit.record(
        session,
        None,
        "user_added" if created else "user_updated",
        f"user {email}"[:64],
        old=None if created else {"role": old_role},
        new={"role": role, "password": "changed" if password_hash is not None else "unchanged"},
    )
    return created


async def add_user(engine: AsyncEngine, email: str, *, role: str, name: str = "", password: str | None) -> str:
    """Create the user, or update the role (and password, when given) of an existing one."""
    email = normalise_email(email)
    role = Role(role).value
    password_hash = hash_password(password) if password is not None else None  # slow: before the write
    created = await write(engine, save_user, email, role, name, password_hash)
    verb = "added" if created else "updated"
    return f"{verb} {email} as {role}"


async def token_for(session: AsyncSession, email: str) -> str:
    user = await find_user_by_email(session, email)
    if user is None:
        raise NotFound(f"no user with email {email}")
    return await issue_api_token(session, user)


async def new_token(engine: AsyncEngine, email: str) -> str:
    return await write(engine, token_for, email)


async def choose_language(session: AsyncSession, user_id: int, language: str) -> None:
    """The language a user chose for their pages (remembered for their next log-in)."""
    user = await session.get(User, user_id)
    if user is not None and user.language != language:
        await audit.record(session, user, "language", f"user {user.email}"[:64], old=user.language, new=language)
        user.language = language
