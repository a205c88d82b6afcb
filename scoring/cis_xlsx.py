"""Marking schemes in the WorldSkills CIS import layout (read and write), and blank marks workbooks.

The layout, as in CIS exports: sheet `CIS Marking Scheme Import` with a title, the standards
table (Section, name, WSOS marks), the Criteria table (ID, Name, Mark) and one block per
criterion: a header row holding `Criterion X`, then sub-criterion rows (ID, name, day of
marking), aspect rows (type M or J, description, extra description, requirement, WSOS section,
calculation row, max mark) and under each J aspect its descriptor rows (score 0-3 and text).
Sheet `Calculations` holds one calculation per row: name, type, a flag, and parameters encoded
as `KEY:::NUMBER#x~x#TEXT` entries joined by `#-#`. An aspect's "Calculation Row" is a row
number of that sheet.

Tables are found by their header texts, never by fixed row numbers; formulas are never
evaluated (marks are read as values, or computed from the aspects). Everything here is
synchronous openpyxl work: callers run it in a worker thread.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from competition.i18n import gettext as _
from competition.spreadsheets import (
    NotAWorkbook,
    UnsafeWorkbook,
    append_row,
    cell_value,
    open_workbook,
    sheet_rows,
)
from scoring.scheme_data import (
    CALCULATIONS_SHEET,
    PASS_FAIL,
    SCHEME_SHEET,
    AspectData,
    Calculation,
    CalculationKind,
    Choice,
    CriterionData,
    DescriptorData,
    Problem,
    SchemeData,
    Section,
    SubCriterionData,
    Summary,
    aspect_label,
    at_row,
    validate,
)

Row = tuple[int, tuple[Any, ...]]
CriterionRow = tuple[str, str, Decimal | None, int]  # code, name, mark (None: computed), row
T = TypeVar("T")

# The aspect block columns, in the order CIS writes them, with the header texts it uses.
BLOCK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sub_id", "Sub\nCriterion\nID"),
    ("sub_name", "Sub Criterion\nName or Description"),
    ("day", "Day of Marking"),
    ("kind", "Aspect\nType\nM = Meas\nJ = Judg"),
    ("description", "Aspect - Description"),
    ("score", "Judg Score"),
    (
        "extra",
        "Extra Aspect Description (Meas or Judg)\nOR\nJudgement Score Description (Judg only)",
    ),
    ("requirement", "Requirement\n(Measurement Only)"),
    ("section", "WSOS Section"),
    ("calculation", "Calculation Row \n(Export only)"),
    ("max_mark", "Max\nMark"),
)
# How a block header names each column, as the start of its text in lower case, single-spaced.
_HEADER_STARTS: tuple[tuple[str, str], ...] = (
    ("sub criterion id", "sub_id"),
    ("sub criterion name", "sub_name"),
    ("day of marking", "day"),
    ("aspect type", "kind"),
    ("aspect - description", "description"),
    ("aspect description", "description"),
    ("judg", "score"),
    ("extra aspect description", "extra"),
    ("requirement", "requirement"),
    ("wsos section", "section"),
    ("calculation row", "calculation"),
    ("max mark", "max_mark"),
)
_CRITERION_HEADER = re.compile(r"criterion\s+([a-z]{1,3})", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z]{1,3}")
_WEIGHTING_HEADERS = {"wsos marks", "weighting", "marks"}
_STANDARDS_HEADING = "WorldSkills Occupational Standards"

# The Calculations sheet: type names, and the encoding of parameters.
_CALCULATION_TYPES: dict[CalculationKind, str] = {
    "pass_fail": "PASS_FAIL",
    "deduction": "DEDUCTION",
    "number_completed": "NUMBER_COMPLETED",
    "choice": "CHOICE",
}
_KINDS_BY_TYPE = {name: kind for kind, name in _CALCULATION_TYPES.items()}
_RANGED_SCORE = "RANGED_SCORE"
_ENTRY_SEPARATOR = "#-#"
_VALUE_SEPARATOR = "#x~x#"
_KEY_SEPARATOR = ":::"

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
_TITLE_FONT = Font(bold=True, size=14)
_WRAP = Alignment(wrap_text=True, vertical="top")
_GREY = PatternFill("solid", fgColor="EDEDED")


@dataclass(frozen=True)
class ReadResult:
    """What reading a scheme file gave.

    `scheme` is None when the file is refused (any error); `summary` says what was found
    whenever the layout could be read at all, so an importer can print it next to the problems.
    """

    scheme: SchemeData | None
    problems: list[Problem]
    summary: Summary | None

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "warning"]


# --- reading ------------------------------------------------------------------------------


def read_scheme(source: bytes | str | os.PathLike[str]) -> ReadResult:
    """Read a marking scheme in the CIS import layout from xlsx bytes or a file path."""
    try:
        scheme_rows, sheet_name, calculation_rows = _load(source)
    except _Unreadable as unreadable:
        return ReadResult(None, [Problem("error", "", None, str(unreadable))], None)
    reader = _SchemeReader(scheme_rows, sheet_name, _read_calculations(calculation_rows))
    scheme = reader.read()
    problems = reader.problems
    if scheme is not None:
        problems += [replace(problem, sheet=sheet_name) for problem in validate(scheme)]
    problems.sort(key=lambda problem: problem.row or 0)
    refused = scheme is None or any(problem.severity == "error" for problem in problems)
    return ReadResult(
        None if refused else scheme,
        problems,
        None if scheme is None else scheme.summary(),
    )


class _Unreadable(Exception):
    """The file is not a workbook that can be opened; the message says so in plain words."""


def _load(source: bytes | str | os.PathLike[str]) -> tuple[list[Row], str, list[Row] | None]:
    """The non-blank rows of the scheme sheet, its name, and the Calculations rows if present."""
    try:
        workbook = open_workbook(source if isinstance(source, bytes) else Path(source), data_only=False)
    except NotAWorkbook:
        raise _Unreadable(_("The file is not an xlsx workbook.")) from None
    except UnsafeWorkbook as unsafe:
        raise _Unreadable(str(unsafe)) from None
    try:
        names = workbook.sheetnames
        sheet_name = SCHEME_SHEET if SCHEME_SHEET in names else names[0]
        scheme_rows = _rows(workbook[sheet_name], sheet_name)
        calculation_rows = (
            _rows(workbook[CALCULATIONS_SHEET], CALCULATIONS_SHEET) if CALCULATIONS_SHEET in names else None
        )
    except UnsafeWorkbook as unsafe:
        raise _Unreadable(str(unsafe)) from None
    except Exception:  # a damaged sheet (or none at all) fails while its rows are read
        raise _Unreadable(_("The xlsx workbook is damaged: its sheets cannot be read.")) from None
    finally:
        workbook.close()
    return scheme_rows, sheet_name, calculation_rows


def _rows(sheet: Any, name: str) -> list[Row]:
    """The sheet's rows with their numbers, leaving out blank and whitespace-only rows."""
    return [(number, values) for number, values in sheet_rows(sheet, name) if any(_text(value) for value in values)]


