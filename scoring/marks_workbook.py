"""The marks workbook (CONTRACT.md, "Marks workbook"), the paper backup: read its rows, check them all.

Sheet `Marks`, header in row 1: Competitor, Aspect, Value, Judge 1 … Judge n, Reason. Reading and
checking are plain functions (no database): `read_marks` turns the file into rows, `check_rows`
names every bad row against what the stage allows. Rows with nothing filled in (a blank template
row) are skipped. `scoring.marks_import` stores a file only when no row is bad.

Judge n of a row is the n-th expert, by expert code, of the sub-criterion's marking team who may
judge that competitor (experts of the competitor's own institution are left out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from competition.errors import Invalid
from competition.i18n import gettext as _
from competition.spreadsheets import NotAWorkbook, UnsafeWorkbook, open_workbook, sheet_rows
from scoring import rules
from scoring.marks import AspectRule

SHEET = "Marks"
MAX_JUDGES = 5


@dataclass(frozen=True)
class MarkRow:
    """One filled-in row: a competitor's aspect with its value or the judges' scores."""

    row: int
    competitor: str
    aspect: str
    value: Any
    scores: tuple[Any, ...]
    """The Judge columns in order, None where empty."""
    reason: str


@dataclass
class MarksFile:
    rows: list[MarkRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Problems of the file as a whole (not a workbook, no Marks sheet, missing columns)."""


def at(row: int | None) -> str:
    return _("Marks row %(row)s: ", row=row) if row is not None else _("Marks: ")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_marks(source: Path | bytes) -> MarksFile:
    """The rows of a marks workbook, or the problem that keeps it from being read (blocking: openpyxl)."""
    result = MarksFile()
    try:
        workbook = open_workbook(source)
    except NotAWorkbook:
        result.problems.append(_("The file is not an Excel workbook (.xlsx)."))
        return result
    except UnsafeWorkbook as unsafe:
        result.problems.append(str(unsafe))
        return result
    try:
        if SHEET not in workbook.sheetnames:
            result.problems.append(_("The workbook has no sheet named %(sheet)s.", sheet=SHEET))
            return result
        numbered = sheet_rows(workbook[SHEET], SHEET)
        header = [_text(cell).lower() for cell in next(numbered, (1, ()))[1]]
        columns = {name: index for index, name in enumerate(header) if name}
        missing = [name for name in ("competitor", "aspect", "value", "reason") if name not in columns]
        judges = [columns[f"judge {n}"] for n in range(1, MAX_JUDGES + 1) if f"judge {n}" in columns]
        if missing or not judges:
            wanted = ", ".join(missing + ([] if judges else ["Judge 1"]))
            result.problems.append(
                _("Sheet %(sheet)s, row 1 lacks the columns: %(columns)s.", sheet=SHEET, columns=wanted)
            )
            return result

        def cell(values: Sequence[Any], index: int) -> Any:
            return values[index] if index < len(values) else None

        for number, values in numbered:
            competitor = _text(cell(values, columns["competitor"]))
            aspect = _text(cell(values, columns["aspect"])).upper()
            value = cell(values, columns["value"])
            scores = tuple(None if _empty(cell(values, i)) else cell(values, i) for i in judges)
            reason = _text(cell(values, columns["reason"]))
            if _empty(value) and all(score is None for score in scores) and not reason:
                continue  # a template row nobody filled in
            result.rows.append(MarkRow(number, competitor, aspect, None if _empty(value) else value, scores, reason))
    except UnsafeWorkbook as unsafe:
        result.rows.clear()
        result.problems.append(str(unsafe))
    except Exception:  # a damaged sheet part fails only once its rows are read
        result.rows.clear()
        result.problems.append(_("The workbook is damaged: sheet %(sheet)s cannot be read.", sheet=SHEET))
    finally:
        workbook.close()
    return result


@dataclass(frozen=True)
class StageFacts:
    """What checking a file needs to know about the stage, read once from the database."""

    competitors: Mapping[str, int]
    """Competitor code (upper case) → institution id."""
    aspects: Mapping[str, AspectRule]
    judges: int
    max_spread: int
    eligible: Mapping[tuple[str, str], Sequence[str]]
    """(competitor, sub-criterion) → expert codes who may mark it, in code order."""
    locked: set[tuple[str, str]]
    """(competitor, sub-criterion) of the locked forms."""


@dataclass(frozen=True)
class CheckedRow:
    """A good row, ready to store: judges' scores by expert code, or the measurement's value."""

    row: MarkRow
    rule: AspectRule
    competitor: str
    scores: tuple[tuple[str, int], ...] = ()
    value: Any = None
    reason: str = ""


