"""Small fixes to a stored marking scheme: change an aspect, add one, remove one (only while it has no marks).

`read_aspect_form` turns the editor's fields into an `AspectChange` (or FieldErrors, a message per
field). `change_aspect`, `add_aspect` and `remove_aspect` are the state changes (for `competition.writer`:
they write without committing): each locks the scheme, refuses a scheme with marks, keeps aspect codes
numbered by position (A1.1, A1.2, …), sets the scheme ready or draft from the checks in `scheme_data`,
writes its audit record and has the change announced after commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from competition import audit
from competition.errors import Conflict, NotFound
from competition.i18n import gettext as _
from competition.models import Event, Skill, Stage, User
from competition.notify import Change, on_commit
from competition.registration.records import FieldErrors
from scoring import scheme_data
from scoring.marking import rules_changed
from scoring.marks import bump_revision
from scoring.models import Aspect, ChoiceOption, Descriptor, MarkingScheme, SchemeStatus, SubCriterion
from scoring.scheme import full_scheme_query, has_marks, scheme_data_of

TYPES = ("J", "pass_fail", "deduction", "number_completed", "choice")
"""What the editor's type field offers: a judgement, or a measurement by its calculation."""
LARGEST_MARK = Decimal("999999.99")
"""The largest max mark a mark column holds (8 digits, 2 of them decimals)."""


@dataclass(frozen=True)
class AspectChange:
    """An aspect's editable fields, checked."""

    description: str
    section: int | None
    max_mark: Decimal
    kind: str
    calculation: str | None
    possible: int | None
    choices: tuple[scheme_data.Choice, ...]
    descriptors: tuple[scheme_data.DescriptorData, ...]


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _max_mark(text: str, errors: dict[str, str]) -> Decimal:
    value = _number(text) if text.strip() else None
    if not text.strip():
        errors["max_mark"] = _("Enter the max mark.")
    elif value is None:
        errors["max_mark"] = _("The max mark must be a number, e.g. 1.5.")
    elif value <= 0:
        errors["max_mark"] = _("The max mark must be above 0.")
    elif value != value.quantize(Decimal("0.01")):
        errors["max_mark"] = _("The max mark has at most 2 decimals.")
    elif value > LARGEST_MARK:
        errors["max_mark"] = _("The max mark is too large.")
    return value if value is not None else Decimal(0)


def _choices(text: str, errors: dict[str, str]) -> tuple[scheme_data.Choice, ...]:
    """Options written one per line as `label = percent deducted`."""
    choices = []
    for number, line in enumerate((line for line in text.splitlines() if line.strip()), start=1):
        label, sep, percent_text = line.rpartition("=")
        percent = _number(percent_text) if sep else None
        if not sep or not label.strip() or percent is None:
            errors["choices"] = _(
                "Option %(number)s: write the label, '=' and the percent deducted, e.g. 'Partly done = 50'.",
                number=number,
            )
            break
        if not Decimal(0) <= percent <= scheme_data.FULL_MARKS or percent != percent.quantize(Decimal("0.01")):
            errors["choices"] = _(
                "Option %(number)s: the deduction is a percent from 0 to 100 with at most 2 decimals.", number=number
            )
            break
        choices.append(scheme_data.Choice(label.strip()[: scheme_data.CHOICE_LABEL_LENGTH], percent))
    if not choices and "choices" not in errors:
        errors["choices"] = _("A choice needs at least one option.")
    return tuple(choices)


