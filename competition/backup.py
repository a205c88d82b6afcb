"""Backing up a SQLite database while it is served, and restoring a backup: `podium backup` and `podium restore`.

A backup is SQLite's online backup API (`sqlite3.Connection.backup`) copying every page in one step,
inside one read transaction of the source: in WAL mode the server goes on writing meanwhile and the
copy is the database as it was after one commit, never half of a change. The copy is written beside
OUT, switched to a single file (no -wal), checked, and only then given its name (never over an
existing file). A restore checks that the file is a Podium database at the current migration,
refuses a database another process has open (a running server) unless forced, and copies the backup
into the database with the same API in one write transaction: all of it or, on failure, nothing.
PostgreSQL has its own tools (pg_dump, pg_restore: README "Backups").
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from competition.db import SQLITE_BUSY_TIMEOUT_MS
from competition.errors import Conflict, Invalid, NotFound
from competition.i18n import gettext as _

SQLITE_HEADER = b"SQLite format 3\x00"
SHM_DEAD_MAN_SWITCH = 128
"""Byte of the -shm file on which every open connection of SQLite's unix VFS holds a shared lock
(os_unix.c: UNIX_SHM_DMS = (22 + SQLITE_SHM_NLOCK) * 4 + SQLITE_SHM_NLOCK)."""
REQUIRED_TABLES = ("alembic_version", "event", "skill", "competitor", "user", "audit_record")


@dataclass(frozen=True)
class Copied:
    """What a backup or restore copied: the file, its migration, audit records and size."""

    path: Path
    migration: str
    audit_records: int
    size: int

    def figures(self) -> str:
        return _("migration %(migration)s, %(records)s audit records, %(size)s KiB",
                 migration=self.migration, records=self.audit_records, size=self.size // 1024)


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite database URL; None for other databases."""
    url = make_url(database_url)
    if not url.get_backend_name().startswith("sqlite"):
        return None
    if not url.database or url.database == ":memory:":
        raise Invalid(_("%(url)s is an in-memory database: there is nothing to back up", url=database_url))
    return Path(url.database)


