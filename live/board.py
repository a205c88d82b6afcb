"""What the live board shows, as a pure function of an event's facts and its visibility policy.

The policies (WORLDSKILLS.md, "Who may see what"; `competition.models.Visibility`):
- `progress` (the default while marking): per skill and stage, the share of marks entered and of forms
  locked. No score of any kind.
- `live`: also provisional raw totals and the ranking by them (marks so far, locked or not).
- `final`: also the published results of a skill and stage: rank, raw, scale score and medal.
  Unpublished ones show progress only.
- `ceremony`: a final shows only the medals the organiser has revealed so far (bronze, then silver,
  then gold): names, institutions and medals, no figure. Progress stays visible.

`project` is the only place that decides; pages, socket messages and tests all go through it, so a
figure a policy hides cannot reach a viewer by another road.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from competition.models import StageKind, Visibility
from scoring import rules
from scoring.marks import Progress

CEREMONY_STEPS = (rules.BRONZE, rules.SILVER, rules.GOLD)
"""The order of the reveal: step 1 shows bronze, step 2 silver too, step 3 gold too."""


@dataclass(frozen=True)
class CompetitorFacts:
    """A competitor's figures in one stage, as the database has them (some of them secret)."""

    code: str
    name: str
    institution: str
    provisional_raw: Decimal | None = None
    """The sum of the marks entered so far (forms locked or not)."""
    raw: Decimal | None = None
    """The official raw total (every form locked), else None."""
    rank: int | None = None
    scale: int | None = None
    medal: str | None = None


@dataclass(frozen=True)
class StageFacts:
    code: str
    name: str
    kind: str
    progress: Progress
    published: bool = False
    ceremony_step: int = 0
    competitors: tuple[CompetitorFacts, ...] = ()


@dataclass(frozen=True)
class SkillFacts:
    code: str
    name: str
    sector: str
    stages: tuple[StageFacts, ...]


@dataclass(frozen=True)
class BoardLine:
    """One line of a standing as a viewer may see it (None: not shown)."""

    code: str
    name: str
    institution: str
    rank: int | None = None
    raw: str | None = None
    scale: int | None = None
    medal: str | None = None


@dataclass(frozen=True)
class StageBoard:
    code: str
    name: str
    kind: str
    marks_entered: int
    marks_total: int
    forms_locked: int
    forms_total: int
    view: str
    """What the standing is: `progress` (none), `provisional`, `results` or `ceremony`."""
    lines: tuple[BoardLine, ...] = ()
    ceremony_step: int = 0

    @property
    def marks_percent(self) -> int:
        return _percent(self.marks_entered, self.marks_total)

    @property
    def forms_percent(self) -> int:
        return _percent(self.forms_locked, self.forms_total)


@dataclass(frozen=True)
class SkillBoard:
    code: str
    name: str
    sector: str
    stages: tuple[StageBoard, ...]


def _percent(part: int, whole: int) -> int:
    """A share as a whole percent, rounded down so that 100 % means everything."""
    return (100 * part) // whole if whole else 0


def revealed_medals(step: int) -> frozenset[str]:
    return frozenset(CEREMONY_STEPS[: max(0, min(step, len(CEREMONY_STEPS)))])


def _board(stage: StageFacts, view: str, lines: tuple[BoardLine, ...]) -> StageBoard:
    return StageBoard(
        code=stage.code,
        name=stage.name,
        kind=stage.kind,
        marks_entered=stage.progress.marks_entered,
        marks_total=stage.progress.marks_total,
        forms_locked=stage.progress.forms_locked,
        forms_total=stage.progress.forms_total,
        view=view,
        lines=lines,
        ceremony_step=stage.ceremony_step,
    )


def project_stage(stage: StageFacts, policy: str) -> StageBoard:
    """One stage of one skill as the policy lets viewers see it."""
    if policy == Visibility.LIVE:
        ranked = [c for c in stage.competitors if c.provisional_raw is not None]
        ranks = rules.ranks([c.provisional_raw for c in ranked if c.provisional_raw is not None])
        order = sorted(zip(ranks, ranked, strict=True), key=lambda pair: (pair[0], pair[1].code))
        lines = tuple(
            BoardLine(c.code, c.name, c.institution, rank=rank, raw=rules.format_mark(c.provisional_raw))
            for rank, c in order
            if c.provisional_raw is not None
        )
        return _board(stage, "provisional", lines)
    if policy == Visibility.FINAL and stage.published:
        complete = sorted(
            (c for c in stage.competitors if c.raw is not None and c.rank is not None),
            key=lambda c: (c.rank or 0, c.code),
        )
        lines = tuple(
            BoardLine(
                c.code, c.name, c.institution, rank=c.rank, raw=rules.format_mark(c.raw), scale=c.scale, medal=c.medal
            )
            for c in complete
            if c.raw is not None
        )
        return _board(stage, "results", lines)
    if policy == Visibility.CEREMONY and stage.kind == StageKind.FINAL:
        shown = revealed_medals(stage.ceremony_step)
        medal_order = {medal: position for position, medal in enumerate(reversed(CEREMONY_STEPS))}
        lines = tuple(
            BoardLine(c.code, c.name, c.institution, medal=c.medal)
            for c in sorted(stage.competitors, key=lambda c: (medal_order.get(c.medal or "", 9), c.code))
            if c.medal in shown
        )
        return _board(stage, "ceremony", lines)
    return _board(stage, "progress", ())


def project(skills: Sequence[SkillFacts], policy: str) -> tuple[SkillBoard, ...]:
    """The whole board of an event under its policy (an unknown policy shows progress only)."""
    return tuple(
        SkillBoard(skill.code, skill.name, skill.sector, tuple(project_stage(stage, policy) for stage in skill.stages))
        for skill in skills
    )
