"""A marking scheme as plain data, and the checks it must pass before it is used for marking.

Pure: no files, no database. `cis_xlsx` reads and writes these dataclasses; the database models
in `scheme.py` are built from them.

Which problems refuse a scheme and which only leave it a draft:
- **error** (structural: the scheme cannot be marked as it stands, the import is refused): no
  criteria, no aspects, a criterion or standards section listed twice, a sub-criterion ID used
  twice (each sub-criterion is one marking form, keyed by its ID), a sub-criterion whose criterion
  is not in the Criteria table, an aspect of an unknown sub-criterion or numbered out of place,
  an ID, name, day, calculation name or option label longer than Podium stores (the `…_LENGTH`s),
  a calculation that cannot be applied (counting without a number possible, a choice without
  options, a deduction outside 0-100 %), a calculation on a J aspect. The reader adds what it
  finds in the file itself: no Criteria table, an aspect type other than M or J, a max mark or
  weighting that is not a number, an unknown or unsupported calculation row.
- **warning** (inconsistent, the scheme is saved as a draft): total not 100, weightings not 100,
  a criterion's aspects not adding up to its mark in the Criteria table, marks per standards
  section off their weightings by more than 5 in total, a J aspect without exactly the
  descriptors 0, 1, 2 and 3, an M aspect with descriptors, a missing or non-positive max mark,
  an aspect without a description, without a standards section or in a section the standards
  table does not have, a sub-criterion without aspects or whose ID does not start with its
  criterion's letter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from competition.i18n import gettext as _

SCHEME_SHEET = "CIS Marking Scheme Import"
CALCULATIONS_SHEET = "Calculations"
FULL_MARKS = Decimal(100)
MAX_SECTION_VARIATION = Decimal(5)
JUDGEMENT_SCORES = (0, 1, 2, 3)

# The most characters each text of a scheme may have: the columns of `scoring.models` are this wide.
CRITERION_CODE_LENGTH = 8
SUB_CRITERION_CODE_LENGTH = 16
ASPECT_CODE_LENGTH = 24
NAME_LENGTH = 300  # of a standards section and of a criterion
SUB_CRITERION_NAME_LENGTH = 500
DAY_LENGTH = 32
CALCULATION_NAME_LENGTH = 100
CHOICE_LABEL_LENGTH = 200

AspectKind = Literal["M", "J"]
CalculationKind = Literal["pass_fail", "deduction", "number_completed", "choice"]
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Section:
    """A section of the occupational standard (WSOS) and its weighting, in marks out of 100."""

    number: int
    name: str
    weighting: Decimal
    row: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CriterionData:
    """A criterion (A, B, …) with its mark from the Criteria table."""

    code: str
    name: str
    mark: Decimal
    row: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SubCriterionData:
    """A sub-criterion (A1, A2, …): one marking form, marked on one day."""

    code: str
    criterion: str
    name: str
    day: str | None = None
    row: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Choice:
    """One option of a choice measurement and what it deducts, in percent of the max mark."""

    label: str
    deduction_percent: Decimal


@dataclass(frozen=True)
class Calculation:
    """How an M aspect's mark follows from what is measured.

    `name` is the calculation row's name in the Calculations sheet (e.g. "Number Completed 4"),
    if it has one; the row number itself is a detail of the file.
    """

    kind: CalculationKind
    name: str | None = None
    possible: int | None = None
    choices: tuple[Choice, ...] = ()


PASS_FAIL = Calculation("pass_fail")


@dataclass(frozen=True)
class DescriptorData:
    """What a judgement score (0-3) of a J aspect means."""

    score: int
    text: str


@dataclass(frozen=True)
class AspectData:
    """One thing that is marked: a measurement (M) or a judgement (J).

    `code` is the sub-criterion ID, a dot and the aspect's position in it (A1.1, A1.2, …).
    An M aspect without a calculation is pass/fail.
    """

    code: str
    sub_criterion: str
    kind: AspectKind
    description: str
    extra_description: str = ""
    requirement: str = ""
    section: int | None = None
    max_mark: Decimal | None = None
    calculation: Calculation | None = None
    descriptors: tuple[DescriptorData, ...] = ()
    row: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.kind == "M" and self.calculation is None:
            object.__setattr__(self, "calculation", PASS_FAIL)
        object.__setattr__(self, "descriptors", tuple(self.descriptors))


@dataclass(frozen=True)
class Summary:
    """What a scheme holds, in the words an importer prints."""

    criteria: int
    sub_criteria: int
    measurement: int
    judgement: int
    total: Decimal

    def __str__(self) -> str:
        return _(
            "{criteria} criteria, {sub_criteria} sub-criteria, {aspects} aspects "
            "({measurement} M, {judgement} J), total {total}"
        ).format(
            criteria=self.criteria,
            sub_criteria=self.sub_criteria,
            aspects=self.measurement + self.judgement,
            measurement=self.measurement,
            judgement=self.judgement,
            total=format_mark(self.total),
        )


@dataclass(frozen=True)
class SchemeData:
    """A whole marking scheme: standards sections, criteria, sub-criteria and aspects, in order."""

    title: str
    sections: tuple[Section, ...] = ()
    criteria: tuple[CriterionData, ...] = ()
    sub_criteria: tuple[SubCriterionData, ...] = ()
    aspects: tuple[AspectData, ...] = ()

    def __post_init__(self) -> None:
        for name in ("sections", "criteria", "sub_criteria", "aspects"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def total(self) -> Decimal:
        """The sum of all aspects' max marks (a missing max mark counts 0)."""
        return _sum(aspect.max_mark for aspect in self.aspects)

    def criterion_total(self, code: str) -> Decimal:
        """The sum of the max marks of the aspects under criterion `code`."""
        criterion_of = {sub.code: sub.criterion for sub in self.sub_criteria}
        return _sum(
            aspect.max_mark
            for aspect in self.aspects
            if criterion_of.get(aspect.sub_criterion) == code
        )

    def section_totals(self) -> dict[int, Decimal]:
        """Marks per standards section: every section of the table, then any other section used."""
        totals = {section.number: Decimal(0) for section in self.sections}
        for aspect in self.aspects:
            if aspect.section is not None:
                totals[aspect.section] = totals.get(aspect.section, Decimal(0)) + (
                    aspect.max_mark or Decimal(0)
                )
        return totals

    def section_variation(self) -> Decimal:
        """Sum over the standards table of |marks in the section − its weighting|."""
        totals = self.section_totals()
        return _sum(abs(totals[section.number] - section.weighting) for section in self.sections)

    def counts_by_kind(self) -> dict[str, int]:
        """How many aspects of each kind: {"M": …, "J": …}."""
        counts = Counter(aspect.kind for aspect in self.aspects)
        return {"M": counts["M"], "J": counts["J"]}

    def summary(self) -> Summary:
        counts = self.counts_by_kind()
        return Summary(
            criteria=len(self.criteria),
            sub_criteria=len(self.sub_criteria),
            measurement=counts["M"],
            judgement=counts["J"],
            total=self.total(),
        )