def read_aspect_form(form: Mapping[str, str], sections: set[int]) -> AspectChange:
    """The editor's fields as a change, or FieldErrors naming each field that is wrong and why.

    `sections` are the standards sections of the scheme (empty: any section number is taken)."""
    errors: dict[str, str] = {}
    description = form.get("description", "").strip()
    section: int | None = None
    section_text = form.get("section", "").strip()
    if section_text:
        if not section_text.isdigit():
            errors["section"] = _("The WSOS section is a whole number.")
        else:
            section = int(section_text)
            if sections and section not in sections:
                errors["section"] = _("The standards table has no section %(number)s.", number=section)
    max_mark = _max_mark(form.get("max_mark", ""), errors)
    kind_text = form.get("type", "")
    if kind_text not in TYPES:
        errors["type"] = _("Choose a judgement or a kind of measurement.")
    kind = "J" if kind_text == "J" else "M"
    calculation = None if kind == "J" else kind_text
    possible: int | None = None
    if calculation == "number_completed":
        possible_text = form.get("possible", "").strip()
        if not possible_text.isdigit() or int(possible_text) < 1:
            errors["possible"] = _("Enter how many items there are to complete (a whole number, at least 1).")
        else:
            possible = int(possible_text)
    choices = _choices(form.get("choices", ""), errors) if calculation == "choice" else ()
    descriptors: tuple[scheme_data.DescriptorData, ...] = ()
    if kind == "J":
        descriptors = tuple(
            scheme_data.DescriptorData(score, form.get(f"descriptor_{score}", "").strip())
            for score in scheme_data.JUDGEMENT_SCORES
            if form.get(f"descriptor_{score}", "").strip()
        )
    if errors:
        raise FieldErrors(errors)
    return AspectChange(description, section, max_mark, kind, calculation, possible, choices, descriptors)


def aspect_values(aspect: Aspect) -> dict[str, Any]:
    """What an aspect holds, for its audit record."""
    values: dict[str, Any] = {
        "description": aspect.description,
        "section": aspect.section,
        "max_mark": scheme_data.format_mark(aspect.max_mark) if aspect.max_mark is not None else None,
        "type": aspect.kind if aspect.kind == "J" else aspect.calculation,
    }
    if aspect.calculation == "number_completed":
        values["possible"] = aspect.possible
    if aspect.calculation == "choice":
        values["choices"] = [f"{c.label} = {scheme_data.format_mark(c.deduction_percent)}" for c in aspect.choices]
    if aspect.kind == "J":
        values["descriptors"] = {str(d.score): d.text for d in aspect.descriptors}
    return values


# --- the state changes --------------------------------------------------------------------------


async def load_scheme(session: AsyncSession, scheme_id: int) -> MarkingScheme:
    """The scheme with everything in it, as the database has it now."""
    query = (
        select(MarkingScheme)
        .where(MarkingScheme.id == scheme_id)
        .options(*full_scheme_query())
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).one()


async def _editable(session: AsyncSession, skill: Skill, stage: Stage) -> MarkingScheme:
    """The skill's scheme for the stage, locked for this change; Conflict once it has marks."""
    scheme_id = await session.scalar(
        select(MarkingScheme.id)
        .where(MarkingScheme.skill_id == skill.id, MarkingScheme.stage_id == stage.id)
        .with_for_update()
    )
    if scheme_id is None:
        raise NotFound(
            _("Skill %(skill)s has no marking scheme for stage %(stage)s.", skill=skill.code, stage=stage.code)
        )
    if await has_marks(session, scheme_id):
        raise Conflict(
            _(
                "Skill %(skill)s already has marks for stage %(stage)s; its marking scheme can no longer be edited.",
                skill=skill.code,
                stage=stage.code,
            )
        )
    return await load_scheme(session, scheme_id)


def _aspect(scheme: MarkingScheme, code: str) -> tuple[SubCriterion, Aspect]:
    for criterion in scheme.criteria:
        for sub in criterion.sub_criteria:
            for aspect in sub.aspects:
                if aspect.code.lower() == code.lower():
                    return sub, aspect
    raise NotFound(_("There is no aspect %(code)s in this marking scheme.", code=code))


def _sub_criterion(scheme: MarkingScheme, code: str) -> SubCriterion:
    for criterion in scheme.criteria:
        for sub in criterion.sub_criteria:
            if sub.code.lower() == code.lower():
                return sub
    raise NotFound(_("There is no sub-criterion %(code)s in this marking scheme.", code=code))


async def _finish(
    session: AsyncSession,
    actor: User | None,
    skill: Skill,
    stage: Stage,
    scheme: MarkingScheme,
    action: str,
    subject: str,
    *,
    old: Any,
    new: Any,
) -> MarkingScheme:
    """Set the scheme ready or draft, audit the change, have it announced; the scheme as it is now."""
    await session.flush()
    scheme = await load_scheme(session, scheme.id)
    status = SchemeStatus.READY if scheme_data.usable_for_marking(scheme_data_of(scheme)) else SchemeStatus.DRAFT
    if scheme.status != status.value:
        new = {**(new or {}), "scheme_status": status.value}
        scheme.status = status.value
    await audit.record(
        session, actor, action, f"scheme {skill.code} {subject}",
        event_id=stage.event_id, skill_id=skill.id, stage_id=stage.id, old=old, new=new,
    )
    await bump_revision(session, scheme.id)
    await rules_changed(session, scheme.id)
    event_code = await session.scalar(select(Event.code).where(Event.id == stage.event_id))
    on_commit(session, Change(event=event_code or "", what="scheme", skill=skill.code, stage=stage.code))
    await session.flush()
    return await load_scheme(session, scheme.id)


