"""The rule book as pure functions: aspect marks, totals, ranks, scale scores, medals, advancement."""

import re
from bisect import bisect_right
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    localcontext,
)
from functools import lru_cache
from itertools import pairwise
from typing import Final, Literal, TypeVar

# Divisions and square roots run in this context, whatever the caller's thread has set.
_ARITHMETIC = Context(prec=28, rounding=ROUND_HALF_EVEN)
# Sums and products run exactly in this one: nothing is rounded, so no result depends on the order of
# its inputs. Never divide in it (1/3 has no exact form).
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact, InvalidOperation])
ZERO = Decimal(0)


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The exact sum, whatever decimal context the caller has set."""
    with localcontext(_EXACT):
        return sum(values, ZERO)


# ---------------------------------------------------------------------------------------------
# Rounding


def round_half_up(value: Decimal, places: int = 2) -> Decimal:
    """Round half up (away from zero) to `places` decimals, as CIS does: 0.125 gives 0.13."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number")
    with localcontext(_ARITHMETIC):
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_mark(value: Decimal) -> str:
    """A mark as the results show it: exactly 2 decimals, rounded half up ("87.42", "20.00")."""
    rounded = round_half_up(value)
    if rounded.is_zero():
        rounded = rounded.copy_abs()  # never "-0.00"
    return f"{rounded:f}"


# ---------------------------------------------------------------------------------------------
# Judgement aspects

JUDGEMENT_SCORES = range(0, 4)


def judgement_mark(max_mark: Decimal, scores: Sequence[int]) -> Decimal:
    """Max mark × mean of the judges' scores / 3, rounded half up to 2 decimals."""
    if not scores:
        raise ValueError("a judgement needs at least one judge's score")
    for score in scores:
        if isinstance(score, bool) or score not in JUDGEMENT_SCORES:
            raise ValueError(f"score {score!r} is outside 0..3")
    if not max_mark.is_finite():
        raise ValueError(f"{max_mark} is not a finite number")
    return _judgement_mark(max_mark, sum(scores), len(scores))


@lru_cache(maxsize=4096)
def _judgement_mark(max_mark: Decimal, total: int, judges: int) -> Decimal:
    """The mark for a sum of scores: a skill repeats the same few combinations tens of thousands of times."""
    with localcontext(_ARITHMETIC):
        # One division of the exact product, so that an exact x.xx5 rounds up.
        return round_half_up(max_mark * total / (3 * judges))


def judgement_spread_ok(scores: Sequence[int], max_spread: int = 1) -> bool:
    """The judgement rule: one aspect's scores for one competitor differ by at most `max_spread`."""
    return not scores or max(scores) - min(scores) <= max_spread


AspectStatus = Literal["missing", "waiting", "disagreement", "saved"]
MISSING: Final = "missing"
WAITING: Final = "waiting"
DISAGREEMENT: Final = "disagreement"
SAVED: Final = "saved"
"""Where one aspect of one competitor stands: nothing recorded; some judges still to score (no mark
yet, and no judge sees the others' scores); judges' scores break the judgement rule (no mark, to be
re-scored); or marked."""


def judgement_status(
    max_mark: Decimal, scores: Sequence[int], judges: int = 3, max_spread: int = 1
) -> tuple[AspectStatus, Decimal | None]:
    """A judgement aspect's status and mark from the scores of the distinct judges so far.

    Complete once `judges` judges have scored (a larger team's extra scores count too); then the
    judgement rule decides between `disagreement` (no mark) and `saved` with `judgement_mark`."""
    if not scores:
        return MISSING, None
    if len(scores) < judges:
        return WAITING, None
    if not judgement_spread_ok(scores, max_spread):
        return DISAGREEMENT, None
    return SAVED, judgement_mark(max_mark, scores)


# ---------------------------------------------------------------------------------------------
# Measurement aspects

CALCULATIONS = ("pass_fail", "deduction", "number_completed", "choice")

# What a person may type or a workbook cell may hold, and what `measurement_mark` takes.
RawValue = str | int | float | Decimal | bool | None
MeasurementValue = bool | int | Decimal