@dataclass(frozen=True)
class Problem:
    """Something wrong with a scheme: where it is and, in plain words, what."""

    severity: Severity
    sheet: str
    row: int | None
    message: str


def format_mark(value: Decimal) -> str:
    """A mark as people write it: two decimals, more only where the value has them."""
    if value == value.quantize(Decimal("0.01")):
        return f"{value:.2f}"
    return f"{value.normalize():f}"


def validate(scheme: SchemeData) -> list[Problem]:
    """Every problem of the scheme, errors and warnings, in the order of the checks."""
    return [
        *_length_problems(scheme),
        *_structure_problems(scheme),
        *_numbering_problems(scheme),
        *_calculation_problems(scheme),
        *_total_problems(scheme),
        *_section_problems(scheme),
        *_aspect_problems(scheme),
    ]


def aspect_problems(scheme: SchemeData, aspect: AspectData) -> list[Problem]:
    """The warnings about one aspect of the scheme: its description, max mark, section and descriptors."""
    return list(_aspect_problems(SchemeData(title=scheme.title, sections=scheme.sections, aspects=(aspect,))))


def usable_for_marking(scheme: SchemeData) -> bool:
    """True when the scheme has no errors and its aspects total exactly 100."""
    no_errors = not any(problem.severity == "error" for problem in validate(scheme))
    return no_errors and scheme.total() == FULL_MARKS


