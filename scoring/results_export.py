"""The results workbook (`podium export-results`, the download buttons): results, criterion marks,
every aspect mark with the judges' scores, and the audit trail, one sheet each.

`load_export` reads what the workbook holds (every skill and stage with a marking scheme, published
or not: only organisers and a skill's Chief Expert are given it); `write_workbook` lays it out with
openpyxl, which `export_results` runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition.i18n import gettext as _
from competition.models import AuditRecord, Competitor, Event, Expert, Skill, Stage
from competition.spreadsheets import append_row
from scoring import rules
from scoring.cis_xlsx import _style_header
from scoring.event_results import skill_stages
from scoring.marks import StageMarks, load_stage_marks
from scoring.results import StageResults, medal_label, stage_results

MARK_FORMAT = "0.00"


@dataclass(frozen=True)
class StageExport:
    """One skill in one stage: its results and the marks behind them."""

    skill: Skill
    stage: Stage
    published: bool
    results: StageResults
    marks: StageMarks


@dataclass(frozen=True)
class AuditLine:
    """One audit record with its references as codes."""

    at: dt.datetime
    actor: str
    action: str
    skill: str
    stage: str
    competitor: str
    subject: str
    old: str
    new: str
    reason: str


@dataclass(frozen=True)
class ResultsExport:
    """Everything the results workbook holds for an event (or one skill of it)."""

    event: Event
    stages: tuple[StageExport, ...]
    audit: tuple[AuditLine, ...]
    judges: dict[int, str]
    """Expert id → code, to name who gave each judge's score."""


async def load_export(session: AsyncSession, event: Event, skill: Skill | None = None) -> ResultsExport:
    """The event's (or the skill's) results in every stage with a scheme, their marks and audit trail."""
    stages: list[StageExport] = []
    for entry in await skill_stages(session, event):
        if skill is not None and entry.skill.id != skill.id:
            continue
        results = await stage_results(session, event, entry.skill, entry.stage)
        marks = await load_stage_marks(session, entry.skill, entry.stage.id)
        if results is not None and marks is not None:
            stages.append(StageExport(entry.skill, entry.stage, entry.published, results, marks))
    judges = dict((await session.execute(select(Expert.id, Expert.code).where(Expert.event_id == event.id))).all())
    return ResultsExport(event, tuple(stages), tuple(await _audit_lines(session, event, skill)), judges)


async def _audit_lines(session: AsyncSession, event: Event, skill: Skill | None) -> list[AuditLine]:
    skills = dict((await session.execute(select(Skill.id, Skill.code).where(Skill.event_id == event.id))).all())
    stage_codes = dict((await session.execute(select(Stage.id, Stage.code).where(Stage.event_id == event.id))).all())
    competitors = dict(
        (await session.execute(select(Competitor.id, Competitor.code).where(Competitor.event_id == event.id))).all()
    )
    query = select(AuditRecord).where(AuditRecord.event_id == event.id).order_by(AuditRecord.at, AuditRecord.id)
    if skill is not None:
        query = query.where(AuditRecord.skill_id == skill.id)
    return [
        AuditLine(
            at=record.at,
            actor=record.actor,
            action=record.action,
            skill=skills.get(record.skill_id, "") if record.skill_id else "",
            stage=stage_codes.get(record.stage_id, "") if record.stage_id else "",
            competitor=competitors.get(record.competitor_id, "") if record.competitor_id else "",
            subject=record.subject,
            old=record.old_value or "",
            new=record.new_value or "",
            reason=record.reason or "",
        )
        for record in await session.scalars(query)
    ]


def _mark(value: Decimal | None) -> Decimal | None:
    return rules.round_half_up(value) if value is not None else None


def _sheet(workbook: Workbook, title: str, headers: Sequence[str], widths: Sequence[int]) -> Worksheet:
    sheet = workbook.create_sheet(title[:31])
    append_row(sheet, list(headers))
    _style_header(sheet, len(headers))
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(1, column).column_letter].width = width
    return sheet


def _format_marks(sheet: Worksheet, columns: Sequence[int]) -> None:
    for row in sheet.iter_rows(min_row=2):
        for column in columns:
            row[column - 1].number_format = MARK_FORMAT


def _yes_no(value: bool | None) -> str:
    return "" if value is None else _("yes") if value else _("no")