def check_rows(rows: Sequence[MarkRow], facts: StageFacts) -> tuple[list[CheckedRow], list[str]]:
    """Every row checked: the good ones, and a message for each bad one (sheet row, what and why)."""
    checked: list[CheckedRow] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        problem, good = _check(row, facts, seen)
        if problem:
            problems.append(at(row.row) + problem)
        elif good is not None:
            checked.append(good)
    return checked, problems


def _check(row: MarkRow, facts: StageFacts, seen: dict[tuple[str, str], int]) -> tuple[str | None, CheckedRow | None]:
    competitor = row.competitor.upper()
    if competitor not in facts.competitors:
        return _("unknown competitor %(code)s in this skill and stage.", code=row.competitor or "—"), None
    rule = facts.aspects.get(row.aspect)
    if rule is None:
        return _("unknown aspect %(code)s in this marking scheme.", code=row.aspect or "—"), None
    key = (competitor, rule.code)
    if key in seen:
        return _(
            "%(competitor)s %(aspect)s is already on row %(row)s.",
            competitor=competitor,
            aspect=rule.code,
            row=seen[key],
        ), None
    seen[key] = row.row
    if (competitor, rule.sub_criterion) in facts.locked:
        return _("the form %(sub)s of %(competitor)s is locked.", sub=rule.sub_criterion, competitor=competitor), None
    given = [(n, score) for n, score in enumerate(row.scores, start=1) if score is not None]
    if rule.is_judgement:
        return _check_judgement(row, rule, competitor, given, facts)
    if given:
        return _(
            "%(aspect)s is a measurement: put its value in Value, not in the Judge columns.", aspect=rule.code
        ), None
    if row.value is None:
        return _("%(aspect)s has no Value.", aspect=rule.code), None
    calculation = rule.calculation or "pass_fail"
    try:
        value = rules.parse_measurement_value(calculation, row.value, possible=rule.possible, choices=rule.choices)
    except ValueError as error:
        return _("%(aspect)s: %(problem)s.", aspect=rule.code, problem=str(error)), None
    if calculation == "deduction" and value > 0 and not row.reason:
        return _("%(aspect)s: a deduction needs a Reason.", aspect=rule.code), None
    if not facts.eligible.get((competitor, rule.sub_criterion)):
        return _(
            "no expert of the marking team may mark %(competitor)s (own institution).", competitor=competitor
        ), None
    return None, CheckedRow(row, rule, competitor, value=row.value, reason=row.reason)


def _check_judgement(
    row: MarkRow, rule: AspectRule, competitor: str, given: list[tuple[int, Any]], facts: StageFacts
) -> tuple[str | None, CheckedRow | None]:
    if row.value is not None:
        return _(
            "%(aspect)s is a judgement: leave Value empty and put the scores in the Judge columns.", aspect=rule.code
        ), None
    scores: list[int] = []
    for n, raw in given:
        try:
            score = int(raw) if not isinstance(raw, bool) and float(str(raw).replace(",", ".")).is_integer() else -1
        except ValueError:
            score = -1
        if score not in rules.JUDGEMENT_SCORES:
            return _("Judge %(n)s: %(score)s is not a score 0, 1, 2 or 3.", n=n, score=raw), None
        scores.append(score)
    if len(scores) != facts.judges:
        return _(
            "%(aspect)s needs %(judges)s judges' scores, not %(count)s.",
            aspect=rule.code,
            judges=facts.judges,
            count=len(scores),
        ), None
    if not rules.judgement_spread_ok(scores, facts.max_spread):
        return _(
            "%(aspect)s: the scores %(scores)s differ by more than %(spread)s (the judgement rule).",
            aspect=rule.code,
            scores=", ".join(map(str, scores)),
            spread=facts.max_spread,
        ), None
    eligible = facts.eligible.get((competitor, rule.sub_criterion), ())
    if len(eligible) < len(scores):
        return _(
            "only %(count)s experts of the marking team may judge %(competitor)s (the others are from their "
            "institution).",
            count=len(eligible),
            competitor=competitor,
        ), None
    judged = tuple((eligible[n - 1], score) for (n, _raw), score in zip(given, scores, strict=True))
    return None, CheckedRow(row, rule, competitor, scores=judged)


def refuse(file_name: str, problems: Sequence[str]) -> Invalid:
    """The refusal of a whole file: nothing was saved."""
    return Invalid(
        _("%(file)s: refused with %(count)s problems; nothing was saved.", file=file_name, count=len(problems)),
        problems=list(problems),
    )