async def change_aspect(
    session: AsyncSession, actor: User | None, skill: Skill, stage: Stage, code: str, change: AspectChange
) -> MarkingScheme:
    """Apply the editor's change to one aspect; a change that changes nothing records nothing."""
    scheme = await _editable(session, skill, stage)
    _sub, aspect = _aspect(scheme, code)
    old = aspect_values(aspect)
    aspect.description = change.description
    aspect.section = change.section
    aspect.max_mark = change.max_mark
    if change.kind != aspect.kind or change.calculation != aspect.calculation:
        aspect.calculation_name = None  # the file's calculation row no longer describes it
    aspect.kind = change.kind
    aspect.calculation = change.calculation
    aspect.possible = change.possible
    choices = [(c.label, c.deduction_percent) for c in change.choices]
    if [(c.label, c.deduction_percent) for c in aspect.choices] != choices:
        aspect.choices.clear()
        await session.flush()
        aspect.choices.extend(
            ChoiceOption(position=n, label=label, deduction_percent=percent)
            for n, (label, percent) in enumerate(choices, start=1)
        )
    descriptors = [(d.score, d.text) for d in change.descriptors]
    if [(d.score, d.text) for d in aspect.descriptors] != descriptors:
        aspect.descriptors.clear()
        await session.flush()
        aspect.descriptors.extend(Descriptor(score=score, text=text) for score, text in descriptors)
    new = aspect_values(aspect)
    if new == old:  # the same values again: nothing to record (equal values write nothing)
        return await load_scheme(session, scheme.id)
    changed = [key for key in new if new[key] != old.get(key)]
    return await _finish(
        session, actor, skill, stage, scheme, "scheme_aspect_changed", aspect.code,
        old={key: old.get(key) for key in changed}, new={key: new[key] for key in changed},
    )


async def add_aspect(
    session: AsyncSession, actor: User | None, skill: Skill, stage: Stage, sub_criterion: str, kind: str
) -> tuple[MarkingScheme, str]:
    """Add an aspect (a J aspect, or an M aspect marked pass or fail) at the end of a sub-criterion, with
    no description and no max mark yet (both are warned about until filled in). Returns the new aspect's code."""
    scheme = await _editable(session, skill, stage)
    sub = _sub_criterion(scheme, sub_criterion)
    position = len(sub.aspects) + 1
    aspect = Aspect(
        scheme_id=scheme.id,
        code=f"{sub.code}.{position}",
        position=position,
        kind="J" if kind == "J" else "M",
        calculation=None if kind == "J" else "pass_fail",
        description="",
        extra_description="",
        requirement="",
        max_mark=None,
    )
    sub.aspects.append(aspect)
    scheme = await _finish(session, actor, skill, stage, scheme, "scheme_aspect_added", aspect.code, old=None,
                           new=aspect_values(aspect))
    return scheme, f"{sub.code}.{position}"


async def remove_aspect(
    session: AsyncSession, actor: User | None, skill: Skill, stage: Stage, code: str
) -> MarkingScheme:
    """Remove an aspect; the aspects after it in its sub-criterion move up a number (A1.3 becomes A1.2)."""
    scheme = await _editable(session, skill, stage)
    sub, aspect = _aspect(scheme, code)
    old = {"code": aspect.code, **aspect_values(aspect)}
    following = [other for other in sub.aspects if other.position > aspect.position]
    await session.delete(aspect)
    await session.flush()
    for other in sorted(following, key=lambda a: a.position):  # one at a time: codes are unique in a scheme
        other.position -= 1
        other.code = f"{sub.code}.{other.position}"
        await session.flush()
    return await _finish(session, actor, skill, stage, scheme, "scheme_aspect_removed", old["code"], old=old, new=None)
