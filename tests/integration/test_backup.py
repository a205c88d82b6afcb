"""`podium backup OUT` and `podium restore IN`: a backup taken while marking load runs is the database as it
was after one commit (a prefix of its audit trail, every mark acknowledged before it); the commands
refuse what they must with a one-line reason, exit non-zero and change nothing."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bench.load import running_server
from tests.live_marking import MarkingLoad, half_written, key, marking_world, read_marks, replay, stored

PODIUM = str(Path(sys.executable).with_name("podium"))


def podium(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `podium` command in a process of its own."""
    env = {**os.environ, "PODIUM_SECRET": "backup-test-secret", "PODIUM_LANGUAGE": "en"}
    return subprocess.run([PODIUM, "--database", database_url, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "podium.db"
    shutil.copy(sqlite_template, path)
    return path


def contents(path: Path) -> list[tuple[str, list[tuple[object, ...]]]]:
    """Every table's rows, in order."""
    with sqlite3.connect(path) as connection:
        tables = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [(table, connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall())
                for table in tables]


def hidden_files(folder: Path) -> list[str]:
    return [path.name for path in folder.iterdir() if path.name.startswith(".")]


@pytest.mark.slow
async def test_a_backup_under_load_restores_a_consistent_prefix_with_every_earlier_mark(
    sqlite_database: Path, tmp_path: Path
) -> None:
    url = sqlite_url(sqlite_database)
    load = MarkingLoad.of(await marking_world(url))
    revisions_before = (await read_marks(url)).revisions
    backup_file = tmp_path / "backup.db"
    (tmp_path / "serve").mkdir()
    async with running_server(url, tmp_path / "serve") as server:
        saving = load.start(server)
        assert await load.reached(300), load.refused
        before = list(load.acknowledged)  # acknowledged before the backup began
        made = await asyncio.to_thread(podium, url, "backup", str(backup_file))
        assert not saving.done(), "the load ended before the backup: make it longer"
        await saving
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"{backup_file}: a backup of {sqlite_database} (migration ")
    assert load.refused == [] and load.finished

    restored_file = tmp_path / "restored.db"
    restored = await asyncio.to_thread(podium, sqlite_url(restored_file), "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith(f"{restored_file}: restored from {backup_file} (migration ")
    assert contents(restored_file) == contents(backup_file)

    source, copy = await read_marks(url), await read_marks(sqlite_url(restored_file))
    assert half_written(copy, revisions_before) == []
    assert 0 < len(copy.audit) < len(source.audit)  # taken in the middle of the load
    assert copy.audit == source.audit[: len(copy.audit)]  # the database as it was after one commit
    assert copy.marks == replay(source.audit[: len(copy.audit)])
    for save in before:  # each mark acknowledged before the backup, as acknowledged or as changed after
        sequence = [stored(s) for s in next(t for t in load.tablets if save in t.saves).saves if key(s) == key(save)]
        assert copy.marks.get(key(save)) in sequence[sequence.index(stored(save)):]
    assert half_written(source, revisions_before) == []


@pytest.mark.slow
async def test_restore_refuses_a_database_a_server_has_open_unless_forced(
    sqlite_database: Path, tmp_path: Path
) -> None:
    url = sqlite_url(sqlite_database)
    built = await marking_world(url)
    backup_file = tmp_path / "backup.db"
    assert podium(url, "backup", str(backup_file)).returncode == 0
    (tmp_path / "serve").mkdir()
    async with running_server(url, tmp_path / "serve") as server:
        login = built.experts[0]
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {login.token}"}) as client:
            seen = await client.get(f"/api/v1/events/{built.event}/skills/{login.skill}/stages/{built.stage}"
                                    f"/marks/{built.competitors[login.skill][0]}")
            assert seen.status_code == 200  # the server has the database open now
        before = contents(sqlite_database)
        refused = await asyncio.to_thread(podium, url, "restore", str(backup_file))
        assert refused.returncode == 1
        assert refused.stderr == (f"Error: {sqlite_database} is open in another process (a running podium serve?): "
                                  "stop it first, or restore with --force\n")
        assert contents(sqlite_database) == before
        forced = await asyncio.to_thread(podium, url, "restore", "--force", str(backup_file))
        assert forced.returncode == 0, forced.stderr
        assert "restart podium serve" in forced.stderr
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/healthz")).status_code == 200


async def test_backup_and_restore_round_trip_and_refuse_to_overwrite_a_file(
    sqlite_database: Path, tmp_path: Path
) -> None:
    url = sqlite_url(sqlite_database)
    await marking_world(url)
    out = tmp_path / "backup.db"
    made = podium(url, "backup", str(out))
    assert made.returncode == 0 and made.stderr == ""
    assert contents(out) == contents(sqlite_database)
    with sqlite3.connect(out) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file, no -wal
    again = podium(url, "backup", str(out))
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == f"Error: {out} exists already: a backup never replaces a file, give a new name\n"
    assert hidden_files(tmp_path) == []  # no partial copy left
    restored = tmp_path / "restored.db"
    assert podium(sqlite_url(restored), "restore", str(out)).returncode == 0
    assert contents(restored) == contents(sqlite_database)
    with sqlite3.connect(restored) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.slow  # seven runs of the command
async def test_restore_refuses_what_is_not_a_podium_backup_at_this_migration(
    sqlite_database: Path, tmp_path: Path
) -> None:
    url = sqlite_url(sqlite_database)
    await marking_world(url)
    before = contents(sqlite_database)
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    old = tmp_path / "old.db"
    shutil.copy(sqlite_database, old)
    with sqlite3.connect(old) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0001'")
    head = podium(url, "backup", str(tmp_path / "head.db"))
    assert head.returncode == 0
    migration = head.stdout.split("(migration ")[1].split(",")[0]
    cases = {
        tmp_path / "missing.db": "no such file",
        junk: "is not a SQLite database (nor a Podium backup)",
        other: "is not a Podium database (it has no table alembic_version)",
        old: f"is at migration 0001, this Podium is at {migration}: use a backup made by this version",
        sqlite_database: "is the database itself",
    }
    for file, reason in cases.items():
        refused = podium(url, "restore", str(file))
        assert (refused.returncode, refused.stdout) == (1, ""), file
        assert refused.stderr.startswith(f"Error: {file}") and reason in refused.stderr, refused.stderr
        assert refused.stderr.count("\n") == 1
    assert contents(sqlite_database) == before
    assert not (tmp_path / "fresh.db").exists()
    refused = podium(sqlite_url(tmp_path / "fresh.db"), "restore", str(junk))
    assert refused.returncode == 1 and not (tmp_path / "fresh.db").exists()


def test_postgresql_is_backed_up_with_pg_dump(tmp_path: Path) -> None:
    url = os.environ.get("PODIUM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    if url == "off":
        url = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"  # the command refuses before connecting
    backup = podium(url, "backup", str(tmp_path / "x.db"))
    assert (backup.returncode, backup.stdout) == (1, "")
    assert backup.stderr == ("Error: podium backup copies SQLite databases: back up PostgreSQL with pg_dump "
                             "(README, Backups)\n")
    restore = podium(url, "restore", str(tmp_path / "x.db"))
    assert restore.returncode == 1 and "pg_restore" in restore.stderr
    assert list(tmp_path.iterdir()) == []
