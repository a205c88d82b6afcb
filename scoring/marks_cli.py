"""`podium import-marks`: a marks workbook recorded as the paper backup, whole or not at all."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from competition.cli import Context, fail, pass_context, reports_errors
from competition.db import session_factory
from competition.i18n import gettext as _
from scoring import marking
from scoring.marks_import import ImportOutcome, import_marks, summary
from scoring.marks_workbook import read_marks, refuse


@click.command("import-marks")
@click.option("--event", "event_code", required=True, metavar="E", help="Event code.")
@click.option("--skill", "skill_code", required=True, metavar="S", help="Skill code.")
@click.option("--stage", "stage_code", required=True, metavar="ST", help="Stage code.")
@click.option("--lock", is_flag=True, help="Sign off and lock the forms that are complete after the import.")
@click.argument("marks_file", metavar="MARKS.xlsx", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
@reports_errors
def import_marks_command(
    context: Context, event_code: str, skill_code: str, stage_code: str, lock: bool, marks_file: Path
) -> None:
    """Record marks from a marks workbook; any bad row refuses the whole file, every bad row named."""
    if not marks_file.is_file():
        fail(_("%(file)s: no such file", file=str(marks_file)))
    read = read_marks(marks_file)  # blocking openpyxl, before the command's event loop starts
    if read.problems:
        raise refuse(marks_file.name, read.problems)

    async def work(engine: AsyncEngine) -> ImportOutcome:
        async with session_factory(engine)() as session:
            place = await marking.find_place(session, event_code, skill_code, stage_code)
            return await import_marks(session, place, None, read.rows, marks_file.name, lock=lock)

    click.echo(summary(marks_file.name, context.run(work)))
