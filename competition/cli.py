"""The `podium` command: serve, migrate, demo, imports, users; other packages add commands by entry point."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from functools import wraps
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from competition import i18n
from competition.config import Settings, load_settings
from competition.db import create_engine, session_factory
from competition.errors import PodiumError
from competition.i18n import gettext as _

T = TypeVar("T")
COMMANDS_ENTRY_POINT = "podium.commands"
CLI_LANGUAGE = "en"
"""Commands speak English (scripts read them) unless PODIUM_LANGUAGE=lv asks for Latvian."""


class Context:
    """What every command gets: the settings (with `--database` applied) and a way to run async work."""

    def __init__(self, database: str | None) -> None:
        self.database = database

    @property
    def settings(self) -> Settings:
        return load_settings(self.database)

    def run(self, work: Callable[[AsyncEngine], Coroutine[Any, Any, T]], *, migrate: bool = True) -> T:
        """Migrate the database (idempotent), then run `work(engine)` and dispose of the engine."""
        url = self.settings.database_url
        if migrate:
            from competition.migrate import upgrade_database

            upgrade_database(url)

        async def main() -> T:
            engine = create_engine(url)
            try:
                return await work(engine)
            finally:
                await engine.dispose()

        return asyncio.run(main())


pass_context = click.make_pass_decorator(Context)


def fail(message: str) -> None:
    """Print a one-line reason on stderr and exit non-zero."""
    raise click.ClickException(message.replace("\n", " "))


def reports_errors(command: Callable[..., T]) -> Callable[..., T]:
    """Turn a `PodiumError` into the one-line message and non-zero exit the contract asks for."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return command(*args, **kwargs)
        except PodiumError as error:
            for problem in error.problems:
                click.echo(problem, err=True)
            fail(error.message)
            raise  # unreachable: fail() raises

    return wrapper


@click.group()
@click.option(
    "--database", metavar="URL", help="SQLAlchemy async URL (default: PODIUM_DATABASE_URL, else podium.db)."
)
@click.pass_context
def cli(ctx: click.Context, database: str | None) -> None:
    """Podium: skills competitions end to end."""
    ctx.obj = Context(database)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@pass_context
def serve(context: Context, host: str, port: int, workers: int) -> None:
    """Apply migrations and serve the web application."""
    import uvicorn

    from competition.migrate import upgrade_database

    settings = context.settings
    upgrade_database(settings.database_url)
    os.environ["PODIUM_DATABASE_URL"] = settings.database_url
    os.environ.setdefault("PODIUM_SECRET", settings.secret)  # every worker signs with the same secret
    if workers > 1 and settings.is_sqlite and not settings.redis_url:
        click.echo("note: several workers without PODIUM_REDIS_URL do not share one live board", err=True)
    # No per-message deflate: each socket's zlib state doubled the memory of an idle live board viewer
    # (bench fanout: 93 -> 48 KiB a viewer), and every viewer compressed the same fragment again.
    uvicorn.run("app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info",
                ws_max_size=64 * 1024, ws_per_message_deflate=False)


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_context
@reports_errors
def db_upgrade(context: Context) -> None:
    """Bring the database to the newest schema."""
    from competition.migrate import upgrade_database

    upgrade_database(context.settings.database_url)
    click.echo("database is up to date")


@cli.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
@reports_errors
def backup_command(context: Context, out: Path) -> None:
    """Copy the SQLite database, even while it is served, to the new file OUT."""
    from competition import backup

    database = backup.sqlite_path(context.settings.database_url)
    if database is None:
        fail(_("podium backup copies SQLite databases: back up PostgreSQL with pg_dump (README, Backups)"))
    assert database is not None
    copied = backup.backup(database, out)
    click.echo(_("%(file)s: a backup of %(database)s (%(figures)s)",
                 file=str(out), database=str(database), figures=copied.figures()))


@cli.command("restore")
@click.argument("backup_file", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Restore even into a database another process (a server) has open.")
@pass_context
@reports_errors
def restore_command(context: Context, backup_file: Path, force: bool) -> None:
    """Replace the SQLite database by a backup made with `podium backup`."""
    from competition import backup

    database = backup.sqlite_path(context.settings.database_url)
    if database is None:
        fail(_("podium restore restores SQLite databases: restore PostgreSQL with pg_restore or psql "
               "(README, Backups)"))
    assert database is not None
    served = backup.in_use(database)
    copied = backup.restore(backup_file, database, force=force)
    click.echo(_("%(database)s: restored from %(file)s (%(figures)s)",
                 database=str(database), file=str(backup_file), figures=copied.figures()))
    if served:
        click.echo(_("note: restart podium serve, so that no page shows what it computed before the restore"),
                   err=True)


@cli.group()
def user() -> None:
    """Accounts."""


@user.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["organiser", "chief_expert", "expert"]), required=True)
@click.option("--name", default="", help="The name shown on pages.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
@reports_errors
def user_add(context: Context, email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create (or update) a user with a role."""
    from competition.accounts import add_user

    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            fail("no password on standard input")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def work(engine: AsyncEngine) -> str:
        return await add_user(engine, email, role=role, name=name, password=password)

    click.echo(context.run(work))


@user.command("token")
@click.argument("email")
@pass_context
@reports_errors
def user_token(context: Context, email: str) -> None:
    """Print a new API token for the user, alone on stdout."""
    from competition.accounts import new_token

    async def work(engine: AsyncEngine) -> str:
        return await new_token(engine, email)

    click.echo(context.run(work))


@cli.command("import")
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
@reports_errors
def import_event(context: Context, workbook: Path) -> None:
    """Register an event from an event workbook (EVENT.xlsx); importing it again updates by code."""
    from competition.registration.workbook import import_event_workbook

    if not workbook.is_file():
        fail(f"{workbook}: no such file")

    async def work(engine: AsyncEngine) -> str:
        async with session_factory(engine)() as session:
            summary = await import_event_workbook(session, None, workbook, workbook.name)
        return summary.line()

    click.echo(context.run(work))


@cli.command()
@pass_context
@reports_errors
def demo(context: Context) -> None:
    """Load the demo competition (SkillsLatvia 2023) unless it is there, and print its log-ins."""
    from competition.registration.demo import load_demo

    for line in context.run(load_demo):
        click.echo(line)


def _load_plugin_commands() -> None:
    for entry in entry_points(group=COMMANDS_ENTRY_POINT):
        register: Callable[[click.Group], None] = entry.load()
        register(cli)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `podium` command."""
    _load_plugin_commands()
    language = i18n.current_language.set(os.environ.get("PODIUM_LANGUAGE", CLI_LANGUAGE))
    try:
        cli.main(args=argv, prog_name="podium", standalone_mode=True)
    except Exception as error:  # an unexpected failure still ends in one line, not a traceback
        if os.environ.get("PODIUM_DEBUG") == "1":
            raise
        first_line = str(error).splitlines()[0] if str(error) else ""
        click.echo(f"Error: {type(error).__name__}: {first_line}", err=True)
        sys.exit(1)
    finally:
        i18n.current_language.reset(language)