def _text(value: Any) -> str:
    """A cell as text: stripped (non-breaking spaces too), whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header(value: Any) -> str:
    """A header cell in lower case with single spaces, for matching header texts."""
    return " ".join(_text(value).lower().split())


def _cell(values: tuple[Any, ...], column: int) -> Any:
    return values[column] if column < len(values) else None


def _decimal(value: Any) -> Decimal | None:
    """A number cell as a Decimal; None when blank; ValueError when it is not a number."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return _plain(Decimal(repr(value)))
    text = _text(value)
    if not text:
        return None
    try:
        return _plain(Decimal(text))
    except InvalidOperation:
        raise ValueError(value) from None


def _whole(value: Any) -> int | None:
    """A whole-number cell (1, 1.0 or '1'); None when blank; ValueError otherwise."""
    number = _decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise ValueError(value)
    return int(number)


def _required_decimal(value: Any) -> Decimal:
    """A number cell that must not be blank, as a Decimal; ValueError otherwise."""
    number = _decimal(value)
    if number is None:
        raise ValueError(value)
    return number


def _plain(value: Decimal) -> Decimal:
    """Without trailing zeros or an exponent: Decimal('33.30000000') → Decimal('33.3')."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


@dataclass(frozen=True)
class _CalculationRow:
    """A row of the Calculations sheet, as written; converted to a Calculation where used."""

    name: str | None
    type: str
    params: dict[str, str]


def _read_calculations(rows: list[Row] | None) -> dict[int, _CalculationRow] | None:
    if rows is None:
        return None
    calculations = {}
    for number, values in rows:
        type_name = _text(_cell(values, 1)).upper()
        if type_name:
            calculations[number] = _CalculationRow(
                _text(_cell(values, 0)) or None, type_name, _decode(_cell(values, 3))
            )
    return calculations


def _decode(value: Any) -> dict[str, str]:
    """`NUM_POSSIBLE:::4.00000000#x~x#` entries → {"NUM_POSSIBLE": "4.00000000"}.

    Each entry is KEY:::NUMBER#x~x#TEXT; the value is the number where there is one, else the
    text (choice labels, DEDUCTION_TYPE).
    """
    params = {}
    for entry in str(value or "").split(_ENTRY_SEPARATOR):
        key, separator, rest = entry.partition(_KEY_SEPARATOR)
        if separator:
            number, _sep, text = rest.partition(_VALUE_SEPARATOR)
            params[key.strip().upper()] = number.strip() or text
    return params


class _CalculationError(ValueError):
    """A calculation row that cannot be used; the message says why, without the aspect."""


def _calculation(row: _CalculationRow) -> tuple[Calculation, str | None]:
    """The calculation a row defines, and a note when Podium reads it only approximately.

    Raises _CalculationError when the row cannot be marked at all.
    """
    deduction_type = row.params.get("DEDUCTION_TYPE", "PERCENT").upper()
    if deduction_type != "PERCENT":
        raise _CalculationError(
            _("its deductions are of type {type}; Podium reads deductions in PERCENT.").format(
                type=deduction_type
            )
        )
    if row.type == _RANGED_SCORE:
        choices = _ranges(row)
        ranges = "; ".join(
            _("{range}: {percent}% deducted").format(
                range=choice.label, percent=_plain(choice.deduction_percent)
            )
            for choice in choices
        )
        note = _(
            "it is a RANGED_SCORE, which Podium does not mark as such; it is read as a choice "
            "between its ranges ({ranges}). Check the options before marking."
        ).format(ranges=ranges or _("none"))
        return Calculation("choice", row.name, None, choices), note
    kind = _KINDS_BY_TYPE.get(row.type)
    if kind is None:
        raise _CalculationError(
            _("its type {type} is not one Podium can mark (PASS_FAIL, DEDUCTION, "
              "NUMBER_COMPLETED, CHOICE).").format(type=row.type)
        )
    possible = _param_whole(row, "NUM_POSSIBLE") if kind == "number_completed" else None
    choices = _choices(row) if kind == "choice" else ()
    return Calculation(kind, row.name, possible, choices), None


def _param_number(row: _CalculationRow, key: str) -> Decimal | None:
    try:
        return _decimal(row.params.get(key))
    except ValueError:
        raise _CalculationError(
            _("its {key} is not a number ('{value}').").format(key=key, value=row.params[key])
        ) from None


def _param_whole(row: _CalculationRow, key: str) -> int | None:
    number = _param_number(row, key)
    if number is not None and number != number.to_integral_value():
        raise _CalculationError(
            _("its {key} is not a whole number ('{value}').").format(
                key=key, value=row.params[key]
            )
        )
    return None if number is None else int(number)


def _numbered(row: _CalculationRow, prefix: str, suffix: str) -> list[int]:
    """The n of every PREFIXn_SUFFIX key, in order: CHOICE1_LABEL, CHOICE2_LABEL → [1, 2]."""
    pattern = re.compile(rf"{prefix}(\d+)_{suffix}")
    return sorted(
        int(match.group(1)) for key in row.params if (match := pattern.fullmatch(key))
    )


def _choices(row: _CalculationRow) -> tuple[Choice, ...]:
    choices = []
    for number in _numbered(row, "CHOICE", "LABEL"):
        deduction = _param_number(row, f"CHOICE{number}_DEDUCTION")
        if deduction is None:
            raise _CalculationError(
                _("its option {number} has no deduction.").format(number=number)
            )
        choices.append(Choice(row.params[f"CHOICE{number}_LABEL"], deduction))
    return tuple(choices)


def _ranges(row: _CalculationRow) -> tuple[Choice, ...]:
    """A RANGED_SCORE's ranges as choices labelled 'LOWER to UPPER' (or 'LOWER or more').

    Ranges without a deduction, and all-zero placeholders, are left out.
    """
    choices = []
    for number in _numbered(row, "RANGE", "DEDUCTION"):
        deduction = _param_number(row, f"RANGE{number}_DEDUCTION")
        lower = _param_number(row, f"RANGE{number}_LOWER") or Decimal(0)
        upper = _param_number(row, f"RANGE{number}_UPPER") or Decimal(0)
        if deduction is None or (lower == upper == 0 and deduction == 0):
            continue
        if upper > lower:
            label = _("{lower} to {upper}").format(lower=lower, upper=upper)
        else:
            label = _("{lower} or more").format(lower=lower)
        choices.append(Choice(label, deduction))
    return tuple(choices)


class _SchemeReader:
    """Reads the scheme sheet's rows into SchemeData, collecting the problems of the file."""

    def __init__(
        self,
        rows: list[Row],
        sheet: str,
        calculations: dict[int, _CalculationRow] | None,
    ) -> None:
        self.rows = rows
        self.sheet = sheet
        self.calculations = calculations
        self.problems: list[Problem] = []
        self.aspects_in: Counter[str] = Counter()  # aspects read so far per sub-criterion

    def error(self, row: int | None, message: str) -> None:
        self.problems.append(Problem("error", self.sheet, row, at_row(row) + message))

    def warning(self, row: int | None, message: str) -> None:
        self.problems.append(Problem("warning", self.sheet, row, at_row(row) + message))

    def parsed(
        self, row: int, value: Any, parse: Callable[[Any], T | None], message: str, **names: Any
    ) -> T | None:
        """parse(value); None, with an error naming the row, when it is not a number."""
        try:
            return parse(value)
        except ValueError:
            self.error(row, message.format(value=_text(value), **names))
            return None

    def read(self) -> SchemeData | None:
        criteria_at = self._find_criteria_table()
        if criteria_at is None:
            self.error(
                None,
                _(
                    "No Criteria table found on sheet '{sheet}': expected a row reading "
                    "'Criteria' followed by a header row with ID, Name and Mark."
                ).format(sheet=self.sheet),
            )
            return None
        standards_at = self._find_standards_table(criteria_at)
        first_table = criteria_at if standards_at is None else standards_at
        title = self._title(first_table)
        sections = self._sections(standards_at) if standards_at is not None else []
        marks, blocks_from = self._criteria(criteria_at)
        sub_criteria, aspects = self._blocks(blocks_from)
        scheme = SchemeData(title, tuple(sections), (), tuple(sub_criteria), tuple(aspects))
        criteria = tuple(
            CriterionData(
                code, name, scheme.criterion_total(code) if mark is None else mark, row
            )
            for code, name, mark, row in marks
        )
        return replace(scheme, criteria=criteria)

    # The title and the two tables at the top.

    def _title(self, before: int) -> str:
        for _number, values in self.rows[:before]:
            for value in values:
                text = _text(value)
                if text and text != _STANDARDS_HEADING:
                    return text
        return ""

    def _find_criteria_table(self) -> int | None:
        """Index of the 'Criteria' heading row that is followed by an ID / Name / Mark header."""
        for index, (_number, values) in enumerate(self.rows[:-1]):
            first = next((_header(value) for value in values if _text(value)), "")
            header = {_header(value) for value in self.rows[index + 1][1]}
            if first == "criteria" and {"id", "name", "mark"} <= header:
                return index
        return None

    def _find_standards_table(self, before: int) -> int | None:
        """Index of the standards header row: 'Section' and a WSOS marks (weighting) column."""
        for index, (_number, values) in enumerate(self.rows[:before]):
            headers = [_header(value) for value in values]
            if "section" in headers and _WEIGHTING_HEADERS & set(headers):
                return index
        return None

    def _sections(self, header_at: int) -> list[Section]:
        headers = [_header(value) for value in self.rows[header_at][1]]
        number_column = headers.index("section")
        weighting_column = max(i for i, text in enumerate(headers) if text in _WEIGHTING_HEADERS)
        sections = []
        for row, values in self.rows[header_at + 1 :]:
            try:
                number = _whole(_cell(values, number_column))
            except ValueError:
                number = None
            if number is None:
                break
            name = next(
                (
                    _text(value)
                    for value in values[number_column + 1 : weighting_column]
                    if _text(value)
                ),
                "",
            )
            weighting = self.parsed(
                row, _cell(values, weighting_column), _required_decimal,
                _("the weighting of standards section {number} is not a number ('{value}')."),
                number=number,
            )
            if weighting is not None:
                sections.append(Section(number, name, weighting, row))
        return sections

    def _criteria(self, heading_at: int) -> tuple[list[CriterionRow], int]:
        """The Criteria table's rows and the index of the first row after the table.

        A mark that is blank (with a warning) or a formula (formulas are not evaluated) is
        None: the criterion's mark is then the total of its aspects.
        """
        headers = [_header(value) for value in self.rows[heading_at + 1][1]]
        id_column, name_column, mark_column = (
            headers.index(text) for text in ("id", "name", "mark")
        )
        criteria: list[CriterionRow] = []
        index = heading_at + 2
        for row, values in self.rows[index:]:
            code = _text(_cell(values, id_column)).upper()
            if not _CODE.fullmatch(code):
                break
            index += 1
            mark_cell = _cell(values, mark_column)
            mark = None
            if not _text(mark_cell):
                self.warning(
                    row,
                    _(
                        "criterion {code} has no mark in the Criteria table; the total of its "
                        "aspects is used."
                    ).format(code=code),
                )
            elif not _text(mark_cell).startswith("="):
                mark = self.parsed(
                    row, mark_cell, _decimal,
                    _("the mark of criterion {code} is not a number ('{value}')."), code=code,
                )
            criteria.append((code, _text(_cell(values, name_column)), mark, row))
        return criteria, index

    # The criterion blocks.

    def _blocks(self, start: int) -> tuple[list[SubCriterionData], list[AspectData]]:
        sub_criteria: list[SubCriterionData] = []
        aspects: list[tuple[AspectData, list[DescriptorData]]] = []
        columns: dict[str, int] | None = None
        criterion = ""
        skipping = False  # after a refused aspect row, until the next aspect
        for row, values in self.rows[start:]:
            block = self._block_header(values)
            if block is not None:
                criterion, columns = block
                continue
            if columns is None:
                continue
            cells = {name: _cell(values, column) for name, column in columns.items()}
            if not any(_text(value) for value in cells.values()):
                continue  # content only beyond the block's columns, such as the totals
            sub_id = _text(cells["sub_id"])
            if sub_id:
                sub_criteria.append(
                    SubCriterionData(
                        sub_id, criterion, _text(cells["sub_name"]),
                        _text(cells["day"]) or None, row,
                    )
                )
                skipping = False
            if _text(cells["kind"]):
                aspect = self._aspect(row, cells, sub_criteria, aspects)
                skipping = aspect is None
                if aspect is not None:
                    aspects.append((aspect, []))
            elif _text(cells["score"]):
                if not skipping:
                    self._descriptor(row, cells, aspects)
            elif not sub_id:
                self.warning(
                    row,
                    _(
                        "ignored: the row has no sub-criterion ID, aspect type or judgement "
                        "score."
                    ),
                )
        return sub_criteria, [
            replace(aspect, descriptors=tuple(descriptors)) for aspect, descriptors in aspects
        ]

    def _block_header(self, values: tuple[Any, ...]) -> tuple[str, dict[str, int]] | None:
        """(criterion, column of each field) when this is a criterion block's header row."""
        headers = [_header(value) for value in values]
        criterion = next(
            (match.group(1).upper() for text in headers
             if (match := _CRITERION_HEADER.fullmatch(text))),
            None,
        )
        if criterion is None or not any(text.startswith("max mark") for text in headers):
            return None
        columns = {name: index for index, (name, _header_text) in enumerate(BLOCK_COLUMNS)}
        found: dict[str, int] = {}
        for index, text in enumerate(headers):
            for start, name in _HEADER_STARTS:
                if text.startswith(start) and name not in found:
                    found[name] = index
                    break
        return criterion, columns | found

    def _aspect(
        self,
        row: int,
        cells: dict[str, Any],
        sub_criteria: list[SubCriterionData],
        aspects: list[tuple[AspectData, list[DescriptorData]]],
    ) -> AspectData | None:
        kind = _text(cells["kind"]).upper()
        description = _text(cells["description"])
        if kind not in ("M", "J"):
            self.error(
                row,
                _("aspect '{description}' has type '{kind}'; an aspect is M or J.").format(
                    description=description, kind=_text(cells["kind"])
                ),
            )
            return None
        if not sub_criteria:
            self.error(
                row,
                _("aspect '{description}' comes before any sub-criterion ID.").format(
                    description=description
                ),
            )
            return None
        sub = sub_criteria[-1].code
        self.aspects_in[sub] += 1
        aspect = AspectData(
            code=f"{sub}.{self.aspects_in[sub]}",
            sub_criterion=sub,
            kind=kind,  # type: ignore[arg-type]  # checked above
            description=description,
            extra_description=_text(cells["extra"]),
            requirement=_text(cells["requirement"]),
            row=row,
        )
        max_mark = self.parsed(
            row, cells["max_mark"], _decimal,
            _("the max mark of aspect {code} is not a number ('{value}')."), code=aspect.code,
        )
        section = self.parsed(
            row, cells["section"], _whole,
            _("the WSOS section of aspect {code} is not a section number ('{value}')."),
            code=aspect.code,
        )
        calculation = self._aspect_calculation(row, aspect, cells["calculation"])
        return replace(aspect, max_mark=max_mark, section=section, calculation=calculation)

    def _aspect_calculation(
        self, row: int, aspect: AspectData, reference: Any
    ) -> Calculation | None:
        if not _text(reference):
            return None if aspect.kind == "J" else PASS_FAIL
        if aspect.kind == "J":
            self.warning(
                row,
                _(
                    "J aspect {aspect} has a calculation row; judgement aspects are marked by "
                    "scores, so it is ignored."
                ).format(aspect=aspect_label(aspect)),
            )
            return None
        try:
            number = _whole(reference)
        except ValueError:
            number = None
        found = None if self.calculations is None or number is None else (
            self.calculations.get(number)
        )
        if found is None:
            self.error(
                row,
                _(
                    "aspect {aspect} refers to calculation row {reference}, which the "
                    "Calculations sheet does not define."
                ).format(aspect=aspect_label(aspect), reference=_text(reference)),
            )
            return PASS_FAIL
        try:
            calculation, note = _calculation(found)
        except _CalculationError as problem:
            self.error(
                row,
                _("aspect {aspect} uses calculation row {reference}: {problem}").format(
                    aspect=aspect_label(aspect), reference=number, problem=problem
                ),
            )
            return PASS_FAIL
        if note is not None:
            self.warning(
                row,
                _("aspect {aspect} uses calculation row {reference}: {note}").format(
                    aspect=aspect_label(aspect), reference=number, note=note
                ),
            )
        return calculation

    def _descriptor(
        self,
        row: int,
        cells: dict[str, Any],
        aspects: list[tuple[AspectData, list[DescriptorData]]],
    ) -> None:
        score = self.parsed(
            row, cells["score"], _whole,
            _("the judgement score '{value}' is not a whole number 0-3."),
        )
        if score is None:
            return
        if not aspects:
            self.warning(row, _("ignored: a judgement score row comes before any aspect."))
        else:
            aspects[-1][1].append(DescriptorData(score, _text(cells["extra"])))