# Words for pass and fail, compared in lower case; "jā"/"nē" are Latvian yes/no.
_PASS_WORDS = frozenset({"1", "yes", "y", "true", "pass", "jā"})
_FAIL_WORDS = frozenset({"0", "no", "n", "false", "fail", "nē"})


@dataclass(frozen=True)
class Choice:
    """One labelled option of a `choice` measurement and its deduction in percent of the max mark."""

    label: str
    deduction_percent: Decimal

    def __post_init__(self) -> None:
        if not ZERO <= self.deduction_percent <= 100:
            raise ValueError(f"option {self.label!r} deducts {self.deduction_percent}%, outside 0..100")


def measurement_mark(
    max_mark: Decimal,
    calculation: str,
    value: MeasurementValue | None,
    *,
    possible: int | None = None,
    choices: Sequence[Choice] = (),
    deductions: Sequence[Decimal] = (),
) -> Decimal:
    """The mark of a measurement, rounded half up to 2 decimals.

    `value` is what `parse_measurement_value` gives (bool and int are taken too): pass_fail 1 or 0
    (max mark or 0); deduction the total deducted, or None to use `deductions` (max minus it, never
    below 0); number_completed the count completed, 0..possible (max × count / possible); choice the
    1-based option (max × (1 − its deduction percent / 100)).
    """
    if calculation == "pass_fail":
        return round_half_up(max_mark if _parse_pass_fail(value) else ZERO)
    if calculation == "deduction":
        return round_half_up(max(max_mark - _total_deducted(value, deductions), ZERO))
    if calculation == "number_completed":
        out_of = _check_possible(possible)
        with localcontext(_ARITHMETIC):
            return round_half_up(max_mark * _parse_completed(value, out_of) / out_of)
    if calculation == "choice":
        chosen = choices[_parse_choice(value, choices) - 1]
        with localcontext(_ARITHMETIC):
            return round_half_up(max_mark * (100 - chosen.deduction_percent) / 100)
    raise ValueError(_unknown_calculation(calculation))


def parse_measurement_value(
    calculation: str,
    raw: object,
    *,
    possible: int | None = None,
    choices: Sequence[Choice] = (),
) -> Decimal:
    """Turn typed or imported input into the canonical value that is stored and marked.

    pass_fail: 1/0, True/False, yes/no, jā/nē (also y/n, true/false, pass/fail; any case) give 1/0.
    deduction: a number 0..MAX_DEDUCTED (a decimal comma is allowed) gives the total deducted.
    number_completed: a whole number 0..possible gives that count.
    choice: an option number 1..n or an option's exact label (surrounding spaces aside) gives the
    1-based option number; a label that is also another option's number is refused as ambiguous.
    A ValueError says what was wrong and why ("completed 7 is outside 0..5").
    """
    if calculation == "pass_fail":
        return Decimal(int(_parse_pass_fail(raw)))
    if calculation == "deduction":
        return _parse_deducted(raw)
    if calculation == "number_completed":
        return Decimal(_parse_completed(raw, _check_possible(possible)))
    if calculation == "choice":
        return Decimal(_parse_choice(raw, choices))
    raise ValueError(_unknown_calculation(calculation))


def _unknown_calculation(calculation: str) -> str:
    return f"unknown calculation {calculation!r}: expected one of {', '.join(CALCULATIONS)}"