def head_migration() -> str:
    """The newest migration of this Podium."""
    from alembic.script import ScriptDirectory

    from competition.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def in_use(database: Path) -> bool:
    """Whether another process has the (WAL-mode) database open, as a running server does: its
    connections hold a shared lock on the -shm file's dead-man switch, which then cannot be taken."""
    try:
        descriptor = os.open(f"{database}-shm", os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, SHM_DEAD_MAN_SWITCH)
        except OSError:
            return True
        fcntl.lockf(descriptor, fcntl.LOCK_UN, 1, SHM_DEAD_MAN_SWITCH)
        return False
    finally:
        os.close(descriptor)


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    target = f"file:{quote(str(path.resolve()))}" + ("?mode=ro" if read_only else "")
    connection = sqlite3.connect(target, uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    return connection


def _describe(connection: sqlite3.Connection, path: Path, *, every_page: bool = True, name: Path | None = None
              ) -> Copied:
    """Check that the open database is a Podium database at the current migration (and, with
    `every_page`, that SQLite finds it sound); messages call it `name` (default: its path)."""
    shown = str(name or path)
    head = head_migration()
    try:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [table for table in REQUIRED_TABLES if table not in tables]
        if missing:
            raise Invalid(_("%(file)s is not a Podium database (it has no table %(table)s)",
                            file=shown, table=missing[0]))
        versions = [version for (version,) in connection.execute("SELECT version_num FROM alembic_version")]
        if versions != [head]:
            raise Invalid(_("%(file)s is at migration %(found)s, this Podium is at %(head)s: use a backup made "
                            "by this version", file=shown, found=", ".join(versions) or "-", head=head))
        check = [line for (line,) in connection.execute("PRAGMA quick_check")] if every_page else ["ok"]
        if check != ["ok"]:
            raise Invalid(_("%(file)s is damaged: %(problem)s", file=shown, problem=check[0]))
        (records,) = connection.execute("SELECT count(*) FROM audit_record").fetchone()
    except sqlite3.DatabaseError as error:
        raise Invalid(_("%(file)s cannot be read as a SQLite database: %(problem)s",
                        file=shown, problem=str(error))) from error
    return Copied(path, head, int(records), path.stat().st_size)


def _is_sqlite_file(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def backup(database: Path, out: Path) -> Copied:
    """Copy the database (served or not) to the new file `out`; returns what the copy holds."""
    if not database.is_file():
        raise NotFound(_("%(file)s: no such database", file=str(database)))
    if out.exists():
        raise Conflict(_("%(file)s exists already: a backup never replaces a file, give a new name",
                         file=str(out)))
    if not out.parent.is_dir():
        raise NotFound(_("%(folder)s: no such folder", folder=str(out.parent)))
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        source = _connect(database)
        try:
            _describe(source, database, every_page=False)  # its copy is checked in full below
            copy = sqlite3.connect(partial, isolation_level=None)
            try:
                source.backup(copy)  # every page in one step: one read transaction, one commit's state
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                copied = _describe(copy, partial, name=out)
            finally:
                copy.close()
        finally:
            source.close()
        _sync(partial)
        try:
            os.link(partial, out)  # the name appears only now, complete, and never over another file
        except FileExistsError as error:
            raise Conflict(_("%(file)s exists already: a backup never replaces a file, give a new name",
                             file=str(out))) from error
        _sync(out.parent)
    except sqlite3.Error as error:
        raise Invalid(_("%(file)s could not be backed up: %(problem)s", file=str(database), problem=str(error))
                      ) from error
    finally:
        partial.unlink(missing_ok=True)
    return Copied(out, copied.migration, copied.audit_records, out.stat().st_size)


def check_backup(source: Path) -> Copied:
    """Refuse a file that is not a sound Podium database at the current migration."""
    if not source.is_file():
        raise NotFound(_("%(file)s: no such file", file=str(source)))
    if not _is_sqlite_file(source):
        raise Invalid(_("%(file)s is not a SQLite database (nor a Podium backup)", file=str(source)))
    try:
        connection = _connect(source, read_only=True)
    except sqlite3.Error as error:
        raise Invalid(_("%(file)s cannot be read as a SQLite database: %(problem)s",
                        file=str(source), problem=str(error))) from error
    try:
        return _describe(connection, source)
    finally:
        connection.close()


def restore(source: Path, database: Path, *, force: bool = False) -> Copied:
    """Replace the database's whole content by the backup `source`, in one transaction."""
    checked = check_backup(source)
    if database.exists() and database.resolve() == source.resolve():
        raise Invalid(_("%(file)s is the database itself", file=str(source)))
    if not database.parent.is_dir():
        raise NotFound(_("%(folder)s: no such folder", folder=str(database.parent)))
    if in_use(database) and not force:
        raise Conflict(_("%(file)s is open in another process (a running podium serve?): stop it first, "
                         "or restore with --force", file=str(database)))
    if database.exists() and not _is_sqlite_file(database) and database.stat().st_size > 0:
        raise Invalid(_("%(file)s is not a SQLite database: it is left as it is", file=str(database)))
    created = not database.exists()
    try:
        backup_file = _connect(source, read_only=True)
        try:
            target = _connect(database)
            try:
                backup_file.backup(target)  # one write transaction on the target: all or nothing
                target.execute("PRAGMA journal_mode=WAL")
            finally:
                target.close()
        finally:
            backup_file.close()
    except sqlite3.Error as error:
        if created:
            for leftover in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
                leftover.unlink(missing_ok=True)
        raise Invalid(_("%(file)s could not be restored into %(database)s: %(problem)s",
                        file=str(source), database=str(database), problem=str(error))) from error
    return Copied(database, checked.migration, checked.audit_records, database.stat().st_size)