# --- the checks ---------------------------------------------------------------------------


def _error(row: int | None, message: str) -> Problem:
    return Problem("error", SCHEME_SHEET, row, at_row(row) + message)


def _warning(row: int | None, message: str) -> Problem:
    return Problem("warning", SCHEME_SHEET, row, at_row(row) + message)


def at_row(row: int | None) -> str:
    """The "Row 41: " that starts a message about a row of the sheet (nothing without a row)."""
    return "" if row is None else _("Row {row}: ").format(row=row)


def aspect_label(aspect: AspectData) -> str:
    """`A1.2 'Navigation design'`: the code and the first line of the description, shortened."""
    text = aspect.description.splitlines()[0] if aspect.description else ""
    if len(text) > 60:
        text = text[:59].rstrip() + "…"
    return f"{aspect.code} '{text}'"


def _sum(values: Iterator[Decimal | None] | list[Decimal | None]) -> Decimal:
    return sum((value or Decimal(0) for value in values), Decimal(0))


def _length_problems(scheme: SchemeData) -> Iterator[Problem]:
    """Text longer than its column: refused with where it is, not left to fail in the database."""
    for row, what, text, limit in _texts(scheme):
        if len(text) > limit:
            yield _error(
                row,
                _("{what} is {length} characters long; Podium stores at most {limit}.").format(
                    what=what, length=len(text), limit=limit
                ),
            )


def _texts(scheme: SchemeData) -> Iterator[tuple[int | None, str, str, int]]:
    """Each stored text of the scheme: its row, what it is, the text and the most characters stored."""
    for section in scheme.sections:
        what = _("the name of standards section {number}").format(number=section.number)
        yield section.row, what, section.name, NAME_LENGTH
    for criterion in scheme.criteria:
        code = _shortened(criterion.code)
        yield criterion.row, _("the ID of criterion {code}").format(code=code), criterion.code, CRITERION_CODE_LENGTH
        yield criterion.row, _("the name of criterion {code}").format(code=code), criterion.name, NAME_LENGTH
    for sub in scheme.sub_criteria:
        code = _shortened(sub.code)
        yield sub.row, _("the ID of sub-criterion {code}").format(code=code), sub.code, SUB_CRITERION_CODE_LENGTH
        yield sub.row, _("the name of sub-criterion {code}").format(code=code), sub.name, SUB_CRITERION_NAME_LENGTH
        yield sub.row, _("the day of sub-criterion {code}").format(code=code), sub.day or "", DAY_LENGTH
    for aspect in scheme.aspects:
        code = _shortened(aspect.code)
        calculation = aspect.calculation or PASS_FAIL
        yield aspect.row, _("the ID of aspect {code}").format(code=code), aspect.code, ASPECT_CODE_LENGTH
        what = _("the calculation name of aspect {code}").format(code=code)
        yield aspect.row, what, calculation.name or "", CALCULATION_NAME_LENGTH
        for number, choice in enumerate(calculation.choices, start=1):
            what = _("option {number} of aspect {code}").format(number=number, code=code)
            yield aspect.row, what, choice.label, CHOICE_LABEL_LENGTH


def _shortened(code: str) -> str:
    return code if len(code) <= 20 else code[:19] + "…"


