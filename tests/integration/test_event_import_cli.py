"""`podium import EVENT.xlsx`: prints what it did and exits 0, or names every bad row on stderr, ends with a
one-line reason, exits non-zero and changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.cli import main
from competition.models import Competitor, Event
from tests.unit.event_workbooks import good_sheets, write_workbook


@pytest.fixture(autouse=True)
def command_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PODIUM_SECRET", "cli-test-secret")
    monkeypatch.setenv("PODIUM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PODIUM_LANGUAGE", raising=False)


async def podium(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the `podium` command in a worker thread (it runs its own event loop): exit code, stdout, stderr."""

    def run() -> int:
        try:
            main(list(args))
        except SystemExit as exit_:
            return int(exit_.code or 0)
        return 0

    code = await asyncio.to_thread(run)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_import_prints_what_it_registered(
    capsys: pytest.CaptureFixture[str], database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    workbook = write_workbook(tmp_path / "event.xlsx")
    code, out, err = await podium(capsys, "--database", database_url, "import", str(workbook))
    assert (code, err) == (0, "")
    assert out == (
        "TEST23: 2 stages (2 new), 2 sectors (2 new), 2 skills (2 new), 3 institutions (3 new), "
        "4 competitors (4 new), 5 experts (5 new), 4 expert log-ins (4 new)\n"
    )
    code, out, err = await podium(capsys, "--database", database_url, "import", str(workbook))
    assert code == 0 and "4 competitors (0 new)" in out
    assert await session.scalar(select(func.count()).select_from(Competitor)) == 4


async def test_a_refused_workbook_names_every_bad_row_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    sheets = good_sheets()
    sheets["Competitors"][2][4] = "XYZ"
    sheets["Stages"][1][3] = "2023-13-01"
    workbook = write_workbook(tmp_path / "bad.xlsx", sheets)
    code, out, err = await podium(capsys, "--database", database_url, "import", str(workbook))
    assert code != 0 and out == ""
    assert err.splitlines() == [
        "Stages row 2: Starts: '2023-13-01' is not a date: use YYYY-MM-DD.",
        "Competitors row 3: unknown institution 'XYZ'",
        "Error: bad.xlsx was refused (problems: 2); nothing was saved.",
    ]
    assert await session.scalar(select(func.count()).select_from(Event)) == 0


async def test_a_file_that_is_not_a_workbook_gets_one_line(
    capsys: pytest.CaptureFixture[str], database_url: str, tmp_path: Path
) -> None:
    not_a_workbook = tmp_path / "event.xlsx"
    not_a_workbook.write_text("Code;Name\n")
    code, _out, err = await podium(capsys, "--database", database_url, "import", str(not_a_workbook))
    assert code != 0
    assert err.splitlines() == ["Error: event.xlsx is not an Excel workbook (.xlsx)."]


async def test_a_missing_file_gets_one_line(
    capsys: pytest.CaptureFixture[str], database_url: str, tmp_path: Path
) -> None:
    code, _out, err = await podium(capsys, "--database", database_url, "import", str(tmp_path / "none.xlsx"))
    assert code != 0
    assert err.splitlines() == [f"Error: {tmp_path / 'none.xlsx'}: no such file"]