# --- writing ------------------------------------------------------------------------------


def write_scheme(scheme: SchemeData) -> bytes:
    """The scheme in the CIS import layout, as xlsx bytes; `read_scheme` reads it back equal."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = SCHEME_SHEET
    calculation_rows = _number_calculations(scheme)
    _SchemeWriter(sheet, scheme, calculation_rows).write()
    _write_calculations(workbook.create_sheet(CALCULATIONS_SHEET), calculation_rows)
    return _save(workbook)


def _number_calculations(scheme: SchemeData) -> dict[Calculation, int]:
    """Each distinct calculation of the M aspects and its row in the Calculations sheet."""
    rows: dict[Calculation, int] = {}
    for aspect in scheme.aspects:
        if aspect.kind == "M" and aspect.calculation is not None:
            rows.setdefault(aspect.calculation, len(rows) + 1)
    return rows


def _write_calculations(sheet: Worksheet, rows: dict[Calculation, int]) -> None:
    for calculation, row in rows.items():
        cell_value(sheet.cell(row, 1), calculation.name)
        sheet.cell(row, 2, _CALCULATION_TYPES[calculation.kind])
        sheet.cell(row, 3, calculation.kind != "choice")
        cell_value(sheet.cell(row, 4), _encode(calculation))
    for column, width in zip("ABCD", (24, 20, 8, 100), strict=True):
        sheet.column_dimensions[column].width = width


def _encode(calculation: Calculation) -> str:
    """The Calculations sheet's parameter text for a calculation (the reverse of `_decode`).

    Raises ValueError for a choice label that the encoding cannot hold (such as one that
    contains `#-#`).
    """
    params: dict[str, str] = {}
    if calculation.kind == "number_completed" and calculation.possible is not None:
        params["NUM_POSSIBLE"] = _param_digits(Decimal(calculation.possible))
    if calculation.kind == "choice":
        params["DEDUCTION_TYPE"] = "PERCENT"
        for number, choice in enumerate(calculation.choices, start=1):
            params[f"CHOICE{number}_LABEL"] = choice.label
            params[f"CHOICE{number}_DEDUCTION"] = _param_digits(choice.deduction_percent)
    numbers = {key for key in params if key == "NUM_POSSIBLE" or key.endswith("_DEDUCTION")}
    text = _ENTRY_SEPARATOR.join(
        f"{key}{_KEY_SEPARATOR}{value}{_VALUE_SEPARATOR}"
        if key in numbers
        else f"{key}{_KEY_SEPARATOR}{_VALUE_SEPARATOR}{value}"
        for key, value in params.items()
    )
    if _decode(text) != params:
        labels = [choice.label for choice in calculation.choices]
        raise ValueError(f"The Calculations sheet cannot hold these choice labels: {labels!r}")
    return text


def _param_digits(number: Decimal) -> str:
    """A number as CIS writes it in the Calculations sheet: 33.30000000."""
    if number == number.quantize(Decimal("1E-8")):
        return f"{number:.8f}"
    return f"{number:f}"


class _SchemeWriter:
    """Lays a scheme out on the `CIS Marking Scheme Import` sheet the way CIS exports do."""

    def __init__(
        self, sheet: Worksheet, scheme: SchemeData, calculation_rows: dict[Calculation, int]
    ) -> None:
        self.sheet = sheet
        self.scheme = scheme
        self.calculation_rows = calculation_rows

    def write(self) -> None:
        """Title, standards table, Criteria table, the criterion blocks and the grand total."""
        self.put(1, 1, self.scheme.title, font=_TITLE_FONT)
        self.sheet.merge_cells("A1:K1")
        self.put(3, 1, _STANDARDS_HEADING, font=_HEADER_FONT)
        self.sheet.merge_cells("A3:K3")
        self.header_row(4, {1: "Section", 2: "WSOS Marks", 9: "WSOS Marks", 10: "Aspect Marks",
                            11: "Variation"})
        self.sheet.merge_cells("B4:H4")
        section_rows = range(5, 5 + len(self.scheme.sections))
        for row, section in zip(section_rows, self.scheme.sections, strict=True):
            self.put(row, 1, section.number)
            self.put(row, 2, section.name)
            self.sheet.merge_cells(start_row=row, start_column=2, end_row=row, end_column=8)
            self.put(row, 9, section.weighting)
        variation_row = section_rows.stop
        self.put(variation_row, 9, "Total Variation", font=_HEADER_FONT)
        self.formula(variation_row, 11, f"=SUM(K5:K{max(variation_row - 1, 5)})")

        criteria_at = variation_row + 3
        self.put(criteria_at, 1, "Criteria", font=_HEADER_FONT)
        self.sheet.merge_cells(
            start_row=criteria_at, start_column=1, end_row=criteria_at, end_column=11
        )
        self.header_row(criteria_at + 1, {1: "ID", 2: "Name", 11: "Mark"})
        for row, criterion in enumerate(self.scheme.criteria, start=criteria_at + 2):
            self.put(row, 1, criterion.code)
            self.put(row, 2, criterion.name)
            self.sheet.merge_cells(start_row=row, start_column=2, end_row=row, end_column=10)
            self.put(row, 11, criterion.mark)

        first_block = criteria_at + 2 + len(self.scheme.criteria) + 2
        block_totals, last_row = self.blocks(first_block)
        marks = f"K{first_block}:K{last_row}"
        for row in section_rows:
            self.formula(row, 10, f"=SUMIF(I{first_block}:I{last_row},A{row},{marks})")
            self.formula(row, 11, f"=ABS(I{row}-J{row})")
        total_row = last_row + 3
        self.put(total_row, 12, "Competition", font=_HEADER_FONT)
        self.put(total_row, 13, "Total\nMark", font=_HEADER_FONT)
        if block_totals:
            self.formula(total_row, 14, f"=SUM({','.join(block_totals)})")
        for column, width in _COLUMN_WIDTHS.items():
            self.sheet.column_dimensions[column].width = width

    def blocks(self, row: int) -> tuple[list[str], int]:
        """Writes every criterion's block from `row`; their total cells and the last row used."""
        block_totals = []
        subs_by_criterion: dict[str, list[SubCriterionData]] = {}
        for sub in self.scheme.sub_criteria:
            subs_by_criterion.setdefault(sub.criterion, []).append(sub)
        aspects_by_sub: dict[str, list[AspectData]] = {}
        for aspect in self.scheme.aspects:
            aspects_by_sub.setdefault(aspect.sub_criterion, []).append(aspect)
        for criterion in self.scheme.criteria:
            header = row
            self.header_row(header, {n: text for n, (_f, text) in enumerate(BLOCK_COLUMNS, 1)})
            self.put(header, 12, f"Criterion {criterion.code}", font=_HEADER_FONT)
            self.put(header, 13, "Total\nMark", font=_HEADER_FONT)
            row += 1
            for sub in subs_by_criterion.get(criterion.code, []):
                row = self.sub_criterion(row, sub, aspects_by_sub.get(sub.code, []))
            self.formula(header, 14, f"=SUM(K{header + 1}:K{max(row, header + 1)})")
            block_totals.append(f"N{header}")
            row += 1  # a blank row closes the block
        return block_totals, row - 1

    def sub_criterion(self, row: int, sub: SubCriterionData, aspects: list[AspectData]) -> int:
        """Writes a sub-criterion and its aspects from `row`; returns the next free row."""
        self.put(row, 1, sub.code, font=_HEADER_FONT)
        self.put(row, 2, sub.name)
        day = sub.day
        self.put(row, 3, int(day) if day and day.isdecimal() and day == str(int(day)) else day)
        row += 1
        for aspect in aspects:
            self.put(row, 4, aspect.kind)
            self.put(row, 5, aspect.description)
            self.put(row, 7, aspect.extra_description)
            self.put(row, 8, aspect.requirement)
            self.put(row, 9, aspect.section)
            if aspect.kind == "M" and aspect.calculation is not None:
                self.put(row, 10, self.calculation_rows[aspect.calculation])
            self.put(row, 11, aspect.max_mark)
            row += 1
            for descriptor in aspect.descriptors:
                self.put(row, 6, descriptor.score)
                self.put(row, 7, descriptor.text)
                row += 1
            if aspect.descriptors:
                row += 1  # CIS leaves a blank row after a judgement's descriptors
        return row + 1

    def header_row(self, row: int, texts: dict[int, str]) -> None:
        for column, text in texts.items():
            self.put(row, column, text, font=_HEADER_FONT).fill = _HEADER_FILL

    def put(self, row: int, column: int, value: Any, font: Font | None = None) -> Any:
        """Sets a value; text stays text even when it starts with '=' (see `formula`)."""
        cell = self.sheet.cell(row, column)
        if value is None or value == "":
            return cell
        cell_value(cell, value)
        cell.alignment = _WRAP
        if font is not None:
            cell.font = font
        return cell

    def formula(self, row: int, column: int, formula: str) -> None:
        """A formula for people reading the sheet; `read_scheme` never relies on one."""
        self.sheet.cell(row, column, formula)