def _is_missing(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _number(raw: object, what: str) -> Decimal:
    if _is_missing(raw):
        raise ValueError(f"{what} is missing")
    if isinstance(raw, bool):
        raise ValueError(f"{what} {raw!r} is not a number")
    text = raw.strip().replace(",", ".") if isinstance(raw, str) else str(raw)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} {raw!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{what} {raw!r} is not a number")
    return number


def _whole_number(raw: object, what: str) -> int:
    number = _number(raw, what)
    if number != number.to_integral_value():
        raise ValueError(f"{what} {number} is not a whole number")
    return int(number)


def _parse_pass_fail(raw: object) -> bool:
    if _is_missing(raw):
        raise ValueError("pass_fail value is missing")
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _PASS_WORDS or word in _FAIL_WORDS:
            return word in _PASS_WORDS
    elif raw in (0, 1):
        return raw == 1
    raise ValueError(f"pass_fail value {raw!r} is not 1/0, yes/no or jā/nē")


MAX_DEDUCTED = Decimal("999999.99")
"""The most a measurement stores (marks are NUMERIC(8, 2)); a total deducted beyond any max mark is refused here."""


def _parse_deducted(raw: object) -> Decimal:
    deducted = _number(raw, "total deducted")
    if deducted < 0:
        raise ValueError(f"total deducted {deducted} is below 0")
    if deducted > MAX_DEDUCTED:
        raise ValueError(f"total deducted {deducted} is above {MAX_DEDUCTED}")
    return deducted


def _total_deducted(value: object, deductions: Sequence[Decimal]) -> Decimal:
    for deduction in deductions:
        if deduction < 0:
            raise ValueError(f"deduction {deduction} is below 0")
    listed = exact_sum(deductions)
    if value is None:
        return listed
    total = _parse_deducted(value)
    if deductions and total != listed:
        raise ValueError(f"total deducted {total} does not match the deductions recorded ({listed})")
    return total


def _check_possible(possible: int | None) -> int:
    if possible is None or possible < 1:
        raise ValueError(f"number_completed needs a possible count of at least 1, not {possible}")
    return possible


def _parse_completed(raw: object, possible: int) -> int:
    completed = _whole_number(raw, "completed")
    if not 0 <= completed <= possible:
        raise ValueError(f"completed {completed} is outside 0..{possible}")
    return completed


def _parse_choice(raw: object, choices: Sequence[Choice]) -> int:
    if not choices:
        raise ValueError("the choice aspect has no options")
    if _is_missing(raw):
        raise ValueError("choice is missing")
    labelled = _labelled_option(raw, choices)
    numbered = _numbered_option(raw)
    in_range = numbered is not None and 1 <= numbered <= len(choices)
    if labelled is not None and in_range and labelled != numbered:
        raise ValueError(
            f"choice {raw!r} is ambiguous: the label of option {labelled} and the number of option {numbered}"
        )
    if labelled is not None:
        return labelled
    if numbered is None:
        labels = ", ".join(choice.label for choice in choices)
        raise ValueError(f"{raw!r} is not one of: {labels}")
    if not in_range:
        raise ValueError(f"option {numbered} is outside 1..{len(choices)}")
    return numbered


def _labelled_option(raw: object, choices: Sequence[Choice]) -> int | None:
    if not isinstance(raw, str):
        return None
    options = [n for n, choice in enumerate(choices, 1) if choice.label.strip() == raw.strip()]
    if len(options) > 1:
        raise ValueError(f"choice {raw!r} is the label of several options: {options}")
    return options[0] if options else None


def _numbered_option(raw: object) -> int | None:
    try:
        return _whole_number(raw, "option")
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Totals


@dataclass(frozen=True)
class AspectMark:
    """One aspect's mark for one competitor, with where it counts."""

    aspect: str
    criterion: str
    sub_criterion: str
    section: int | None
    mark: Decimal


@dataclass(frozen=True)
class Totals:
    """Exact sums of aspect marks: the raw total and its split by criterion, sub-criterion, section."""

    raw: Decimal
    criteria: Mapping[str, Decimal]
    sub_criteria: Mapping[str, Decimal]
    sections: Mapping[int, Decimal]


K = TypeVar("K", bound=Hashable)


def totals(marks: Iterable[AspectMark]) -> Totals:
    """Raw total and subtotals; codes in natural order (A1, A2, A10), sections by number."""
    everything: list[Decimal] = []
    criteria: dict[str, list[Decimal]] = {}
    sub_criteria: dict[str, list[Decimal]] = {}
    sections: dict[int, list[Decimal]] = {}
    for m in marks:  # one pass: a skill's results add up some 10,000 marks
        everything.append(m.mark)
        criteria.setdefault(m.criterion, []).append(m.mark)
        sub_criteria.setdefault(m.sub_criterion, []).append(m.mark)
        if m.section is not None:
            sections.setdefault(m.section, []).append(m.mark)
    return Totals(
        raw=exact_sum(everything),
        criteria=_in_code_order(_sums(criteria)),
        sub_criteria=_in_code_order(_sums(sub_criteria)),
        sections=dict(sorted(_sums(sections).items())),
    )


def _sums(grouped: Mapping[K, list[Decimal]]) -> dict[K, Decimal]:
    return {group: exact_sum(group_marks) for group, group_marks in grouped.items()}


@lru_cache(maxsize=8192)
def code_order(code: str) -> tuple[tuple[int, str], ...]:
    """Sort key for codes such as A2 < A10: digit runs compare as numbers, the rest as text."""
    return tuple((int(part), "") if part.isdecimal() else (-1, part) for part in re.split(r"(\d+)", code))


def _in_code_order(sums: dict[str, Decimal]) -> dict[str, Decimal]:
    return dict(sorted(sums.items(), key=lambda item: code_order(item[0])))


# ---------------------------------------------------------------------------------------------
# Scale scores

ROBUST_FACTOR = Decimal("1.4826")
ScaleMethod = Literal["robust", "mean_sd"]


@dataclass(frozen=True)
class ScaleSettings:
    """An event's scale: centre, points per deviation, how the deviation is measured, bounds."""

    centre: Decimal = Decimal(700)
    points: Decimal = Decimal(30)
    method: ScaleMethod = "robust"
    low: Decimal = Decimal(0)
    high: Decimal = Decimal(1000)

    def __post_init__(self) -> None:
        if self.method not in ("robust", "mean_sd"):
            raise ValueError(f"unknown scale method {self.method!r}: expected robust or mean_sd")
        if not self.low <= self.centre <= self.high:
            raise ValueError(f"scale centre {self.centre} is outside {self.low}..{self.high}")
        if self.points <= 0:
            raise ValueError(f"scale points per deviation {self.points} must be above 0")


DEFAULT_SCALE = ScaleSettings()


def mean(values: Sequence[Decimal]) -> Decimal:
    """Arithmetic mean."""
    if not values:
        raise ValueError("the mean of no values is undefined")
    total = exact_sum(values)
    with localcontext(_ARITHMETIC):
        return total / len(values)


def median(values: Sequence[Decimal]) -> Decimal:
    """Middle value; for an even count, the mean of the two middle ones."""
    if not values:
        raise ValueError("the median of no values is undefined")
    ordered = sorted(values)
    half = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[half]
    with localcontext(_ARITHMETIC):
        return (ordered[half - 1] + ordered[half]) / 2


def population_sd(values: Sequence[Decimal]) -> Decimal:
    """Population standard deviation (divides by n, not n − 1), as √((n·Σx² − (Σx)²) / n²).

    The numerator is exact, so the result is rounded only in the division and the root, and does
    not depend on the order of the values.
    """
    if not values:
        raise ValueError("the standard deviation of no values is undefined")
    count = len(values)
    total = exact_sum(values)
    with localcontext(_EXACT):
        spread = count * exact_sum(value * value for value in values) - total * total
    with localcontext(_ARITHMETIC):
        return (spread / (count * count)).sqrt()


def scale_scores(raws: Sequence[Decimal], settings: ScaleSettings = DEFAULT_SCALE) -> list[Decimal]:
    """Unrounded scale score for each raw total, in the given order (rule 3).

    robust: m = median, MAD = median |raw − m|, s = 1.4826 × MAD, or the population standard
    deviation where MAD = 0 (m stays the median). mean_sd: m = mean, s = population standard
    deviation.
    scale = centre + points × (raw − m) / s within low..high; everyone gets the centre where s = 0.
    """
    if not raws:
        return []
    middle, spread = _middle_and_spread(raws, settings.method)
    if spread == 0:
        return [settings.centre for _ in raws]
    with localcontext(_ARITHMETIC):
        return [_clamp(settings.centre + settings.points * (raw - middle) / spread, settings) for raw in raws]


def _middle_and_spread(raws: Sequence[Decimal], method: ScaleMethod) -> tuple[Decimal, Decimal]:
    if method == "mean_sd":
        return mean(raws), population_sd(raws)
    middle = median(raws)
    with localcontext(_ARITHMETIC):
        mad = median([abs(raw - middle) for raw in raws])
        return middle, (ROBUST_FACTOR * mad if mad else population_sd(raws))


def _clamp(scale: Decimal, settings: ScaleSettings) -> Decimal:
    return min(max(scale, settings.low), settings.high)


def scale_shown(scale: Decimal) -> int:
    """A scale score as shown: rounded half up to a whole number."""
    return int(round_half_up(scale, 0))


# ---------------------------------------------------------------------------------------------
# Ranks, medals, excellence, advancement, best of


def ranks(raws: Sequence[Decimal]) -> list[int]:
    """Competition ranks by raw total, descending, for the given order: equal totals share (1, 2, 2, 4)."""
    ordered = sorted(raws)
    return [len(ordered) - bisect_right(ordered, raw) + 1 for raw in raws]


GOLD = "gold"
SILVER = "silver"
BRONZE = "bronze"
EXCELLENCE = "excellence"


def tie_groups(scales: Sequence[Decimal], margin: Decimal) -> list[range]:
    """Split a ranking (descending scales) into tie groups, as index ranges.

    A group is a competitor and everyone after them whose scale is within `margin` of that first
    one; the next group starts with the first competitor beyond it. Groups do not chain.
    """
    if margin < 0:
        raise ValueError(f"medal margin {margin} is below 0")
    if any(earlier < later for earlier, later in pairwise(scales)):
        raise ValueError("scales must be in ranking order, highest first")
    groups: list[range] = []
    start = 0
    while start < len(scales):
        end = start + 1
        while end < len(scales) and scales[start] - scales[end] <= margin:
            end += 1
        groups.append(range(start, end))
        start = end
    return groups


def medals(scales: Sequence[Decimal], margin: Decimal = Decimal(2)) -> list[str | None]:
    """Medal per competitor, for unrounded scales in ranking order (rule 4).

    Scales are compared unrounded; they must come highest first (ValueError otherwise). Walk the
    tie groups (see `tie_groups`: measured from each group's first member, never chained); G1, G2,
    G3 are the first three.
    - G1 of 2: both gold, no silver; bronze to all of G2 (whatever its size).
    - G1 of 3 or more: all gold, no silver; bronze to all of G2 only if G2's first competitor is
      within the margin of the last gold (with margin 0 that never happens, as G2 would be in G1).
    - G1 of 1 and G2 of 2 or more: gold, all of G2 silver, no bronze.
    - G1 of 1 and G2 of 1: gold, silver, then all of G3 bronze, whatever its size (the "bronze
      group" case and the "otherwise" case agree here).
    Everyone after the medal groups gets None, so at most three groups hold medals.
    """
    groups = tie_groups(scales, margin)
    awarded: list[str | None] = [None] * len(scales)
    for group, medal in zip(groups, _group_medals(groups, scales, margin), strict=False):
        for index in group:
            awarded[index] = medal
    return awarded


def _group_medals(groups: Sequence[range], scales: Sequence[Decimal], margin: Decimal) -> list[str | None]:
    if not groups:
        return []
    golds = groups[0]
    if len(golds) == 2:
        return [GOLD, BRONZE]
    if len(golds) >= 3:
        next_close = len(groups) > 1 and scales[golds[-1]] - scales[groups[1][0]] <= margin
        return [GOLD, BRONZE if next_close else None]
    if len(groups) > 1 and len(groups[1]) >= 2:
        return [GOLD, SILVER]
    return [GOLD, SILVER, BRONZE]


def excellence(
    scales: Sequence[Decimal], medal_list: Sequence[str | None], threshold: Decimal = Decimal(700)
) -> list[bool]:
    """Medallion for Excellence (rule 5): no medal and an unrounded scale of at least `threshold`."""
    return [medal is None and scale >= threshold for scale, medal in zip(scales, medal_list, strict=True)]


def awards(
    scales: Sequence[Decimal],
    margin: Decimal = Decimal(2),
    excellence_threshold: Decimal = Decimal(700),
) -> list[str | None]:
    """gold, silver, bronze, excellence or None per competitor, scales in ranking order (rules 4, 5)."""
    medal_list = medals(scales, margin)
    excellent = excellence(scales, medal_list, excellence_threshold)
    return [EXCELLENCE if good else medal for medal, good in zip(medal_list, excellent, strict=True)]


def advancement(raws: Sequence[Decimal], places: int, minimum: Decimal | None = None) -> list[bool]:
    """Who goes on to the final (rule 7): the top `places` by raw total, everyone tied with the
    last of them too, and, where a minimum is set, only those with a raw total of at least it."""
    if places < 0:
        raise ValueError(f"places to advance {places} is below 0")
    return [rank <= places and (minimum is None or raw >= minimum) for raw, rank in zip(raws, ranks(raws), strict=True)]


C = TypeVar("C")


def best_of(entries: Iterable[tuple[str, C, Decimal]]) -> dict[str, list[C]]:
    """Best of institution (rule 6): for (group, competitor, unrounded scale) entries, each group's
    competitors with the group's top scale; exact ties give several, in the order given."""
    top: dict[str, Decimal] = {}
    winners: dict[str, list[C]] = {}
    for group, competitor, scale in entries:
        if group not in top or scale > top[group]:
            top[group] = scale
            winners[group] = [competitor]
        elif scale == top[group]:
            winners[group].append(competitor)
    return winners


def best_of_event(entries: Iterable[tuple[C, Decimal]]) -> list[C]:
    """Best of event (rule 6): the competitors with the top unrounded scale across all skills."""
    return best_of(("", competitor, scale) for competitor, scale in entries).get("", [])


@dataclass(frozen=True)
class MedalCount:
    """How many of each award a group (an institution, a sector) won."""

    gold: int = 0
    silver: int = 0
    bronze: int = 0
    excellence: int = 0

    def add(self, award: str) -> "MedalCount":
        if award not in AWARDS:
            raise ValueError(f"unknown award {award!r}: expected one of {', '.join(AWARDS)}")
        return replace(self, **{award: getattr(self, award) + 1})

    @property
    def medals(self) -> int:
        """Gold, silver and bronze together (a Medallion for Excellence is not a medal)."""
        return self.gold + self.silver + self.bronze


AWARDS = (GOLD, SILVER, BRONZE, EXCELLENCE)


def medal_table(entries: Iterable[tuple[str, str | None]]) -> list[tuple[str, MedalCount]]:
    """A medal table from (group, award or None) entries: the groups with at least one award, sorted as
    medal tables are (most gold, then silver, then bronze, then Medallions for Excellence), equal
    rows by group name."""
    counts: dict[str, MedalCount] = {}
    for group, award in entries:
        if award is not None:
            counts[group] = counts.get(group, MedalCount()).add(award)
    return sorted(
        counts.items(),
        key=lambda item: (-item[1].gold, -item[1].silver, -item[1].bronze, -item[1].excellence, item[0]),
    )


# ---------------------------------------------------------------------------------------------
# Results of a stage

StageKind = Literal["semi_final", "final"]


@dataclass(frozen=True)
class CompetitorInput:
    """A competitor of one skill and stage: whether all their forms are locked, and their marks."""

    competitor: str
    institution: str
    complete: bool
    marks: Sequence[AspectMark]


@dataclass(frozen=True)
class ResultsSettings:
    """The event's settings that shape a stage's results."""

    stage_kind: StageKind = "final"
    scale: ScaleSettings = field(default_factory=ScaleSettings)
    medal_margin: Decimal = Decimal(2)
    excellence_threshold: Decimal = Decimal(700)
    advance: int = 0
    advance_minimum: Decimal | None = None

    def __post_init__(self) -> None:
        if self.stage_kind not in ("semi_final", "final"):
            raise ValueError(f"unknown stage kind {self.stage_kind!r}: expected semi_final or final")
        if self.medal_margin < 0:
            raise ValueError(f"medal margin {self.medal_margin} is below 0")
        if self.advance < 0:
            raise ValueError(f"places to advance {self.advance} is below 0")


@dataclass(frozen=True)
class CompetitorResult:
    """One line of a stage's results; figures are None (and subtotals empty) when incomplete."""

    competitor: str
    institution: str
    complete: bool
    raw: Decimal | None
    rank: int | None
    scale: Decimal | None
    scale_shown: int | None
    medal: str | None
    criteria: Mapping[str, Decimal]
    sections: Mapping[int, Decimal]
    sub_criteria: Mapping[str, Decimal]
    advances: bool | None


def stage_results(competitors: Sequence[CompetitorInput], settings: ResultsSettings) -> list[CompetitorResult]:
    """Results of one skill in one stage (rules 1-5 and 7), sorted by rank then competitor code,
    incomplete competitors last by code. Scale is over the complete competitors only; medals and
    excellence for a final only (rule 4 says so of medals; the Medallion for Excellence is read as
    a final's award too); advances is a bool for a semi-final (False when incomplete) and None for
    a final."""
    _check_unique(competitors)
    complete = [c for c in competitors if c.complete]
    sums = [totals(c.marks) for c in complete]
    raws = [s.raw for s in sums]
    rank_list = ranks(raws)
    scales = scale_scores(raws, settings.scale)
    advancing = _advancing(raws, settings)
    order = sorted(range(len(complete)), key=lambda i: (rank_list[i], complete[i].competitor))
    awarded = _stage_awards([scales[i] for i in order], settings)
    results = [
        _complete_result(complete[i], sums[i], rank_list[i], scales[i], medal, advancing[i])
        for i, medal in zip(order, awarded, strict=True)
    ]
    incomplete = sorted((c for c in competitors if not c.complete), key=lambda c: c.competitor)
    return results + [_incomplete_result(c, settings) for c in incomplete]


def _check_unique(competitors: Sequence[CompetitorInput]) -> None:
    seen: set[str] = set()
    for competitor in competitors:
        if competitor.competitor in seen:
            raise ValueError(f"competitor {competitor.competitor} is listed twice")
        seen.add(competitor.competitor)


def _advancing(raws: Sequence[Decimal], settings: ResultsSettings) -> list[bool | None]:
    if settings.stage_kind == "final":
        return [None] * len(raws)
    return list(advancement(raws, settings.advance, settings.advance_minimum))


def _stage_awards(ranked_scales: Sequence[Decimal], settings: ResultsSettings) -> list[str | None]:
    if settings.stage_kind != "final":
        return [None] * len(ranked_scales)
    return awards(ranked_scales, settings.medal_margin, settings.excellence_threshold)


def _complete_result(
    entry: CompetitorInput,
    sums: Totals,
    rank: int,
    scale: Decimal,
    medal: str | None,
    advances: bool | None,
) -> CompetitorResult:
    return CompetitorResult(
        competitor=entry.competitor,
        institution=entry.institution,
        complete=True,
        raw=sums.raw,
        rank=rank,
        scale=scale,
        scale_shown=scale_shown(scale),
        medal=medal,
        criteria=sums.criteria,
        sections=sums.sections,
        sub_criteria=sums.sub_criteria,
        advances=advances,
    )


def _incomplete_result(entry: CompetitorInput, settings: ResultsSettings) -> CompetitorResult:
    return CompetitorResult(
        competitor=entry.competitor,
        institution=entry.institution,
        complete=False,
        raw=None,
        rank=None,
        scale=None,
        scale_shown=None,
        medal=None,
        criteria={},
        sections={},
        sub_criteria={},
        advances=False if settings.stage_kind == "semi_final" else None,
    )