def _write_results(workbook: Workbook, export: ResultsExport) -> None:
    sheet = _sheet(
        workbook,
        _("Results"),
        [_("Skill"), _("Skill name"), _("Stage"), _("Published"), _("Rank"), _("Competitor"), _("Full name"),
         _("Institution"), _("Complete"), _("Raw total"), _("Scale score"), _("Medal"), _("Advances")],
        [8, 28, 10, 10, 7, 12, 26, 12, 10, 10, 10, 24, 10],
    )
    for part in export.stages:
        for line in part.results.lines:
            result = line.result
            append_row(sheet, [
                part.skill.code, part.skill.name, part.stage.code, _yes_no(part.published), result.rank,
                line.competitor.code, line.competitor.name, line.competitor.institution, _yes_no(result.complete),
                _mark(result.raw), result.scale_shown, medal_label(result.medal), _yes_no(result.advances),
            ])
    _format_marks(sheet, [10])


def _write_criteria(workbook: Workbook, export: ResultsExport) -> None:
    sheet = _sheet(
        workbook,
        _("Criteria"),
        [_("Skill"), _("Stage"), _("Competitor"), _("Criterion"), _("Criterion name"), _("Mark"), _("Max mark")],
        [8, 10, 12, 10, 40, 10, 10],
    )
    for part in export.stages:
        for line in part.results.lines:
            if not line.result.complete:
                continue
            for criterion in part.results.criteria:
                mark = line.result.criteria.get(criterion.code, Decimal(0))
                append_row(sheet, [part.skill.code, part.stage.code, line.competitor.code, criterion.code,
                                   criterion.name, _mark(mark), _mark(criterion.max_mark)])
    _format_marks(sheet, [6, 7])


def _write_marks(workbook: Workbook, export: ResultsExport) -> None:
    """Every aspect mark in the marks workbook's columns (Competitor … Reason), then where it counts."""
    judges = max([3, *(part.marks.judges for part in export.stages)])
    headers = ["Competitor", "Aspect", "Value", *(f"Judge {n}" for n in range(1, judges + 1)), "Reason",
               _("Judges"), _("Skill"), _("Stage"), _("Type"), _("Max mark"), _("Mark"), _("Status"), _("Locked")]
    sheet = _sheet(workbook, "Marks", headers, [12, 10, 8, *([8] * judges), 30, 20, 8, 10, 6, 10, 10, 14, 8])
    for part in export.stages:
        marks = part.marks
        for competitor in marks.competitors:
            for rule in marks.aspects:
                state = marks.state(competitor.code, rule.code)
                scorers = sorted(state.scores, key=lambda expert: export.judges.get(expert, ""))
                scores: list[int | None] = [state.scores[expert] for expert in scorers]
                append_row(sheet, [
                    competitor.code, rule.code, state.value, *(scores + [None] * (judges - len(scores))),
                    state.reason, ", ".join(export.judges.get(expert, "?") for expert in scorers),
                    part.skill.code, part.stage.code, rule.kind, _mark(rule.max_mark), _mark(state.mark),
                    state.status, _yes_no((competitor.code, rule.sub_criterion) in marks.locked),
                ])
    _format_marks(sheet, [judges + 8, judges + 9])


def _write_audit(workbook: Workbook, export: ResultsExport) -> None:
    sheet = _sheet(
        workbook,
        _("Audit trail"),
        [_("When (UTC)"), _("Who"), _("Action"), _("Skill"), _("Stage"), _("Competitor"), _("What"), _("From"),
         _("To"), _("Reason")],
        [20, 28, 20, 8, 10, 12, 20, 30, 30, 30],
    )
    for line in export.audit:
        at = line.at.astimezone(dt.UTC).replace(tzinfo=None) if line.at.tzinfo else line.at
        append_row(sheet, [at, line.actor, line.action, line.skill, line.stage, line.competitor, line.subject,
                           line.old, line.new, line.reason])
    for row in sheet.iter_rows(min_row=2, max_col=1):
        row[0].number_format = "yyyy-mm-dd hh:mm:ss"


def write_workbook(export: ResultsExport) -> bytes:
    """The results workbook as .xlsx bytes (openpyxl: call it in a worker thread)."""
    workbook = Workbook()
    default = workbook.active
    if default is not None:
        workbook.remove(default)
    _write_results(workbook, export)
    _write_criteria(workbook, export)
    _write_marks(workbook, export)
    _write_audit(workbook, export)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def export_results(
    session: AsyncSession, event: Event, skill: Skill | None = None
) -> tuple[bytes, ResultsExport]:
    """The results workbook of the event (or one skill), and what it holds."""
    export = await load_export(session, event, skill)
    return await asyncio.to_thread(write_workbook, export), export