def _structure_problems(scheme: SchemeData) -> Iterator[Problem]:
    if not scheme.criteria:
        yield _error(None, _("The scheme has no criteria: the Criteria table is missing or empty."))
    if not scheme.aspects:
        yield _error(None, _("The scheme has no aspects."))
    seen_sections: set[int] = set()
    for section in scheme.sections:
        if section.number in seen_sections:
            yield _error(
                section.row,
                _("standards section {number} appears more than once.").format(
                    number=section.number
                ),
            )
        seen_sections.add(section.number)
    seen_criteria: set[str] = set()
    for criterion in scheme.criteria:
        if criterion.code in seen_criteria:
            yield _error(
                criterion.row,
                _("criterion {code} appears more than once in the Criteria table.").format(
                    code=criterion.code
                ),
            )
        seen_criteria.add(criterion.code)
    first_row: dict[str, int | None] = {}
    for sub in scheme.sub_criteria:
        if sub.code in first_row:
            where = first_row[sub.code]
            yield _error(
                sub.row,
                _(
                    "sub-criterion ID {code} is used more than once{first}; each sub-criterion "
                    "is one marking form and needs its own ID."
                ).format(
                    code=sub.code,
                    first="" if where is None else _(" (first at row {row})").format(row=where),
                ),
            )
        else:
            first_row[sub.code] = sub.row
        if sub.criterion not in seen_criteria:
            yield _error(
                sub.row,
                _(
                    "sub-criterion {code} belongs to criterion {criterion}, which is not in "
                    "the Criteria table."
                ).format(code=sub.code, criterion=sub.criterion),
            )
        elif not sub.code.startswith(sub.criterion):
            yield _warning(
                sub.row,
                _(
                    "sub-criterion ID {code} does not start with the letter of its criterion, "
                    "{criterion}."
                ).format(code=sub.code, criterion=sub.criterion),
            )


def _numbering_problems(scheme: SchemeData) -> Iterator[Problem]:
    """Aspects belong to a known sub-criterion and are numbered by their position in it."""
    positions: Counter[str] = Counter()
    known = {sub.code for sub in scheme.sub_criteria}
    for aspect in scheme.aspects:
        if aspect.sub_criterion not in known:
            yield _error(
                aspect.row,
                _("aspect {aspect} belongs to sub-criterion {sub}, which the scheme does not have.")
                .format(aspect=aspect_label(aspect), sub=aspect.sub_criterion),
            )
            continue
        positions[aspect.sub_criterion] += 1
        expected = f"{aspect.sub_criterion}.{positions[aspect.sub_criterion]}"
        if aspect.code != expected:
            yield _error(
                aspect.row,
                _(
                    "aspect {aspect} should be numbered {expected}: the sub-criterion ID, a dot "
                    "and its position in the sub-criterion."
                ).format(aspect=aspect_label(aspect), expected=expected),
            )
    with_aspects = {aspect.sub_criterion for aspect in scheme.aspects}
    for sub in scheme.sub_criteria:
        if sub.code not in with_aspects:
            yield _warning(
                sub.row,
                _("sub-criterion {code} '{name}' has no aspects.").format(
                    code=sub.code, name=sub.name
                ),
            )


def _calculation_problems(scheme: SchemeData) -> Iterator[Problem]:
    for aspect in scheme.aspects:
        calculation = aspect.calculation
        if calculation is None:
            continue
        label = aspect_label(aspect)
        if aspect.kind == "J":
            yield _error(
                aspect.row,
                _("J aspect {aspect} has a calculation; only M aspects are calculated.").format(
                    aspect=label
                ),
            )
        elif calculation.kind == "number_completed" and (
            calculation.possible is None or calculation.possible < 1
        ):
            yield _error(
                aspect.row,
                _(
                    "M aspect {aspect} counts completed items but does not say how many are "
                    "possible (at least 1)."
                ).format(aspect=label),
            )
        elif calculation.kind == "choice" and not calculation.choices:
            yield _error(
                aspect.row,
                _("M aspect {aspect} is a choice without options.").format(aspect=label),
            )
        for choice in calculation.choices:
            if not Decimal(0) <= choice.deduction_percent <= FULL_MARKS:
                yield _error(
                    aspect.row,
                    _(
                        "M aspect {aspect}: option '{option}' deducts {percent}%; a deduction "
                        "must be between 0 and 100%."
                    ).format(
                        aspect=label,
                        option=choice.label,
                        percent=format_mark(choice.deduction_percent),
                    ),
                )


