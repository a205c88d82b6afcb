"""Account services for the command line: add a user, issue an API token."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from competition.auth import find_user_by_email, hash_password, issue_api_token
from competition.db import transaction
from competition.errors import Invalid, NotFound
from competition.models import Role, User


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise Invalid(f"'{email}' is not an email address")
    return email


async def add_user(engine: AsyncEngine, email: str, *, role: str, name: str = "", password: str | None) -> str:
    """Create the user, or update the role (and password, when given) of an existing one."""
    email = normalise_email(email)
    role = Role(role).value
    async with transaction(engine) as session:
        user = await find_user_by_email(session, email)
        created = user is None
        if user is None:
            user = User(email=email, name=name or email.split("@")[0], role=role)
            session.add(user)
        user.role = role
        if name:
            user.name = name
        if password is not None:
            user.password_hash = hash_password(password)
    verb = "added" if created else "updated"
    return f"{verb} {email} as {role}"


async def new_token(engine: AsyncEngine, email: str) -> str:
    async with transaction(engine) as session:
        user = await find_user_by_email(session, email)
        if user is None:
            raise NotFound(f"no user with email {email}")
        return await issue_api_token(session, user)