_COLUMN_WIDTHS = {"A": 10, "B": 28, "C": 9, "D": 8, "E": 50, "F": 7, "G": 60, "H": 30, "I": 9,
                  "J": 12, "K": 9, "L": 13, "M": 9, "N": 9}


def _save(workbook: Workbook) -> bytes:
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- the marks workbook -------------------------------------------------------------------


def write_marks_template(
    scheme: SchemeData, competitors: Sequence[tuple[str, str]], judges: int = 3
) -> bytes:
    """A blank marks workbook (CONTRACT.md, "Marks workbook") for `podium import-marks`.

    Sheet `Marks`: one row per competitor (code, name) and aspect, the Competitor and Aspect
    columns filled in. Sheet `Aspects`: what each aspect is and how it is recorded.
    """
    if not 3 <= judges <= 5:
        raise ValueError(f"A judging team has 3 to 5 judges, not {judges}")
    workbook = Workbook()
    marks = workbook.active
    assert marks is not None
    marks.title = "Marks"
    headers = ["Competitor", "Aspect", "Value", *(f"Judge {n}" for n in range(1, judges + 1)),
               "Reason"]
    append_row(marks, headers)
    for competitor, _name in competitors:
        for aspect in scheme.aspects:
            append_row(marks, [competitor, aspect.code])
            if aspect.kind == "J":
                marks.cell(marks.max_row, 3).fill = _GREY
            else:
                for column in range(4, 4 + judges):
                    marks.cell(marks.max_row, column).fill = _GREY
    _style_header(marks, len(headers))
    if marks.max_row > 1:
        scores = DataValidation(
            type="whole", operator="between", formula1="0", formula2="3", allow_blank=True,
            error="A judgement score is 0, 1, 2 or 3.", showErrorMessage=True,
        )
        scores.add(f"D2:{get_column_letter(3 + judges)}{marks.max_row}")
        marks.add_data_validation(scores)
    _write_aspect_guide(workbook.create_sheet("Aspects"), scheme)
    people = workbook.create_sheet("Competitors")
    append_row(people, ["Competitor", "Name"])
    for person in competitors:
        append_row(people, list(person))
    _style_header(people, 2)
    return _save(workbook)


