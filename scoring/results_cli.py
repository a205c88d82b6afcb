"""`podium results` (a stage's results as the contract's JSON document or a readable table) and
`podium export-results` (the results workbook)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from competition.cli import Context, fail, pass_context, reports_errors
from competition.db import session_factory
from competition.errors import NotFound
from competition.i18n import gettext as _
from competition.registration.services import get_event, get_skill, get_stage
from scoring import rules
from scoring.results import StageResults, is_published, stage_results
from scoring.results_export import ResultsExport, export_results


def results_table(results: StageResults, published: bool) -> str:
    """The results as a plain-text table: rank, competitor, institution, raw, scale, medal or advances,
    then each criterion's marks."""
    criteria = [criterion.code for criterion in results.criteria]
    last = _("Advances") if results.stage_kind == "semi_final" else _("Medal")
    header = [_("Rank"), _("Competitor"), _("Full name"), _("Institution"), _("Raw"), _("Scale"), last, *criteria]
    rows = [header]
    for line in results.lines:
        result = line.result
        if result.raw is None:
            figures = [_("incomplete"), "", "", *([""] * len(criteria))]
        else:
            outcome = _yes_no(result.advances) if results.stage_kind == "semi_final" else result.medal or ""
            marks = [rules.format_mark(result.criteria.get(code, Decimal(0))) for code in criteria]
            figures = [rules.format_mark(result.raw), str(result.scale_shown), outcome, *marks]
        rank = str(result.rank) if result.rank is not None else "-"
        competitor = line.competitor
        rows.append([rank, competitor.code, competitor.name, competitor.institution, *figures])
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    numeric = {0, 4, 5, *range(7, len(header))}
    lines = [
        "  ".join(cell.rjust(width) if index in numeric else cell.ljust(width)
                  for index, (cell, width) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]
    state = _("published") if published else _("not published")
    return "\n".join([f"{results.event} · {results.skill} · {results.stage} ({state})", *lines])


def _yes_no(value: Any) -> str:
    return _("yes") if value else _("no")


@click.command("results")
@click.option("--event", "event_code", required=True, metavar="E", help="Event code.")
@click.option("--skill", "skill_code", required=True, metavar="S", help="Skill code.")
@click.option("--stage", "stage_code", required=True, metavar="ST", help="Stage code.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_context
@reports_errors
def results_command(context: Context, event_code: str, skill_code: str, stage_code: str, output: str) -> None:
    """Print the results of a skill in a stage (published or not)."""

    async def work(engine: AsyncEngine) -> str:
        async with session_factory(engine)() as session:
            event = await get_event(session, event_code)
            skill = await get_skill(session, event, skill_code)
            stage = await get_stage(session, event, stage_code)
            results = await stage_results(session, event, skill, stage)
            if results is None:
                raise NotFound(
                    _("Skill %(skill)s has no marking scheme for stage %(stage)s.", skill=skill.code, stage=stage.code)
                )
            published = await is_published(session, skill, stage)
        if output == "json":
            return json.dumps(results.document(published), ensure_ascii=False, indent=2)
        return results_table(results, published)

    click.echo(context.run(work))


@click.command("export-results")
@click.option("--event", "event_code", required=True, metavar="E", help="Event code.")
@click.option("--skill", "skill_code", metavar="S", help="Only this skill.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.xlsx")
@pass_context
@reports_errors
def export_results_command(context: Context, event_code: str, skill_code: str | None, out: Path) -> None:
    """Write the results workbook: results, criterion marks, every aspect mark and the audit trail."""
    if out.suffix.lower() != ".xlsx":
        fail(_("%(file)s: the workbook must be an .xlsx file", file=out))
    if not out.parent.is_dir():
        fail(_("%(folder)s: no such folder", folder=out.parent))

    async def work(engine: AsyncEngine) -> tuple[bytes, ResultsExport]:
        async with session_factory(engine)() as session:
            event = await get_event(session, event_code)
            skill = await get_skill(session, event, skill_code) if skill_code else None
            return await export_results(session, event, skill)

    content, export = context.run(work)
    out.write_bytes(content)
    click.echo(
        _(
            "%(file)s: %(stages)s skill stages, %(competitors)s results, %(audit)s audit records",
            file=out,
            stages=len(export.stages),
            competitors=sum(len(part.results.lines) for part in export.stages),
            audit=len(export.audit),
        )
    )