def _total_problems(scheme: SchemeData) -> Iterator[Problem]:
    total = scheme.total()
    if scheme.aspects and total != FULL_MARKS:
        yield _warning(
            None,
            _("The aspects total {total} marks; a marking scheme totals 100.").format(
                total=format_mark(total)
            ),
        )
    for criterion in scheme.criteria:
        criterion_total = scheme.criterion_total(criterion.code)
        if criterion_total != criterion.mark:
            yield _warning(
                criterion.row,
                _(
                    "criterion {code} '{name}' has {mark} marks in the Criteria table but its "
                    "aspects total {total}."
                ).format(
                    code=criterion.code,
                    name=criterion.name,
                    mark=format_mark(criterion.mark),
                    total=format_mark(criterion_total),
                ),
            )


def _section_problems(scheme: SchemeData) -> Iterator[Problem]:
    if not scheme.sections:
        if scheme.aspects:
            yield _warning(
                None,
                _(
                    "The scheme has no standards table (Section, name, WSOS marks), so the "
                    "marks per standards section cannot be checked."
                ),
            )
        return
    weightings = _sum(section.weighting for section in scheme.sections)
    if weightings != FULL_MARKS:
        yield _warning(
            scheme.sections[0].row,
            _("the weightings of the standards sections total {total}, not 100.").format(
                total=format_mark(weightings)
            ),
        )
    variation = scheme.section_variation()
    if variation > MAX_SECTION_VARIATION:
        totals = scheme.section_totals()
        details = "; ".join(
            _("section {number}: {marks} marks for a weighting of {weighting}").format(
                number=section.number,
                marks=format_mark(totals[section.number]),
                weighting=format_mark(section.weighting),
            )
            for section in scheme.sections
            if totals[section.number] != section.weighting
        )
        yield _warning(
            scheme.sections[0].row,
            _(
                "the marks per standards section differ from the weightings by {variation} in "
                "total; at most {limit} is allowed ({details})."
            ).format(
                variation=format_mark(variation),
                limit=format_mark(MAX_SECTION_VARIATION),
                details=details,
            ),
        )


def _aspect_problems(scheme: SchemeData) -> Iterator[Problem]:
    section_numbers = {section.number for section in scheme.sections}
    for aspect in scheme.aspects:
        label = aspect_label(aspect)
        if not aspect.description:
            yield _warning(aspect.row, _("aspect {code} has no description.").format(
                code=aspect.code
            ))
        if aspect.max_mark is None:
            yield _warning(aspect.row, _("aspect {aspect} has no max mark.").format(aspect=label))
        elif aspect.max_mark <= 0:
            yield _warning(
                aspect.row,
                _("aspect {aspect} has a max mark of {mark}; it must be above 0.").format(
                    aspect=label, mark=format_mark(aspect.max_mark)
                ),
            )
        if aspect.section is None:
            yield _warning(aspect.row, _("aspect {aspect} has no WSOS section.").format(
                aspect=label
            ))
        elif section_numbers and aspect.section not in section_numbers:
            yield _warning(
                aspect.row,
                _(
                    "aspect {aspect} is in WSOS section {section}, which is not in the "
                    "standards table."
                ).format(aspect=label, section=aspect.section),
            )
        yield from _descriptor_problems(aspect, label)


def _descriptor_problems(aspect: AspectData, label: str) -> Iterator[Problem]:
    scores = tuple(descriptor.score for descriptor in aspect.descriptors)
    if aspect.kind == "M":
        if scores:
            yield _warning(
                aspect.row,
                _(
                    "M aspect {aspect} has judgement score rows; a measurement does not use "
                    "them."
                ).format(aspect=label),
            )
        return
    if len(scores) != len(JUDGEMENT_SCORES):
        yield _warning(
            aspect.row,
            _("J aspect {aspect} has {count} descriptors; it needs scores 0, 1, 2 and 3.").format(
                aspect=label, count=len(scores)
            ),
        )
    elif sorted(scores) != list(JUDGEMENT_SCORES):
        yield _warning(
            aspect.row,
            _(
                "J aspect {aspect} has descriptors for scores {scores}; it needs one each for "
                "scores 0, 1, 2 and 3."
            ).format(aspect=label, scores=", ".join(str(score) for score in scores)),
        )