def _write_aspect_guide(sheet: Worksheet, scheme: SchemeData) -> None:
    headers = ["Aspect", "Type", "Calculation", "Possible / choices", "Max mark", "Description"]
    append_row(sheet, headers)
    for aspect in scheme.aspects:
        calculation = aspect.calculation
        append_row(sheet, [
            aspect.code,
            aspect.kind,
            _("judgement (scores 0-3)") if calculation is None else calculation.kind,
            _how_recorded(calculation),
            aspect.max_mark,
            aspect.description,
        ])
    _style_header(sheet, len(headers))
    sheet.column_dimensions["D"].width = 60
    sheet.column_dimensions["F"].width = 80


def _how_recorded(calculation: Calculation | None) -> str:
    """What goes in the Value column for this calculation, in words."""
    if calculation is None:
        return _("Judge columns: each judge's score 0, 1, 2 or 3")
    if calculation.kind == "number_completed":
        return _("number completed, 0 to {possible}").format(possible=calculation.possible)
    if calculation.kind == "choice":
        return "; ".join(
            _("{number} = {label} (−{percent}%)").format(
                number=number, label=choice.label, percent=_plain(choice.deduction_percent)
            )
            for number, choice in enumerate(calculation.choices, start=1)
        )
    if calculation.kind == "deduction":
        return _("total deducted; a Reason when above 0")
    return _("1 (pass) or 0 (fail)")


def _style_header(sheet: Worksheet, columns: int) -> None:
    for column in range(1, columns + 1):
        cell = sheet.cell(1, column)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    sheet.freeze_panes = "A2"
