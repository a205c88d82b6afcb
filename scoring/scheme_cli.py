"""`podium import-scheme`: a marking scheme in the WorldSkills CIS import layout, read, checked and stored."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from competition.cli import Context, fail, pass_context, reports_errors
from competition.i18n import gettext as _
from competition.registration.services import get_event, get_skill, get_stage
from competition.writer import write
from scoring import scheme_data
from scoring.cis_xlsx import read_scheme
from scoring.models import SchemeStatus
from scoring.scheme import save_scheme


def describe(problem: scheme_data.Problem) -> str:
    """A problem as one line: the sheet, the row and what is wrong."""
    where = f"{problem.sheet}: " if problem.sheet else ""
    kind = _("error") if problem.severity == "error" else _("warning")
    return f"{where}{scheme_data.at_row(problem.row)}{kind}: {problem.message}"


@click.command("import-scheme")
@click.option("--event", "event_code", required=True, metavar="E", help="Event code.")
@click.option("--skill", "skill_code", required=True, metavar="S", help="Skill code.")
@click.option("--stage", "stage_code", required=True, metavar="ST", help="Stage code.")
@click.argument("scheme_file", metavar="SCHEME.xlsx", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
@reports_errors
def import_scheme_command(
    context: Context, event_code: str, skill_code: str, stage_code: str, scheme_file: Path
) -> None:
    """Import a marking scheme (CIS layout): print what was found and every problem with its sheet row."""
    if not scheme_file.is_file():
        fail(_("{file}: no such file").format(file=scheme_file))
    result = read_scheme(scheme_file)  # blocking openpyxl, before the command's event loop starts
    if result.summary is not None:
        click.echo(f"{scheme_file.name}: {result.summary}")
    for problem in result.problems:
        click.echo(describe(problem), err=problem.severity == "error")
    if result.scheme is None:
        fail(
            _("{file}: refused with {count} errors; nothing was saved").format(
                file=scheme_file.name, count=len(result.errors)
            )
        )
    data = result.scheme
    assert data is not None  # for mypy: refused above otherwise

    async def store(session: AsyncSession) -> str:
        event = await get_event(session, event_code)
        skill = await get_skill(session, event, skill_code)
        stage = await get_stage(session, event, stage_code)
        scheme = await save_scheme(session, None, skill, stage, data, source_filename=scheme_file.name)
        return scheme.status

    async def work(engine: AsyncEngine) -> str:
        return await write(engine, store)

    status = context.run(work)
    if status == SchemeStatus.READY:
        click.echo(_("Saved for skill {skill}, stage {stage}: ready for marking.").format(
            skill=skill_code, stage=stage_code))
    else:
        click.echo(_("Saved for skill {skill}, stage {stage} as a draft: it cannot be marked until its aspects "
                     "total 100.").format(skill=skill_code, stage=stage_code))
